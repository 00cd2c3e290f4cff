"""Positions of reported nodes without generating positions for the whole file.

libcst's `PositionProvider` regenerates the module's code, recording a range for
every node; on a large file that costs twice the parse. A report needs the ranges
of a few nodes, which lie in one or a few top-level statements. Those statements
are generated with position tracking, starting from the line and column where
they begin; the statements before them are generated as plain code (six times
cheaper) only to count lines. The result for those nodes is exactly libcst's
(`tests/test_positions.py` compares them on every fixture).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

import libcst as cst

if TYPE_CHECKING:
    from libcst import CSTNode
    from libcst.metadata import CodeRange
    from libcst.metadata.position_provider import PositionProvidingCodegenState

STATEMENT_CLASSES = (
    "SimpleStatementLine",
    "FunctionDef",
    "ClassDef",
    "If",
    "For",
    "While",
    "Try",
    "TryStar",
    "With",
    "Match",
)
"""Every kind of statement a module's body can hold."""


def all_positions(module: cst.Module) -> Mapping[CSTNode, CodeRange]:
    from libcst.metadata import MetadataWrapper, PositionProvider

    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def positions_in(
    module: cst.Module, statements: Collection[CSTNode], source: str | None = None
) -> Mapping[CSTNode, CodeRange]:
    """Ranges of every node inside `statements` (top-level statements of
    `module`), as `PositionProvider` gives them. With `source` (the module's code),
    the statements in between are found in it rather than generated."""
    from libcst.metadata import PositionProvider
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    provider = PositionProvider()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=provider,
    )
    for line in module.header:
        line._codegen(state)
    offset = sum(len(token) for token in state.tokens)
    if source is not None and ("\r" in source or not source.startswith("".join(state.tokens))):
        source = None  # libcst counts "\r\n" split across tokens twice; or not this code
    remaining = set(statements)
    skipped: list[CSTNode] = []
    for statement in module.body:
        if not remaining:
            break
        if statement not in remaining:
            skipped.append(statement)
            continue
        remaining.discard(statement)
        if skipped:
            offset = _skip_to(state, statement, skipped, source, offset)
            skipped = []
        first = len(state.tokens)
        statement._codegen(state)
        offset += sum(len(token) for token in state.tokens[first:])
    # The provider stores plain CodeRanges (its laziness is for other providers).
    return cast("Mapping[CSTNode, CodeRange]", provider._computed)


def positions_of(
    module: cst.Module,
    wanted: Iterable[CSTNode],
    hints: Iterable[CSTNode | None],
    source: str | None = None,
) -> Mapping[CSTNode, CodeRange]:
    """Ranges for at least the `wanted` nodes: from the top-level statements in
    `hints` when they hold them all, else from the whole module."""
    statements = {hint for hint in hints if hint is not None}
    if statements:
        positions = positions_in(module, statements, source)
        if all(node in positions for node in wanted):
            return positions
    return all_positions(module)


def _skip_to(
    state: PositionProvidingCodegenState,
    statement: CSTNode,
    skipped: Sequence[CSTNode],
    source: str | None,
    offset: int,
) -> int:
    """Move `state` past the `skipped` statements to `statement`; returns its offset
    in the code. Where `statement`'s code occurs once in `source` after `offset`,
    that is where it starts (generating it plainly costs less than generating what
    comes before it); otherwise each skipped statement is generated plainly."""
    if source is not None:
        code = "".join(_plain_tokens(statement, state))
        start = source.find(code, offset)
        if start >= 0 and source.find(code, start + 1) < 0:
            _advance(state, source[offset:start])
            return start
    for before in skipped:
        offset += _skip(state, before)
    return offset


def _plain_tokens(statement: CSTNode, state: PositionProvidingCodegenState) -> list[str]:
    """`statement`'s code, generated without recording ranges (six times cheaper)."""
    from libcst._nodes.internal import CodegenState

    plain = CodegenState(default_indent=state.default_indent, default_newline=state.default_newline)
    statement._codegen(plain)
    return plain.tokens


def _advance(state: PositionProvidingCodegenState, text: str) -> None:
    """Move `state` past `text` (which holds no "\r")."""
    newlines = text.count("\n")
    if newlines:
        state.line += newlines
        state.column = len(text) - text.rfind("\n") - 1
    else:
        state.column += len(text)


def _skip(state: PositionProvidingCodegenState, statement: CSTNode) -> int:
    """Move `state` past `statement`'s code without recording ranges; returns the
    code's length."""
    tokens = _plain_tokens(statement, state)
    text = "".join(tokens)
    if "\r" in text:
        for token in tokens:  # libcst counts "\r\n" split across tokens twice
            state._update_position(token)
    else:
        _advance(state, text)
    return len(text)
