"""testlint's walk must call every hook libcst's `visit_batched` calls, in its order."""

from __future__ import annotations

import dataclasses
import inspect
import linecache
from collections.abc import Callable
from functools import partial
from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest

from testlint import traversal
from testlint.source import python_parses
from testlint.traversal import child_fields, visit_batched

FIXTURES = Path(__file__).parent / "fixtures"
LIBCST = Path(cst.__file__).parent
# Every fixture, and libcst's own node definitions and parser: long, varied modules
# (decorators, f-strings, match, async, star imports, type parameters...).
FILES = sorted(FIXTURES.rglob("*.py")) + sorted(
    path for folder in ("_nodes", "_parser", "metadata") for path in (LIBCST / folder).glob("*.py")
)
EXTRA = {
    "f-strings": 'x = f"{a!r:>{w}}" f"{b=}" f"{c:{d}.{e}f}"\n',
    "imports": "from . import (a, b as c)\nfrom x import *\nimport y.z as w\n",
    "match": dedent(
        """\
        match p:
            case [1, *r] | {"k": v, **kw} if v:
                pass
            case C(a=1):
                pass
        """
    ),
    "statements": dedent(
        """\
        async def f(a: int = 1, /, *b, c, **d) -> T:
            async with x as y, z:
                await g()
            del a; global q
            try:
                pass
            except* E as e:
                raise
        """
    ),
    "comprehensions": "f = lambda a, *b: {k: v for k in x if v} or [y async for y in z]\n",
}


def _all_classes() -> set[type[cst.CSTNode]]:
    found: set[type[cst.CSTNode]] = set()
    stack: list[type[cst.CSTNode]] = [cst.CSTNode]  # type: ignore[type-abstract]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return found


CLASSES = sorted(_all_classes(), key=lambda c: c.__name__)


def _hook_names() -> list[str]:
    names = []
    for cls in CLASSES:
        names += [f"visit_{cls.__name__}", f"leave_{cls.__name__}"]
        if dataclasses.is_dataclass(cls):
            for field in dataclasses.fields(cls):
                names += [
                    f"visit_{cls.__name__}_{field.name}",
                    f"leave_{cls.__name__}_{field.name}",
                ]
    return names


HOOK_NAMES = _hook_names()


class Recorder(cst.BatchableCSTVisitor):
    """A hook for every node class and every field: the whole sequence of calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        calls = self.calls
        return {name: partial(_record, calls, name) for name in HOOK_NAMES}


def _record(calls: list[tuple[str, int]], name: str, node: cst.CSTNode) -> None:
    calls.append((name, id(node)))


def _sources() -> list[tuple[str, bytes | str]]:
    """Every file Python parses (fixtures of unparsable files are left out), and the
    snippets above. Each test parses its source again: trees kept alive for the
    whole session (as parameters) made every full garbage collection walk them."""
    sources: list[tuple[str, bytes | str]] = []
    for path in FILES:
        source = path.read_bytes()
        if not python_parses(source):
            continue  # fixtures of unparsable files (`ast` decides in a tenth of the time)
        sources.append((path.as_posix(), source))
    sources.extend(EXTRA.items())
    return sources


SOURCES = _sources()


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[f"{name}-" for name, _ in SOURCES])
def test_same_hooks_in_the_same_order(name: str, source: bytes | str) -> None:
    """The walk calls libcst's hooks in libcst's order; so does the walk of the
    statements alone, for the statement hooks; and `children` reads libcst's
    children (one parse per source for the three: parsing is most of the cost)."""
    module = cst.parse_module(source)
    expected, actual = Recorder(), Recorder()
    cst.visit_batched(module, [expected])
    visit_batched(module, [actual])
    assert actual.calls == expected.calls
    assert len(actual.calls) > 2
    _statements_only_walk_calls_statement_hooks_as_the_whole_walk(module)
    _children_are_libcst_children(module)


def test_every_node_class_has_a_known_order() -> None:
    """No class falls back to libcst's rebuilding walk with the installed libcst."""
    concrete = [
        c for c in CLASSES if not inspect.isabstract(c) and c.__module__.startswith("libcst._nodes")
    ]
    assert len(concrete) > 150
    assert [c.__name__ for c in concrete if child_fields(c) is None] == []
    assert child_fields(cst.ImportFrom) is not None
    assert ("names", traversal.EITHER) in child_fields(cst.ImportFrom)  # type: ignore[operator]
    assert ("format_spec", traversal.SEQUENCE) in child_fields(cst.FormattedStringExpression)  # type: ignore[operator]


def test_the_source_of_every_visiting_method_is_read_as_inspect_reads_it() -> None:
    concrete = [c for c in CLASSES if not inspect.isabstract(c)]
    for cls in concrete:
        method = cls._visit_and_replace_children
        assert traversal._source(method) == inspect.getsource(method), cls


def test_a_method_block_that_does_not_compile_is_read_by_inspect() -> None:
    """Lines indented below the `def` inside a string end the block early: the
    block does not compile, and `inspect.getsource` reads it instead."""
    namespace: dict[str, object] = {}
    text = 'def method(self):\n    text = """\nnot indented\n"""\n    return text\n'
    filename = "<testlint-block-test>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    try:
        exec(compile(text, filename, "exec"), namespace)
        method = namespace["method"]
        assert traversal._source(method) == text  # type: ignore[arg-type]
    finally:
        del linecache.cache[filename]


def test_a_class_whose_source_cannot_be_read_is_walked_by_libcst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreadable(obj: object) -> str:
        raise OSError("no source")

    monkeypatch.setattr(traversal, "_ORDERS", {})
    monkeypatch.setattr(traversal, "_source", unreadable)
    module = cst.parse_module(EXTRA["statements"])
    expected, actual = Recorder(), Recorder()
    cst.visit_batched(module, [expected])
    visit_batched(module, [actual])
    assert actual.calls == expected.calls
    assert child_fields(cst.Name) is None


STATEMENT_HOOKS = [
    f"visit_{cls.__name__}"
    for cls in CLASSES
    if traversal.statement_level(cls) and hasattr(cst, cls.__name__)
]


class StatementRecorder(Recorder):
    """A `visit_` hook for every statement-level class, and nothing else."""

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        calls = self.calls
        return {name: partial(_record, calls, name) for name in STATEMENT_HOOKS}


def _statements_only_walk_calls_statement_hooks_as_the_whole_walk(module: cst.Module) -> None:
    expected, actual = StatementRecorder(), StatementRecorder()
    assert traversal.visits_statements_only(actual)
    visit_batched(module, [expected])
    visit_batched(module, [actual], statements_only=True)
    assert actual.calls == expected.calls
    assert actual.calls[0][0] == "visit_Module"


def test_only_statement_level_visit_hooks_allow_the_statements_only_walk() -> None:
    assert len(STATEMENT_HOOKS) > 40
    assert {"visit_FunctionDef", "visit_Import", "visit_Else"} <= set(STATEMENT_HOOKS)
    assert not {"visit_Call", "visit_Decorator", "visit_Lambda"} & set(STATEMENT_HOOKS)

    class Hooks:
        def __init__(self, *names: str) -> None:
            self.names = names

        def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
            return dict.fromkeys(self.names, print)

    assert traversal.visits_statements_only(Hooks("visit_FunctionDef", "visit_ImportFrom"))
    for hooks in ("visit_Call", "leave_FunctionDef", "visit_FunctionDef_body", "visit_Nope"):
        assert not traversal.visits_statements_only(Hooks("visit_If", hooks))


def _children_are_libcst_children(module: cst.Module) -> None:
    """`traversal.children` reads the fields: the same nodes, in the same order."""
    stack: list[cst.CSTNode] = [module]
    count = 0
    while stack:
        node = stack.pop()
        expected = list(node.children)
        assert traversal.children(node) == expected, type(node).__name__
        assert all(a is b for a, b in zip(traversal.children(node), expected))
        stack.extend(expected)
        count += 1
    assert count >= 1
