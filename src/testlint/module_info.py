"""What one Python module defines, imports and does at import time, read with `ast`.

The module index (`index.py`) reads project modules with it, and the patch rules
read test modules and conftests the same way. Nothing is imported or run.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testlint.import_time import import_time_statements_ast, is_main_guard_ast
from testlint.scan import dotted as _dotted

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
    _tree: ast.Module | None = field(default=None, repr=False, compare=False)
    """The tree `read_module` parsed, kept while the module is among the last few
    read (`_keep_tree`): a question about a module's body usually follows reading
    it, and then needs no second parse."""

    @property
    def body(self) -> BodyFacts:
        """The whole-module walk, done once and only for modules a question reaches
        (most index questions need only the top level)."""
        if self._body is None:
            facts = BodyFacts()
            tree = self._tree if self._tree is not None else _parse(self.source)
            if tree is not None:
                _BodyScan(self, facts).visit(tree)
            self._body = facts
            self.source = b""
            self._tree = None
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


def read_module(name: str, path: Path, data: bytes) -> ModuleInfo | None:
    """What module `name` (at `path`, its bytes: `data`) defines, imports and does at
    import time; None when CPython cannot parse it."""
    tree = _parse(data)
    if tree is None:
        return None
    info = ModuleInfo(name, path, source=data)
    info.dynamic = _writes_globals(data)
    package = package_of(name, path)
    functions: dict[str, ast.FunctionDef] = {}
    for statement in import_time_statements_ast(tree.body):
        _record_statement(info, statement, package)
        if isinstance(statement, ast.FunctionDef):
            functions[statement.name] = statement
    _record_imports_of_called_functions(info, functions, package)
    info.exit_line = _exit_line(tree.body)
    _keep_tree(info, tree)
    return info


KEPT_TREES = 8
"""How many modules keep their tree after being read (see `ModuleInfo._tree`)."""
_kept: deque[ModuleInfo] = deque()


def _keep_tree(info: ModuleInfo, tree: ast.Module) -> None:
    """Keep `info`'s tree until `KEPT_TREES` later modules are read: memory stays
    bounded by a few trees, whatever the project's size."""
    info._tree = tree
    _kept.append(info)
    if len(_kept) > KEPT_TREES:
        _kept.popleft()._tree = None


_STATEMENT_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _imports_within(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement inside `node`, nested functions and classes included.
    Imports are statements: only blocks of statements are walked, not the
    expressions in them (a full `ast.walk` of every function, again for each
    function nested in it, was most of reading a module)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Import, ast.ImportFrom)):
            found.append(current)
            continue
        for name in _STATEMENT_BLOCKS:
            block = getattr(current, name, None)
            if isinstance(block, list):
                stack.extend(block)
    return found


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


_LEAVES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
_UNKNOWN: Any = object()
_METHODS: dict[type[ast.AST], Any] = {}
"""Node type -> its `_BodyScan.visit_...` function, or None."""


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
        imports = _imports_within(node)
        local_imports = {
            alias.asname or alias.name.split(".", 1)[0]
            for inner in imports
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
        for inner in imports:
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

    def visit(self, node: ast.AST) -> None:
        """`ast.NodeVisitor.visit`, faster: the method is looked up once per node
        type. A test proves the walk equal to `ast.NodeVisitor`'s."""
        kind = node.__class__
        method = _METHODS.get(kind, _UNKNOWN)
        if method is _UNKNOWN:
            # Its own methods only: `NodeVisitor.visit_Constant` (before 3.14) ends
            # in `generic_visit` too, after looking for long-deprecated methods.
            method = _METHODS[kind] = vars(_BodyScan).get(f"visit_{kind.__name__}")
        if method is None:
            self.generic_visit(node)
        else:
            method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        """`ast.NodeVisitor.generic_visit`, without visiting the context and
        operator nodes (`Load`, `Add`, `Eq`): they have no fields and no `visit_`
        method here, and are a third of the nodes of a tree."""
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                self.visit(value)

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


def package_of(name: str, path: Path) -> str:
    """The package module `name` (at `path`) resolves its relative imports in."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


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
