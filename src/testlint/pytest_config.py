"""The pytest configuration that applies to a directory, read as pytest 9 reads it.

`PytestConfig` for a directory comes from the nearest configuration file (see
`CONFIG_FILES`), so a nested `tests/pytest.ini` wins for the files under it; it
says which files are test modules (`python_files`), which directories are not
collected (`norecursedirs`, `--ignore`, a conftest's `collect_ignore`) and how
pytest-asyncio is set up. Nothing here imports or runs project code.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import operator
import os
import re
import shlex
import sys
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from testlint.locate import load_toml

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")


def read_ini(path: Path) -> configparser.RawConfigParser | None:
    import configparser  # here: most projects configure pytest in pyproject.toml

    parser = configparser.RawConfigParser(strict=False, comment_prefixes=("#", ";"))
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except (configparser.Error, OSError):
        # pytest itself would refuse this file; for us it just holds no config.
        return None
    return parser


@dataclass(frozen=True)
class PytestConfig:
    """One pytest configuration as pytest would read it."""

    path: Path | None
    """The config file, or None when pytest would use its defaults."""
    values: Mapping[str, Any]
    toml_mode: bool = False
    """Native TOML types (`pytest.toml`, `[tool.pytest]`) rather than ini strings."""

    @property
    def rootdir(self) -> Path | None:
        return self.path.parent if self.path else None

    def get_list(self, key: str) -> tuple[str, ...] | None:
        """An `args`-type option (`python_files`, `addopts`): shell-split if a string."""
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, list):
            return tuple(str(v) for v in value)
        try:
            return tuple(shlex.split(str(value)))
        except ValueError:
            return tuple(str(value).split())

    def get_lines(self, key: str) -> tuple[str, ...]:
        """A `linelist` option (`markers`): one entry per non-empty line."""
        value = self.values.get(key)
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return tuple(line.strip() for line in str(value).splitlines() if line.strip())

    def get_str(self, key: str) -> str | None:
        value = self.values.get(key)
        return None if value is None else str(value).strip()

    @cached_property
    def python_files(self) -> tuple[str, ...]:
        return self.get_list("python_files") or DEFAULT_PYTHON_FILES

    def collects_function(self, name: str) -> bool:
        """`name` matches `python_functions` (default `test`)."""
        return matches_python_names(name, self.get_list("python_functions") or ("test",))

    def collects_class(self, name: str) -> bool:
        """`name` matches `python_classes` (default `Test`)."""
        return matches_python_names(name, self.get_list("python_classes") or ("Test",))

    @cached_property
    def addopts(self) -> tuple[str, ...]:
        return self.get_list("addopts") or ()

    def ini_value(self, key: str) -> str | None:
        """The value pytest reads for the ini option `key`: `-o key=...` in
        `addopts` first, else the file's; None when neither sets it."""
        value = _override_in(self.addopts, key)
        return self.get_str(key) if value is None else value

    @cached_property
    def markers(self) -> frozenset[str]:
        """Registered marker names (`name(args): description` -> `name`)."""
        names = (re.split(r"[(:\s]", line, maxsplit=1)[0] for line in self.get_lines("markers"))
        return frozenset(name for name in names if name)


DEFAULT_PYTEST_CONFIG = PytestConfig(None, {})


def matches_python_names(name: str, patterns: Sequence[str]) -> bool:
    """pytest's `python_functions`/`python_classes`: prefixes, or globs."""
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            if fnmatch.fnmatch(name, pattern):
                return True
        elif name.startswith(pattern):
            return True
    return False


def tool_pytest(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool] | None:
    """The table of a pyproject's `[tool.pytest]` that pytest reads its options from,
    and whether it is the native one (pytest 9), not `ini_options`."""
    tool = data.get("tool")
    pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest_table, dict):
        return None
    # With both, pytest < 9 reads only `ini_options` and pytest 9 refuses the file;
    # other tables beside it (`[tool.pytest.individual_coverage]`) belong to plugins.
    ini_options = pytest_table.get("ini_options")
    if isinstance(ini_options, dict):
        return ini_options, False
    native = {k: v for k, v in pytest_table.items() if k != "ini_options"}
    if native:
        return native, True
    return None


def _load_pytest_toml(path: Path) -> PytestConfig | None:
    data = load_toml(path)
    table = data.get("pytest")
    return PytestConfig(path, table if isinstance(table, dict) else {}, toml_mode=True)


def _load_pytest_ini(path: Path) -> PytestConfig | None:
    parser = read_ini(path)
    if parser is not None and parser.has_section("pytest"):
        return PytestConfig(path, dict(parser.items("pytest")))
    return PytestConfig(path, {})  # always the config file, even without a section


def _load_pyproject(path: Path) -> PytestConfig | None:
    found = tool_pytest(load_toml(path))
    if found is None:
        return None
    return PytestConfig(path, found[0], toml_mode=found[1])


def _load_section(section: str) -> Any:
    def load(path: Path) -> PytestConfig | None:
        parser = read_ini(path)
        if parser is None or not parser.has_section(section):
            return None
        return PytestConfig(path, dict(parser.items(section)))

    return load


# pytest 9's discovery order within one directory (_pytest/config/findpaths.py).
CONFIG_FILES = (
    ("pytest.toml", _load_pytest_toml),
    (".pytest.toml", _load_pytest_toml),
    ("pytest.ini", _load_pytest_ini),
    (".pytest.ini", _load_pytest_ini),
    ("pyproject.toml", _load_pyproject),
    ("tox.ini", _load_section("pytest")),
    ("setup.cfg", _load_section("tool:pytest")),
)
CONFIG_FILE_NAMES = tuple(name for name, _ in CONFIG_FILES)
"""The files pytest reads its configuration from, in the order it looks."""


def configuration_names_in(directory: Path) -> Container[str]:
    """The `CONFIG_FILES` names that may be files in `directory`: one listing of it
    instead of a `stat` per name (a suite with a directory per test asks of
    thousands). Names are compared case-folded, as a case-insensitive filesystem
    finds them; the caller's `is_file` still decides. Every name when the
    directory cannot be listed."""
    try:
        entries = os.listdir(directory)
    except (OSError, ValueError):
        return CONFIG_FILE_NAMES
    folded = {entry.casefold() for entry in entries}
    return {name for name in CONFIG_FILE_NAMES if name.casefold() in folded}


def names_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """`any(python_files_match(p, Path(path)) for p in patterns)`, as one regex when
    no pattern holds a separator (then only the file's name counts)."""
    if not patterns:
        return lambda path: False
    if any("/" in pattern or os.sep in pattern for pattern in patterns):
        return lambda path: any(python_files_match(pattern, Path(path)) for pattern in patterns)
    regex = re.compile("|".join(fnmatch.translate(os.path.normcase(p)) for p in patterns))
    return lambda path: regex.match(os.path.normcase(os.path.basename(path))) is not None


def python_files_match(pattern: str, path: Path) -> bool:
    """pytest's `fnmatch_ex`: patterns without a separator match the basename."""
    if "/" not in pattern and os.sep not in pattern:
        return fnmatch.fnmatch(path.name, pattern)
    # pytest matches such patterns against the absolute path.
    name = path.resolve().as_posix()
    if not pattern.startswith("/"):
        pattern = "*/" + pattern
    return fnmatch.fnmatch(name, pattern)


DEFAULT_NORECURSEDIRS = (
    "*.egg",
    ".*",
    "_darcs",
    "build",
    "CVS",
    "dist",
    "node_modules",
    "venv",
    "{arch}",
)


@dataclass(frozen=True)
class Ignore:
    """One entry that keeps pytest from collecting files, and where it is written:
    `--ignore`/`--ignore-glob` in `addopts`, or a conftest's `collect_ignore`/
    `collect_ignore_glob`."""

    key: str
    """`--ignore`, `--ignore-glob`, `collect_ignore` or `collect_ignore_glob`."""
    written: str
    """The path or glob as written."""
    source: Path
    """The configuration file or the conftest."""
    path: Path | None = None
    """What `--ignore`/`collect_ignore` names, made absolute."""
    glob: str | None = None
    """What `--ignore-glob`/`collect_ignore_glob` names, made absolute."""

    def matches(self, path: Path) -> bool:
        """Whether the entry keeps pytest from collecting `path` (resolved)."""
        if self.path is not None:
            return path == self.path or _is_relative_to(path, self.path)
        return self.glob is not None and fnmatch.fnmatch(str(path), self.glob)


def _is_relative_to(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def addopts_ignore_entries(config: PytestConfig, rootdir: Path) -> tuple[Ignore, ...]:
    """`--ignore PATH`, `--ignore=PATH`, `--ignore-glob GLOB` in addopts, made absolute."""
    found: list[Ignore] = []
    options = list(config.addopts)
    source = config.path or rootdir
    for index, option in enumerate(options):
        for flag in ("--ignore-glob", "--ignore"):
            value: str | None = None
            if option.startswith(flag + "="):
                value = option[len(flag) + 1 :]
            elif option == flag and index + 1 < len(options):
                value = options[index + 1]
            if value is not None:
                target = (rootdir / value).resolve()
                if flag == "--ignore-glob":
                    found.append(Ignore(flag, value, source, glob=str(target)))
                else:
                    found.append(Ignore(flag, value, source, path=target))
                break
    return tuple(found)


_COLLECT_IGNORE = ("collect_ignore", "collect_ignore_glob")


@dataclass(frozen=True)
class CollectIgnores:
    """What a conftest puts in `collect_ignore`/`collect_ignore_glob`."""

    entries: tuple[Ignore, ...] = ()
    """The literal strings added by statements of the conftest's own body."""
    unevaluated: tuple[tuple[int, str], ...] = ()
    """(line, code) of the additions testlint cannot evaluate: computed entries
    (an f-string, a call, a name) and additions under a condition, in a function
    or in a loop. They are assumed not to apply."""
    on_this_python: tuple[Ignore, ...] = ()
    """The literal strings added under a module-level `if` on `sys.version_info`
    alone that holds on the Python running testlint (`if sys.version_info < (3, 14):`).
    Not applied to discovery (CI runs other Pythons): TL001 reads them, since a file
    this Python cannot parse is not imported by pytest on this Python either."""


def read_collect_ignores(conftest: Path) -> CollectIgnores:
    """Literal strings a conftest puts in `collect_ignore`/`collect_ignore_glob`
    (assigned, `+=`, `.append`, `.extend`) in statements of its own body, read with
    `ast`. An entry that is computed (an f-string, a call) or added under a condition
    is not knowable statically: it is assumed not to apply, so the files it may
    hide are still checked rather than silently skipped (`unevaluated` lists it)."""
    if not conftest.is_file():
        return CollectIgnores()
    try:
        source = conftest.read_bytes()
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, OSError):
        return CollectIgnores()
    entries: list[Ignore] = []
    evaluated: set[int] = set()
    for statement in tree.body:
        target, value = _collect_ignore_entry(statement)
        if target is None or value is None:
            continue
        strings = _literal_strings(value)
        if len(strings) == len(_items(value)):
            evaluated.add(id(statement))
        entries.extend(_ignore(conftest, target, text) for text in strings)
    on_this_python = tuple(
        _ignore(conftest, target, text)
        for target, value in _version_gated_additions(tree.body)
        for text in _literal_strings(value)
    )
    unevaluated: list[tuple[int, str]] = []
    lines = source.decode("utf-8", "replace").splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or id(node) in evaluated:
            continue
        target, value = _collect_ignore_entry(node)
        if target is not None and value is not None:
            line = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
            unevaluated.append((node.lineno, line))
    return CollectIgnores(tuple(entries), tuple(sorted(unevaluated)), on_this_python)


def _ignore(conftest: Path, target: str, text: str) -> Ignore:
    if target == "collect_ignore":
        return Ignore(target, text, conftest, path=(conftest.parent / text).resolve())
    return Ignore(target, text, conftest, glob=str((conftest.parent / text).resolve()))


def _version_gated_additions(body: list[ast.stmt]) -> Iterator[tuple[str, ast.expr]]:
    """(target, value) of the `collect_ignore` additions in the branch that the
    running Python takes of each module-level `if` on `sys.version_info` alone."""
    for statement in body:
        if not isinstance(statement, ast.If):
            continue
        holds = _version_condition(statement.test)
        if holds is None:
            continue
        for inner in statement.body if holds else statement.orelse:
            target, value = _collect_ignore_entry(inner)
            if target is not None and value is not None:
                yield target, value
        if not holds:
            yield from _version_gated_additions(statement.orelse)  # elif chains


_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _version_condition(test: ast.expr) -> bool | None:
    """Whether `sys.version_info <op> (3, 14)` (or `sys.version_info[:2] ...`)
    holds on the running Python; None for any other condition."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    compare = _COMPARE.get(type(test.ops[0]))
    left, current = test.left, tuple(sys.version_info)
    if isinstance(left, ast.Subscript):
        cut = left.slice
        if not (
            isinstance(cut, ast.Slice)
            and cut.lower is None
            and cut.step is None
            and isinstance(cut.upper, ast.Constant)
            and type(cut.upper.value) is int
        ):
            return None
        left, current = left.value, current[: cut.upper.value]
    is_version = (
        isinstance(left, ast.Attribute)
        and left.attr == "version_info"
        and isinstance(left.value, ast.Name)
        and left.value.id == "sys"
    )
    try:
        wanted = ast.literal_eval(test.comparators[0])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not is_version or compare is None or not isinstance(wanted, tuple):
        return None
    if not all(type(part) is int for part in wanted):
        return None
    return bool(compare(current, wanted))


def _collect_ignore_entry(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """(`collect_ignore` or `collect_ignore_glob`, the value it is given) for one
    module-level statement that adds to either, else (None, None)."""
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        return next((n for n in names if n in _COLLECT_IGNORE), None), statement.value
    if isinstance(statement, ast.Expr):
        call = statement.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("append", "extend")
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in _COLLECT_IGNORE
            and call.args
        ):
            return call.func.value.id, call.args[0]
    return None, None


def _items(value: ast.expr) -> list[ast.expr]:
    return value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]


def _literal_strings(value: ast.expr) -> list[str]:
    """The strings of a string literal or a list/tuple of them; computed items
    (f-strings, calls, names) are left out."""
    return [
        item.value
        for item in _items(value)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


@dataclass(frozen=True)
class AsyncioSetup:
    """How pytest runs async tests for files under one pytest configuration."""

    mode: str
    """pytest-asyncio's mode: "strict" (the default) or "auto"."""
    trio_mode: bool
    """pytest-trio runs every async test and fixture (`trio_mode = true`)."""
    anyio_auto: bool
    """anyio runs every async test (`anyio_mode = auto`)."""
    mode_key: str = ""
    """What set `mode`: "override", "--asyncio-mode" (in `addopts`), "asyncio_mode",
    or "" (pytest-asyncio's default)."""


def _override_in(addopts: tuple[str, ...], key: str) -> str | None:
    """The value `-o key=...` (or `--override-ini`) gives in `addopts`."""
    options = list(addopts)
    for at, option in enumerate(options):
        value = None
        if option in ("-o", "--override-ini") and at + 1 < len(options):
            value = options[at + 1]
        elif option.startswith(("-o", "--override-ini=")):
            value = option.split("=", 1)[1] if option.startswith("--") else option[2:]
        if value is not None and value.startswith(f"{key}="):
            return value.split("=", 1)[1].strip()
    return None


def asyncio_setup(config: PytestConfig, override: str = "") -> AsyncioSetup:
    """`override` is `[tool.testlint] asyncio-mode`, for projects that set the
    mode outside the configuration files (CI command line, conftest code)."""
    mode = override
    key = "override" if override else ""
    if not mode:
        options = list(config.addopts)
        for index, option in enumerate(options):
            if option.startswith("--asyncio-mode="):
                mode = option.split("=", 1)[1]
                key = "--asyncio-mode"
            elif option == "--asyncio-mode" and index + 1 < len(options):
                mode = options[index + 1]
                key = "--asyncio-mode"
    if not mode:
        mode = config.get_str("asyncio_mode") or ""
        key = "asyncio_mode" if mode else ""
    return AsyncioSetup(
        mode=(mode or "strict").strip().lower(),
        trio_mode=_true(config.values.get("trio_mode", False)),
        anyio_auto=(config.get_str("anyio_mode") or "").lower() == "auto",
        mode_key=key,
    )
