"""The rule API: one rule = one libcst visitor class with its docs beside it.

A rule subclasses `Rule`, sets `code`, `name`, `summary`, `triggers` and a
docstring in ruff's sections, and defines `visit_*` methods. It reads the file
through `self.context` and reports with `self.report(node, message, fix=...)`.
All enabled rules run in one batched visit per file (see `engine.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import libcst as cst

from testlint.diagnostics import NodeFix
from testlint.facts import Fact
from testlint.import_time import is_main_guard
from testlint.memo import Memo
from testlint.names import ImportTable
from testlint.positions import STATEMENT_CLASSES
from testlint.project import FileKind, Project
from testlint.scan import Scan
from testlint.scan import parse as parse_ast
from testlint.settings import Option, Settings

__all__ = ["FileKind", "Option", "Report", "Rule", "RuleContext"]


@dataclass(frozen=True)
class Report:
    rule: type[Rule]
    node: cst.CSTNode
    message: str
    statement: cst.CSTNode | None
    fix: NodeFix | None
    top: cst.CSTNode | None = None
    """The top-level statement holding the node, where the visit noted it (a
    statement, call or string visited so far), else the one being visited when it
    was reported: where its nodes most likely are (the engine checks; see
    `positions.py`)."""


@dataclass
class RuleContext:
    """What a rule knows about the file being visited. Shared by all rules."""

    path: Path
    kind: FileKind
    module: cst.Module
    source: str
    """The module's text (never regenerate it with `module.code`: that is a full codegen)."""
    project: Project
    settings: Settings
    imports: ImportTable
    reports: list[Report] = field(default_factory=list)
    memo: Memo = field(default_factory=Memo)
    """Per-file answers that rules share (e.g. "does pytest-asyncio run this file")."""
    # Kept up to date by the engine's tracker during the visit.
    function_depth: int = 0
    main_guard_depth: int = 0
    handlers: list[tuple[cst.Try, cst.ExceptHandler]] = field(default_factory=list)
    """Enclosing `except` clauses with their `try`, innermost last."""
    try_bodies: list[cst.Try] = field(default_factory=list)
    """`try` statements whose body (not handlers) encloses the current node."""
    with_bodies: list[cst.With] = field(default_factory=list)
    """`with` statements whose body encloses the current node."""
    conditions: list[cst.If] = field(default_factory=list)
    """`if` statements whose body encloses the current node, innermost last."""
    statements: list[cst.SimpleStatementLine | cst.SimpleStatementSuite] = field(
        default_factory=list
    )
    blocks: list[Sequence[cst.BaseStatement]] = field(default_factory=list)
    classes: list[cst.ClassDef] = field(default_factory=list)
    top_statement: cst.CSTNode | None = None
    """The top-level statement being visited (or last visited)."""
    tops: dict[cst.CSTNode, cst.CSTNode | None] = field(default_factory=dict)
    """Statements, calls and strings visited so far -> their top-level statement
    (for reports made after the visit has left it)."""
    lines: dict[cst.CSTNode, cst.SimpleStatementLine | cst.SimpleStatementSuite | None] = field(
        default_factory=dict
    )
    """Calls and strings visited so far -> the statement holding them, whose lines a
    `# noqa` may be on (for reports made after the visit has left them)."""

    @property
    def at_import_time(self) -> bool:
        """True where code runs when pytest imports the module (not in a function body
        nor under `if __name__ == "__main__":`)."""
        return self.function_depth == 0 and self.main_guard_depth == 0

    @property
    def is_test_or_conftest(self) -> bool:
        return self.kind in (FileKind.TEST, FileKind.CONFTEST)

    def enclosing_handler(self) -> tuple[cst.Try, cst.ExceptHandler] | None:
        return self.handlers[-1] if self.handlers else None

    def enclosing_statement(self) -> cst.SimpleStatementLine | cst.SimpleStatementSuite | None:
        return self.statements[-1] if self.statements else None

    def enclosing_block(self) -> Sequence[cst.BaseStatement]:
        return self.blocks[-1] if self.blocks else self.module.body


_VISITOR_NAMES: dict[type, tuple[str, ...]] = {}


class CachedVisitors:
    """libcst's `get_visitors` runs `inspect.getmembers` on every instance, which
    cost more than parsing when one instance is made per rule per file. The names
    of a class's visitor methods are found once and cached."""

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        cls = type(self)
        names = _VISITOR_NAMES.get(cls)
        if names is None:
            names = tuple(
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            )
            _VISITOR_NAMES[cls] = names
        return {name: getattr(self, name) for name in names}


class Tracker(CachedVisitors):
    """Keeps `RuleContext`'s position-in-the-tree fields current. Runs in the same
    batched visit as the rules; attribute hooks make ordering irrelevant."""

    def __init__(self, context: RuleContext) -> None:
        super().__init__()
        self.context = context
        self._main_guards: list[bool] = []
        self._tries: list[cst.Try] = []

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.context.function_depth += 1
        self.context.imports.push_scope()

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.context.function_depth -= 1
        self.context.imports.pop_scope()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self.context.function_depth += 1

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self.context.function_depth -= 1

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.context.classes.append(node)

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.context.classes.pop()

    def visit_If_body(self, node: cst.If) -> None:
        guard = is_main_guard(node.test)
        self._main_guards.append(guard)
        self.context.conditions.append(node)
        if guard:
            self.context.main_guard_depth += 1

    def leave_If_body(self, node: cst.If) -> None:
        self.context.conditions.pop()
        if self._main_guards.pop():
            self.context.main_guard_depth -= 1

    def visit_Try(self, node: cst.Try) -> None:
        self._tries.append(node)

    def leave_Try(self, original_node: cst.Try) -> None:
        self._tries.pop()

    def visit_Try_body(self, node: cst.Try) -> None:
        self.context.try_bodies.append(node)

    def leave_Try_body(self, node: cst.Try) -> None:
        self.context.try_bodies.pop()

    def visit_With_body(self, node: cst.With) -> None:
        self.context.with_bodies.append(node)

    def leave_With_body(self, node: cst.With) -> None:
        self.context.with_bodies.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.context.handlers.append((self._tries[-1], node))

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self.context.handlers.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.context.statements.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.context.statements.pop()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.context.statements.append(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self.context.statements.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.context.blocks.append(node.body)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.context.blocks.pop()

    def visit_Import(self, node: cst.Import) -> None:
        if self.context.function_depth:
            self.context.imports.add_local_import(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if self.context.function_depth:
            self.context.imports.add_local_import(node)


class TopStatement:
    """Keeps `RuleContext.top_statement` current and notes the top-level statement
    of each statement, call and string: what reports and fixes point at (see
    `positions.py`). Runs first in the batched visit."""

    NOTED = (*STATEMENT_CLASSES, "SimpleStatementSuite", "Call", "SimpleString")

    def __init__(self, context: RuleContext) -> None:
        super().__init__()
        self.context = context
        self._top = {id(statement) for statement in context.module.body}

    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        visitors: dict[str, Callable[[cst.CSTNode], None]]
        visitors = {f"visit_{name}": self._visit for name in self.NOTED}
        visitors["visit_Call"] = visitors["visit_SimpleString"] = self._visit_expression
        return visitors

    def _visit(self, node: cst.CSTNode) -> None:
        if id(node) in self._top:
            self.context.top_statement = node
        self.context.tops[node] = self.context.top_statement

    def _visit_expression(self, node: cst.CSTNode) -> None:
        self._visit(node)
        self.context.lines[node] = self.context.enclosing_statement()


class InFile(Protocol):
    """What a gate (`SourceFile`) and a visit (`RuleContext`) both know of a file:
    helpers that need no tree take either."""

    path: Path
    source: str
    project: Project
    settings: Settings
    memo: Memo


class Unparsable(Exception):
    """Raised by `SourceFile.scan` when CPython cannot parse the file (syntax newer
    than the running Python, which libcst may still read): the engine then runs
    the rule without its gate."""


class SourceFile:
    """What a rule's gate knows of a file before libcst parses it."""

    __slots__ = ("_parsed", "_scan", "_tree", "memo", "path", "project", "settings", "source")

    def __init__(
        self,
        path: Path,
        source: str,
        project: Project,
        settings: Settings,
        tree: ast.Module | None = None,
    ) -> None:
        self.path = path
        self.source = source
        """The file's text (as `RuleContext.source`)."""
        self.project = project
        self.settings = settings
        self._tree = tree
        self.memo = Memo()
        """Answers the gates share for this file (the visit keeps its own)."""
        self._parsed = False
        self._scan: Scan | None = None

    @property
    def python_parses(self) -> bool | None:
        """Whether CPython parses the file: known when flake8 handed over its tree or
        a gate made it try (None: not tried)."""
        if self._tree is not None:
            return True
        return (self._scan is not None) if self._parsed else None

    @property
    def scan(self) -> Scan:
        """The file's CPython `ast` and the facts read from it (parsed once)."""
        if not self._parsed:
            self._parsed = True
            tree = self._tree if self._tree is not None else parse_ast(self.source)
            self._scan = Scan(tree, self.source) if tree is not None else None
        if self._scan is None:
            raise Unparsable(self.path)
        return self._scan


class Rule(CachedVisitors):
    """Base class for every rule. The class docstring is the rule's documentation
    (sections: What it does / Why is this bad? / Example / Use instead /
    Fix safety / Options / References) and is shown by `testlint explain`."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    """One line for `testlint rules` and the README table."""
    triggers: ClassVar[tuple[str, ...]]
    """The file is visited only if its text contains one of these. Must be a
    superset: a file without any of them can never produce a finding."""
    file_kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.TEST, FileKind.CONFTEST})
    options: ClassVar[tuple[Option[Any], ...]] = ()
    facts: ClassVar[tuple[Fact, ...]] = ()
    """The project facts (`facts.py`) the rule or its gate reads beyond its file and
    the configuration. The cache keys the file's result on their digests; the
    fixture tests fail when a rule reads a fact it does not declare."""
    fixable: ClassVar[str] = "none"
    """"always", "sometimes" or "none": shown in the rules table."""

    def __init__(self, context: RuleContext) -> None:
        super().__init__()
        self.context = context

    @classmethod
    def triggers_for(cls, settings: Settings) -> tuple[str, ...]:
        """`triggers`, widened by options that name more things to look for."""
        return cls.triggers

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """The one optional gate, after `triggers`: whether the rule could report in
        this file, decided before libcst parses it. `file.scan` is the file's CPython
        `ast`, parsed on first use and shared by every rule (see `scan.py`); a gate
        that reads only `file.source` or project facts costs no parse at all. Must
        never be False for a file where the rule could report."""
        return True

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: NodeFix | None = None,
        statement: cst.CSTNode | None = None,
    ) -> None:
        """Report `node`. A `# noqa` on any line of its enclosing statement applies.
        That statement is known for the node being visited, and for any call or
        string visited earlier; a report made after the visit has left any other
        kind of node passes it (`statement`)."""
        enclosing = statement or self.context.lines.get(node) or self.context.enclosing_statement()
        # A report made after the visit left its node (in `leave_Module`) is placed
        # by the node's own top-level statement, not the last one visited.
        top = self.context.tops.get(node) or self.context.top_statement
        self.context.reports.append(Report(type(self), node, message, enclosing, fix, top))
