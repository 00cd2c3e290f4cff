"""What the rules on configuration files (TL7xx) share: findings placed by offsets
in the file's text, fixes as text edits with the value they must leave behind,
the types pytest 9.2 gives the options it reads on every run, and which pytest a
project pins.

A configuration file is not Python: it is never visited by libcst. The engine for
these files (`testlint.config_lint`) places the findings, applies `# noqa`
comments and writes fixes only when the fixed file parses to exactly the value a
fix says it leaves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Union

from testlint.diagnostics import Applicability
from testlint.memo import Memo
from testlint.project import FileKind, Project
from testlint.pytest_config import tool_pytest
from testlint.rule import Rule
from testlint.rules._never import pytest_pinned_below
from testlint.settings import Settings
from testlint.toml_text import Document, Span

__all__ = [
    "ALWAYS_READ",
    "ConfigFinding",
    "ConfigFix",
    "ConfigRule",
    "Document",
    "Literal",
    "Span",
    "TextEdit",
    "ci_runs_pytest_elsewhere",
    "pins_pytest_below_9",
    "toml_list",
    "toml_string",
]


@dataclass(frozen=True)
class TextEdit:
    span: Span
    content: str


@dataclass(frozen=True)
class ConfigFix:
    title: str
    applicability: Applicability
    edits: tuple[TextEdit, ...]
    key: tuple[str, ...]
    """The key whose value the fix replaces (or moves: see `value`)."""
    value: Any
    """What the fixed file holds at `key`: the fix is kept only if the fixed file
    parses to the same document with just this value changed."""


@dataclass(frozen=True)
class ConfigFinding:
    span: Span
    message: str
    fix: ConfigFix | None = None


class ConfigRule(Rule):
    """A rule on configuration files: never visits Python, runs `check_config`."""

    triggers: ClassVar[tuple[str, ...]] = ()
    file_kinds: ClassVar[frozenset[FileKind]] = frozenset()

    @classmethod
    def check_config(
        cls, path: Path, document: Document, data: Mapping[str, Any], project: Project
    ) -> list[ConfigFinding]:
        """The findings in one configuration file (`document` may hold no
        positions: then every span is the file's start)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Literal:
    """A string option with fixed choices."""

    choices: tuple[str, ...]


Type = Union[str, Literal, tuple[Union[str, Literal], ...]]
"""pytest's option types: "args", "linelist", "bool", "int", "float", "string",
a `Literal`, or a union of them."""

# The options pytest 9.2 reads on every run, checked in TOML mode: a value of the
# wrong type stops the run with a usage error (each one tried on pytest 9.2.0).
# Options read only in some runs (`python_classes`, `norecursedirs`, junit_*,
# `doctest_*`, strict_*) are left out: a wrong one may never matter.
ALWAYS_READ: dict[str, Type] = {
    "addopts": "args",
    "python_files": "args",
    "python_functions": "args",
    "required_plugins": "args",
    "testpaths": "args",
    "usefixtures": "args",
    "markers": "linelist",
    "filterwarnings": "linelist",
    "collect_imported_tests": "bool",
    "consider_namespace_packages": "bool",
    "enable_assertion_pass_hook": "bool",
    "faulthandler_exit_on_timeout": "bool",
    "log_cli": "bool",
    "minversion": "string",
    "log_cli_date_format": "string",
    "log_cli_format": "string",
    "log_date_format": "string",
    "log_file": "string",
    "log_file_date_format": "string",
    "log_file_format": "string",
    "log_format": "string",
    "assertion_text_diff_style": Literal(("ndiff", "block")),
    "console_output_style": Literal(
        ("classic", "progress", "count", "times", "progress-even-when-capture-no")
    ),
    "empty_parameter_set_mark": Literal(("skip", "xfail", "fail_at_collect")),
    "log_file_mode": Literal(("w", "a")),
    "tmp_path_retention_policy": Literal(("all", "failed", "none")),
    "faulthandler_timeout": ("float", "string"),
    "log_auto_indent": ("int", "bool", "string"),
    "log_cli_level": ("int", "string"),
    "log_file_level": ("int", "string"),
    "log_level": ("int", "string"),
    "max_warnings": ("int", "string"),
    "tmp_path_retention_count": ("int", "string"),
    "verbosity_subtests": ("int", Literal(("auto",))),
    "verbosity_test_cases": ("int", Literal(("auto",))),
}


def accepts(kind: Type, value: object) -> bool:
    """pytest 9.2's `_getini_toml` (and its check of a Literal's choices)."""
    if isinstance(kind, tuple):
        return any(accepts(member, value) for member in kind)
    if isinstance(kind, Literal):
        return isinstance(value, str) and value in kind.choices
    if kind in ("args", "linelist", "paths"):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def expected(kind: Type) -> str:
    """What pytest expects, in words (`a list of strings`, `one of "w", "a"`)."""
    if isinstance(kind, tuple):
        return " or ".join(expected(member) for member in kind)
    if isinstance(kind, Literal):
        return "one of " + ", ".join(f'"{choice}"' for choice in kind.choices)
    names = {"bool": "a bool", "int": "an int", "float": "a float", "string": "a string"}
    return names.get(kind, "a list of strings")


def toml_string(text: str) -> str:
    """`text` as a TOML string: a literal string when it holds backslashes (regular
    expressions in `filterwarnings` read better), else a basic one."""
    if "\\" in text and "'" not in text and not re.search(r"[\x00-\x1f\x7f]", text):
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def toml_list(items: Sequence[str], indent: str = "") -> str:
    """A TOML array of strings: on one line when short, else one item a line."""
    written = [toml_string(item) for item in items]
    inline = "[" + ", ".join(written) + "]"
    if len(inline) <= 60 or len(written) < 2:
        return inline
    inner = indent + "    "
    return "[\n" + "".join(f"{inner}{item},\n" for item in written) + indent + "]"


@dataclass
class _ConfigFile:
    """What `pytest_pinned_below` asks of a file (`InFile`)."""

    path: Path
    source: str
    project: Project
    settings: Settings
    memo: Memo


def pins_pytest_below_9(path: Path, text: str, project: Project) -> bool:
    """The project of the configuration file runs a pytest older than 9 (a lock
    file pins one, or every declared requirement on pytest stops below 9)."""
    file = _ConfigFile(path, text, project, Settings(base=path.parent), Memo())
    return pytest_pinned_below(file, (9, 0))


DECLARING_FILES = frozenset({"pyproject.toml", "setup.cfg"})
"""Run files that name pytest to configure or declare it, not to run it."""


def ci_runs_pytest_elsewhere(path: Path, project: Project) -> bool:
    """The repository has CI or run files (workflows, tox, nox, make), yet none of
    them runs pytest: the suite is run some other way (inside `conda build`, from a
    directory that holds no configuration), so whether pytest ever reads this file
    there cannot be told. Without any such file, pytest is run by hand, here."""
    found = project.run_files_for(path)
    running = [text for run_file, text in found if run_file.name not in DECLARING_FILES]
    return bool(running) and not any(re.search(r"\bpytest\b", text) for text in running)


def options_table(
    path: Path, data: Mapping[str, Any]
) -> tuple[tuple[str, ...], Mapping[str, Any]] | None:
    """The table pytest reads its options from in a `pyproject.toml` or
    `pytest.toml`, and where it is (its key path)."""
    if path.name in ("pytest.toml", ".pytest.toml"):
        native = data.get("pytest")
        return (("pytest",), native) if isinstance(native, dict) else None
    found = tool_pytest(data)
    if found is None:
        return None
    table, native_table = found
    return ("tool", "pytest") if native_table else ("tool", "pytest", "ini_options"), table
