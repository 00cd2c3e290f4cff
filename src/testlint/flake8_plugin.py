"""flake8 plugin: `flake8 --select TL` runs the same engine as `testlint`.

flake8 recognises an AST plugin by its `tree` parameter; the source is taken from
`lines` (so stdin works) and parsed once more with libcst only when a rule's
trigger text occurs in it. Selection and per-file-ignores are flake8's; `# noqa`
is flake8's too, and also works on any line of a multi-line statement, as with the
`testlint` command, so both report the same findings, but TL003 (unused-noqa):
checking `# noqa` directives is flake8's own business. Rule options come from
`[tool.testlint]` (flake8 does not read pyproject.toml).
flake8 has no protocol for fixes: messages of fixable problems say so.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from testlint import __version__
from testlint.diagnostics import Applicability, Diagnostic
from testlint.engine import Linter
from testlint.locate import ConfigError
from testlint.project import Project
from testlint.registry import RULES, UnusedNoqa
from testlint.rule import FileKind
from testlint.runner import RunOptions, resolve_settings

STDIN_NAMES = frozenset({"stdin", "-", "<stdin>"})


@lru_cache(maxsize=32)
def _linter_for(directory: Path) -> Linter | ConfigError:
    """One linter per directory for the whole flake8 process (flake8 may fork
    workers; each builds its own once), from the settings the `testlint` command
    resolves: the same resolver, so every key means the same."""
    try:
        settings, project = resolve_settings([directory], RunOptions())
    except ConfigError as exc:
        return exc
    # flake8 does the selecting and per-file-ignores: every rule runs here, but
    # TL003: flake8 owns noqa directives (it reads a rule name as a bare one, and
    # flake8-noqa checks directives), and no fix can reach the file from here.
    everything = dataclasses.replace(
        settings,
        select=("ALL",),
        extend_select=(),
        ignore=(UnusedNoqa.code,),
        per_file_ignores=(),
    )
    return Linter(RULES, everything, _projects(project))


_PROJECTS: dict[Path, Project] = {}


def _projects(project: Project) -> Project:
    """One `Project` per root for the process: its facts are computed once."""
    return _PROJECTS.setdefault(project.root, project)


def _message(diagnostic: Diagnostic) -> str:
    text = f"{diagnostic.code} {diagnostic.message}"
    if diagnostic.fix_applicability is Applicability.SAFE:
        text += " (fixable with `testlint --fix`)"
    elif diagnostic.fix_applicability is Applicability.UNSAFE:
        text += " (fixable with `testlint --fix --unsafe-fixes`)"
    return text


class Plugin:
    name = "testlint"
    version = __version__

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        # flake8's `tree` feeds the `ast` gate; libcst needs the text.
        self.tree = tree if isinstance(tree, ast.Module) else None
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[tuple[int, int, str, type[Plugin]]]:
        stdin = self.filename in STDIN_NAMES
        path = (Path.cwd() / "stdin.py") if stdin else Path(self.filename).resolve()
        linter = _linter_for(path.parent)
        if isinstance(linter, ConfigError):
            yield 1, 0, f"TL002 testlint configuration error: {linter}", type(self)
            return
        kind = FileKind.TEST if stdin else linter.project.file_kind(path)
        result = linter.check_text(path, "".join(self.lines), kind, self.tree)
        for diagnostic in result.diagnostics:
            # flake8 columns are 0-based.
            yield (
                diagnostic.start.line,
                diagnostic.start.column - 1,
                _message(diagnostic),
                type(self),
            )
