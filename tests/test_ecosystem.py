"""The ecosystem check's list and verdicts stay usable: pinned suites, a verdict per
judged finding naming a listed suite, and the precision table's arithmetic."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ecosystem.py"


@pytest.fixture(scope="module")
def ecosystem() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecosystem", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ecosystem"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_list_pins_forty_suites_or_more(ecosystem: ModuleType) -> None:
    suites = ecosystem.load_suites()
    assert len(suites) >= 40
    for suite in suites:
        assert re.fullmatch(r"[0-9a-f]{40}", suite.commit), suite.repo
        assert suite.paths, suite.repo
        assert all(not path.startswith("/") and ".." not in path for path in suite.paths)
        assert suite.ci, f"{suite.repo}: say how its CI runs pytest"


def test_every_verdict_names_a_listed_suite_at_its_pinned_commit(ecosystem: ModuleType) -> None:
    pinned = {(suite.repo, suite.commit) for suite in ecosystem.load_suites()}
    verdicts = ecosystem.load_verdicts()
    assert len(verdicts) >= 150
    keys = [verdict.key for verdict in verdicts]
    assert len(keys) == len(set(keys)), "one verdict per finding"
    for verdict in verdicts:
        assert (verdict.repo, verdict.commit) in pinned, verdict
        assert re.fullmatch(r"TL\d{3}", verdict.code), verdict
        assert verdict.line >= 1


def test_precision_counts_reported_findings_and_recall_counts_misses(
    ecosystem: ModuleType,
) -> None:
    verdict = ecosystem.Verdict

    def row(line: int, code: str, value: str) -> Any:
        return verdict("o/r", "c" * 40, "t.py", line, code, value, "read it")

    verdicts = [
        row(1, "TL401", "true"),
        row(2, "TL401", "false"),
        row(3, "TL401", "miss"),  # reported: a real site found, counts as true
        row(4, "TL401", "miss"),  # not reported: a miss
        row(5, "TL401", "true"),  # not reported: lost, counted as a miss
        row(6, "TL202", "false"),  # not reported: no effect
    ]
    reported = {v.key for v in verdicts if v.line in (1, 2, 3)}
    table = ecosystem.precision_table(verdicts, reported)
    assert table[1].split() == ["TL401", "3", "2", "1", "0.667", "2", "0.500"]
    assert table[-1].split()[:5] == ["all", "3", "2", "1", "0.667"]


def test_a_verdict_without_a_reason_is_refused(ecosystem: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "verdicts.csv"
    path.write_text(
        "repo,commit,path,line,code,verdict,reason\no/r,abc,t.py,1,TL401,true,\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match="needs a reason"):
        ecosystem.load_verdicts(path)


def test_a_repository_may_be_pinned_at_several_commits(
    ecosystem: ModuleType, tmp_path: Path
) -> None:
    # A historical pin (the commit before a project's own fix) beside today's.
    entry = '[[suite]]\nrepo = "o/r"\ncommit = "{}"\npaths = ["tests"]\nci = "pytest"\n'
    path = tmp_path / "suites.toml"
    path.write_text(entry.format("a" * 40) + entry.format("b" * 40), encoding="utf-8")
    assert [suite.label for suite in ecosystem.load_suites(path)] == [
        "o/r@aaaaaaaaaaaa",
        "o/r@bbbbbbbbbbbb",
    ]
    path.write_text(entry.format("a" * 40) * 2, encoding="utf-8")
    with pytest.raises(SystemExit, match="listed twice"):
        ecosystem.load_suites(path)
