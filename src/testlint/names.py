"""Resolve names through imports without libcst's QualifiedNameProvider.

`QualifiedNameProvider` builds full scope analysis, several times the cost of the
parse. Rules here only need "what does this dotted expression refer to", so an
alias table is enough:

- a pre-pass over the statements that run at import time (module level and the
  bodies of module-level `if`/`try`/`with`/`for`/`while`/`match`, never function
  or class bodies) records every import and every other module-level binding;
- imports inside function bodies are added while the main visit walks them.

`resolve(node)` then gives `"sys.exit"` for `sys.exit`, `bail` (after
`from sys import exit as bail`) or `_sys.exit` (after `import sys as _sys`), and
`"builtins.exit"` for a bare `exit` the module does not rebind.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence

import libcst as cst

from testlint.import_time import import_time_statements

BUILTIN_NAMES = frozenset(dir(builtins)) | {"exit", "quit"}

# Other spellings of the same objects, mapped to the public name.
CANONICAL_PREFIXES = (
    ("py.test.", "pytest."),
    ("_pytest.outcomes.", "pytest."),
)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    base = dotted_name(node.module) if node.module is not None else ""
    return dots + (base or "")


def import_bindings(node: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
    """(local name, qualified name) pairs bound by an import statement."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                # `import a.b.c` binds `a`; `a.b.c.x` then resolves through the chain.
                head = full.split(".", 1)[0]
                yield head, head
        return
    if isinstance(node.names, cst.ImportStar):
        return
    module = _module_name(node)
    sep = "" if module.endswith(".") else "."
    for alias in node.names:
        name = dotted_name(alias.name)
        if name is None:
            continue
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{module}{sep}{name}"


def _target_names(node: cst.BaseExpression) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _target_names(element.value)
    elif isinstance(node, cst.StarredElement):
        yield from _target_names(node.value)


def is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def is_import_line(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def leading_imports(body: Sequence[cst.BaseStatement]) -> list[cst.SimpleStatementLine]:
    """The import lines at the top of a module, after an optional docstring."""
    start = 1 if body and is_docstring(body[0]) else 0
    found: list[cst.SimpleStatementLine] = []
    for statement in body[start:]:
        if not is_import_line(statement):
            break
        assert isinstance(statement, cst.SimpleStatementLine)
        found.append(statement)
    return found


class ImportTable:
    """Module-level import aliases and bindings, plus function-local imports."""

    def __init__(self, module: cst.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.bound: set[str] = set()
        self.star_imports: list[str] = []
        self.leading_aliases: dict[str, str] = {}
        """Aliases bound by the imports at the top of the module, before any other
        statement: the only ones certain to exist wherever new code is put."""
        self._local_scopes: list[dict[str, str]] = []
        for node in import_time_statements(module.body):
            self._record(node)
        for statement in leading_imports(module.body):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    self.leading_aliases.update(import_bindings(small))

    def _record(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
                self.star_imports.append(_module_name(node))
            for local, qualified in import_bindings(node):
                self.aliases[local] = qualified
                self.bound.discard(local)
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            self._bind(node.name.value)
        elif isinstance(node, cst.Assign):
            for target in node.targets:
                for name in _target_names(target.target):
                    self._bind(name)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For)):
            for name in _target_names(node.target):
                self._bind(name)
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    for name in _target_names(item.asname.name):
                        self._bind(name)

    def _bind(self, name: str) -> None:
        self.bound.add(name)
        self.aliases.pop(name, None)

    # Function-local imports, fed by the engine as it walks function bodies.
    def push_scope(self) -> None:
        self._local_scopes.append({})

    def pop_scope(self) -> None:
        self._local_scopes.pop()

    def add_local_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if self._local_scopes:
            self._local_scopes[-1].update(import_bindings(node))

    def resolve_name(self, name: str) -> str | None:
        for scope in reversed(self._local_scopes):
            if name in scope:
                return scope[name]
        if name in self.aliases:
            return self.aliases[name]
        if name in self.bound:
            return None
        if name in BUILTIN_NAMES:
            return f"builtins.{name}"
        return None

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name a Name/Attribute chain refers to, if known."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.resolve_name(head)
        if base is None:
            return None
        qualified = f"{base}.{rest}" if rest else base
        for prefix, canonical in CANONICAL_PREFIXES:
            if qualified.startswith(prefix):
                return canonical + qualified[len(prefix) :]
        return qualified

    def local_name_for_module(self, module: str) -> str | None:
        """A name bound to `<module>` by the leading imports, e.g. `pt` for pytest
        after `import pytest as pt`, and not rebound later."""
        for local, qualified in self.leading_aliases.items():
            if qualified == module and self.aliases.get(local) == module:
                return local
        return None
