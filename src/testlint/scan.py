"""The second gate: what CPython's `ast` says about a file, before any libcst parse.

`ast.parse` costs about a fifth of `libcst.parse_module`, and a libcst visit costs
twice the parse again. Most test files that contain a rule's trigger words (in
strings, comments, unrelated calls) cannot produce a finding, and one `ast` parse
shows it: a rule's `gate` answers from the facts here (`SourceFile.scan`).

Every fact is a superset of what the libcst rules resolve, so the gate never hides
a finding: names are matched by their last part (`sys.exit`, `_sys.exit`, `exit`),
import aliases are undone (`from sys import exit as bail`), and "import time" is
everything outside function and lambda bodies (decorators and default values run at
import). `tests/test_fixtures.py` and `tests/test_properties.py` check the gate by
linting with it on and off.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

from testlint.memo import Memo


def parse(text: str) -> ast.Module | None:
    """CPython's tree, or None when it cannot parse the file (the libcst path then
    decides, and reports TL001 if need be)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def terminal(node: ast.expr) -> str | None:
    """The last name of a Name/Attribute chain (`exit` for `sys.exit`)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class Scan:
    """Facts about one file's `ast`, each computed on first use and shared by rules.

    Most questions name the words they look for; only the parts of the tree that
    span a line containing one of them are walked (a test file's `patch` calls sit
    on a few of its lines), which costs a fraction of walking every node."""

    def __init__(self, tree: ast.Module, text: str | None = None) -> None:
        self.tree = tree
        self.text = text
        # Line numbers are counted on "\n"; CPython also ends lines at a lone "\r",
        # so such files are walked whole.
        self._prunable = text is not None and "\r" not in text.replace("\r\n", "")
        self._word_lines: dict[str, set[int]] = {}
        self.memo = Memo()
        """Answers rules derive from the scan and share (e.g. the patch targets)."""

    def nodes_near(self, words: Iterable[str]) -> Iterator[ast.AST]:
        """Every node whose lines include a line containing one of `words` (as a
        whole word), and the nodes above them; every node if that cannot be told."""
        if not self._prunable:
            return iter(self.nodes)
        return self._walk_near(words, ast.iter_child_nodes)

    def import_time_nodes_near(self, words: Iterable[str]) -> Iterator[ast.AST]:
        """`nodes_near`, outside function and lambda bodies."""
        if not self._prunable:
            return iter(self.import_time_nodes)
        return self._walk_near(words, _import_time_children)

    def _walk_near(
        self, words: Iterable[str], children: Callable[[ast.AST], Iterable[ast.AST]]
    ) -> Iterator[ast.AST]:
        lines = sorted(set().union(*(self.lines_of(word) for word in set(words))))
        if not lines:
            return
        stack: list[ast.AST] = [self.tree]
        while stack:
            node = stack.pop()
            start = getattr(node, "lineno", None)
            if start is not None:
                end = getattr(node, "end_lineno", None) or start
                decorators = getattr(node, "decorator_list", None)
                if decorators:  # decorators sit above the `def` line
                    start = min(start, *(d.lineno for d in decorators))
                at = bisect.bisect_left(lines, start)
                if at == len(lines) or lines[at] > end:
                    continue
            yield node
            stack.extend(children(node))

    @cached_property
    def _newlines(self) -> list[int]:
        return [m.start() for m in re.finditer("\n", self.text or "")]

    @property
    def counts_lines_as_text_does(self) -> bool:
        """Whether the `ast`'s line numbers are those of the text's "\n" (not where a
        lone "\r" ends a line for CPython): `lines_of` then places words on them."""
        return self._prunable

    def lines_of(self, word: str) -> set[int]:
        """Lines holding `word` as a whole word (found with str.find: most words
        of interest are rare, and a regex alternation costs a pass per question)."""
        found = self._word_lines.get(word)
        if found is None:
            found = set()
            text = self.text or ""
            at = text.find(word)
            while at != -1:
                end = at + len(word)
                before = text[at - 1] if at else " "
                after = text[end] if end < len(text) else " "
                if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
                    found.add(bisect.bisect_left(self._newlines, at) + 1)
                at = text.find(word, end)
            self._word_lines[word] = found
        return found

    def calls_named(self, names: Iterable[str]) -> list[ast.Call]:
        """Calls whose callee may be one of `names` (see `names`)."""
        wanted = set(names)
        return [
            node
            for node in self.nodes_near(self.words_for(wanted))
            if isinstance(node, ast.Call) and self.names(node.func) & wanted
        ]

    @cached_property
    def nodes(self) -> list[ast.AST]:
        """Every node, iteratively (deeply nested files must not recurse)."""
        return list(_walk(self.tree, ast.iter_child_nodes))

    @cached_property
    def imports(self) -> list[ast.Import | ast.ImportFrom]:
        """Every import statement, wherever it is. Imports are statements, so only
        blocks of statements are walked, not the expressions in them."""
        nodes = (
            self._walk_near(["import"], statements_in)
            if self._prunable
            else _walk(self.tree, statements_in)
        )
        return [node for node in nodes if isinstance(node, (ast.Import, ast.ImportFrom))]

    @cached_property
    def aliases(self) -> dict[str, set[str]]:
        """Local name -> the names it was imported as (`bail` -> {`exit`})."""
        found: dict[str, set[str]] = {}
        for node in self.imports:
            for alias in node.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                found.setdefault(local, set()).add(alias.name.rsplit(".", 1)[-1])
        return found

    def names(self, node: ast.expr) -> set[str]:
        """What a callee may be called, by its last name: itself and, for an
        imported name, the name it was imported as."""
        name = terminal(node)
        if name is None:
            return set()
        return {name} | (self.aliases.get(name, set()) if isinstance(node, ast.Name) else set())

    @cached_property
    def bindings(self) -> dict[str, set[str | None]]:
        """Local name -> the qualified names imports bind it to (None: a relative
        import, which the gate cannot resolve)."""
        found: dict[str, set[str | None]] = {}
        for node in self.imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".", 1)[0]
                    found.setdefault(local, set()).add(alias.name if alias.asname else local)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    qualified = None if node.level or not node.module else node.module
                    full = None if qualified is None else f"{qualified}.{alias.name}"
                    found.setdefault(alias.asname or alias.name, set()).add(full)
        return found

    def qualified(self, node: ast.expr) -> Iterator[str | None]:
        """What an imported dotted name may refer to (nothing if it is not imported)."""
        name = dotted(node)
        if name is None:
            return
        head, _, rest = name.partition(".")
        for base in self.bindings.get(head, ()):
            yield None if base is None else (f"{base}.{rest}" if rest else base)

    @cached_property
    def import_bound(self) -> frozenset[str]:
        """Every local name some import statement binds."""
        return frozenset(self.aliases)

    @cached_property
    def import_time_nodes(self) -> list[ast.AST]:
        """Nodes outside function and lambda bodies (one walk for every question)."""
        return list(_walk(self.tree, _import_time_children))

    def import_time_calls_named(self, names: Iterable[str]) -> list[ast.Call]:
        """Calls at import time whose callee may be one of `names` (see `names`)."""
        wanted = set(names)
        return [
            node
            for node in self.import_time_nodes_near(self.words_for(wanted))
            if isinstance(node, ast.Call) and self.names(node.func) & wanted
        ]

    def import_time_callees_named(self, names: Iterable[str]) -> frozenset[str]:
        """Which of `names` (see `names`) are called or raised at import time."""
        wanted = set(names)
        found: set[str] = set()
        for node in self.import_time_nodes_near(self.words_for(wanted)):
            if isinstance(node, ast.Call):
                found |= self.names(node.func) & wanted
            elif isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                found |= self.names(exc) & wanted
        return frozenset(found)

    def words_for(self, wanted: set[str]) -> set[str]:
        """The words a use of `wanted` names sits on: the names, and local names
        imported as one of them."""
        return wanted | {local for local, origins in self.aliases.items() if origins & wanted}


def _walk(tree: ast.AST, children: Callable[[ast.AST], Iterable[ast.AST]]) -> Iterator[ast.AST]:
    """`tree` and what `children` leads to from it, iteratively."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
"""Fields that hold statements (or `except` and `case` clauses, which do): a
lambda's or conditional expression's `body` is an expression, not a list."""


def statements_in(node: ast.AST) -> list[ast.AST]:
    """The statements (and `except`/`case` clauses) directly in `node`'s blocks."""
    found: list[ast.AST] = []
    for name in _BLOCKS:
        block = getattr(node, name, None)
        if isinstance(block, list):
            found.extend(block)
    return found


def _import_time_children(node: ast.AST) -> Iterable[ast.AST]:
    """Children that run when `node` runs at import time: a function's decorators,
    defaults and annotations, not its body."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        found: list[ast.AST] = [*node.decorator_list, node.args]
        if node.returns is not None:
            found.append(node.returns)
        found.extend(getattr(node, "type_params", ()))
        return found
    if isinstance(node, ast.Lambda):
        return [node.args]
    return ast.iter_child_nodes(node)
