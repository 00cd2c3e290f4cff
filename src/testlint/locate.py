"""Where a run's project, configuration and cache are, found with the standard
library only: the replay path (`record.py`) asks these questions before it knows
whether anything must be linted, so nothing here may import libcst or click."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any


class ProjectError(Exception):
    """A project file testlint must read is broken (e.g. invalid TOML)."""


def load_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read: {exc.strerror}") from exc
    return loads_toml(data.decode("utf-8"), path)


def loads_toml(text: str, where: Path) -> dict[str, Any]:
    """`load_toml` for a file's text already read (`where` names it in errors)."""
    # Here: a replay reads no TOML when no configuration is looked up.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{where}: invalid TOML: {exc}") from exc
    return data


class ConfigError(Exception):
    """Bad configuration or selection: reported with exit code 2."""


DEFAULT_CACHE_DIRECTORY = ".testlint_cache"
ENVIRONMENT_DIRECTORIES = (
    ".github/workflows",
    ".gitlab",
    ".circleci",
    "ci",
    "requirements",
    "scripts",
)
"""Where CI, dependency and run scripts live: every file in them is part of the
cache's environment digest, and watched by replay."""
ROOT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "tox.ini",
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    ".git",
)
"""What marks a project's root: packaging files, and every file pytest reads its
configuration from (`pytest_config.CONFIG_FILES`; replay watches these above the
root, where pytest looks for its configuration too)."""

# Directories, by name, that the readers of a project tree skip. Every reader (file
# discovery, the module index, the suite listing, the cache's environment digest,
# the run record) skips at least `NEVER_READ` and any virtualenv (`is_virtualenv`):
# the run record watches everything else, so a reader may skip more, never less.
NEVER_READ = frozenset({"__pycache__", "node_modules", "site-packages"})
"""Never code under test nor configuration: nothing of testlint reads inside."""
BUILD_DIRECTORIES = frozenset({"build", "dist", "venv"})
"""Build output and environments: copies of the code, skipped where the suite and
the project's modules are listed (not by discovery: pytest's `norecursedirs` says)."""


VIRTUALENV_MARKER = "pyvenv.cfg"


def is_virtualenv(directory: str) -> bool:
    """A virtualenv, whatever its name: it holds a pyvenv.cfg."""
    return os.path.exists(os.path.join(directory, VIRTUALENV_MARKER))


def find_project_root(start: Path) -> Path:
    """The nearest ancestor of `start` that looks like a project root."""
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    for directory in (base, *base.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return directory
    return base


def find_config_file(start: Path, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The nearest pyproject.toml with a `[tool.testlint]` table, from `start` up.
    `known`: the answers for directories asked about earlier in the run, filled in
    for every directory looked at (one per test file in suites that give each
    test its own directory)."""
    start = start.resolve()
    base = start if start.is_dir() else start.parent
    known = {} if known is None else known
    looked: list[Path] = []
    found: Path | None = None
    for directory in (base, *base.parents):
        if directory in known:
            found = known[directory]
            break
        looked.append(directory)
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            stat = candidate.stat()
            if _has_testlint_table(candidate, stat.st_mtime_ns, stat.st_size):
                found = candidate
                break
    for directory in looked:
        known[directory] = found
    return found


@lru_cache(maxsize=1024)
def _has_testlint_table(pyproject: Path, mtime_ns: int, size: int) -> bool:
    """Cached per file version: every directory of a run asks about the same files."""
    try:
        data = load_toml(pyproject)
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    tool = data.get("tool")
    return isinstance(tool, dict) and "testlint" in tool


def common_root(paths: Iterable[Path]) -> Path:
    """The deepest directory holding every path, resolved (each directory once:
    pre-commit names thousands of files in a few directories)."""
    directories: dict[str, str] = {}
    resolved = [resolve_once(path, directories) for path in paths]
    if not resolved:
        return Path.cwd()
    return Path(os.path.commonpath(resolved))


def resolve_once(path: Path, directories: dict[str, str]) -> str:
    """`str(path.resolve())`, resolving the directory holding `path` only the
    first time (`directories` remembers it); a path that is a link is resolved
    itself."""
    if path.name in ("", ".", "..") or os.path.islink(path):
        return str(path.resolve())
    parent = os.path.dirname(str(path)) or "."
    directory = directories.get(parent)
    if directory is None:
        directory = directories[parent] = os.path.realpath(parent)
    return os.path.join(directory, path.name)
