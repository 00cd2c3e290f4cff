from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testlint.api import Applicability, Project
from testlint.rules._config import (
    ConfigFinding,
    ConfigFix,
    ConfigRule,
    Document,
    Span,
    TextEdit,
    ci_runs_pytest_elsewhere,
    options_table,
    toml_string,
)

OPTION = "asyncio_default_fixture_loop_scope"
PYTEST_STOPS_SINCE = (9, 2)
"""pytest 9.2 applies `filterwarnings` to warnings raised while plugins are
configured, and stops with INTERNALERROR on one made an error (9.1 only shows it)."""
ASYNCIO_FOR_PYTEST_9 = (1, 3)
"""The oldest pytest-asyncio that installs beside pytest 9 (each older one caps pytest
below 9); every release since 0.24 warns while the option is unset."""
FIXTURE_SCOPE_SINCE = (1, 5)
"""pytest-asyncio 1.5 accepts `fixture-scope`: each fixture keeps its own scope."""
MESSAGE = f'The configuration option "{OPTION}" is unset.'
"""How pytest-asyncio's warning starts (its first line)."""
MODULE = "pytest_asyncio.plugin"
CATEGORIES = frozenset(
    {"Warning", "UserWarning", "DeprecationWarning", "PytestWarning", "PytestDeprecationWarning"}
)
"""`PytestDeprecationWarning` and the classes it derives from, by their last name."""
CATEGORY_MODULES = frozenset({"", "builtins", "pytest", "_pytest.warning_types"})
ACTIONS = ("default", "always", "ignore", "module", "once", "error")
SILENCING_WORDS = ("no:warnings", "no:asyncio", OPTION, "PYTEST_ADDOPTS")
"""Run-file text that may turn the plugin or its warning off, or set the option,
for the runs CI makes: then whether pytest stops cannot be told."""


class LoopScopeWarningAsError(ConfigRule):
    """
    ## What it does
    Checks `pyproject.toml`, `pytest.toml` and `.pytest.toml` (the configuration
    pytest reads for the checked files) for `filterwarnings` (or a `-W` in
    `addopts`) that turns every warning, or every deprecation warning, into an
    error, while `asyncio_default_fixture_loop_scope` is unset, in a project that
    runs pytest 9.2 or later with pytest-asyncio.

    pytest-asyncio warns at start-up while the option is unset. pytest 9.2
    applies `filterwarnings` to the warnings plugins raise while they are
    configured, so that warning becomes an error before a single test is
    collected. The filters are read as pytest reads them: in order, the last one
    that matches the warning (its action, message, category and module) decides,
    and `-W` options in `addopts` come after `filterwarnings`.

    It stays silent when the project pins pytest below 9.2 or a pytest-asyncio
    that cannot run beside pytest 9 (below 1.3), when the option is set (also
    with `-o` in `addopts`), when a filter cannot be read (a category testlint
    does not know, a line number), and when a CI or run file (workflow, tox,
    nox, make) says `-p no:warnings`, `-p no:asyncio`, `PYTEST_ADDOPTS`,
    `asyncio_default_fixture_loop_scope`, or gives pytest a `-W` of its own:
    those runs may not stop. INI files (`pytest.ini`, `setup.cfg`, `tox.ini`)
    are not read.

    ## Why is this bad?
    No test runs: pytest stops with an internal error (exit code 3), on every
    run (pytest 9.2.0, pytest-asyncio 1.5.0):

    ```
    INTERNALERROR>   File ".../pytest_asyncio/plugin.py", line 306, in pytest_configure
    INTERNALERROR>     warnings.warn(PytestDeprecationWarning(_DEFAULT_FIXTURE_LOOP_SCOPE_UNSET))
    INTERNALERROR> pytest.PytestDeprecationWarning: The configuration option
    "asyncio_default_fixture_loop_scope" is unset.
    ```

    pytest 9.1 and older show the warning and run the tests: the suite turns red
    on the upgrade to pytest 9.2, with no change of its own.

    ## Example
    ```toml
    # pyproject.toml
    [project]
    name = "shop"
    dependencies = ["pytest>=8", "pytest-asyncio"]

    [tool.pytest.ini_options]
    filterwarnings = ["error"]
    ```

    ## Use instead
    ```toml
    # pyproject.toml
    [project]
    name = "shop"
    dependencies = ["pytest>=8", "pytest-asyncio"]

    [tool.pytest.ini_options]
    asyncio_default_fixture_loop_scope = "fixture-scope"
    filterwarnings = ["error"]
    ```

    ## Fix safety
    Where the project runs pytest-asyncio 1.5 or later, the fix sets
    `asyncio_default_fixture_loop_scope = "fixture-scope"` in the same table:
    **safe**, since each async fixture keeps the loop scope it has today (its
    own scope) and the warning is no longer raised. Before 1.5 there is no such
    value, and any other changes the loop of some fixtures: no fix (choose the
    scope, often `"function"`, and set it yourself).

    ## References
    - [pytest-asyncio: `asyncio_default_fixture_loop_scope`](https://pytest-asyncio.readthedocs.io/en/latest/reference/configuration.html)
    - [pytest: controlling warnings](https://docs.pytest.org/en/stable/how-to/capture-warnings.html)
    """

    code = "TL702"
    name = "loop-scope-warning-as-error"
    summary = "`filterwarnings` makes pytest-asyncio's unset-loop-scope warning stop pytest"
    fixable = "sometimes"

    @classmethod
    def check_config(
        cls, path: Path, document: Document, data: Mapping[str, Any], project: Project
    ) -> list[ConfigFinding]:
        """At most one finding, on the filter that makes the warning an error."""
        found = options_table(path, data)
        if found is None:
            return []
        prefix, table = found
        config = project.pytest_config(path.parent)
        addopts = config.addopts
        if config.ini_value(OPTION):
            return []
        if any(f"no:{plugin}" in item for item in addopts for plugin in ("warnings", "asyncio")):
            return []
        deciding = _deciding_filter(table.get("filterwarnings"), _cmdline_filters(addopts))
        if deciding is None or deciding.action != "error":
            return []
        if not _runs_the_plugin_on_pytest_9_2(path, project) or _ci_may_differ(path, project):
            return []
        message = (
            f"`{deciding.source}` makes pytest-asyncio's warning about the unset "
            f"`{OPTION}` an error: pytest 9.2 stops with INTERNALERROR before any test runs"
        )
        span = _span(document, prefix, deciding)
        return [ConfigFinding(span, message, _fix(document, prefix, path, project))]


@dataclass(frozen=True)
class Filter:
    action: str
    source: str
    """`filterwarnings` or `addopts`: where the filter was written."""
    index: int | None
    """Its item in that list (None: the key's whole value)."""


class _Unreadable(Exception):
    """A filter whose effect on the warning cannot be told."""


def _cmdline_filters(arguments: tuple[str, ...]) -> list[str]:
    """The values of `-W`/`--pythonwarnings` among the arguments."""
    found: list[str] = []
    for at, argument in enumerate(arguments):
        if argument in ("-W", "--pythonwarnings") and at + 1 < len(arguments):
            found.append(arguments[at + 1])
        elif argument.startswith("--pythonwarnings="):
            found.append(argument.split("=", 1)[1])
        elif argument.startswith("-W") and len(argument) > 2:
            found.append(argument[2:])
    return found


def _deciding_filter(value: object, cmdline: list[str]) -> Filter | None:
    """The filter that decides what becomes of the warning: the last that matches,
    `-W` options after `filterwarnings` (None: none matches, or one cannot be read)."""
    if isinstance(value, str):
        lines = [line.strip() for line in value.split("\n") if line.strip()]
        written = [(line, Filter("", "filterwarnings", None)) for line in lines]
    elif isinstance(value, list):
        written = [(str(item), Filter("", "filterwarnings", i)) for i, item in enumerate(value)]
    elif value is None:
        written = []
    else:
        return None
    written += [(text, Filter("", "addopts", None)) for text in cmdline]
    escaped_from = len(written) - len(cmdline)
    try:  # pytest refuses the whole list when one filter is malformed
        actions = [
            _matching_action(text, escape=number >= escaped_from)
            for number, (text, _) in enumerate(written)
        ]
    except _Unreadable:
        return None
    for action, (_, where) in reversed(list(zip(actions, written))):
        if action is not None:
            return Filter(action, where.source, where.index)
    return None


def _matching_action(text: str, escape: bool) -> str | None:
    """The filter's action if it matches pytest-asyncio's warning, else None (as
    pytest's `parse_warning_filter` and Python's `warnings` read it)."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) > 5:
        raise _Unreadable
    action, message, category, module, lineno = [*parts, "", "", "", ""][:5]
    action = "always" if action == "all" else action
    actions = [a for a in ACTIONS if a.startswith(action)] if action else ["default"]
    if not actions:
        raise _Unreadable
    if lineno not in ("", "0"):
        raise _Unreadable
    if not _category_matches(category):
        return None
    if not _regex_matches(message, MESSAGE, escape, flags=re.IGNORECASE):
        return None
    if not _regex_matches(module, MODULE, escape, flags=0, whole=escape):
        return None
    return actions[0]


def _category_matches(category: str) -> bool:
    if not category:
        return True
    module, _, name = category.rpartition(".")
    if name in CATEGORIES and module in CATEGORY_MODULES:
        return True
    if name.endswith(("Warning", "Error")) or module:
        return False  # another warning class: it does not match this one
    raise _Unreadable


def _regex_matches(pattern: str, text: str, escape: bool, flags: int, whole: bool = False) -> bool:
    if not pattern:
        return True
    written = re.escape(pattern) if escape else pattern
    if whole:
        written += r"\Z"
    try:
        return re.match(written, text, flags) is not None
    except re.error as exc:
        raise _Unreadable from exc


def _runs_the_plugin_on_pytest_9_2(path: Path, project: Project) -> bool:
    if project.owner(path).pytest_asyncio != "used":
        return False
    pytest = project.running_version(path, "pytest")
    asyncio = project.running_version(path, "pytest-asyncio")
    return bool(pytest.at_least(PYTEST_STOPS_SINCE) and asyncio.at_least(ASYNCIO_FOR_PYTEST_9))


def _ci_may_differ(path: Path, project: Project) -> bool:
    """A CI or run file that may run pytest without the plugin, without warning
    filters, with its own `-W`, or with the option set; or none runs pytest here."""
    if ci_runs_pytest_elsewhere(path, project):
        return True
    for _, text in project.run_files_for(path):
        if any(word in text for word in SILENCING_WORDS):
            return True
        if any(re.search(r"(?<!\S)(-W|--pythonwarnings)", line) for line in _pytest_lines(text)):
            return True
    return False


def _pytest_lines(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if re.search(r"\bpytest\b", line))


def _span(document: Document, prefix: tuple[str, ...], deciding: Filter) -> Span:
    entry = document.entry((*prefix, deciding.source))
    if entry is None:
        header = document.header(prefix)
        return header.span if header is not None else Span(0, 0)
    items = entry.items or ()
    if deciding.index is not None and deciding.index < len(items):
        return items[deciding.index]
    return entry.key


def _fix(
    document: Document, prefix: tuple[str, ...], path: Path, project: Project
) -> ConfigFix | None:
    """Set the option to `fixture-scope` on the line above the table's first key."""
    asyncio = project.running_version(path, "pytest-asyncio")
    if not asyncio.at_least(FIXTURE_SCOPE_SINCE):
        return None
    entries = [e for e in document.entries if e.path[: len(prefix)] == prefix]
    if not entries:
        return None
    first = min(entries, key=lambda entry: entry.key.start)
    if len(first.path) != len(prefix) + 1:
        return None  # a dotted key: the line above may belong to another table
    line_start = document.text.rfind("\n", 0, first.key.start) + 1
    indent = document.text[line_start : first.key.start]
    if indent and not indent.isspace():
        return None  # the key shares its line with something else
    content = f"{indent}{OPTION} = {toml_string('fixture-scope')}\n"
    return ConfigFix(
        f'Set `{OPTION} = "fixture-scope"`',
        Applicability.SAFE,
        (TextEdit(Span(line_start, line_start), content),),
        (*prefix, OPTION),
        "fixture-scope",
    )
