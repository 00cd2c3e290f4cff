from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from testlint.api import Applicability, Project
from testlint.rules._config import (
    ALWAYS_READ,
    ConfigFinding,
    ConfigFix,
    ConfigRule,
    Document,
    Span,
    TextEdit,
    accepts,
    ci_runs_pytest_elsewhere,
    expected,
    pins_pytest_below_9,
    toml_list,
    toml_string,
)

TOOL_PYTEST = ("tool", "pytest")
INI_OPTIONS = ("tool", "pytest", "ini_options")
NOT_FOUND = 'pytest stops with "file or directory not found"'
USAGE_ERROR = "pytest stops with a usage error"
FLAGS = "vqxsl"
"""pytest's one-letter options that take no value: `-x -v` as one item is `-x`
given the value ` -v`, which argparse refuses."""


class UnusablePytestConfiguration(ConfigRule):
    """
    ## What it does
    Checks the pytest configuration in `pyproject.toml`, `pytest.toml` and
    `.pytest.toml` (the file pytest reads for the checked files) for what stops
    pytest before it collects a single test, or what pytest silently ignores:

    - `[tool.pytest]` and `[tool.pytest.ini_options]` both present (pytest 9
      refuses the file);
    - under pytest 9's native TOML tables (`[tool.pytest]`, `pytest.toml`), a
      value of the wrong type for an option pytest reads on every run:
      `addopts = "-ra"` (a string, where pytest 9 expects a list),
      `minversion = 9.0` (a float, where it expects a string),
      `log_cli = "true"` (a string, where it expects a bool);
    - an `addopts` list item that holds a space where pytest needs two
      arguments (`"--ignore setup.py"`, `"-n auto"`, `"-x -v"`), in either table;
    - `[tool.pytest]` in a project that pins pytest below 9, which does not
      read it.

    It stays silent on options pytest reads only in some runs (a wrong
    `python_classes` or `junit_family` may never matter), on items with spaces
    that pytest happens to accept (`"-m not slow"`, `"-k foo"`, `"-p no:x"`,
    `"--ignore=a b"`, `"-n 4"`), on INI files (`pytest.ini`, `tox.ini`,
    `setup.cfg`: their `addopts` is split like a shell command line), and, in a
    project that pins pytest below 9, on `pytest.toml` and on tables under
    `[tool.pytest]` (`[tool.pytest.individual_coverage]`, read by a plugin or a
    script): pytest 8 reads neither. Nor does it report a repository whose CI and
    run files (workflows, tox, nox, make) never run pytest: its suite runs some
    other way (inside `conda build`, from a directory that holds no
    configuration), where this file may never be read; a repository without
    any is reported (pytest is run by hand, where the file is).

    A finding is placed on the key (or the list item) in the configuration file;
    a `# noqa: TL701` comment on that line, or `per-file-ignores` naming the
    file, silence it. Only the `testlint` command reports it: flake8 hands
    plugins Python files only.

    ## Why is this bad?
    pytest stops before collection, so no test runs at all (exit code 4):

    ```
    ERROR: pyproject.toml: Cannot use both [tool.pytest] (native TOML types) and
    [tool.pytest.ini_options] (string-based INI format) simultaneously. Please use
    [tool.pytest] with native TOML types (recommended) or [tool.pytest.ini_options]
    for backwards compatibility.
    ERROR: pyproject.toml: config option 'addopts' expects a list for type 'args', got str: '-ra'
    ERROR: pyproject.toml: config option 'minversion' expects a string, got float: 9.0
    ERROR: file or directory not found: --ignore setup.py
    python -m pytest: error: argument -n/--numprocesses: invalid parse_numprocesses value: ' auto'
    ```

    (pytest 9.2.0, which prints the first message on one line; the last two also
    pytest 8.4.2, under `[tool.pytest.ini_options]`.) pytest before 9 does not know `[tool.pytest]`:
    it reads `[tool.pytest.ini_options]` only, so the options written there never
    apply, without a word.

    ## Example
    ```toml
    # pyproject.toml
    [tool.pytest]
    addopts = "-ra --strict-markers"
    minversion = 9.0

    [tool.pytest.ini_options]
    addopts = ["--ignore setup.py"]
    ```

    ## Use instead
    ```toml
    # pyproject.toml
    [tool.pytest]
    addopts = ["-ra", "--strict-markers", "--ignore", "setup.py"]
    minversion = "9.0"
    ```

    ## Fix safety
    These fixes are safe, each kept only if the fixed file parses to the same
    document with just that value changed: a string option that must be a list
    is split as pytest splits it in INI files (`addopts` like a shell command
    line, `markers`/`filterwarnings` one item a line); a number where a string
    is expected is quoted as written (`9.0` becomes `"9.0"`); `"true"`/`"false"`
    where a bool is expected becomes `true`/`false`; an `addopts` item with
    spaces is split into its arguments. Renaming `[tool.pytest]` to
    `[tool.pytest.ini_options]` for a project that pins pytest below 9 is
    unsafe: options that never applied start to apply, and may change which
    tests run or fail. Two tables present get no fix: which of them holds the
    options meant is for you to decide.

    ## References
    - [pytest: configuration file formats](https://docs.pytest.org/en/stable/reference/customize.html)
    - [pytest: configuration options](https://docs.pytest.org/en/stable/reference/reference.html#configuration-options)
    """

    code = "TL701"
    name = "unusable-pytest-configuration"
    summary = "pytest configuration that stops pytest before collection, or that it ignores"
    fixable = "sometimes"

    @classmethod
    def check_config(
        cls, path: Path, document: Document, data: Mapping[str, Any], project: Project
    ) -> list[ConfigFinding]:
        """The findings in one configuration file (`pyproject.toml`, `pytest.toml`)."""
        found = _findings(path, document, data, project)
        # Read only when there is something to say: most files hold nothing.
        return [] if found and ci_runs_pytest_elsewhere(path, project) else found


def _findings(
    path: Path, document: Document, data: Mapping[str, Any], project: Project
) -> list[ConfigFinding]:
    if path.name in ("pytest.toml", ".pytest.toml"):
        table = data.get("pytest")
        if not isinstance(table, dict) or pins_pytest_below_9(path, document.text, project):
            return []
        return list(_native(document, ("pytest",), table))
    if path.name != "pyproject.toml":
        return []
    tool = data.get("tool")
    pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest_table, dict):
        return []
    native = {key: value for key, value in pytest_table.items() if key != "ini_options"}
    ini = pytest_table.get("ini_options")
    # Which pytest runs matters only beside `[tool.pytest]` (most files have none).
    old = bool(native) and pins_pytest_below_9(path, document.text, project)
    if old:  # pytest 8 reads no `[tool.pytest.x]` table (a plugin's, a script's)
        native = {key: value for key, value in native.items() if not isinstance(value, dict)}
    if native and ini:  # as pytest: an empty table counts as none
        return [_both(document, old)]
    if native and old:
        return [_ignored(document, native)]
    if native:
        return list(_native(document, TOOL_PYTEST, native))
    if isinstance(ini, dict) and isinstance(ini.get("addopts"), list):
        return list(_spaced_items(document, (*INI_OPTIONS, "addopts"), ini["addopts"]))
    return []


def _table_name(prefix: tuple[str, ...]) -> str:
    return "[" + ".".join(prefix) + "]"


def _start_of(document: Document, prefix: tuple[str, ...]) -> Span:
    """Where a table starts: its header, else its first key (else the file's start)."""
    header = document.header(prefix)
    if header is not None:
        return header.span
    entries = [e.key for e in document.entries if e.path[: len(prefix)] == prefix]
    return min(entries, key=lambda span: span.start, default=Span(0, 0))


def _both(document: Document, old: bool) -> ConfigFinding:
    """Placed on the first header or key of `[tool.pytest]` outside `ini_options`."""
    spans = [
        header.span
        for header in document.headers
        if header.path[:2] == TOOL_PYTEST and header.path[2:3] != ("ini_options",)
    ]
    spans += [
        entry.key
        for entry in document.entries
        if entry.path[:2] == TOOL_PYTEST and entry.path[2:3] != ("ini_options",)
    ]
    span = min(spans, key=lambda s: s.start, default=Span(0, 0))
    if old:
        message = (
            "`[tool.pytest]` is ignored by pytest < 9, which this project pins: "
            "only `[tool.pytest.ini_options]` applies"
        )
    else:
        message = (
            "`[tool.pytest]` and `[tool.pytest.ini_options]` are both present: "
            "pytest 9 stops before collection"
        )
    return ConfigFinding(span, message)


def _ignored(document: Document, native: Mapping[str, Any]) -> ConfigFinding:
    """`[tool.pytest]` under a pinned pytest < 9."""
    message = (
        "`[tool.pytest]` is ignored by pytest < 9, which this project pins: "
        "none of its options apply"
    )
    header = document.header(TOOL_PYTEST)
    fix = None
    movable = header is not None and all(
        header.path == TOOL_PYTEST or header.path[:2] != TOOL_PYTEST for header in document.headers
    )
    if header is not None and movable:
        inside = [e for e in document.entries if e.path[:2] == TOOL_PYTEST]
        if all(entry.key.start > header.span.start for entry in inside):
            fix = ConfigFix(
                "Rename the table to `[tool.pytest.ini_options]`",
                Applicability.UNSAFE,
                (TextEdit(header.span, "[tool.pytest.ini_options]"),),
                TOOL_PYTEST,
                {"ini_options": dict(native)},
            )
    return ConfigFinding(_start_of(document, TOOL_PYTEST), message, fix)


def _native(
    document: Document, prefix: tuple[str, ...], table: Mapping[str, Any]
) -> Iterator[ConfigFinding]:
    """Options pytest 9 reads in TOML mode: their types, and `addopts`' items."""
    for key, value in table.items():
        kind = ALWAYS_READ.get(key)
        if kind is None:
            continue
        path = (*prefix, key)
        entry = document.entry(path)
        span = entry.key if entry is not None else _start_of(document, prefix)
        if not accepts(kind, value):
            message = (
                f"`{key}` must be {expected(kind)} under `{_table_name(prefix)}`, "
                f"not {_type_name(value)}: pytest 9 stops before collection"
            )
            fix = _type_fix(document, path, kind, value)
            yield ConfigFinding(span, message, fix)
        elif key == "addopts":
            yield from _spaced_items(document, path, value)


def _type_name(value: object) -> str:
    names = {bool: "a bool", int: "an int", float: "a float", str: "a string", list: "a list"}
    return names.get(type(value), "a table" if isinstance(value, dict) else "a date or time")


def _type_fix(
    document: Document, path: tuple[str, ...], kind: object, value: object
) -> ConfigFix | None:
    entry = document.entry(path)
    if entry is None:
        return None
    key = path[-1]
    written = document.text[entry.value.start : entry.value.end]
    if kind in ("args", "linelist") and isinstance(value, str):
        items = _split(value) if kind == "args" else _lines(value)
        if items is None:
            return None
        line_start = document.text.rfind("\n", 0, entry.key.start) + 1
        indent = document.text[line_start : entry.key.start]
        content = toml_list(items, indent if indent.isspace() else "")
        title = f"Write `{key}` as a list"
        return ConfigFix(
            title, Applicability.SAFE, (TextEdit(entry.value, content),), path, list(items)
        )
    takes_string = kind == "string" or (isinstance(kind, tuple) and "string" in kind)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if takes_string and number and re.fullmatch(r"\d+(\.\d+)*", written):
        edit = TextEdit(entry.value, toml_string(written))
        return ConfigFix("Quote the value", Applicability.SAFE, (edit,), path, written)
    if kind == "bool" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        flag = value.strip().lower()
        edit = TextEdit(entry.value, flag)
        return ConfigFix(f"Write `{flag}`", Applicability.SAFE, (edit,), path, flag == "true")
    return None


def _split(value: str) -> list[str] | None:
    """An `args` option as pytest splits it in INI files."""
    try:
        return shlex.split(value)
    except ValueError:
        return None


def _lines(value: str) -> list[str]:
    """A `linelist` option as pytest splits it in INI files."""
    return [line.strip() for line in value.split("\n") if line.strip()]


def _spaced_items(
    document: Document, path: tuple[str, ...], items: list[Any]
) -> Iterator[ConfigFinding]:
    entry = document.entry(path)
    spans = entry.items if entry is not None else None
    if spans is not None and len(spans) != len(items):
        spans = None
    for index, item in enumerate(items):
        if not isinstance(item, str):
            continue
        failure = _one_argument_fails(item)
        if failure is None:
            continue
        shown = item.replace("`", "'")
        message = f"`addopts` item `{shown}` is one argument, not several: {failure}"
        if spans is None:
            span = entry.key if entry is not None else Span(0, 0)
            yield ConfigFinding(span, message)
            continue
        yield ConfigFinding(spans[index], message, _split_item_fix(path, items, index, spans))


def _one_argument_fails(item: str) -> str | None:
    """How pytest fails on an `addopts` item that holds a space, when it does
    (each kind tried on pytest 9.2.0 and 8.4.2); None when pytest accepts it."""
    if not re.search(r"\s", item):
        return None
    if item[0].isspace():
        return NOT_FOUND  # not an option: a path to collect
    if item.startswith("--"):
        # `--tb short` is no option either; `--ignore=a b` is one, with a space.
        return None if "=" in re.split(r"\s", item, maxsplit=1)[0] else NOT_FOUND
    if len(item) > 2 and item[1] in FLAGS and item[2].isspace():
        return USAGE_ERROR
    numprocesses = re.fullmatch(r"-n\s+(\S+)\s*", item)
    if numprocesses is not None and not numprocesses.group(1).isdigit():
        return USAGE_ERROR  # pytest-xdist reads ` auto`, and refuses it
    return None


def _split_item_fix(
    path: tuple[str, ...], items: list[Any], index: int, spans: tuple[Span, ...]
) -> ConfigFix | None:
    parts = _split(items[index])
    if not parts:
        return None
    content = ", ".join(toml_string(part) for part in parts)
    value = [*items[:index], *parts, *items[index + 1 :]]
    edit = TextEdit(spans[index], content)
    return ConfigFix("Split the item into its arguments", Applicability.SAFE, (edit,), path, value)
