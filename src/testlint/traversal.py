"""A batched libcst visit that does not rebuild the tree.

`libcst.visit_batched` walks a tree through each node's `_visit_and_replace_children`,
which builds (and validates) a new copy of every node even when no visitor changes
anything: on a large test file that costs twice the parse. Rules only read, so this
walk calls the same hooks in the same order (`visit_<Node>`, `visit_<Node>_<field>`,
`leave_<Node>_<field>`, `leave_<Node>`) and builds nothing.

The order of a node's children is the order in which libcst's own
`_visit_and_replace_children` visits its fields (`visit_required(self, "name", ...)`),
read once per node class from libcst's source. A class whose source cannot be read
is walked by libcst itself. `tests/test_traversal.py` checks that both walks call
the same hooks in the same order on every fixture and on libcst's own sources.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Protocol, cast

import libcst as cst

if TYPE_CHECKING:
    Hook = Callable[[cst.CSTNode], None]


class Visitor(Protocol):
    """What the walk needs of a visitor (libcst's `BatchableCSTVisitor` is one)."""

    def get_visitors(self) -> Mapping[str, Hook]: ...


_FIELD = re.compile(r'\bvisit_(\w+)\(\s*self,\s*"(\w+)"')
_SEQUENCES = frozenset({"sequence", "iterable", "body_sequence", "body_iterable"})
"""Fields holding a sequence of nodes. libcst never visits None as one: such a
field that may be None is guarded, and then no hook at all runs for it
(`FormattedStringExpression.format_spec`). Other fields hold one node, or None
or `MaybeSentinel.DEFAULT` (then only the field's hooks run)."""
NODE, SEQUENCE, EITHER = "node", "sequence", "either"
"""What a field holds: EITHER for one that libcst visits either way depending on
its value (`ImportFrom.names`: `*` or a sequence of aliases)."""
_ORDERS: dict[type[cst.CSTNode], tuple[tuple[str, str], ...] | None] = {}


def child_fields(cls: type[cst.CSTNode]) -> tuple[tuple[str, str], ...] | None:
    """(field, NODE, SEQUENCE or EITHER) in libcst's visiting order; None when
    libcst's source for `cls` cannot be read or does not look as expected."""
    if cls in _ORDERS:
        return _ORDERS[cls]
    order: tuple[tuple[str, str], ...] | None
    try:
        source = _source(cls._visit_and_replace_children)
    except (OSError, TypeError):
        order = None
    else:
        found: dict[str, str] = {}
        for how, name in _FIELD.findall(source):
            kind = SEQUENCE if how in _SEQUENCES else NODE
            found[name] = kind if found.get(name, kind) == kind else EITHER
        known = {field.name for field in fields(cls)}
        order = tuple(found.items()) if found.keys() <= known else None
        calls = source.count("visit_") - source.count("_visit_and_replace_children")
        if calls and not found:
            order = None  # children visited some other way
    _ORDERS[cls] = order
    return order


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node.children`, read from the node's fields in libcst's visiting order
    (`child_fields`) rather than by a visit that rebuilds the node (six times
    slower). A test proves it equal to `node.children` on every fixture."""
    from libcst import MaybeSentinel  # here: libcst is imported lazily by the launcher

    order = child_fields(type(node))
    if order is None:
        return list(node.children)
    found: list[cst.CSTNode] = []
    for name, _ in order:
        value = getattr(node, name)
        if value.__class__ in (tuple, list):
            found.extend(value)
        elif value is not None and value.__class__ is not MaybeSentinel:
            found.append(value)
    return found


def _source(method: Callable[..., object]) -> str:
    """`inspect.getsource(method)`, without tokenizing (which took 40 ms a process
    for libcst's node classes): the method's lines up to the first statement
    indented no deeper than its `def`. Checked by compiling it; if that fails (a
    string spanning lines at a lower indent), `inspect.getsource`."""
    code = method.__code__
    lines = linecache.getlines(code.co_filename)
    start = code.co_firstlineno - 1
    if not 0 <= start < len(lines):
        return inspect.getsource(method)
    indent = _indent(lines[start])
    end = last = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#"):
            if _indent(line) <= indent:
                break
            last = end + 1
        end += 1
    block = "".join(lines[start:last])
    try:
        compile(textwrap.dedent(block), code.co_filename, "exec", ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError):
        return inspect.getsource(method)
    return block


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class _Plan:
    """The hooks to call for one node class."""

    __slots__ = ("fields", "leaves", "visits")

    def __init__(
        self,
        visits: list[Hook],
        fields: tuple[tuple[str, str, list[Hook], list[Hook]], ...] | None,
        leaves: list[Hook],
    ) -> None:
        self.visits = visits
        self.fields = fields
        self.leaves = leaves


def statement_level(cls: type[cst.CSTNode]) -> bool:
    """Whether nodes of `cls` can hold statements, or are statements: a module,
    a statement, a suite, or a clause of a compound statement. Statements are
    reached from the module through such nodes only (no expression holds one)."""
    return issubclass(cls, _statement_level())


@functools.cache
def _statement_level() -> tuple[type[cst.CSTNode], ...]:
    # Made on first use: libcst is imported only when a file is parsed (launcher.py).
    return (
        cst.Module, cst.BaseStatement, cst.BaseSmallStatement, cst.BaseSuite, cst.Else,
        cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase,
    )  # fmt: skip


def visits_statements_only(visitor: Visitor) -> bool:
    """Whether every hook of `visitor` is a `visit_<Node>` of a statement-level
    node (see `statement_level`): walking the statements alone then calls all of
    its hooks, in the same order, with what they see unchanged."""
    for name in visitor.get_visitors():
        kind, _, node = name.partition("_")
        cls = getattr(cst, node, None)
        if kind != "visit" or not isinstance(cls, type) or not statement_level(cls):
            return False
    return True


def visit_batched(
    node: cst.CSTNode, visitors: Sequence[Visitor], statements_only: bool = False
) -> None:
    """`libcst.visit_batched(node, visitors)` for visitors that change nothing.

    `statements_only`: walk only statement-level nodes (`statement_level`), which
    the caller may ask for when no hook that matters lies below them (every rule
    `visits_statements_only`): expressions are most of a tree's nodes."""
    # Here, not at the top: libcst is imported only when a file is parsed (launcher.py).
    from libcst import MaybeSentinel
    from libcst._batched_visitor import _BatchedCSTVisitor, _get_visitor_methods

    methods = _get_visitor_methods(cast("Sequence[cst.BatchableCSTVisitor]", visitors))
    statement_classes = _statement_level()
    plans: dict[type[cst.CSTNode], _Plan] = {}
    fallback = _BatchedCSTVisitor(methods)
    none: list[Hook] = []

    def plan_for(cls: type[cst.CSTNode]) -> _Plan:
        name = cls.__name__
        order = child_fields(cls)
        steps = None
        if order is not None:
            steps = tuple(
                (
                    field,
                    kind,
                    methods.get(f"visit_{name}_{field}", none),
                    methods.get(f"leave_{name}_{field}", none),
                )
                for field, kind in order
            )
        plan = _Plan(methods.get(f"visit_{name}", none), steps, methods.get(f"leave_{name}", none))
        plans[cls] = plan
        return plan

    def walk(node: cst.CSTNode) -> None:
        plan = plans.get(type(node)) or plan_for(type(node))
        steps = plan.fields
        if steps is None:
            node.visit(fallback)
            return
        for hook in plan.visits:
            hook(node)
        for field, kind, before, after in steps:
            value = getattr(node, field)
            if kind is SEQUENCE and value is None:
                continue
            for hook in before:
                hook(node)
            if kind is SEQUENCE or (kind is EITHER and value.__class__ in (tuple, list)):
                for child in value:
                    if not statements_only or isinstance(child, statement_classes):
                        walk(child)
            elif (
                value is not None
                and value.__class__ is not MaybeSentinel
                and (not statements_only or isinstance(value, statement_classes))
            ):
                walk(value)
            for hook in after:
                hook(node)
        for hook in plan.leaves:
            hook(node)

    walk(node)
