"""Lint results for the files under tests/fixtures/, computed once per distinct
input and shared by the tests that read them.

A fixture file is checked with the same (path, source, fix level, gating) by several
tests: linting is a pure function of those and of the fixture project on disk,
so each distinct result is computed once, by one `Linter` per fixture project and
gating. The results are shared: tests must treat them as read-only.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from testlint.diagnostics import Applicability
from testlint.engine import FileResult, Linter
from testlint.locate import find_project_root
from testlint.project import Project
from testlint.registry import ALL_RULES, RULES
from testlint.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_root(path: Path) -> Path:
    """A fixture project is a directory right under tests/fixtures/<CODE>/ holding its
    own configuration (else <CODE>/ itself); its [tool.testlint] applies, never the
    repository's."""
    parts = path.relative_to(FIXTURES).parts
    root = FIXTURES / parts[0]
    if len(parts) > 2 and find_project_root(root / parts[1]) == root / parts[1]:
        root = root / parts[1]
    return root


@cache
def _project(root: Path) -> Project:
    return Project(root)


@cache
def linter(root: Path, gating: bool = True) -> Linter:
    """The linter of a fixture project (one per project and gating)."""
    pyproject = root / "pyproject.toml"
    config = (
        pyproject if pyproject.is_file() and "[tool.testlint]" in pyproject.read_text() else None
    )
    settings = load_settings(config, ALL_RULES, root)
    return Linter(RULES, settings, _project(root), gating=gating, check_facts=True)


def lint(
    path: Path,
    source: bytes | None = None,
    fix: Applicability | None = None,
    gating: bool = True,
) -> FileResult:
    """`path` (with `source`, else its contents) checked in its fixture project.
    The result is shared: never mutate it."""
    text = path.read_bytes() if source is None else source
    return _lint(path, text, fix, gating)


@cache
def _lint(path: Path, source: bytes, fix: Applicability | None, gating: bool) -> FileResult:
    chosen = linter(fixture_root(path), gating)
    on_disk = path.read_bytes()
    result = chosen.check(path, source, chosen.project.file_kind(path), fix=fix)
    assert path.read_bytes() == on_disk, "linting must never write the file"
    return result
