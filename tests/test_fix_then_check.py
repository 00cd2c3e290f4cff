"""After `--fix --unsafe-fixes`, the next check reports exactly what the fixing run
called remaining, on every fixture project: a fix never creates a finding."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Fixed:
    copy: Path
    """The copy of the rule directory the project was fixed in."""
    found: list[tuple[str, int, int, str]]
    """What the fixing run called remaining."""
    fixes_applied: int


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Fixed]:
    """`--fix --unsafe-fixes` on a fresh copy of a fixture project, run once per
    project for both tests below."""
    done: dict[tuple[str, str], Fixed] = {}

    def fix(code: str, project: str) -> Fixed:
        if (code, project) not in done:
            copy = tmp_path_factory.mktemp("fixed") / code
            shutil.copytree(FIXTURES / code, copy, ignore=shutil.ignore_patterns("*.fixed.py"))
            result = run(_paths(copy, project), RunOptions(fix=True, unsafe_fixes=True))
            done[code, project] = Fixed(
                copy, _found(result.diagnostics, copy), result.fixes_applied
            )
        return done[code, project]

    return fix


def _paths(copy: Path, project: str) -> list[Path]:
    root = copy / project
    return [root] if project != "." else sorted(root.glob("*.py"))


@pytest.mark.parametrize(
    ("code", "project"), _projects(), ids=[f"{code}/{project}" for code, project in _projects()]
)
def test_the_next_check_agrees_with_fix(
    code: str, project: str, fixed: Callable[[str, str], Fixed]
) -> None:
    done = fixed(code, project)
    again = run(_paths(done.copy, project), RunOptions(unsafe_fixes=True))
    assert _found(again.diagnostics, done.copy) == done.found


def test_fixes_are_applied_in_those_runs(fixed: Callable[[str, str], Fixed]) -> None:
    # The comparison above means something only if fixes happen in those runs.
    applied = sum(fixed(code, project).fixes_applied for code, project in _projects())
    assert applied >= 50
