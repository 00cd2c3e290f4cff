"""After `--fix --unsafe-fixes`, the next check reports exactly what the fixing run
called remaining, on every fixture project: a fix never creates a finding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from testlint.diagnostics import Diagnostic
from testlint.locate import ROOT_MARKERS
from testlint.runner import RunOptions, run

FIXTURES = Path(__file__).parent / "fixtures"


def _found(diagnostics: list[Diagnostic], root: Path) -> list[tuple[str, int, int, str]]:
    return sorted(
        (str(d.path.resolve().relative_to(root.resolve())), d.start.line, d.start.column, d.code)
        for d in diagnostics
    )


def _projects() -> list[tuple[str, str]]:
    """(rule directory, project inside it): each fixture project with its own
    configuration, and `.` for the files lying in the rule directory itself."""
    found = []
    for code in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for sub in sorted(p for p in code.iterdir() if p.is_dir()):
            if any((sub / marker).exists() for marker in ROOT_MARKERS):
                found.append((code.name, sub.name))
        if any(p.suffix == ".py" for p in code.iterdir()):
            found.append((code.name, "."))
    return found


@pytest.mark.parametrize(
    ("code", "project"), _projects(), ids=[f"{code}/{project}" for code, project in _projects()]
)
def test_the_next_check_agrees_with_fix(code: str, project: str, tmp_path: Path) -> None:
    copy = tmp_path / code
    shutil.copytree(FIXTURES / code, copy, ignore=shutil.ignore_patterns("*.fixed.py"))
    root = copy / project
    paths = [root] if project != "." else sorted(root.glob("*.py"))
    fixed = run(paths, RunOptions(fix=True, unsafe_fixes=True))
    again = run(paths, RunOptions(unsafe_fixes=True))
    assert _found(again.diagnostics, copy) == _found(fixed.diagnostics, copy)


def test_fixes_are_applied_in_those_runs(tmp_path: Path) -> None:
    # The comparison above means something only if fixes happen in those runs.
    applied = 0
    for code, project in _projects():
        copy = tmp_path / f"{code}-{project}"
        shutil.copytree(FIXTURES / code, copy, ignore=shutil.ignore_patterns("*.fixed.py"))
        root = copy / project
        paths = [root] if project != "." else sorted(root.glob("*.py"))
        applied += run(paths, RunOptions(fix=True, unsafe_fixes=True)).fixes_applied
    assert applied >= 50
