"""What a project declares around its code: dependencies, lock files, CI and run files.

Dependencies come from pyproject (PEP 621, PEP 735 groups, Poetry, PDM, Hatch),
requirements*.txt, Pipfile, tox.ini `deps`, setup.cfg and string literals in setup.py /
noxfile.py; lock files (uv, Poetry, PDM, Pipenv) say which version really runs;
CI workflows and run scripts say how the suite is run (`-n` for xdist). Nothing
here imports or runs project code.
"""

from __future__ import annotations

import configparser
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testlint.locate import ProjectError, load_toml, loads_toml
from testlint.pytest_config import read_ini

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_TOX_FACTORS = re.compile(r"^[\w{}.!,-]+:\s+")
"""A tox factor condition before a line (tox's own pattern: factors may hold dots
and braces, `py3.8-django: ...`, `{py38,py39}: ...`)."""


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
    parsed = _name_and_specifier(text)
    return None if parsed is None else Requirement(parsed[0], parsed[1], source)


@functools.cache
def _name_and_specifier(text: str) -> tuple[str, str] | None:
    """A requirement line's normalised name and specifier. Remembered: a tox.ini
    with a matrix of environments repeats the same lines thousands of times."""
    text = text.split(";", 1)[0].split(" #", 1)[0].strip()
    if not text or text.startswith(("-", "#", ".", "/")) or re.match(r"^[\w+]+://", text):
        return None
    match = _REQ_NAME.match(text)
    if match is None:
        return None
    specifier = match.group(3).strip()
    if specifier.startswith("@"):
        specifier = ""
    return normalize_name(match.group(1)), specifier


def _requirements_file(path: Path, seen: dict[Path, None]) -> Iterator[Requirement]:
    """The requirements in `path` and in the files it includes (`-r`, `-c`), each
    file once; `seen` gathers every file read or looked for (`requirement_files`)."""
    if path in seen:
        return
    seen[path] = None
    if not path.is_file():
        return
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for line in lines:
        line = line.strip()
        include = re.match(r"^(?:-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if include:
            # Normalised: `-r ../x/a.txt` in x/a.txt is x/a.txt again, not a longer name.
            included = Path(os.path.normpath(path.parent / include.group(1)))
            yield from _requirements_file(included, seen)
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
                    yield Requirement(normalize_name(name), _poetry_specifier(spec), path)
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


def _poetry_specifier(spec: object) -> str:
    """`"^0.21"`, or `{ version = "^0.21", extras = [...] }` (a table: its version)."""
    if isinstance(spec, dict):
        spec = spec.get("version", "")
    return spec if isinstance(spec, str) else ""


def _pipfile_requirements(path: Path) -> Iterator[Requirement]:
    """`[packages]` and `[dev-packages]` of a Pipfile: `name = "*"`, `">=1.0"` or
    `{version = "..."}`."""
    try:
        data = load_toml(path)
    except (ProjectError, OSError):
        return
    for section in ("packages", "dev-packages"):
        table = data.get(section)
        if isinstance(table, dict):
            for name, spec in table.items():
                specifier = _poetry_specifier(spec)
                yield Requirement(normalize_name(name), "" if specifier == "*" else specifier, path)


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
    parser = read_ini(path)
    if parser is None:
        return
    for section, key in _ini_keys(parser):
        if not parser.has_option(section, key):
            continue
        for line in parser.get(section, key).splitlines():
            # tox factor conditions: `py311: pytest-xdist`, `{py3.8,py3.9}-django: ...`
            line = _TOX_FACTORS.sub("", line.strip())
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


@dataclass(frozen=True)
class Locked:
    """The version of a package a lock file pins."""

    version: str
    source: Path
    """The lock file."""


def locked_packages(root: Path) -> dict[str, Locked]:
    """Package name (normalised) -> the version a lock file at the root pins, and
    that lock file (the first of `LOCK_FILES` that pins it)."""
    found: dict[str, Locked] = {}
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
                            found.setdefault(normalize_name(package), Locked(version[2:], path))
            else:
                text = path.read_text(encoding="utf-8")
                for package, version in lock_file_packages(text, path):
                    found.setdefault(normalize_name(package), Locked(version, path))
        except (ProjectError, OSError, ValueError, AttributeError):
            continue
    return found


def lock_file_packages(text: str, where: Path) -> list[tuple[str, str]]:
    """(name, version) of each `[[package]]` of a uv, Poetry or PDM lock file.
    Read line by line where the file keeps to the plain shape those tools write
    (tomllib took 0.13 s of faststream's 1 s run on its 696 KB uv.lock), else
    with tomllib (`ProjectError` when it cannot read it); a test proves both
    ways equal on every lock file tomllib reads."""
    found = _scanned_lock_packages(text)
    return found if found is not None else parsed_lock_packages(text, where)


def parsed_lock_packages(text: str, where: Path) -> list[tuple[str, str]]:
    """The plain way: the whole file through tomllib."""
    packages = loads_toml(text, where).get("package", [])
    return [
        (str(package["name"]), str(package["version"]))
        for package in (packages if isinstance(packages, list) else [])
        if isinstance(package, dict) and "name" in package and "version" in package
    ]


_PACKAGE_HEADER = re.compile(r"\[\[\s*package\s*\]\]\s*(?:#.*)?")
_NAME_OR_VERSION = re.compile(r'(name|version)\s*=\s*"([^"\\]*)"\s*(?:#.*)?')
_MULTI_LINE_STRINGS = ('"""', "'''")
"""A line of one could look like a key: such files are left to tomllib."""


def _scanned_lock_packages(text: str) -> list[tuple[str, str]] | None:
    """The packages read line by line: `[[package]]` at the start of a line opens
    one, any other line starting with `[` closes it (`[package.dependencies]`),
    and its `name = "..."`/`version = "..."` lines are read. None where a line
    in a package is not of that plain shape (the caller asks tomllib)."""
    if any(mark in text for mark in _MULTI_LINE_STRINGS):
        return None
    found: list[tuple[str, str]] = []
    keys: dict[str, str] | None = None
    for line in text.split("\n"):
        if line.startswith("["):
            if keys is not None and "name" in keys and "version" in keys:
                found.append((keys["name"], keys["version"]))
            keys = {} if _PACKAGE_HEADER.fullmatch(line) else None
            continue
        if keys is None or not line.startswith(("name", "version")):
            continue
        match = _NAME_OR_VERSION.fullmatch(line)
        if match is None or match.group(1) in keys:
            return None  # another key so named (`names = `), a second one, a non-string
        keys[match.group(1)] = match.group(2)
    if keys is not None and "name" in keys and "version" in keys:
        found.append((keys["name"], keys["version"]))
    return found


def locked_versions(root: Path) -> dict[str, str]:
    """Package name (normalised) -> the version a lock file at the root pins."""
    return {name: locked.version for name, locked in locked_packages(root).items()}


def _requirements_files_at(root: Path) -> list[Path]:
    """The root's `*requirements*.txt` and `requirements/*.txt`, then the files
    its run files install with `-r` (stripe's justfile: `pip install -r
    deps/test-requirements.txt`)."""
    found = sorted(root.glob("*requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    for path in _installed_by_run_files(root):
        if path not in found:
            found.append(path)
    return found


_INSTALLED_FILE = re.compile(
    r"(?:^|\s)(?:-r|--requirement)(?:\s+|=)[\"']?"
    r"((?:[\w./-]|\{\{[^}]*\}\}|\$\{?\w+\}?)+\.(?:txt|in))[\"']?(?=\s|$)",
    re.MULTILINE,
)
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\$\{?\w+\}?")
"""`{{ group }}` (just), `${EXTRA}`/`$EXTRA` (shell): any file of that shape."""


def _installed_by_run_files(root: Path) -> list[Path]:
    """Requirements files a CI workflow, tox, nox, make or just file names after
    `-r`, relative to the root and inside it (a templated name: every existing
    file it may name)."""
    found: list[Path] = []
    resolved_root = root.resolve()
    for _, text in run_files(root):
        for name in _INSTALLED_FILE.findall(text):
            pattern = _TEMPLATE.sub("*", name)
            if pattern.startswith("/") or ".." in pattern.split("/"):
                continue
            templated = "*" in pattern
            for path in sorted(root.glob(pattern)) if templated else [root / name]:
                try:
                    inside = path.resolve().is_relative_to(resolved_root)
                except (OSError, RuntimeError, ValueError):
                    continue
                # A named file that is missing is looked for all the same:
                # creating it changes the answer (`requirement_files`).
                if inside and (path.is_file() or not templated) and path not in found:
                    found.append(path)
    return sorted(found)


def requirement_files(root: Path) -> list[Path]:
    """Every requirements file `declared_requirements(root)` reads: the root's
    `*requirements*.txt` and `requirements/*.txt`, and the files they include
    (`-r`, `-c`: any name, anywhere), the missing ones too (creating one changes
    the answer)."""
    seen: dict[Path, None] = {}
    for candidate in _requirements_files_at(root):
        for _ in _requirements_file(candidate, seen):
            pass
    return list(seen)


def declared_requirements(root: Path) -> tuple[Requirement, ...]:
    found: list[Requirement] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        found.extend(_pyproject_requirements(pyproject, load_toml(pyproject)))
    seen: dict[Path, None] = {}
    for candidate in _requirements_files_at(root):
        found.extend(_requirements_file(candidate, seen))
    if (root / "Pipfile").is_file():
        found.extend(_pipfile_requirements(root / "Pipfile"))
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
        parser = read_ini(setup_cfg)
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


_OLD_ASYNCIO = re.compile(r"(==|<=|<|~=)\s*0\.(\d+)")


BEFORE_ONE = re.compile(r"(==|<=|~=)\s*0\.|<\s*(?:0\.|1(?:\.0)*\s*(?:,|$))")
"""A specifier that keeps a package below 1.0: `==0.3.0`, `<1`, `<1.0`, `~=0.3`."""


def pinned_before_strict_default(specifier: str) -> bool:
    """pytest-asyncio before 0.19 did not default to strict mode (< 0.17 had no
    modes, 0.17 and 0.18 defaulted to "legacy", which ran plain async fixtures):
    `==0.18.3`, `<0.19`, `~=0.15`."""
    for operator, minor in _OLD_ASYNCIO.findall(specifier):
        if int(minor) <= (19 if operator == "<" else 18):
            return True
    return False


DEPENDENCY_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "noxfile.py")


# ---------------------------------------------------------------- versions

RELEASES: dict[str, tuple[str, ...]] = {
    "pytest-asyncio": (
        *("0.10.0", "0.11.0", "0.12.0", "0.14.0", "0.15.0", "0.15.1", "0.16.0"),
        *("0.17.0", "0.17.1", "0.17.2", "0.18.0", "0.18.1", "0.18.2", "0.18.3", "0.19.0"),
        *("0.20.0", "0.20.1", "0.20.2", "0.20.3", "0.21.0", "0.21.1", "0.21.2"),
        *("0.23.0", "0.23.1", "0.23.2", "0.23.3", "0.23.4", "0.23.5", "0.23.6", "0.23.7"),
        *("0.23.8", "0.24.0", "0.25.0", "0.25.1", "0.25.2", "0.25.3", "0.26.0"),
        *("1.0.0", "1.1.0", "1.1.1", "1.2.0", "1.3.0", "1.4.0", "1.4.1", "1.5.0"),
    ),
    "pytest": (
        *("6.2.5", "7.0.0", "7.0.1", "7.1.0", "7.1.3", "7.2.0", "7.2.2", "7.3.0", "7.3.2"),
        *("7.4.0", "7.4.4", "8.0.0", "8.0.2", "8.1.0", "8.1.1", "8.1.2", "8.2.0", "8.2.2"),
        *("8.3.0", "8.3.5", "8.4.0", "8.4.1", "8.4.2", "9.0.0", "9.0.1", "9.0.2", "9.0.3"),
        *("9.1.0", "9.1.1", "9.2.0"),
    ),
}
"""The releases testlint knows of the packages whose version rules ask about,
oldest first: the last is the latest, what an unpinned requirement installs."""


def release(text: str) -> tuple[int, ...]:
    """The release numbers of a version: `1.4.1.post1` -> (1, 4, 1)."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


_SPEC_CLAUSE = re.compile(r"^(===|==|!=|~=|<=|>=|<|>|\^|~)?\s*v?(\d+(?:\.\d+)*)(\.\*)?$")


def _bumped(numbers: tuple[int, ...], index: int) -> tuple[int, ...]:
    """The first release past `numbers` at `index`: (0, 21), 0 -> (1,)."""
    return (*numbers[:index], numbers[index] + 1)


def _clause_admits(clause: str, version: tuple[int, ...]) -> bool | None:
    """Whether one clause (`>=0.21`, `^1.0`, `==0.23.*`) admits `version`; None
    when testlint cannot read it."""
    clause = clause.strip()
    if clause in ("", "*"):
        return True
    match = _SPEC_CLAUSE.match(clause)
    if match is None:
        return None
    operator, wildcard = match.group(1) or "==", match.group(3) is not None
    bound = tuple(int(p) for p in match.group(2).split("."))
    width = max(len(bound), len(version))
    padded, low = (*version, *(0,) * width)[:width], (*bound, *(0,) * width)[:width]
    prefix = version[: len(bound)] == bound or (padded[: len(bound)] == bound)
    if operator in ("==", "===") and wildcard:
        return prefix
    if operator in ("==", "==="):
        return padded == low
    if operator == "!=":
        return not prefix if wildcard else padded != low
    if operator in ("~=", "^", "~"):
        if operator == "~=":
            index = max(len(bound) - 2, 0)
        elif operator == "~":
            index = min(1, len(bound) - 1)
        else:  # Poetry's caret: the first non-zero number may not change
            index = next((i for i, n in enumerate(bound) if n), len(bound) - 1)
        high = _bumped(bound, index)
        return low <= padded and padded[: len(high)] < high
    comparisons = {
        "<": padded < low,
        "<=": padded <= low,
        ">": padded > low,
        ">=": padded >= low,
    }
    return comparisons[operator]


def _admits(specifier: str, version: tuple[int, ...]) -> bool | None:
    """Whether a specifier admits `version`: every comma-separated clause does,
    in one of its `||` alternatives (Poetry). None: a clause is unreadable."""
    alternatives = []
    for alternative in specifier.split("||"):
        answers = [_clause_admits(c, version) for c in alternative.split(",")]
        if None in answers:
            return None
        alternatives.append(all(answers))
    return any(alternatives)


def highest_admitted(specifiers: list[str], releases: tuple[str, ...]) -> str | None:
    """The newest of `releases` that every specifier admits: what pip installs for
    them. None when none does, or a specifier cannot be read."""
    return _first_admitted(specifiers, tuple(reversed(releases)))


def lowest_admitted(specifiers: list[str], releases: tuple[str, ...]) -> str | None:
    """The oldest of `releases` that every specifier admits (None as above)."""
    return _first_admitted(specifiers, releases)


def _first_admitted(specifiers: list[str], releases: tuple[str, ...]) -> str | None:
    for candidate in releases:
        answers = [_admits(s, release(candidate)) for s in specifiers]
        if None in answers:
            return None
        if all(answers):
            return candidate
    return None
