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

from collections.abc import Collection, Iterable, Mapping
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
    module: cst.Module, statements: Collection[CSTNode]
) -> Mapping[CSTNode, CodeRange]:
    """Ranges of every node inside `statements` (top-level statements of
    `module`), as `PositionProvider` gives them."""
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
    remaining = set(statements)
    for statement in module.body:
        if not remaining:
            break
        if statement in remaining:
            remaining.discard(statement)
            statement._codegen(state)
        else:
            _skip(state, statement)
    # The provider stores plain CodeRanges (its laziness is for other providers).
    return cast("Mapping[CSTNode, CodeRange]", provider._computed)


def positions_of(
    module: cst.Module, wanted: Iterable[CSTNode], hints: Iterable[CSTNode | None]
) -> Mapping[CSTNode, CodeRange]:
    """Ranges for at least the `wanted` nodes: from the top-level statements in
    `hints` when they hold them all, else from the whole module."""
    statements = {hint for hint in hints if hint is not None}
    if statements:
        positions = positions_in(module, statements)
        if all(node in positions for node in wanted):
            return positions
    return all_positions(module)


def _skip(state: PositionProvidingCodegenState, statement: CSTNode) -> None:
    """Move `state` past `statement`'s code without recording ranges."""
    from libcst._nodes.internal import CodegenState

    plain = CodegenState(default_indent=state.default_indent, default_newline=state.default_newline)
    statement._codegen(plain)
    text = "".join(plain.tokens)
    if "\r" in text:
        for token in plain.tokens:  # libcst counts "\r\n" split across tokens twice
            state._update_position(token)
        return
    newlines = text.count("\n")
    if newlines:
        state.line += newlines
        state.column = len(text) - text.rfind("\n") - 1
    else:
        state.column += len(text)
