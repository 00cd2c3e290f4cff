"""What is known about the project being checked, computed once per run.

- `PytestConfig`: the pytest configuration that applies to a directory, found the
  way pytest 9 finds it (see `CONFIG_FILES`), nearest directory first, so a
  nested `tests/pytest.ini` wins for the files under it.
- declared dependencies: pyproject (PEP 621, PEP 735 groups, Poetry, PDM, Hatch),
  requirements*.txt, tox.ini `deps`, setup.cfg, and string literals in setup.py /
  noxfile.py, so rules can ask `project.uses("pytest-xdist")`.
- which files are test modules (pytest's `python_files`) and conftests.

Nothing here imports or runs project code. Later rule families add a module index
beside these (see `Project.extensions`).
"""

from __future__ import annotations

import ast
import enum
import fnmatch
import os
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testlint.imports import ImportStyle, read_import_style
from testlint.index import ExitLines, ModuleIndex, build_index, exiting_modules, source_roots
from testlint.locate import (
    BUILD_DIRECTORIES,
    NEVER_READ,
    ProjectError,
    is_virtualenv,
    load_toml,
    resolve_once,
)

if TYPE_CHECKING:
    import configparser


class FileKind(enum.Enum):
    """What pytest makes of a Python file (decides which rules look at it)."""

    TEST = "test module"
    CONFTEST = "conftest"
    OTHER = "other module"


DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")


def _read_ini(path: Path) -> configparser.RawConfigParser | None:
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


def _tool_pytest(data: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool] | None:
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
    parser = _read_ini(path)
    if parser is not None and parser.has_section("pytest"):
        return PytestConfig(path, dict(parser.items("pytest")))
    return PytestConfig(path, {})  # always the config file, even without a section


def _load_pyproject(path: Path) -> PytestConfig | None:
    found = _tool_pytest(load_toml(path))
    if found is None:
        return None
    return PytestConfig(path, found[0], toml_mode=found[1])


def _load_section(section: str) -> Any:
    def load(path: Path) -> PytestConfig | None:
        parser = _read_ini(path)
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


def _names_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
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


# ---------------------------------------------------------------- dependencies

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_QUOTED = re.compile(
    r"""["']([A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]'"]*\])?\s*[<>=!~][^"']*|[A-Za-z0-9][A-Za-z0-9._-]*)["']"""
)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Pytest_Asyncio` -> `pytest-asyncio`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    name: str
    specifier: str
    source: Path


def parse_requirement(text: str, source: Path) -> Requirement | None:
    text = text.split(";", 1)[0].split(" #", 1)[0].strip()
    if not text or text.startswith(("-", "#", ".", "/")) or re.match(r"^[\w+]+://", text):
        return None
    match = _REQ_NAME.match(text)
    if match is None:
        return None
    specifier = match.group(3).strip()
    if specifier.startswith("@"):
        specifier = ""
    return Requirement(normalize_name(match.group(1)), specifier, source)


def _requirements_file(path: Path, seen: set[Path]) -> Iterator[Requirement]:
    if path in seen or not path.is_file():
        return
    seen.add(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        line = line.strip()
        include = re.match(r"^(?:-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if include:
            yield from _requirements_file(path.parent / include.group(1), seen)
            continue
        requirement = parse_requirement(line, path)
        if requirement is not None:
            yield requirement


def _strings(values: Any, source: Path) -> Iterator[Requirement]:
    if isinstance(values, dict):
        for value in values.values():
            yield from _strings(value, source)
    elif isinstance(values, list):
        for value in values:
            if isinstance(value, str):
                requirement = parse_requirement(value, source)
                if requirement is not None:
                    yield requirement


def _pyproject_requirements(path: Path, data: Mapping[str, Any]) -> Iterator[Requirement]:
    project = data.get("project", {})
    if isinstance(project, dict):
        yield from _strings(project.get("dependencies", []), path)
        yield from _strings(project.get("optional-dependencies", {}), path)
    yield from _strings(data.get("dependency-groups", {}), path)
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        return
    poetry = tool.get("poetry", {})
    if isinstance(poetry, dict):
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        groups = poetry.get("group", {})
        if isinstance(groups, dict):
            tables += [g.get("dependencies") for g in groups.values() if isinstance(g, dict)]
        for table in tables:
            if isinstance(table, dict):
                for name, spec in table.items():
                    text = spec if isinstance(spec, str) else ""
                    yield Requirement(normalize_name(name), text, path)
    pdm = tool.get("pdm", {})
    if isinstance(pdm, dict):
        yield from _strings(pdm.get("dev-dependencies", {}), path)
    hatch_envs = (
        tool.get("hatch", {}).get("envs", {}) if isinstance(tool.get("hatch"), dict) else {}
    )
    if isinstance(hatch_envs, dict):
        for env in hatch_envs.values():
            if isinstance(env, dict):
                yield from _strings(env.get("dependencies", []), path)
                yield from _strings(env.get("extra-dependencies", []), path)


def _ini_keys(parser: configparser.RawConfigParser) -> Iterator[tuple[str, str]]:
    """(section, key) pairs that hold requirement lists in tox.ini / setup.cfg."""
    for section in parser.sections():
        if section.startswith("testenv"):
            yield section, "deps"
        elif section == "options":
            yield section, "install_requires"
            yield section, "tests_require"
        elif section == "options.extras_require":
            yield from ((section, key) for key in parser.options(section))


def _ini_requirements(path: Path) -> Iterator[Requirement]:
    parser = _read_ini(path)
    if parser is None:
        return
    for section, key in _ini_keys(parser):
        if not parser.has_option(section, key):
            continue
        for line in parser.get(section, key).splitlines():
            # tox factor conditions: `py311: pytest-xdist`
            line = re.sub(r"^[\w,!-]+:\s+", "", line.strip())
            requirement = parse_requirement(line, path)
            if requirement is not None:
                yield requirement


def _python_file_requirements(path: Path) -> Iterator[Requirement]:
    """Quoted requirement strings in setup.py/noxfile.py (read as text, never run).
    Over-collecting is harmless: rules only ask about specific package names."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for match in _QUOTED.finditer(text):
        requirement = parse_requirement(match.group(1), path)
        if requirement is not None:
            yield requirement


def generated_files(root: Path) -> tuple[str, ...]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return ()
    try:
        tool = load_toml(pyproject).get("tool", {})
    except (ProjectError, OSError):
        return ()
    if not isinstance(tool, dict):
        return ()
    scm = tool.get("setuptools_scm", {})
    hooks = tool.get("hatch", {}).get("build", {}).get("hooks", {})
    vcs = hooks.get("vcs", {}) if isinstance(hooks, dict) else {}
    found = []
    for table, key in ((scm, "version_file"), (scm, "write_to"), (vcs, "version-file")):
        value = table.get(key) if isinstance(table, dict) else None
        if isinstance(value, str) and value.endswith(".py"):
            found.append(value.replace("\\", "/").lstrip("./"))
    return tuple(found)


LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")


def locked_versions(root: Path) -> dict[str, str]:
    """Package name (normalised) -> the version a lock file at the root pins."""
    found: dict[str, str] = {}
    for name in LOCK_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            if name == "Pipfile.lock":
                import json  # here: only a Pipfile.lock needs it

                data = json.loads(path.read_text(encoding="utf-8"))
                for section in ("default", "develop"):
                    for package, entry in (data.get(section) or {}).items():
                        version = entry.get("version", "") if isinstance(entry, dict) else ""
                        if version.startswith("=="):
                            found.setdefault(normalize_name(package), version[2:])
            else:
                for package in load_toml(path).get("package", []):
                    if isinstance(package, dict) and "name" in package and "version" in package:
                        found.setdefault(
                            normalize_name(str(package["name"])), str(package["version"])
                        )
        except (ProjectError, OSError, ValueError, AttributeError):
            continue
    return found


def declared_requirements(root: Path) -> tuple[Requirement, ...]:
    found: list[Requirement] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        found.extend(_pyproject_requirements(pyproject, load_toml(pyproject)))
    seen: set[Path] = set()
    candidates = sorted(root.glob("*requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    for candidate in candidates:
        found.extend(_requirements_file(candidate, seen))
    for name in ("tox.ini", "setup.cfg"):
        if (root / name).is_file():
            found.extend(_ini_requirements(root / name))
    for name in ("setup.py", "noxfile.py"):
        if (root / name).is_file():
            found.extend(_python_file_requirements(root / name))
    return tuple(found)


def declared_requires_python(root: Path) -> str | None:
    """The Python versions the project supports, as a specifier (`>=3.9`), from
    PEP 621 `requires-python`, Poetry's `python` dependency, setup.cfg
    `python_requires` or a `python_requires="..."` string in setup.py."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = load_toml(pyproject)
        project = data.get("project", {})
        if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
            return str(project["requires-python"])
        tool = data.get("tool", {})
        poetry = tool.get("poetry", {}) if isinstance(tool, dict) else {}
        dependencies = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
        if isinstance(dependencies, dict) and isinstance(dependencies.get("python"), str):
            return str(dependencies["python"])
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        parser = _read_ini(setup_cfg)
        if parser is not None and parser.has_option("options", "python_requires"):
            return parser.get("options", "python_requires").strip()
    setup_py = root / "setup.py"
    if setup_py.is_file():
        text = setup_py.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"python_requires\s*=\s*[\"']([^\"']+)[\"']", text)
        if match:
            return match.group(1)
    return None


_VERSION_CLAUSE = re.compile(r"^\s*(>=|>|==|~=|\^|~|<=|<|!=)?\s*v?(\d+(?:\.\d+)*)")


def admits_python_below(specifier: str | None, version: tuple[int, int]) -> bool:
    """Whether a requires-python specifier admits some Python older than
    `version`. Only lower bounds can exclude older versions; an unreadable
    clause is taken to admit everything."""
    if not specifier or "|" in specifier or " or " in specifier:
        return True  # none, or alternatives: one of them may admit older versions
    for clause in specifier.split(","):
        match = _VERSION_CLAUSE.match(clause)
        if match is None:
            continue
        operator = match.group(1) or "=="
        parts = tuple(int(p) for p in match.group(2).split("."))
        bound = (*parts, 0, 0)[:2]
        if operator in (">=", "~=", "^", "~", "==") and bound >= version:
            return False
        if operator == ">" and bound >= version:
            return False
    return True


RUN_FILES = (
    "tox.ini",
    "noxfile.py",
    "Makefile",
    "makefile",
    "justfile",
    "Justfile",
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    "pyproject.toml",
    "setup.cfg",
)
RUN_FILE_GLOBS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".circleci/*.yml",
    "scripts/*.sh",
    "ci/*.sh",
    "ci/*.yml",
    "*.sh",
)


def repository_root(root: Path) -> Path:
    """The nearest directory at or above `root` holding `.git` (`root` itself when
    none does): a sub-project's CI workflows live there."""
    root = root.resolve()
    return next((d for d in (root, *root.parents) if (d / ".git").exists()), root)


def run_file_paths(root: Path) -> list[Path]:
    """The run files (CI workflows, tox, nox, make) that exist directly under `root`."""
    paths = [root / name for name in RUN_FILES]
    for pattern in RUN_FILE_GLOBS:
        paths.extend(sorted(root.glob(pattern)))
    return [path for path in paths if path.is_file()]


def run_files(root: Path) -> tuple[tuple[Path, str], ...]:
    """Files that say how the test suite is run (CI workflows, tox, nox, make),
    with their text. Read, never executed."""
    paths = run_file_paths(root)
    found = []
    for path in paths:
        try:
            if path.is_file() and path.stat().st_size < 2_000_000:
                found.append((path, path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    return tuple(found)


# ---------------------------------------------------------------- collection

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


def is_relative_to(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` for messages, or whole when it lies elsewhere."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _addopts_ignores(
    addopts: tuple[str, ...], rootdir: Path
) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """`--ignore PATH`, `--ignore=PATH`, `--ignore-glob GLOB` in addopts, made absolute."""
    ignored: list[Path] = []
    globs: list[str] = []
    options = list(addopts)
    for index, option in enumerate(options):
        for flag, found in (("--ignore-glob", globs), ("--ignore", ignored)):
            value: str | None = None
            if option.startswith(flag + "="):
                value = option[len(flag) + 1 :]
            elif option == flag and index + 1 < len(options):
                value = options[index + 1]
            if value is not None:
                target = (rootdir / value).resolve()
                if found is globs:
                    globs.append(str(target))
                else:
                    ignored.append(target)
                break
    return tuple(ignored), tuple(globs)


_COLLECT_IGNORE = ("collect_ignore", "collect_ignore_glob")


def collect_ignores(conftest: Path) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    """Literal strings a conftest puts in `collect_ignore`/`collect_ignore_glob`
    (assigned, `+=`, `.append`, `.extend`) in statements of its own body, read with
    `ast`. An entry that is computed (an f-string, a call) or added under a condition
    is not knowable statically: it is assumed not to apply, so the files it may
    hide are still checked rather than silently skipped."""
    if not conftest.is_file():
        return (), ()
    try:
        tree = ast.parse(conftest.read_bytes())
    except (SyntaxError, ValueError, RecursionError, OSError):
        return (), ()
    ignored: list[Path] = []
    globs: list[str] = []
    for statement in tree.body:
        target, value = _collect_ignore_entry(statement)
        if target is None or value is None:
            continue
        for text in _literal_strings(value):
            if target == "collect_ignore":
                ignored.append((conftest.parent / text).resolve())
            else:
                globs.append(str((conftest.parent / text).resolve()))
    return tuple(ignored), tuple(globs)


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


def _literal_strings(value: ast.expr) -> list[str]:
    """The strings of a string literal or a list/tuple of them; computed items
    (f-strings, calls, names) are left out."""
    items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
    return [
        item.value
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]


# ---------------------------------------------------------------- async plugins

ASYNC_TEST_PLUGINS = ("pytest-aio", "pytest-tornasync", "pytest-sanic")
"""Plugins that run every coroutine test (and async fixture) themselves."""
SUITE_SKIPPED = NEVER_READ | BUILD_DIRECTORIES
_OLD_ASYNCIO = re.compile(r"(==|<=|<|~=)\s*0\.(\d+)")
_BEFORE_ONE = re.compile(r"(==|<=|~=)\s*0\.|<\s*(?:0\.|1(?:\.0)*\s*(?:,|$))")
"""A specifier that keeps a package below 1.0: `==0.3.0`, `<1`, `<1.0`, `~=0.3`."""


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


def asyncio_setup(config: PytestConfig, override: str = "") -> AsyncioSetup:
    """`override` is `[tool.testlint] asyncio-mode`, for projects that set the
    mode outside the configuration files (CI command line, conftest code)."""
    mode = override
    if not mode:
        options = list(config.addopts)
        for index, option in enumerate(options):
            if option.startswith("--asyncio-mode="):
                mode = option.split("=", 1)[1]
            elif option == "--asyncio-mode" and index + 1 < len(options):
                mode = options[index + 1]
    if not mode:
        mode = config.get_str("asyncio_mode") or "strict"
    return AsyncioSetup(
        mode=mode.strip().lower(),
        trio_mode=_true(config.values.get("trio_mode", False)),
        anyio_auto=(config.get_str("anyio_mode") or "").lower() == "auto",
    )


def pinned_before_strict_default(specifier: str) -> bool:
    """pytest-asyncio before 0.19 did not default to strict mode (< 0.17 had no
    modes, 0.17 and 0.18 defaulted to "legacy", which ran plain async fixtures):
    `==0.18.3`, `<0.19`, `~=0.15`."""
    for operator, minor in _OLD_ASYNCIO.findall(specifier):
        if int(minor) <= (19 if operator == "<" else 18):
            return True
    return False


# ---------------------------------------------------------------- the project


_MARK = re.compile(r"mark\.(\w+)")
_WORD = re.compile(r"\w")


def marks_in_text(text: str) -> list[str]:
    """The `name` of every `mark.name` in `text` (not `trademark.x`): what
    `\\bmark\\.(\\w+)` finds, ten times faster (a leading `\\b` keeps the regex
    engine from searching for the literal first)."""
    names = []
    match = _MARK.search(text)
    while match is not None:
        start = match.start()
        if start and _WORD.match(text, start - 1):
            match = _MARK.search(text, start + 1)  # `amark.mark.x` holds `mark.x`
        else:
            names.append(match[1])
            match = _MARK.search(text, match.end())
    return names


DEPENDENCY_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "noxfile.py")


@dataclass
class Project:
    """Facts about the project, shared by every rule in a run."""

    root: Path
    _configs: dict[Path, PytestConfig] = field(default_factory=dict, repr=False)
    _ignores: dict[Path, tuple[tuple[Path, ...], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    _owners: dict[Path, Project] = field(default_factory=dict, repr=False)
    _owners_by_name: dict[Path, Project] = field(default_factory=dict, repr=False)
    _configs_by_name: dict[Path, PytestConfig] = field(default_factory=dict, repr=False)
    _resolved_dirs: dict[str, str] = field(default_factory=dict, repr=False)
    _test_names: dict[str, Callable[[str], bool]] = field(default_factory=dict, repr=False)
    _rules_by_name: dict[str, bool | tuple[tuple[Path, ...], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    _collection_rules: dict[Path, bool | tuple[tuple[Path, ...], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    _conftests: dict[Path, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _import_styles: dict[Path, ImportStyle] = field(default_factory=dict, repr=False)
    extensions: dict[str, object] = field(default_factory=dict, repr=False)
    _exiting_modules: dict[str, tuple[Path, int]] | None = field(
        default=None, repr=False, compare=False
    )

    # Shared with every sub-project (`owner`): one record per run.
    fact_reads: set[str] = field(default_factory=set, repr=False, compare=False)
    """Names of the facts (`facts.py`) read since the engine last cleared it."""
    tests_read: set[Path] = field(default_factory=set, repr=False, compare=False)
    """Test modules whose content a cross-file question read since the runner last
    cleared it: the file being linted depends on them (see `cache.py`)."""
    exit_lines: ExitLines = field(default_factory=ExitLines, repr=False, compare=False)
    """Where modules exit at import, by content (the cache fills `known`)."""
    """Room for later, lazily built models (e.g. a module index for cross-file rules)."""

    @cached_property
    def requirements(self) -> tuple[Requirement, ...]:
        return declared_requirements(self.root)

    @cached_property
    def generated_files(self) -> tuple[str, ...]:
        """Files the build writes at install time (setuptools_scm's `version_file`
        or `write_to`, hatch-vcs's `version-file`), as posix paths under the root:
        modules that exist when the tests run though not in the checkout."""
        return generated_files(self.root)

    def conftest_texts(self, directory: Path) -> tuple[str, ...]:
        """The text of every conftest.py from `directory` up to the root (cached)."""
        directory = directory.resolve()
        cached = self._conftests.get(directory)
        if cached is None:
            own = directory / "conftest.py"
            text = own.read_text(encoding="utf-8", errors="replace") if own.is_file() else ""
            above: tuple[str, ...] = ()
            if (
                directory != self.root
                and directory.parent != directory
                and is_relative_to(directory, self.root)
            ):
                above = self.conftest_texts(directory.parent)
            cached = ((text,) if text else ()) + above
            self._conftests[directory] = cached
        return cached

    def import_style(self, path: Path) -> ImportStyle:
        """How the project sorts imports for `path` (its ruff or isort configuration,
        looked for up to this project's root; first-party modules are those under
        the source roots of the file's own project): where a fix puts a new import."""
        directory = path.resolve().parent
        style = self._import_styles.get(directory)
        if style is None:
            roots = source_roots(self.owner(path).root)
            top = self.root.resolve()
            style = self._import_styles[directory] = read_import_style(directory, top, roots)
        return style

    def _sub_project(self, root: Path) -> Project:
        """A project below this one, sharing this run's records of what was read."""
        return Project(
            root, fact_reads=self.fact_reads, tests_read=self.tests_read, exit_lines=self.exit_lines
        )

    def owner(self, path: Path) -> Project:
        """The project a file belongs to: the nearest directory above it that declares
        dependencies (a monorepo holds several), else this one."""
        fast = self._owners_by_name.get(path.parent)
        if fast is not None:
            return fast
        directory = path.resolve().parent
        cached = self._owners.get(directory)
        if cached is None:
            # Keyed by directory, and by sub-project root so that every directory of
            # one sub-project shares one Project (requirements, suite scan).
            cached = self
            for candidate in (directory, *directory.parents):
                if candidate == self.root:
                    break
                if any((candidate / name).is_file() for name in DEPENDENCY_FILES) or any(
                    candidate.glob("*requirements*.txt")
                ):
                    cached = self._owners.get(candidate) or self._sub_project(candidate)
                    self._owners[candidate] = cached
                    break
            self._owners[directory] = cached
        self._owners_by_name[path.parent] = cached  # as given: no resolving next time
        return cached

    @cached_property
    def pytest_asyncio(self) -> str:
        """ "used", "unused", "legacy" (pinned before 0.19, when strict mode was not
        the default) or "other-plugin"
        (pytest-aio, pytest-tornasync, pytest-sanic run async tests themselves)."""
        if any(self.uses(plugin) for plugin in ASYNC_TEST_PLUGINS):
            return "other-plugin"
        locked = self.locked_versions.get("pytest-asyncio")
        if locked is not None:  # a lock file says which version really runs
            return "legacy" if pinned_before_strict_default(f"=={locked}") else "used"
        declared = self.requirement("pytest-asyncio")
        if declared:
            if all(pinned_before_strict_default(r.specifier) for r in declared):
                return "legacy"
            return "used"
        aiohttp = self.requirement("pytest-aiohttp") or "pytest-aiohttp" in self.locked_versions
        if aiohttp and not self.old_aiohttp_plugin:
            return "used"  # pytest-aiohttp 1.x is a pytest-asyncio plugin, and installs it
        return "used" if self._suite_mentions(("pytest_asyncio", "mark.asyncio")) else "unused"

    @cached_property
    def locked_versions(self) -> dict[str, str]:
        """`locked_versions` of the root, read once (a lock file can be megabytes)."""
        return locked_versions(self.root)

    @cached_property
    def old_aiohttp_plugin(self) -> bool:
        """pytest-aiohttp before 1.0 is pinned: it loads aiohttp's own pytest plugin,
        which runs every `async def` test itself, marked or not (its async fixtures
        only for tests that request `loop`)."""
        locked = self.locked_versions.get("pytest-aiohttp")
        if locked is not None:
            return locked.startswith("0.")
        declared = self.requirement("pytest-aiohttp")
        return bool(declared) and all(_BEFORE_ONE.search(r.specifier) for r in declared)

    def _suite_mentions(self, words: tuple[str, ...]) -> bool:
        """Whether any test module or conftest under the root contains one of
        `words` (read as text; only asked when dependencies do not say)."""
        return any(word in self.suite_text(path) for path in self.suite_files for word in words)

    @property
    def suite_files(self) -> tuple[Path, ...]:
        """Every test module and conftest under the root, in sorted order (the
        "suite" fact)."""
        self.fact_reads.add("suite")
        return self._suite_files

    @cached_property
    def _suite_files(self) -> tuple[Path, ...]:
        return tuple(p for p in self._python_files() if self.file_kind(p) is not FileKind.OTHER)

    @property
    def test_named_files(self) -> tuple[Path, ...]:
        """Every file named like a test module or conftest under the root: a
        superset of `suite_files`, cheaper to list (nothing is resolved)."""
        self.fact_reads.add("suite")
        return self._test_named_files

    @cached_property
    def _test_named_files(self) -> tuple[Path, ...]:
        return tuple(p for p in self._python_files() if self.is_test_file(p))

    def _python_files(self) -> Iterator[Path]:
        """Regular `.py` files under the root (not FIFOs, symlink loops or broken
        links), skipping hidden, vendored and virtualenv directories; sorted, in
        `os.walk` order (symbolic links to directories are not followed)."""
        return _python_files_under(str(self.root))

    @staticmethod
    def suite_text(path: Path) -> str:
        """The text of a file of the suite ("" if unreadable). Not kept: callers
        cache the answer they derive, not the text."""
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    @property
    def module_index(self) -> ModuleIndex:
        """Every project module, read with `ast` (built on first use; the "modules"
        fact)."""
        self.fact_reads.add("modules")
        return self._module_index

    @cached_property
    def _module_index(self) -> ModuleIndex:
        return build_index(self.root, self.is_test_path, self.tests_read)

    @property
    def exiting_modules(self) -> dict[str, tuple[Path, int]]:
        """Project modules that exit at import time (the index lists them; only
        those that mention an exit are parsed; the "exiting" fact)."""
        self.fact_reads.add("exiting")
        found = self._exiting_modules
        if found is None:
            found = self._exiting_modules = exiting_modules(self._module_index, self.exit_lines)
        return found

    def learn_exiting_modules(self, found: dict[str, tuple[Path, int]]) -> None:
        """Take the exiting modules as the cache found them (unless already known)."""
        if self._exiting_modules is None:
            self._exiting_modules = found

    def known_facts(self) -> dict[str, dict[str, list[object]]]:
        """The exiting modules found in this run, by project root (sub-projects
        too): only the project's modules, configuration and layout decide them,
        never a test module's content. A replay that re-checks a few test modules
        starts from them (`recall`) instead of listing every module again."""
        facts: dict[str, dict[str, list[object]]] = {}
        for owner in (self, *self._owners.values()):
            if owner._exiting_modules is not None:
                exiting = owner._exiting_modules.items()
                facts[str(owner.root)] = {name: [str(p), line] for name, (p, line) in exiting}
        return facts

    def recall(self, facts: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
        """Take the facts `known_facts` gave, for a tree where only test modules
        that no other result read have changed since."""
        for root, exiting in facts.items():
            owner = self if str(self.root) == root else self._owners.get(Path(root))
            if owner is None:
                owner = self._owners[Path(root)] = self._sub_project(Path(root))
            owner._exiting_modules = {
                str(name): (Path(str(where)), int(line)) for name, (where, line) in exiting.items()
            }

    def is_test_file(self, path: Path) -> bool:
        """A conftest, or a module named as pytest's `python_files` name tests
        (collected or not: either way it is not code under test)."""
        return self.is_test_path(str(path))

    def is_test_path(self, path: str) -> bool:
        """`is_test_file` for a path as text (the module index asks of every file)."""
        return os.path.basename(path) == "conftest.py" or self._named_as_test(path)

    def _named_as_test(self, path: str) -> bool:
        """Whether `python_files` names `path` a test module; the patterns of each
        directory are compiled once (suites list thousands of files in a few)."""
        directory = os.path.dirname(path)
        matches = self._test_names.get(directory)
        if matches is None:
            matches = self._test_names[directory] = _names_matcher(
                self.pytest_config(Path(directory)).python_files
            )
        return matches(path)

    @cached_property
    def requires_python(self) -> str | None:
        return declared_requires_python(self.root)

    @cached_property
    def run_files(self) -> tuple[tuple[Path, str], ...]:
        """CI workflows, tox, nox and make files: how the suite is really run."""
        return run_files(self.root)

    @cached_property
    def repository_root(self) -> Path:
        return repository_root(self.root)

    @cached_property
    def repository_run_files(self) -> tuple[tuple[Path, str], ...]:
        """The repository's run files, when the project is a sub-project of it
        (none otherwise: `run_files` has them)."""
        if self.repository_root == self.root.resolve():
            return ()
        return run_files(self.repository_root)

    def requirement(self, name: str) -> tuple[Requirement, ...]:
        wanted = normalize_name(name)
        return tuple(r for r in self.requirements if r.name == wanted)

    def uses(self, name: str) -> bool:
        """Whether the project declares a dependency on `name` anywhere."""
        return bool(self.requirement(name))

    def pytest_config(self, directory: Path) -> PytestConfig:
        """The pytest configuration for files in `directory` (nearest config wins)."""
        known = self._configs_by_name.get(directory)
        if known is not None:
            return known
        given = directory
        directory = directory.resolve()
        chain: list[Path] = []
        config: PytestConfig | None = None
        for current in (directory, *directory.parents):
            cached = self._configs.get(current)
            if cached is not None:
                config = cached
                break
            chain.append(current)
            config = self._config_in(current)
            if config is not None:
                break
        result = config or DEFAULT_PYTEST_CONFIG
        for visited in chain:
            self._configs[visited] = result
        self._configs_by_name[given] = result  # as given: no resolving next time
        return result

    @staticmethod
    def _config_in(directory: Path) -> PytestConfig | None:
        for name, loader in CONFIG_FILES:
            candidate = directory / name
            if candidate.is_file():
                config: PytestConfig | None = loader(candidate)
                if config is not None:
                    return config
        return None

    def file_kind(self, path: Path) -> FileKind:
        """What pytest makes of `path` when run from the project's root: a test
        module, a conftest, or a file it never imports as either."""
        if path.suffix != ".py" or not self.is_collected(path):
            return FileKind.OTHER
        if path.name == "conftest.py":
            return FileKind.CONFTEST
        return FileKind.TEST if self._named_as_test(str(path)) else FileKind.OTHER

    def is_collected(self, path: Path) -> bool:
        """False when pytest's own configuration keeps it away from `path`:
        `norecursedirs` on a directory between the rootdir and the file,
        `--ignore`/`--ignore-glob` in `addopts`, or `collect_ignore`/
        `collect_ignore_glob` in a conftest above it."""
        # The rules of a file's directory, looked up by the name given when the file
        # is not a link (a link is judged where it leads).
        directory = os.path.dirname(str(path))
        link = os.path.islink(path)
        rules = None if link else self._rules_by_name.get(directory)
        if rules is True or rules is False:
            return rules
        path = self.resolved(path)
        if rules is None:
            rules = self._collection_rules.get(path.parent)
            if rules is None:
                rules = self._directory_rules(path.parent)
                self._collection_rules[path.parent] = rules
            if not link:
                self._rules_by_name[directory] = rules
        if rules is False:
            return False
        if rules is True:
            return True
        ignored, globs = rules
        if any(path == p or is_relative_to(path, p) for p in ignored):
            return False
        return not any(fnmatch.fnmatch(str(path), glob) for glob in globs)

    def resolved(self, path: Path) -> Path:
        """`path.resolve()`, resolving each directory once (see `resolve_once`)."""
        return Path(resolve_once(path, self._resolved_dirs))

    def _directory_rules(self, directory: Path) -> bool | tuple[tuple[Path, ...], tuple[str, ...]]:
        """For the files of one (resolved) directory: True (all collected), False
        (`norecursedirs` excludes the directory) or the ignores that apply."""
        config = self.pytest_config(directory)
        rootdir = config.rootdir or self.root
        if not is_relative_to(directory, rootdir):
            return True
        patterns = config.get_list("norecursedirs")
        norecurse = patterns if patterns is not None else DEFAULT_NORECURSEDIRS
        for current in (directory, *directory.parents):
            if current == rootdir or not is_relative_to(current, rootdir):
                break
            if any(python_files_match(pattern, current) for pattern in norecurse):
                return False
        ignored, globs = _addopts_ignores(config.addopts, rootdir)
        for current in (directory, *directory.parents):
            more_ignored, more_globs = self._collect_ignores(current)
            ignored += more_ignored
            globs += more_globs
            if current == rootdir or not is_relative_to(current, rootdir):
                break
        return (ignored, globs) if ignored or globs else True

    def _collect_ignores(self, directory: Path) -> tuple[tuple[Path, ...], tuple[str, ...]]:
        cached = self._ignores.get(directory)
        if cached is None:
            cached = collect_ignores(directory / "conftest.py")
            self._ignores[directory] = cached
        return cached


def _python_files_under(directory: str) -> Iterator[Path]:
    """`Project._python_files`: one `scandir` per directory, no `stat` or `Path`
    for files rejected by name."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        try:
            if entry.is_dir():
                if (
                    not entry.name.startswith(".")
                    and entry.name not in SUITE_SKIPPED
                    and not entry.is_symlink()
                    and not is_virtualenv(entry.path)
                ):
                    subdirectories.append(entry.path)
            elif entry.name.endswith(".py") and entry.is_file():
                yield Path(entry.path)
        except OSError:
            continue
    for subdirectory in subdirectories:
        yield from _python_files_under(subdirectory)
