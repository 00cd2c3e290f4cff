"""The project module index: what every project module defines and how it binds
imported names, read with `ast` (never imported). Shared by the cross-file rules
(TL103, TL4xx); built lazily, once per project, the first time a rule asks.

Module names follow the layout: `<root>/src/pkg/mod.py` is `pkg.mod` (src layout),
`<root>/pkg/mod.py` is `pkg.mod` (flat layout); packages without `__init__.py`
(namespace packages) count too.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from testlint.import_time import import_time_statements_ast, is_main_guard_ast
from testlint.locate import BUILD_DIRECTORIES, NEVER_READ, is_virtualenv
from testlint.scan import dotted as _dotted

SKIPPED_DIRS = NEVER_READ
SKIPPED_TOP_DIRS = NEVER_READ | BUILD_DIRECTORIES | {"docs"}
"""Skipped only where a source root holds them (build output, a virtualenv, docs):
inside a package, `venv` or `build` is a subpackage like any other (pdm's
`pdm.cli.commands.venv`). A virtualenv is recognised anywhere by its pyvenv.cfg."""
EXIT_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit", "os.abort"})
DEPENDS_CALLS = frozenset({"Depends", "Security"})
MAX_FILE_BYTES = 2_000_000


@dataclass(frozen=True)
class Binding:
    """`from <module> import <name> as <local>` at a module's top level."""

    module: str
    name: str
    line: int


@dataclass
class BodyFacts:
    """What only a walk of the whole module tells; found on first use."""

    used_in_functions: set[str] = field(default_factory=set)
    """Dotted names loaded inside function bodies (`charge`, `payments.charge`)."""
    depends: set[str] = field(default_factory=set)
    """Dotted names passed to `Depends(...)`/`Security(...)`."""
    defines_actors: bool = False
    """Has a function under a dramatiq `actor` decorator."""
    assigned_attributes: set[str] = field(default_factory=set)
    """Attribute names it assigns (`module.attr = ...`)."""
    declared_global: set[str] = field(default_factory=set)
    """Names a function declares `global` (and so may bind at module level)."""
    reads: dict[str, set[str]] = field(default_factory=dict)
    """By definition (`f`, `Klass`, `Klass.method`): the dotted names its function
    bodies load at call time. A class's entry holds all of its methods'."""
    imports_inside: dict[str, set[str]] = field(default_factory=dict)
    """By definition, likewise: what its functions import themselves, qualified
    (`from X import name` inside -> `X.name`): read at call time."""
    methods: dict[str, set[str]] = field(default_factory=dict)
    """Top-level class -> the names of its methods."""
    bases: dict[str, list[str]] = field(default_factory=dict)
    """Top-level class -> its bases as written (dotted names)."""
    parameters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Definition (`f`, `Klass.method`) -> its parameter names."""


@dataclass
class ModuleInfo:
    name: str
    path: Path
    top_level: set[str] = field(default_factory=set)
    """Every name bound at top level (def, class, assignment, import, for, with...)."""
    by_value: dict[str, Binding] = field(default_factory=dict)
    """Local name -> where it was imported from, for module-level `from X import a`."""
    module_aliases: dict[str, str] = field(default_factory=dict)
    """Local name -> module, for module-level `import X.Y as Z` / `import X`."""
    dynamic: bool = False
    """A module-level `__getattr__`, a star import, or code that writes the module's
    globals (`globals().update(...)`, `sys.modules[__name__]`): its names cannot
    be listed."""
    called_at_import: dict[str, list[str]] = field(default_factory=dict)
    """Dotted name called at module level -> the globals assigned from the call."""
    passed_at_import: dict[str, list[str]] = field(default_factory=dict)
    """Dotted name called as a module-level statement -> the plain names passed to it
    positionally (`dramatiq.set_broker(rabbit)` -> `rabbit`)."""
    exit_line: int | None = None
    """Line of a module-level exit (`sys.exit(...)`, `raise SystemExit`), if any."""
    imports: set[str] = field(default_factory=set)
    """Modules it imports at module level (absolute names)."""
    source: bytes = field(default=b"", repr=False, compare=False)
    """Parsed again if the body facts are asked for (rare: cheaper than keeping
    every tree)."""
    _body: BodyFacts | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> BodyFacts:
        """The whole-module walk, done once and only for modules a question reaches
        (most index questions need only the top level)."""
        if self._body is None:
            facts = BodyFacts()
            tree = _parse(self.source)
            if tree is not None:
                _BodyScan(self, facts).visit(tree)
            self._body = facts
            self.source = b""
        return self._body

    @property
    def declared_global(self) -> set[str]:
        """Names functions declare `global`; the walk is skipped when the text
        never says `global`."""
        if self._body is None and _GLOBAL.search(self.source) is None:
            return set()
        return self.body.declared_global

    @property
    def defined(self) -> set[str]:
        """Names the module binds: top level, and `global` names functions bind."""
        return self.top_level | self.declared_global

    def binds(self, name: str) -> bool:
        return name in self.top_level or name in self.declared_global

    @property
    def used_in_functions(self) -> set[str]:
        return self.body.used_in_functions

    @property
    def depends(self) -> set[str]:
        return self.body.depends

    def reads_of(self, definition: str) -> set[str]:
        """Dotted names `definition` (`f`, `Klass`, `Klass.method`) loads at call time."""
        return self.body.reads.get(definition, set())

    def imports_inside(self, definition: str) -> set[str]:
        """Qualified names `definition`'s functions import themselves."""
        return self.body.imports_inside.get(definition, set())

    def methods_of(self, klass: str) -> set[str] | None:
        """The method names of top-level class `klass` (None: not a class here)."""
        return self.body.methods.get(klass)

    def bases_of(self, klass: str) -> list[str]:
        return self.body.bases.get(klass, [])

    def parameters_of(self, definition: str) -> tuple[str, ...]:
        return self.body.parameters.get(definition, ())

    @property
    def defines_actors(self) -> bool:
        return self.body.defines_actors

    @property
    def assigned_attributes(self) -> set[str]:
        return self.body.assigned_attributes

    def qualify(self, dotted: str) -> str:
        """The qualified name a dotted name in this module refers to."""
        head, _, rest = dotted.partition(".")
        if head in self.by_value:
            binding = self.by_value[head]
            base = f"{binding.module}.{binding.name}"
        elif head in self.module_aliases:
            base = self.module_aliases[head]
        else:
            base = f"{self.name}.{head}"
        return f"{base}.{rest}" if rest else base


_GLOBAL = re.compile(rb"(?:^|[;:])[ \t\f]*global[ \t\\]", re.MULTILINE)
"""A `global` statement: it starts a line or follows `;` or a one-line block's `:`."""
_EXIT_CALL = re.compile(rb"\b(?:exit|_exit|abort|quit)\s*\(|SystemExit")
"""Every exit `_exit_line` can find is one of these (a call, or `raise SystemExit`)."""
_EXIT_WORDS = (re.compile(rb"exit\s*\("), re.compile(rb"abort\s*\("), re.compile(rb"quit\s*\("))
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def mentions_exit(data: bytes) -> bool:
    """`_EXIT_CALL.search(data) is not None`, five times faster: patterns that start
    with a literal are searched for with a fast scan, an alternation after `\\b`
    is tried at every position (most modules say `__exit__`, few call an exit)."""
    if b"SystemExit" in data:
        return True
    for pattern in _EXIT_WORDS:
        for match in pattern.finditer(data):
            start = match.start()
            if pattern is _EXIT_WORDS[0] and start and data[start - 1] == ord("_"):
                start -= 1  # `_exit(`: the word starts at the underscore
            if not start or data[start - 1] not in _WORD_BYTES:
                return True
    return False


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
        self._depends: set[str] | None = None
        self._mentioned: dict[str, bool] = {}
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
                else _read_module(name, path, self.data(name))
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

    def consumers(self, module: str, name: str) -> list[tuple[ModuleInfo, str]]:
        """Modules that bind `module.name` by value (`from module import name as
        local`), with their local name."""
        key = (module, name)
        if key not in self._consumers:
            needle = name.encode()
            # `from module import ... name`, or a relative `from .x import name`.
            importing = re.compile(
                rb"from\s+(?:%s|\.[\w.]*)\s+import\b" % re.escape(module.encode())
            )
            found = []
            for candidate in self.code:
                data = self.data(candidate)
                if needle not in data or importing.search(data) is None:
                    continue
                info = self.get(candidate)
                if info is None:
                    continue
                for local, binding in info.by_value.items():
                    if binding.module == module and binding.name == name:
                        found.append((info, local))
            self._consumers[key] = found
        return self._consumers[key]

    def may_use_depends(self, name: str) -> bool:
        """Whether module `name` can pass anything to `Depends`/`Security`."""
        if name not in self.files:
            return False
        data = self.data(name)
        return b"Depends(" in data or b"Security(" in data

    def depends_targets(self) -> set[str]:
        """Qualified names of functions passed to `Depends(...)`/`Security(...)`."""
        if self._depends is None:
            self._depends = set()
            for candidate in self.code:
                if not self.may_use_depends(candidate):
                    continue
                info = self.get(candidate)
                if info is not None:
                    self._depends.update(info.qualify(d) for d in info.depends)
        return self._depends

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
            info = _read_module(name, path, data)
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


def _parse(data: bytes) -> ast.Module | None:
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_WRITES_GLOBALS = re.compile(
    rb"\b(?:globals|vars)\(\)\s*(?:\.update|\.setdefault|\[)|sys\.modules\[__name__\]"
)
"""Code that may bind any name in its module (pip's vendored `pkg_resources` binds
`working_set` through `globals().update(locals())`), wherever it is: a text search
finds more than runs, which only keeps TL403 quiet."""


def _writes_globals(data: bytes) -> bool:
    """`_WRITES_GLOBALS.search(data)`, after a scan for its words (which the regex,
    starting with `\b` and an alternation, cannot do itself: 14 ms a megabyte)."""
    if b"globals()" not in data and b"vars()" not in data and b"sys.modules[" not in data:
        return False
    return _WRITES_GLOBALS.search(data) is not None


def _read_module(name: str, path: Path, data: bytes | None = None) -> ModuleInfo | None:
    """The module's top-level facts (its bytes: `data`, or read from `path`)."""
    if data is None:
        if _too_big(path):
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
    tree = _parse(data)
    if tree is None:
        return None
    info = ModuleInfo(name, path, source=data)
    info.dynamic = _writes_globals(data)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    functions: dict[str, ast.FunctionDef] = {}
    for statement in import_time_statements_ast(tree.body):
        _record_statement(info, statement, package)
        if isinstance(statement, ast.FunctionDef):
            functions[statement.name] = statement
    _record_imports_of_called_functions(info, functions, package)
    info.exit_line = _exit_line(tree.body)
    return info


def _record_imports_of_called_functions(
    info: ModuleInfo, functions: Mapping[str, ast.FunctionDef], package: str
) -> None:
    """A function of the module called at its top level runs at import: what it
    imports is imported then too (prefect's `_initialize_sdk_analytics()` imports
    its analytics package on `import prefect`). Only module names are added: the
    names it binds are its own locals."""
    for called in info.called_at_import:
        function = functions.get(called)
        if function is None:
            continue
        for inner in ast.walk(function):
            if isinstance(inner, ast.ImportFrom):
                info.imports.add(resolve_relative(package, inner.level, inner.module))
            elif isinstance(inner, ast.Import):
                info.imports.update(alias.name for alias in inner.names)


class _BodyScan(ast.NodeVisitor):
    """One pass over the whole module: names used inside functions, `Depends`
    arguments, attribute assignments, dramatiq actors, `global` names."""

    def __init__(self, info: ModuleInfo, facts: BodyFacts) -> None:
        self.info = info
        self.facts = facts
        self.function_depth = 0
        self.definitions: list[str] = []
        """The definitions being walked, outermost first, as `BodyFacts.reads`
        names them: `Klass`, then `Klass.method`."""
        self.package = (
            info.name if info.path.name == "__init__.py" else info.name.rpartition(".")[0]
        )
        self.shadowed: list[set[str]] = []
        """Names a function imports itself: its uses read that import, not the
        module-level binding."""

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if any(self._is_actor(d) for d in node.decorator_list):
            self.facts.defines_actors = True
        for decorator in node.decorator_list:
            self.visit(decorator)
        # `Depends(fn)` in a signature is evaluated at import time, but FastAPI calls
        # fn per request: a use at call time, like the body.
        local_imports = {
            alias.asname or alias.name.split(".", 1)[0]
            for inner in ast.walk(node)
            if isinstance(inner, (ast.Import, ast.ImportFrom))
            for alias in inner.names
        }
        entered = self._enter(node.name)
        if entered:
            arguments = node.args
            self.facts.parameters[self.definitions[-1]] = tuple(
                a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
            )
            if len(self.definitions) == 2:
                self.facts.methods.setdefault(self.definitions[0], set()).add(node.name)
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                source = resolve_relative(self.package, inner.level, inner.module)
                for alias in inner.names:
                    self._note(self.facts.imports_inside, f"{source}.{alias.name}")
        self.function_depth += 1
        self.shadowed.append(local_imports)
        self.visit(node.args)  # defaults (`Depends(fn)`); annotations are skipped
        for statement in node.body:
            self.visit(statement)
        self.shadowed.pop()
        self.function_depth -= 1
        if entered:
            self.definitions.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        entered = self._enter(node.name)
        if entered and len(self.definitions) == 1:
            self.facts.methods.setdefault(node.name, set())
            self.facts.bases[node.name] = [d for d in map(_dotted, node.bases) if d]
        self.generic_visit(node)
        if entered:
            self.definitions.pop()

    def _enter(self, name: str) -> bool:
        """Track top-level definitions and the methods of top-level classes."""
        if self.function_depth or len(self.definitions) >= 2:
            return False
        if self.definitions:
            name = f"{self.definitions[0]}.{name}"
        self.definitions.append(name)
        return True

    def _note(self, table: dict[str, set[str]], dotted: str) -> None:
        for definition in self.definitions:
            table.setdefault(definition, set()).add(dotted)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _is_actor(self, decorator: ast.expr) -> bool:
        """`@dramatiq.actor`, `@actor(...)` after `from dramatiq import actor`."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        dotted = _dotted(target)
        return dotted is not None and self.info.qualify(dotted) == "dramatiq.actor"

    def visit_Global(self, node: ast.Global) -> None:
        self.facts.declared_global.update(node.names)  # `global X` then `X = ...` in a function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.function_depth += 1
        self.generic_visit(node)
        self.function_depth -= 1

    def visit_arg(self, node: ast.arg) -> None:
        pass  # an annotation is not a use at call time

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def _shadowed(self, name: str) -> bool:
        return any(name in names for names in self.shadowed)

    def visit_Name(self, node: ast.Name) -> None:
        if self.function_depth and isinstance(node.ctx, ast.Load) and not self._shadowed(node.id):
            self.facts.used_in_functions.add(node.id)
            self._note(self.facts.reads, node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.function_depth and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node)
            if dotted and not self._shadowed(dotted.split(".", 1)[0]):
                self.facts.used_in_functions.add(dotted)
                self._note(self.facts.reads, dotted)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if node.args and _dotted(node.func) in DEPENDS_CALLS:
            dotted = _dotted(node.args[0])
            if dotted:
                self.facts.depends.add(dotted)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                self.facts.assigned_attributes.add(target.attr)
        self.generic_visit(node)


def resolve_relative(package: str, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, module] if module else base)


def _record_statement(info: ModuleInfo, statement: ast.stmt, package: str) -> None:
    if isinstance(statement, ast.ImportFrom):
        source = resolve_relative(package, statement.level, statement.module)
        info.imports.add(source)
        for alias in statement.names:
            if alias.name == "*":
                info.dynamic = True
                continue
            local = alias.asname or alias.name
            info.top_level.add(local)
            info.module_aliases.pop(local, None)
            info.by_value[local] = Binding(source, alias.name, statement.lineno)
            info.imports.add(f"{source}.{alias.name}")
    elif isinstance(statement, ast.Import):
        for alias in statement.names:
            info.imports.add(alias.name)
            local = alias.asname or alias.name.split(".", 1)[0]
            info.top_level.add(local)
            info.by_value.pop(local, None)
            info.module_aliases[local] = alias.name if alias.asname else local
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        info.top_level.add(statement.name)
        _forget(info, statement.name)
        if statement.name == "__getattr__":
            info.dynamic = True
    elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        names = [n for t in targets for n in _target_names(t)]
        for name in names:
            info.top_level.add(name)
            _forget(info, name)
        if "__getattr__" in names:  # `__getattr__, __dir__ = attach(...)` (lazy loaders)
            info.dynamic = True
        value = statement.value
        if isinstance(value, ast.Call):
            dotted = _dotted(value.func)
            if dotted:
                info.called_at_import.setdefault(dotted, []).extend(names)
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        info.top_level.update(_target_names(statement.target))
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        for item in statement.items:
            if item.optional_vars is not None:
                info.top_level.update(_target_names(item.optional_vars))
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        dotted = _dotted(statement.value.func)
        if dotted:
            info.called_at_import.setdefault(dotted, [])
            passed = [arg.id for arg in statement.value.args if isinstance(arg, ast.Name)]
            info.passed_at_import.setdefault(dotted, []).extend(passed)


def _exit_line(body: list[ast.stmt], nested: bool = False) -> int | None:
    """A module-level exit that runs on import: a top-level statement, or under a
    top-level `if` (`if not os.environ.get("DATABASE_URL"): sys.exit(...)` fires on
    any machine without it). Not counted: `if __name__ == "__main__":`, version and
    platform checks, and `except` handlers (a failed optional import), which do not
    fire where the suite is meant to run."""
    for statement in body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            if _dotted(statement.value.func) in EXIT_CALLS:
                return statement.lineno
        elif isinstance(statement, ast.Raise):
            exc = statement.exc
            target = exc.func if isinstance(exc, ast.Call) else exc
            if target is not None and _dotted(target) == "SystemExit":
                return statement.lineno
        elif (
            isinstance(statement, ast.If)
            and not nested
            and not _is_environment_check(statement.test)
        ):
            # Only the `if` body: an exit in the final `else` of a dispatch chain
            # (`if is_win: ... elif is_linux: ... else: raise SystemExit`) means
            # "unsupported platform", not a missing setting; nor nested `if`s,
            # which narrow to rarer environments.
            line = _exit_line(statement.body, nested=True)
            if line is not None:
                return line
    return None


def _is_environment_check(test: ast.expr) -> bool:
    """`__name__ == "__main__"`, `sys.version_info < ...`, `sys.platform == ...`."""
    if is_main_guard_ast(test):
        return True
    names = {_dotted(n) for n in ast.walk(test) if isinstance(n, (ast.Name, ast.Attribute))}
    return any(
        name and name.rsplit(".", 1)[-1] in ("version_info", "platform", "system", "TYPE_CHECKING")
        for name in names
    )


def _forget(info: ModuleInfo, name: str) -> None:
    """`name` is rebound by a definition: it no longer holds an imported value."""
    info.by_value.pop(name, None)
    info.module_aliases.pop(name, None)


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for element in target.elts for n in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def read_module(name: str, path: Path, data: bytes) -> ModuleInfo | None:
    """The facts of one module that is not in an index (a test module, read under
    `name`), as the index reads project modules."""
    return _read_module(name, path, data)
