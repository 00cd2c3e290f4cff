"""What the engine reports: diagnostics, their fixes and where they point.

These are small frozen values. Rules never build them directly: a rule reports a
libcst node (and maybe a `NodeFix`); the engine turns that into a `Diagnostic`
once positions are known.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:  # rules build fixes from libcst nodes; the run's output needs no libcst
    import libcst as cst


class Applicability(enum.Enum):
    """How much a fix can be trusted to keep the code's meaning (as in ruff)."""

    SAFE = "safe"
    """Applied by `--fix`."""
    UNSAFE = "unsafe"
    """Applied only with `--unsafe-fixes`: it may change what the code does."""


@dataclass(frozen=True)
class ImportRequest:
    """`import <module>` must be present for a fix's new code to work."""

    module: str


if TYPE_CHECKING:
    Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]


@dataclass(frozen=True, eq=False)
class NodeFix:
    """A fix as a rule writes it: libcst nodes to replace, imports to add.

    `changes` maps nodes of the parsed module (by identity) to their replacements.
    The engine renders the whole module, so indentation is always right.
    """

    title: str
    applicability: Applicability
    changes: Mapping[cst.CSTNode, Replacement]
    imports: tuple[ImportRequest, ...] = ()


@dataclass(frozen=True, order=True)
class Position:
    """1-based line, 1-based column (in characters), as shown to users."""

    line: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between `start` and `end` with `content`."""

    content: str
    start: Position
    end: Position


@dataclass(frozen=True)
class Fix:
    title: str
    applicability: Applicability
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Diagnostic:
    path: Path
    code: str
    name: str
    message: str
    start: Position
    end: Position
    fix_title: str | None = None
    fix_applicability: Applicability | None = None
    fix: Fix | None = field(default=None, compare=False)
    """Text edits, computed only for output formats that show them."""
    fix_lines: tuple[int, int] | None = field(default=None, compare=False)
    """First and last line of the code the fix replaces (it may reach beyond the
    reported node, e.g. a decorator above the reported `def`)."""

    @property
    def fixable(self) -> bool:
        return self.fix_applicability is not None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.start.line, self.start.column, self.code)
