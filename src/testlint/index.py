"""The project module index: what every project module defines and how it binds
imported names, read with `ast` (never imported). Shared by the cross-file rules
(TL103, TL4xx); built lazily, once per project, the first time a rule asks.

Module names follow the layout: `<root>/src/pkg/mod.py` is `pkg.mod` (src layout),
`<root>/pkg/mod.py` is `pkg.mod` (flat layout); packages without `__init__.py`
(namespace packages) count too.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from testlint.locate import BUILD_DIRECTORIES, NEVER_READ, is_virtualenv
from testlint.module_info import (
    MAX_FILE_BYTES,
    ModuleInfo,
    mentions_exit,
    package_of,
    read_module,
    resolve_relative,
)

_FROM_IMPORT = re.compile(rb"from\s+([\w.]+)\s+import\b")
"""`from X import`: `X` as written, absolute or relative."""

SKIPPED_DIRS = NEVER_READ
SKIPPED_TOP_DIRS = NEVER_READ | BUILD_DIRECTORIES | {"docs"}
"""Skipped only where a source root holds them (build output, a virtualenv, docs):
inside a package, `venv` or `build` is a subpackage like any other (pdm's
`pdm.cli.commands.venv`). A virtualenv is recognised anywhere by its pyvenv.cfg."""


class ModuleIndex:
    """Project modules by name. Files are listed once; a module is parsed only
    when a question needs it, and questions about "which modules import X.name"
    first look for the name in the file's bytes. Answers are cached."""

    def __init__(
        self,
        files: Mapping[str, Path],
        tests: frozenset[str] = frozenset(),
        tests_read: set[Path] | None = None,
    ) -> None:
        self.files = files
        self.tests = tests
        self.tests_read: set[Path] = set() if tests_read is None else tests_read
        """Test modules whose content answered a question since the runner last
        cleared this: the file being linted depends on them (see `cache.py`)."""
        """Test modules: listed (a target may name one) but never searched, since
        they are not code under test; that also keeps an edit to one test file from
        changing what every other file's answers depend on (see `cache.py`)."""
        self.code = [name for name in files if name not in tests]
        """The modules that questions about "who uses X" search."""
        self._infos: dict[str, ModuleInfo | None] = {}
        self._bytes: dict[str, bytes] = {}
        self._consumers: dict[tuple[str, str], list[tuple[ModuleInfo, str]]] = {}
        self._from_sources: dict[str, frozenset[bytes]] = {}
        self._importers: tuple[dict[bytes, list[int]], list[int]] | None = None
        self._depends: dict[str, bool] = {}
        self._depending: list[str] | None = None
        """The modules that may pass something to `Depends`, once listed."""
        self._mentioned: dict[str, bool] = {}
        self._mentioning: dict[str, tuple[str, ...]] = {}
        self._packages = {name.rpartition(".")[0] for name in files}
        for package in list(self._packages):
            while package:
                self._packages.add(package)
                package = package.rpartition(".")[0]

    def get(self, name: str) -> ModuleInfo | None:
        if name in self.tests:
            self.tests_read.add(self.files[name])
        if name not in self._infos:
            path = self.files.get(name)
            self._infos[name] = (
                None
                if path is None or _too_big(path) or path.suffix == ".pyx"
                else read_module(name, path, self.data(name))
            )
        return self._infos[name]

    def knows(self, name: str) -> bool:
        """A module or package of the project."""
        return name in self.files or name in self._packages

    def is_package(self, name: str) -> bool:
        return name in self._packages

    def data(self, name: str) -> bytes:
        data = self._bytes.get(name)
        if data is None:
            try:
                data = self.files[name].read_bytes()[:MAX_FILE_BYTES]
            except OSError:
                data = b""
            self._bytes[name] = data
        return data

    def mentioned(self, name: str) -> bool:
        """Some project module's text contains `name` (a cheap superset of every
        question about who uses it)."""
        found = self._mentioned.get(name)
        if found is None:
            needle = name.encode()
            found = any(needle in self.data(candidate) for candidate in self.code)
            self._mentioned[name] = found
        return found

    def mentioning(self, name: str) -> tuple[str, ...]:
        """The project modules whose text contains `name` (a superset of those that
        import a module of that name, absolutely or relatively)."""
        found = self._mentioning.get(name)
        if found is None:
            needle = name.encode()
            found = tuple(c for c in self.code if needle in self.data(c))
            self._mentioning[name] = found
        return found

    def consumers(self, module: str, name: str) -> list[tuple[ModuleInfo, str]]:
        """Modules that bind `module.name` by value (`from module import name as
        local`), with their local name."""
        key = (module, name)
        if key not in self._consumers:
            needle = name.encode()
            by_source, unresolved = self.importers()
            # Only modules with a `from module import`, in order.
            numbers = sorted({*by_source.get(module.encode(), ()), *unresolved})
            found = []
            for candidate in (self.code[number] for number in numbers):
                if needle not in self.data(candidate):
                    continue
                info = self.get(candidate)
                if info is None:
                    continue
                for local, binding in info.by_value.items():
                    if binding.module == module and binding.name == name:
                        found.append((info, local))
            self._consumers[key] = found
        return self._consumers[key]

    def importers(self) -> tuple[dict[bytes, list[int]], list[int]]:
        """The positions in `code` of the modules by each source they name in a
        `from X import` (`from_sources`; a relative one resolved as the module's
        own imports are), and of those with a relative one that leads above the
        top package: made once, so that each `consumers` question reads only its
        candidates (asking every module cost a suite with 2,000 modules and 3,000
        questions 20 s; taking every module with a relative import as a candidate,
        celery read 162 modules, 140 since)."""
        if self._importers is None:
            by_source: dict[bytes, list[int]] = {}
            unresolved: list[int] = []
            for number, candidate in enumerate(self.code):
                for source in self.from_sources(candidate):
                    if source[:1] == b".":
                        resolved = self._resolved(candidate, source)
                        if resolved is None:
                            unresolved.append(number)
                            continue
                        source = resolved
                    by_source.setdefault(source, []).append(number)
            self._importers = (by_source, unresolved)
        return self._importers

    def _resolved(self, name: str, source: bytes) -> bytes | None:
        """A relative `from` source of module `name` as an absolute module name, as
        `module_info.resolve_relative` makes it (None: it leads above the top)."""
        package = package_of(name, self.files[name])
        rest = source.lstrip(b".")
        level = len(source) - len(rest)
        parts = package.split(".") if package else []
        if level - 1 > len(parts) or (level - 1 == len(parts) and not rest):
            return None
        return resolve_relative(package, level, rest.decode() or None).encode()

    def from_sources(self, name: str) -> frozenset[bytes]:
        """What follows `from` in the module's `from X import` statements, as
        written (`pkg.mod`, `.sibling`, `..`), found in its text: a superset of
        the imports `ast` finds (comments and strings count too). One regex pass
        per module replaces one per question (see `consumers`)."""
        found = self._from_sources.get(name)
        if found is None:
            found = frozenset(_FROM_IMPORT.findall(self.data(name)))
            self._from_sources[name] = found
        return found

    def may_use_depends(self, name: str) -> bool:
        """Whether module `name` can pass anything to `Depends`/`Security`."""
        if name not in self.files:
            return False
        data = self.data(name)
        return b"Depends(" in data or b"Security(" in data

    def is_depends_target(self, qualified: str) -> bool:
        """Whether a project module passes `qualified` (a function, by its qualified
        name) to `Depends(...)`/`Security(...)`. Only modules whose text holds the
        function's own name are read: `Depends(x)` names it in `x`, or `x` is bound
        to it by an import that names it."""
        found = self._depends.get(qualified)
        if found is None:
            needle = qualified.rpartition(".")[2].encode()
            found = False
            if self._depending is None:
                self._depending = [c for c in self.code if self.may_use_depends(c)]
            for candidate in self._depending:
                if needle not in self.data(candidate):
                    continue
                info = self.get(candidate)
                if info is not None and any(info.qualify(d) == qualified for d in info.depends):
                    found = True
                    break
            self._depends[qualified] = found
        return found

    def assigns_attribute(self, name: str) -> bool:
        """Some project module assigns `<something>.name = ...`."""
        needle = f".{name}".encode()
        for candidate in self.code:
            if needle in self.data(candidate):
                info = self.get(candidate)
                if info is not None and name in info.assigned_attributes:
                    return True
        return False


PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
SUB_PROJECT_DEPTH = 2
"""How deep below the root sub-projects are looked for (`libs/core/pyproject.toml`)."""


def source_roots(root: Path) -> list[Path]:
    """Where module names start: `src/`, then each sub-project's `src/` or its own
    directory (a monorepo: `psycopg/pyproject.toml` holding `psycopg/psycopg/`),
    then the root. The first place that names a module wins."""
    roots = []
    for project in (root, *_sub_projects(root, SUB_PROJECT_DEPTH)):
        if (project / "src").is_dir():
            roots.append(project / "src")
        if project != root:
            roots.append(project)
    roots.append(root)
    return roots


def _sub_projects(directory: Path, depth: int) -> Iterator[Path]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(
                (e for e in listing if _may_hold_project(e)), key=lambda entry: entry.name
            )
    except OSError:
        return
    for entry in entries:
        if os.path.isfile(os.path.join(entry.path, "__init__.py")):
            continue  # a package, and all below it: its `setup.py` is a module
        path = Path(entry.path)
        if any(os.path.isfile(os.path.join(entry.path, name)) for name in PROJECT_FILES):
            yield path
        if depth > 1:
            yield from _sub_projects(path, depth - 1)


def _may_hold_project(entry: os.DirEntry[str]) -> bool:
    try:
        is_dir = entry.is_dir() and not entry.is_symlink()
    except OSError:
        return False
    return is_dir and not entry.name.startswith(".") and entry.name not in SKIPPED_TOP_DIRS


def _module_files(root: Path) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for source_root in source_roots(root):
        # The flat-layout walk of the root must not enter src/ again.
        skip = os.path.join(root, "src") if source_root == root else None
        yield from _modules_under(str(source_root), [], seen, skip)


def _modules_under(
    directory: str, parts: list[str], seen: set[str], skip: str | None
) -> Iterator[tuple[str, str]]:
    """Modules in `directory` (package `parts`), then in its subdirectories, each
    sorted by name, as `os.walk` would list them (symbolic links to directories are
    not followed). One `scandir` per directory: most files are rejected by name,
    without a `stat` or a `Path`."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            if (
                not name.startswith(".")
                and name not in (SKIPPED_DIRS if parts else SKIPPED_TOP_DIRS)
                and name.isidentifier()
                and entry.path != skip
                and not entry.is_symlink()
                and not is_virtualenv(entry.path)
            ):
                subdirectories.append(entry)
            continue
        if name.endswith(".pyx") and not os.path.exists(entry.path[:-1]):
            name = name[:-1]  # Cython: a module once built, its names unknown (see `get`)
        elif not name.endswith(".py") or entry.path in seen:
            continue
        if name == "conftest.py" and not _in_package(directory):
            continue  # pytest imports it as `conftest`; in a package, `tests.conftest`
        stem = name[:-3]
        # Regular files only: reading a FIFO named like a module blocks forever.
        if not stem.isidentifier() or not _is_file(entry):
            continue
        seen.add(entry.path)
        module = parts if stem == "__init__" else [*parts, stem]
        if module:
            yield ".".join(module), entry.path
    for entry in subdirectories:
        yield from _modules_under(entry.path, [*parts, entry.name], seen, skip)


def _in_package(directory: str) -> bool:
    return os.path.exists(os.path.join(directory, "__init__.py"))


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def find_exiting_modules(
    root: Path, is_test: Callable[[str], bool] = lambda path: False
) -> dict[str, tuple[Path, int]]:
    """Project modules that exit when imported, by name, with the exit's line."""
    return exiting_modules(build_index(root, is_test), ExitLines())


def exiting_modules(index: ModuleIndex, exit_lines: ExitLines) -> dict[str, tuple[Path, int]]:
    """The modules of `index` that exit when imported, with the exit's line: the
    same modules, read the same way, as the cache's `exiting` digest. Test modules
    are left to TL101; only modules whose text mentions an exit are parsed."""
    found: dict[str, tuple[Path, int]] = {}
    for name in index.code:
        path = index.files[name]
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        line = exit_lines.line_of(name, path, data)
        if line is not None:
            found[name] = (path, line)
    return found


class ExitLines:
    """Where modules exit at import, by content: each module parsed once per run,
    and not at all when an earlier run's cache knows its content (`known`)."""

    def __init__(self) -> None:
        self.known: dict[str, int | None] = {}
        """Content SHA-256 of a module -> the line of its exit at import, as the
        cache remembered it (`cache.RunCache`)."""
        self._found: dict[tuple[str, str, bytes], int | None] = {}

    def line_of(self, name: str, path: Path, data: bytes) -> int | None:
        """The line of the exit that module `name` (its bytes: `data`) runs on import."""
        if len(data) > MAX_FILE_BYTES or not mentions_exit(data):
            return None
        key = (name, str(path), data)
        if key not in self._found and self.known:
            known = hashlib.sha256(data).hexdigest()
            if known in self.known:
                self._found[key] = self.known[known]
        if key not in self._found:
            info = read_module(name, path, data)
            self._found[key] = None if info is None else info.exit_line
        return self._found[key]


def build_index(
    root: Path,
    is_test: Callable[[str], bool] = lambda path: False,
    tests_read: set[Path] | None = None,
) -> ModuleIndex:
    files: dict[str, str] = {}
    for name, path in _module_files(root):
        files.setdefault(name, path)  # src/ wins over a same-named flat module
    tests = frozenset(name for name, path in files.items() if is_test(path))
    return ModuleIndex(Paths(files), tests, tests_read)


class Paths(Mapping[str, Path]):
    """Module name -> file, made a `Path` only when asked for: a suite of 10,000
    test modules lists them all, and most are never looked up."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = paths
        self._made: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        found = self._made.get(name)
        if found is None:
            found = self._made[name] = Path(self._paths[name])
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _too_big(path: Path) -> bool:
    try:
        return path.stat().st_size > MAX_FILE_BYTES
    except OSError:
        return True
