"""The one place that reads, parses, runs rules, suppresses and fixes.

Per file: decode -> decide which rules could match from a cheap text scan (most
test files need no parse at all) -> parse once with libcst -> run every enabled
rule in one batched visit -> positions only if something was reported, and only
for the top-level statements holding the reports (`positions.py`) -> `# noqa`
and per-file-ignores -> fixes applied as libcst node replacements, re-linted until
nothing changes, and the result must re-parse or the file is left alone.
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

import libcst as cst

from testlint.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    Fix,
    NodeFix,
    Position,
)
from testlint.imports import ImportStyle, StatementImports, StatementLines, update_imports
from testlint.locate import ProjectError
from testlint.names import ImportTable
from testlint.noqa import LINE_ENDS, codes_by_line, suppresses
from testlint.positions import positions_of
from testlint.project import FileKind, Project
from testlint.registry import ALL_RULES, CONFIG_RULES, ENGINE_RULES
from testlint.rule import (
    Report,
    Rule,
    RuleContext,
    SourceFile,
    TopStatement,
    Tracker,
    Unparsable,
)
from testlint.rules.tl003_unused_noqa import (
    NoqaComment,
    NoqaComments,
    might_name_testlint,
    report_unused,
)
from testlint.settings import Settings
from testlint.source import (
    PythonRefuses,
    SourceError,
    decode,
    parse,
    python_parses,
    syntax_error,
)
from testlint.traversal import Visitor, visit_batched, visits_statements_only

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

MAX_FIX_ITERATIONS = 10
_T = TypeVar("_T")
UNPARSABLE = ENGINE_RULES["TL001"]
UNUSED_NOQA = ENGINE_RULES["TL003"]
KNOWN_RULES = {
    **{rule.code: rule for rule in ALL_RULES},
    **{rule.name: rule for rule in ALL_RULES},
}
"""Every rule by code and by name, whatever rules a linter runs (TL003 must tell a
rule it does not run from a code that is no rule's)."""


@dataclass
class FileResult:
    path: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    original: bytes = b""
    fixed: bytes | None = None
    """New contents when fixes changed the file."""
    fixes_applied: int = 0
    fixed_rules: list[tuple[str, str]] = field(default_factory=list)
    """The code and name of the rule of each fix applied (`--show-fixes`); meant
    only while `fixes_applied` is not 0 (a fix not written sets that to 0)."""
    errors: list[str] = field(default_factory=list)
    """Problems with testlint itself on this file (not findings): shown on stderr."""
    facts: frozenset[str] = frozenset()
    """Names of the project facts the result depends on (`Rule.facts` of the rules
    whose trigger text the file contains: their gates may read those facts)."""


@dataclass
class _Parsed:
    module: cst.Module
    reports: list[Report]
    positions: Mapping[cst.CSTNode, CodeRange]
    checked: frozenset[str] | None = None
    """Codes whose unused `# noqa` TL003 reports (None: TL003 is off for the file)."""
    directives: list[NoqaComment] = field(default_factory=list)
    """The comments TL003 reads."""


class UndeclaredFact(AssertionError):
    """A rule read a project fact it does not list in `Rule.facts` (raised only
    with `check_facts`): the cache would not know to re-check its files."""


# ------------------------------------------------------------------ noqa


def _suppressed(noqa: Mapping[int, frozenset[str] | None], lines: range, rule: type[Rule]) -> bool:
    for line in lines:
        if line in noqa:
            codes = noqa[line]
            if codes is None or any(suppresses(c, rule.code, rule.name) for c in codes):
                return True
    return False


def _used(
    noqa: Mapping[int, frozenset[str] | None], spans: Iterable[tuple[Report, range]]
) -> set[tuple[int, str]]:
    """(line, code as written) of every `# noqa` code that suppresses a finding."""
    used: set[tuple[int, str]] = set()
    for report, lines in spans:
        rule = report.rule
        for line in lines:
            used.update(
                (line, code)
                for code in noqa.get(line) or ()
                if suppresses(code, rule.code, rule.name)
            )
    return used


def _directive_range(comment: CodeRange, found: NoqaComment) -> CodeRange:
    """Where the directive is, inside its comment (a comment is one line)."""
    from libcst.metadata import CodePosition, CodeRange  # loaded with the positions

    read = found.directive
    column = comment.start.column
    return CodeRange(
        CodePosition(comment.start.line, column + read.start),
        CodePosition(comment.start.line, column + read.end),
    )


# ------------------------------------------------------------------ fixes


def apply_node_fixes(
    module: cst.Module,
    fixes: Sequence[NodeFix],
    style: ImportStyle,
    *,
    may_remove: bool = True,
    within: Collection[cst.CSTNode] = (),
    positions: Mapping[cst.CSTNode, CodeRange] | None = None,
    lines: StatementLines | None = None,
) -> cst.Module:
    """`module` with the fixes' node replacements made, the imports they leave
    unused removed and the imports they need added (see `imports.py`). `within`:
    the top-level statements the changed nodes are likely in, `positions` the
    ranges of their nodes, and `lines` which statements may use a name (hints)."""
    changes: dict[cst.CSTNode, object] = {}
    for fix in fixes:
        changes.update(fix.changes)
    fixed = None
    if within:
        fixed = _replace_within(module, changes, within, positions)
    if fixed is None:
        fixed = _replace_within(module, changes, None)
    assert fixed is not None
    requests = [request for fix in fixes for request in fix.imports]
    return update_imports(fixed, changes, requests, style, may_remove=may_remove, lines=lines)


def _statement_lines(module: cst.Module, file: SourceFile) -> StatementLines | None:
    """Which top-level statements of `module` (parsed from `file`) may use a name,
    from the file's `ast` (None when CPython cannot parse it)."""
    try:
        return StatementLines(module, file.scan)
    except Unparsable:
        return None


def _replace_within(
    module: cst.Module,
    changes: Mapping[cst.CSTNode, object],
    within: Collection[cst.CSTNode] | None,
    positions: Mapping[cst.CSTNode, CodeRange] | None = None,
) -> cst.Module | None:
    """`module` with `changes` made, walking only the top-level statements `within`
    (every statement if None) and, where `positions` knows the ranges, only the
    nodes whose range holds a changed node's; None if a change was not reached. A
    walk that skips nodes gives the same module as a whole walk whenever it makes
    every change (the nodes it skips are kept as they are either way)."""
    if within is None:
        applier = _change_applier(changes, None, None)
    else:
        kept = {id(statement) for statement in within}
        skipped = {id(statement) for statement in module.body if id(statement) not in kept}
        applier = _change_applier(changes, positions, skipped)
    fixed = module.visit(cast(cst.CSTTransformer, applier))
    return fixed if len(applier.made) == len(changes) or within is None else None


def _replace_in_statement(
    statement: cst.BaseStatement,
    changes: Mapping[cst.CSTNode, object],
    positions: Mapping[cst.CSTNode, CodeRange],
) -> list[cst.BaseStatement] | None:
    """What the top-level `statement` becomes with `changes` made (a change may
    remove it or make it several statements); None if a change lies outside it.
    The same walk as `_replace_within` makes inside it."""
    applier = _change_applier(changes, positions, set())
    new = statement.visit(cast(cst.CSTTransformer, applier))
    if len(applier.made) != len(changes):
        return None
    if isinstance(new, cst.RemovalSentinel):
        return []
    nodes = new.nodes if isinstance(new, cst.FlattenSentinel) else [new]
    statements = [node for node in nodes if isinstance(node, cst.BaseStatement)]
    return statements if len(statements) == len(nodes) else None


def _change_applier(
    changes: Mapping[cst.CSTNode, object],
    positions: Mapping[cst.CSTNode, CodeRange] | None,
    skipped: set[int] | None,
) -> _ChangeApplier:
    applier: _ChangeApplier = _transformer(_ChangeApplier)(changes, positions, skipped)
    return applier


@cache
def _transformer(logic: type[_T]) -> type[_T]:
    """`logic` as a libcst transformer, made on first use: libcst is imported only
    when a file is parsed (`launcher.defer_import`)."""
    return type(logic.__name__, (logic, cst.CSTTransformer), {})


class _ChangeApplier:
    """Makes `changes`, visiting only the nodes not `skipped` (None: every node)
    and, where `positions` knows the ranges, whose range holds a changed node's
    (a libcst transformer once made by `_transformer`)."""

    def __init__(
        self,
        changes: Mapping[cst.CSTNode, object],
        positions: Mapping[cst.CSTNode, CodeRange] | None,
        skipped: set[int] | None,
    ) -> None:
        super().__init__()
        self.changes = changes
        self.made: set[int] = set()
        self._known = positions or {}
        self._skipped = skipped
        targets = [self._known.get(node) for node in changes]
        spans = [_span(where) for where in targets if where is not None]
        # A changed node without a range: no pruning below the statement.
        self._spans = spans if len(spans) == len(targets) else []

    def _holds_a_change(self, node: cst.CSTNode) -> bool:
        where = self._known.get(node)
        # A definition's range leaves out its decorators: always look inside.
        if where is None or not self._spans or isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return True
        start, end = _span(where)
        return any(start <= first and last <= end for first, last in self._spans)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._skipped is None:
            return True
        return id(node) not in self._skipped and self._holds_a_change(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> object:
        change = self.changes.get(original_node, _UNCHANGED)
        if change is _UNCHANGED:
            return updated_node
        self.made.add(id(original_node))
        return change


_UNCHANGED = object()


def _span(where: CodeRange) -> tuple[tuple[int, int], tuple[int, int]]:
    return (where.start.line, where.start.column), (where.end.line, where.end.column)


def module_code(module: cst.Module, chunks: dict[int, tuple[cst.CSTNode, str]]) -> str:
    """`module.code`, generating each top-level node once: `chunks` keeps the code of
    the nodes generated so far (with the node, so that its id is not reused), and a
    fixed module shares all but a few statements with the module it was made from.
    A test proves it equal to `module.code` on every fixture and fix."""
    if not module.has_trailing_newline:
        return module.code  # libcst then drops the last newline token: not spliced
    parts = [
        _chunk(module, node, chunks) for node in (*module.header, *module.body, *module.footer)
    ]
    return "".join(parts) or module.default_newline


def fixed_code(
    module: cst.Module,
    fixed: cst.Module,
    source: str,
    chunks: dict[int, tuple[cst.CSTNode, str]],
) -> str:
    """`fixed.code`, for `fixed` made from `module` (parsed from `source`) by
    changing a few top-level statements: `source`, with each stretch between the
    statements `fixed` kept replaced by the code of what it holds there instead.
    A stretch is found from the code of the kept statements around it, where that
    code occurs once in `source`; otherwise (and for modules that differ in more
    than statements) the whole of `fixed` is spliced by `module_code`. A test
    proves it equal to `fixed.code` on every fixture and fix."""
    spliced = _splice(module, fixed, source, chunks)
    return module_code(fixed, chunks) if spliced is None else spliced


def _splice(
    module: cst.Module,
    fixed: cst.Module,
    source: str,
    chunks: dict[int, tuple[cst.CSTNode, str]],
) -> str | None:
    same_layout = all(
        getattr(module, name) == getattr(fixed, name)
        for name in ("encoding", "default_indent", "default_newline", "has_trailing_newline")
    )
    if not same_layout or not module.has_trailing_newline or not module.body or "\r" in source:
        return None

    def code(nodes: Sequence[cst.CSTNode]) -> str:
        return "".join(_chunk(module, node, chunks) for node in nodes)

    header, footer = code(module.header), code(module.footer)
    if not source.startswith(header) or not source.endswith(footer):
        return None
    where = {id(node): number for number, node in enumerate(module.body)}
    kept = [(-1, -1)]  # (in fixed.body, in module.body); the header and footer bound it
    for number, node in enumerate(fixed.body):
        original = where.get(id(node))
        if original is not None and module.body[original] is node:
            if original <= kept[-1][1]:
                return None  # statements reordered
            kept.append((number, original))
    kept.append((len(fixed.body), len(module.body)))
    parts = [code(fixed.header)]
    offset = len(header)
    for (new_a, old_a), (new_b, old_b) in zip(kept, kept[1:]):
        if new_b - new_a == 1 and old_b - old_a == 1:
            continue  # nothing between two kept statements
        start = len(header) if old_a < 0 else _end_of(module, old_a, source, chunks)
        end = len(source) - len(footer) if old_b == len(module.body) else None
        if end is None:
            end = _start_of(module, old_b, source, chunks)
        if start is None or end is None or not offset <= start <= end:
            return None
        parts += [source[offset:start], code(fixed.body[new_a + 1 : new_b])]
        offset = end
    parts += [source[offset : len(source) - len(footer)], code(fixed.footer)]
    return "".join(parts)


def _chunk(
    module: cst.Module, node: cst.CSTNode, chunks: dict[int, tuple[cst.CSTNode, str]]
) -> str:
    """The code of a top-level node, generated once (see `module_code`)."""
    known = chunks.get(id(node))
    if known is None or known[0] is not node:
        known = chunks[id(node)] = (node, module.code_for_node(node))
    return known[1]


def _start_of(
    module: cst.Module, number: int, source: str, chunks: dict[int, tuple[cst.CSTNode, str]]
) -> int | None:
    """Where statement `number` of `module` starts in `source`, if its code occurs
    there once (a statement's code holds its leading comments and blank lines)."""
    return _only_place(source, _chunk(module, module.body[number], chunks))


def _only_place(source: str, code: str) -> int | None:
    """Where `code` starts in `source`, if it occurs there exactly once."""
    start = source.find(code)
    return start if start >= 0 and source.find(code, start + 1) < 0 else None


def _end_of(
    module: cst.Module, number: int, source: str, chunks: dict[int, tuple[cst.CSTNode, str]]
) -> int | None:
    start = _start_of(module, number, source, chunks)
    return None if start is None else start + len(chunks[id(module.body[number])][1])


def _edits(before: str, after: str) -> tuple[Edit, ...]:
    """Line-granular edits turning `before` into `after` (for the outputs that show
    fixes: `full`'s preview, JSON, SARIF)."""
    edits = _line_edits(before.splitlines(keepends=True), after.splitlines(keepends=True))
    assert edits is not None
    return edits


def _line_edits(
    old: Sequence[str], new: Sequence[str], offset: int = 0, whole: bool = True
) -> tuple[Edit, ...] | None:
    """`_edits` of lines, the first one numbered `offset + 1`. Not `whole`: the
    lines are part of two texts equal above and below them, and the edits are
    those of the texts, or None when the equal lines above the change ran out on
    one side (the lines below would decide where the change starts)."""
    # The lines before the first change and after the last are left out of the
    # matching: a fix changes a few lines, and matching thousands of equal lines (a
    # large literal) one against the other is quadratic.
    shortest = min(len(old), len(new))
    head = 0
    while head < shortest and old[head] == new[head]:
        head += 1
    if head == shortest and not whole:
        return None
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_middle, new_middle = old[head : len(old) - tail], new[head : len(new) - tail]
    blocks = None
    if len(old_middle) + len(new_middle) > MATCHED_LINES:
        # Many lines between two changes (an import added at the top, a line
        # changed far below): a few changes in many lines, found in linear time.
        blocks = _few_changes(old_middle, new_middle)
    if blocks is None:
        import difflib  # here: only the outputs that show fixes carry edits

        matcher = difflib.SequenceMatcher(a=old_middle, b=new_middle, autojunk=False)
        if len(old_middle) + len(new_middle) > MATCHED_LINES:
            # Many changes too: junk heuristics keep it linear (the edits stay
            # exact, they may only be larger).
            matcher = difflib.SequenceMatcher(a=old_middle, b=new_middle, autojunk=True)
        blocks = [
            (i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
        ]
    start = offset + head + 1
    return tuple(
        Edit("".join(new_middle[j1:j2]), Position(start + i1, 1), Position(start + i2, 1))
        for i1, i2, j1, j2 in blocks
    )


MATCHED_LINES = 2_000
"""Lines between a fix's first and last change that `difflib` matches (`_edits`):
it compares each line with every equal one, quadratic in a large literal."""
MAX_CHANGES = 200
"""Changed lines `_few_changes` looks for before giving up."""


def _few_changes(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int, int, int]] | None:
    """The blocks `old[i1:i2]` -> `new[j1:j2]` of a shortest edit script (Myers'
    algorithm: time linear in the lines for each change), or None when more than
    `MAX_CHANGES` lines changed."""
    n, m = len(old), len(new)
    furthest: dict[int, int] = {1: 0}
    trace: list[dict[int, int]] = []
    for changes in range(min(n + m, MAX_CHANGES) + 1):
        trace.append(dict(furthest))
        for k in range(-changes, changes + 1, 2):
            if k == -changes or (k != changes and furthest[k - 1] < furthest[k + 1]):
                x = furthest[k + 1]
            else:
                x = furthest[k - 1] + 1
            y = x - k
            while x < n and y < m and old[x] == new[y]:
                x, y = x + 1, y + 1
            furthest[k] = x
            if x >= n and y >= m:
                return _blocks(trace, n, m)
    return None


def _blocks(trace: list[dict[int, int]], n: int, m: int) -> list[tuple[int, int, int, int]]:
    """The changed blocks of the edit script `_few_changes` found, in order."""
    steps: list[tuple[int, int, int, int]] = []
    x, y = n, m
    for changes in range(len(trace) - 1, 0, -1):
        furthest = trace[changes]
        k = x - y
        if k == -changes or (k != changes and furthest[k - 1] < furthest[k + 1]):
            before = k + 1
        else:
            before = k - 1
        start_x = furthest[before]
        start_y = start_x - before
        while x > start_x and y > start_y:  # equal lines
            x, y = x - 1, y - 1
        steps.append((start_x, x, start_y, y))  # one line removed or added
        x, y = start_x, start_y
    blocks: list[tuple[int, int, int, int]] = []
    for i1, i2, j1, j2 in reversed(steps):
        if blocks and blocks[-1][1] == i1 and blocks[-1][3] == j1:
            blocks[-1] = (blocks[-1][0], i2, blocks[-1][2], j2)
        else:
            blocks.append((i1, i2, j1, j2))
    return blocks


def _placed(reports: Iterable[Report]) -> Iterator[cst.CSTNode]:
    """Every node whose position a report needs: the node, its statement (for
    `# noqa`), what its fix changes and those nodes' decorators."""
    for report in reports:
        yield report.node
        if report.statement is not None:
            yield report.statement
        if report.fix is not None:
            for node in report.fix.changes:
                yield node
                yield from getattr(node, "decorators", ())


def _overlaps(a: CodeRange, b: CodeRange) -> bool:
    a_start = (a.start.line, a.start.column)
    a_end = (a.end.line, a.end.column)
    b_start = (b.start.line, b.start.column)
    b_end = (b.end.line, b.end.column)
    return a_start < b_end and b_start < a_end


# ------------------------------------------------------------------ linter


class Linter:
    """Runs a fixed set of rules, with fixed settings, over files of one project."""

    def __init__(
        self,
        rules: Sequence[type[Rule]],
        settings: Settings,
        project: Project,
        *,
        gating: bool = True,
        apply_noqa: bool = True,
        check_facts: bool = False,
    ) -> None:
        # The rules on configuration files (`config_lint.py`) are named in the same
        # selectors; the files they read the configuration of are found here.
        known = [*ENGINE_RULES.values(), *rules, *CONFIG_RULES]
        enabled = settings.enabled_codes(known)
        self.rules = [rule for rule in rules if rule.code in enabled]
        self.checks_config = any(rule.code in enabled for rule in CONFIG_RULES)
        self._triggers = {rule: rule.triggers_for(settings) for rule in self.rules}
        self.report_unparsable = UNPARSABLE.code in enabled
        # Only where testlint applies noqa directives can it tell one suppresses nothing.
        self.report_unused_noqa = apply_noqa and UNUSED_NOQA.code in enabled
        self.settings = settings
        self.project = project
        self.gating = gating
        self.apply_noqa = apply_noqa
        """False when the front end (flake8) applies `# noqa` itself."""
        self._all_rules = known
        self.check_facts = check_facts
        """Fail when the rules that ran on a file read a fact none of them declares
        (the fixture tests turn it on)."""

    @property
    def file_kinds(self) -> frozenset[FileKind]:
        """Kinds of file any enabled rule looks at: other files need not be read."""
        kinds: set[FileKind] = {FileKind.TEST, FileKind.CONFTEST} if self.checks_config else set()
        for rule in self.rules:
            kinds |= rule.file_kinds
        return frozenset(kinds)

    def prepare(self, paths: Iterable[Path]) -> None:
        """Build, for the projects owning `paths`, the facts the enabled rules
        declare (see `facts.py`). One that a broken project file keeps from being
        built is left to the rule that asks for it: the file being checked then
        reports the error, as it would had nothing been prepared."""
        owners: dict[int, Project] = {}
        for path in paths:
            with contextlib.suppress(ProjectError):
                owner = self.project.owner(path)
                owners[id(owner)] = owner
        facts = {id(fact): fact for rule in self.rules for fact in rule.facts}
        for fact in facts.values():
            for owner in owners.values():
                with contextlib.suppress(ProjectError):
                    fact.prepare(owner)

    def triggered(self, text: str) -> frozenset[str]:
        """Codes of the rules whose trigger words occur in `text` (the first gate)."""
        return frozenset(
            rule.code for rule in self.rules if any(t in text for t in self._triggers[rule])
        )

    def rules_for(
        self,
        path: Path,
        kind: FileKind,
        text: str,
        tree: ast.Module | None = None,
        file: SourceFile | None = None,
    ) -> tuple[list[type[Rule]], frozenset[str]]:
        """The rules that could report in this file, and the names of the facts their
        results depend on (those of every rule whose trigger text the file holds:
        its gate read them). With gating: the trigger text, then each rule's
        `gate` (the CPython `ast` is parsed once, when a gate first reads it)."""
        chosen = self._applicable(path, kind, self.settings.ignored_codes(path, self._all_rules))
        if self.gating:
            chosen = [r for r in chosen if any(t in text for t in self._triggers[r])]
        facts = frozenset(fact.name for rule in chosen for fact in rule.facts)
        if not self.gating or not chosen:
            return chosen, facts
        if file is None:
            file = SourceFile(path, text, self.project, self.settings, tree)
        return [rule for rule in chosen if _passes(rule, file)], facts

    def codes_for(self, path: Path, kind: FileKind) -> tuple[str, ...]:
        """The codes of the enabled rules that look at this kind of file and that
        `per-file-ignores` leaves on for it (the engine's own included)."""
        ignored = self.settings.ignored_codes(path, self._all_rules)
        codes = {rule.code for rule in self._applicable(path, kind, ignored)}
        if self.report_unparsable and UNPARSABLE.code not in ignored:
            codes.add(UNPARSABLE.code)
        unused_noqa = self.report_unused_noqa and kind in UNUSED_NOQA.file_kinds
        if unused_noqa and UNUSED_NOQA.code not in ignored:
            codes.add(UNUSED_NOQA.code)
        return tuple(sorted(codes))

    def _applicable(self, path: Path, kind: FileKind, ignored: frozenset[str]) -> list[type[Rule]]:
        """The enabled rules that look at this kind of file and are not ignored for it."""
        return [r for r in self.rules if kind in r.file_kinds and r.code not in ignored]

    def _noqa_checked(self, path: Path, kind: FileKind, text: str) -> frozenset[str] | None:
        """Codes of the rules that run on the file, whose `# noqa` TL003 may call
        unused; None when TL003 does not look at the file (most files: no
        directive naming testlint)."""
        if not self.report_unused_noqa or kind not in UNUSED_NOQA.file_kinds:
            return None
        if not might_name_testlint(text, KNOWN_RULES):
            return None
        ignored = self.settings.ignored_codes(path, self._all_rules)
        if UNUSED_NOQA.code in ignored:
            return None
        checked = {rule.code for rule in self._applicable(path, kind, ignored)}
        if self.report_unparsable and UNPARSABLE.code not in ignored:
            checked.add(UNPARSABLE.code)  # ran, and no directive ever suppresses it
        return frozenset(checked)

    # -- one pass

    def _run(
        self,
        path: Path,
        kind: FileKind,
        module: cst.Module,
        text: str,
        rules: Sequence[type[Rule]],
        checked: frozenset[str] | None,
    ) -> _Parsed:
        context = RuleContext(
            path=path,
            kind=kind,
            module=module,
            source=text,
            project=self.project,
            settings=self.settings,
            imports=ImportTable(module),
        )
        instances = [rule(context) for rule in rules]
        visitors: list[Visitor] = [TopStatement(context), Tracker(context), *instances]
        comments = NoqaComments(context, KNOWN_RULES) if checked is not None else None
        if comments is not None:
            visitors.append(comments)
        # Rules that hook statements only (async tests and fixtures, imports) need
        # no walk through expressions; the bookkeeping visitors' hooks there serve
        # hooks that would be below them (`traversal.visits_statements_only`).
        statements_only = comments is None and all(map(visits_statements_only, instances))
        visit_batched(module, visitors, statements_only)
        reports = context.reports
        directives = comments.found if comments else []
        positions: Mapping[cst.CSTNode, CodeRange] = {}
        if reports or directives:
            placed = list(_placed(reports))
            hints = [*(context.tops.get(n) for n in placed), *(r.top for r in reports)]
            placed.extend(node for d in directives for node in (d.comment, d.holder))
            hints.extend(d.top for d in directives)
            positions = positions_of(module, placed, hints, text)
        return _Parsed(module, reports, positions, checked, directives)

    def _active(self, parsed: _Parsed, text: str) -> list[tuple[type[Rule], Report, CodeRange]]:
        """Reports left after `# noqa`, each with its position; then TL003's."""
        if not parsed.reports and not parsed.directives:
            return []
        spans = []
        for report in parsed.reports:
            where = parsed.positions[report.node]
            lines = range(where.start.line, where.end.line + 1)
            if report.statement is not None and report.statement in parsed.positions:
                outer = parsed.positions[report.statement]
                lines = range(
                    min(outer.start.line, where.start.line), max(outer.end.line, where.end.line) + 1
                )
            spans.append((report, where, lines))
        noqa = self._noqa(text, [lines for _, _, lines in spans], bool(parsed.directives))
        active = [
            (report.rule, report, where)
            for report, where, lines in spans
            if not _suppressed(noqa, lines, report.rule)
        ]
        if parsed.directives:
            used = _used(noqa, [(report, lines) for report, _, lines in spans])
            active.extend(self._unused_noqa(parsed, noqa, used))
        return active

    def _noqa(
        self, text: str, reported: Sequence[range], everywhere: bool
    ) -> dict[int, frozenset[str] | None]:
        """The file's `# noqa` codes by line. Tokenizing a whole file to find its
        comments is slow: only when TL003 reads them all (`everywhere`) or a
        reported line mentions noqa."""
        if not self.apply_noqa or "noqa" not in text.lower():
            return {}
        if everywhere:
            return codes_by_line(text)
        source_lines = LINE_ENDS.split(text)
        lines = {n for span in reported for n in span}
        if any("noqa" in source_lines[n - 1].lower() for n in lines if n <= len(source_lines)):
            return codes_by_line(text)
        return {}

    @staticmethod
    def _unused_noqa(
        parsed: _Parsed, noqa: Mapping[int, frozenset[str] | None], used: set[tuple[int, str]]
    ) -> Iterator[tuple[type[Rule], Report, CodeRange]]:
        assert parsed.checked is not None
        for found in parsed.directives:
            where = parsed.positions[found.comment]
            line = where.start.line
            if noqa.get(line) != frozenset(found.directive.codes):
                continue  # the engine reads another line for it: leave it alone
            report = report_unused(
                found, {c for n, c in used if n == line}, parsed.checked, KNOWN_RULES
            )
            if report is not None and not _suppressed(noqa, range(line, line + 1), UNUSED_NOQA):
                yield UNUSED_NOQA, report, _directive_range(where, found)

    @staticmethod
    def _diagnostic(
        path: Path,
        rule: type[Rule],
        report: Report,
        where: CodeRange,
        positions: Mapping[cst.CSTNode, CodeRange],
    ) -> Diagnostic:
        fix = report.fix
        fix_lines = None
        if fix is not None:
            # libcst's position of a decorated def or class starts after its decorators.
            targets = [
                part for node in fix.changes for part in (node, *getattr(node, "decorators", ()))
            ]
            spans = [positions[n] for n in targets if n in positions]
            if spans:
                fix_lines = (min(s.start.line for s in spans), max(s.end.line for s in spans))
        return Diagnostic(
            path=path,
            code=rule.code,
            name=rule.name,
            message=report.message,
            start=Position(where.start.line, where.start.column + 1),
            end=Position(where.end.line, where.end.column + 1),
            fix_title=fix.title if fix else None,
            fix_applicability=fix.applicability if fix else None,
            fix_lines=fix_lines,
        )

    def _source_error(self, path: Path, error: SourceError) -> list[Diagnostic]:
        if not self.report_unparsable:
            return []
        if UNPARSABLE.code in self.settings.ignored_codes(path, self._all_rules):
            return []
        if isinstance(error, PythonRefuses) and self.project.ignored_on_this_python(path):
            # A conftest keeps pytest on this Python from the file (`*_py314.py` below
            # 3.14): it fails nowhere pytest imports it, as far as this Python can tell.
            return []
        position = Position(error.line, error.column)
        return [Diagnostic(path, UNPARSABLE.code, UNPARSABLE.name, str(error), position, position)]

    # -- public

    def check(
        self,
        path: Path,
        source: bytes,
        kind: FileKind,
        *,
        fix: Applicability | None = None,
        with_edits: bool = False,
    ) -> FileResult:
        """Lint `source`; with `fix`, apply fixes up to that applicability."""
        result = FileResult(path, original=source)
        too_large = self._too_large(path, len(source))
        if too_large is not None:
            result.diagnostics = too_large
            return result
        try:
            text = decode(source)
        except SourceError as error:
            result.diagnostics = self._source_error(path, error)
            return result
        return self._check(result, path, source, text, kind, fix, with_edits)

    def check_text(
        self, path: Path, text: str, kind: FileKind, tree: ast.Module | None = None
    ) -> FileResult:
        """Lint already-decoded source (flake8 hands plugins lines of text, and the
        `ast` it parsed, which the gate reuses). No fixes."""
        too_large = self._too_large(path, len(text.encode("utf-8", "surrogateescape")))
        if too_large is not None:
            return FileResult(path, too_large)
        return self._check(FileResult(path), path, text, text, kind, None, False, tree)

    def _too_large(self, path: Path, size: int) -> list[Diagnostic] | None:
        """TL001 for a file above `max-file-size`: parsing it could take minutes and
        gigabytes (libcst needs about 650 MB per MB of dense code)."""
        limit = self.settings.max_file_size
        if not limit or size <= limit:
            return None
        error = SourceError(
            f"File not checked: it is {size:,} bytes, above `max-file-size` ({limit:,} bytes)"
        )
        return self._source_error(path, error)

    def _check(
        self,
        result: FileResult,
        path: Path,
        source: bytes | str,
        text: str,
        kind: FileKind,
        fix: Applicability | None,
        with_edits: bool,
        tree: ast.Module | None = None,
    ) -> FileResult:
        self.project.fact_reads.clear()
        file = SourceFile(path, text, self.project, self.settings, tree)
        rules, result.facts = self.rules_for(path, kind, text, tree, file)
        try:
            return self._check_rules(result, file, source, kind, rules, fix, with_edits)
        finally:
            if self.check_facts and not self.project.fact_reads <= result.facts:
                undeclared = sorted(self.project.fact_reads - result.facts)
                raise UndeclaredFact(f"{path}: rules read facts they do not declare: {undeclared}")

    def _check_rules(
        self,
        result: FileResult,
        file: SourceFile,
        source: bytes | str,
        kind: FileKind,
        rules: list[type[Rule]],
        fix: Applicability | None,
        with_edits: bool,
    ) -> FileResult:
        path, text = file.path, file.source
        checked = self._noqa_checked(path, kind, text)
        if not rules and checked is None:
            # No rule needs the tree, but pytest still imports the file: a syntax
            # error is the first collection killer, whatever the triggers. (A file
            # a gate already parsed with CPython has none: not parsed again.)
            if (
                file.python_parses is not True
                and kind is not FileKind.OTHER
                and self.report_unparsable
            ):
                error = syntax_error(source, text)
                if error is not None:
                    result.diagnostics = self._source_error(path, error)
            return result
        try:
            module = parse(source, text)
            current = source
            parsed = self._run(path, kind, module, text, rules, checked)
            active = self._active(parsed, text)
            lines = None
            if (fix is not None or with_edits) and any(r.fix for _, r, _ in active):
                lines = _statement_lines(module, file)
            if fix is not None:
                current, parsed, active = self._fix_loop(
                    result, path, kind, rules, checked, fix, parsed, active, lines
                )
        except SourceError as error:
            result.diagnostics = self._source_error(path, error)
            return result
        except RecursionError:
            too_deep = SourceError("Cannot parse file: it is nested too deeply to analyse")
            result.diagnostics = self._source_error(path, too_deep)
            return result
        result.diagnostics = [
            self._diagnostic(path, rule, report, where, parsed.positions)
            for rule, report, where in active
        ]
        if with_edits:
            # Without fixes made, `text` is the code of the module the reports are on.
            code = text if fix is None else None
            result.diagnostics = self._with_edits(
                path, parsed, active, result.diagnostics, code, lines
            )
        if isinstance(current, bytes) and current != source:
            result.fixed = current
        return result

    def _fix_loop(
        self,
        result: FileResult,
        path: Path,
        kind: FileKind,
        rules: Sequence[type[Rule]],
        checked: frozenset[str] | None,
        level: Applicability,
        parsed: _Parsed,
        active: list[tuple[type[Rule], Report, CodeRange]],
        lines: StatementLines | None = None,
    ) -> tuple[bytes, _Parsed, list[tuple[type[Rule], Report, CodeRange]]]:
        allowed = _allowed(level)
        original = result.original
        current = original
        if parsed.module.bytes != original:
            if any(r.fix for _, r, _ in active):
                result.errors.append(
                    "not fixed: libcst does not reproduce this file byte for byte "
                    "(e.g. lone carriage-return newlines)"
                )
            return current, parsed, active
        must_be_python = python_parses(original)
        for _ in range(MAX_FIX_ITERATIONS):
            chosen: list[NodeFix] = []
            chosen_rules: list[tuple[str, str]] = []
            taken: list[CodeRange] = []
            tops: list[cst.CSTNode] = []
            for rule, report, _where in active:
                node_fix = report.fix
                if node_fix is None or node_fix.applicability not in allowed:
                    continue
                ranges = [parsed.positions[n] for n in node_fix.changes if n in parsed.positions]
                if any(_overlaps(r, t) for r in ranges for t in taken):
                    continue  # applied in the next round, against the new tree
                chosen.append(node_fix)
                chosen_rules.append((rule.code, rule.name))
                taken.extend(ranges)
                if report.top is not None:
                    tops.append(report.top)
            if not chosen:
                return current, parsed, active
            # Walked within the reports' statements (the whole module if a change
            # lies elsewhere): a file with one fix is not walked whole again.
            within = tops if len(tops) == len(chosen) else ()
            new_module = self._apply(path, parsed.module, chosen, within, parsed.positions, lines)
            new_source = new_module.bytes
            try:
                reparsed = parse(new_source)
            except SourceError:
                reparsed = None
            if reparsed is None or (must_be_python and not python_parses(new_source)):
                titles = ", ".join(sorted({f.title for f in chosen}))
                result.errors.append(
                    f"not fixed: applying ({titles}) produced code that does not parse; "
                    "this is a testlint bug, please report it"
                )
                result.fixes_applied = 0
                result.fixed_rules.clear()
                return original, *self._relint(path, kind, rules, checked, original)
            current = new_source
            result.fixes_applied += len(chosen)
            result.fixed_rules.extend(chosen_rules)
            current_text = decode(current)
            parsed = self._run(path, kind, reparsed, current_text, rules, checked)
            active = self._active(parsed, current_text)
        result.errors.append(
            f"not fixed: fixes did not converge after {MAX_FIX_ITERATIONS} rounds; "
            "this is a testlint bug, please report it"
        )
        result.fixes_applied = 0
        result.fixed_rules.clear()
        return original, *self._relint(path, kind, rules, checked, original)

    def _relint(
        self,
        path: Path,
        kind: FileKind,
        rules: Sequence[type[Rule]],
        checked: frozenset[str] | None,
        source: bytes,
    ) -> tuple[_Parsed, list[tuple[type[Rule], Report, CodeRange]]]:
        text = decode(source)
        parsed = self._run(path, kind, parse(source), text, rules, checked)
        return parsed, self._active(parsed, text)

    def _apply(
        self,
        path: Path,
        module: cst.Module,
        fixes: Sequence[NodeFix],
        within: Collection[cst.CSTNode] = (),
        positions: Mapping[cst.CSTNode, CodeRange] | None = None,
        lines: StatementLines | None = None,
    ) -> cst.Module:
        # Imports left unused are not removed from an `__init__.py`: its imports
        # are what the package offers.
        style = self.project.import_style(path)
        return apply_node_fixes(
            module,
            fixes,
            style,
            may_remove=path.name != "__init__.py",
            within=within,
            positions=positions,
            lines=lines,
        )

    def _with_edits(
        self,
        path: Path,
        parsed: _Parsed,
        active: list[tuple[type[Rule], Report, CodeRange]],
        diagnostics: list[Diagnostic],
        code: str | None,
        lines: StatementLines | None = None,
    ) -> list[Diagnostic]:
        chunks: dict[int, tuple[cst.CSTNode, str]] = {}
        before = module_code(parsed.module, chunks) if code is None else code
        layout = None
        if parsed.module.has_trailing_newline:
            layout = _Layout(parsed.module, before, chunks)
        imports: StatementImports | None = None
        out = []
        for (_rule, report, _where), diagnostic in zip(active, diagnostics):
            node_fix = report.fix
            if node_fix is not None:
                edits = None
                if layout is not None and isinstance(report.top, cst.BaseStatement):
                    if imports is None:
                        style = self.project.import_style(path)
                        may_remove = path.name != "__init__.py"
                        imports = StatementImports(
                            parsed.module, style, may_remove=may_remove, lines=lines
                        )
                    edits = self._statement_edits(parsed, node_fix, report.top, layout, imports)
                if edits is None:
                    # One fix's edits: only its report's top-level statement is walked
                    # (the whole module if a change lies elsewhere), and only the
                    # statements it changed are generated again.
                    tops = () if report.top is None else (report.top,)
                    fixed = self._apply(
                        path, parsed.module, [node_fix], tops, parsed.positions, lines
                    )
                    if code is None:
                        after = module_code(fixed, chunks)
                    else:
                        after = fixed_code(parsed.module, fixed, code, chunks)
                    edits = _edits(before, after)
                fix = Fix(node_fix.title, node_fix.applicability, edits)
                diagnostic = Diagnostic(**{**diagnostic.__dict__, "fix": fix})
            out.append(diagnostic)
        return out

    @staticmethod
    def _statement_edits(
        parsed: _Parsed,
        node_fix: NodeFix,
        top: cst.BaseStatement,
        layout: _Layout,
        imports: StatementImports,
    ) -> tuple[Edit, ...] | None:
        """The edits of a fix that changes only the top-level statement `top` (and
        maybe adds imports), found from the code of that statement and of the
        imports alone: at a cost that does not grow with the module, so that a file
        with many fixes is not quadratic. None when the fix reaches further (then
        the whole module is compared)."""
        new = _replace_in_statement(top, node_fix.changes, parsed.positions)
        if new is None:
            return None
        updated = imports.updated(top, new, node_fix.changes, node_fix.imports)
        if updated is None:
            return None
        edits = layout.statement_edits(top, layout.code(new))
        if edits is None or updated is parsed.module:
            return edits
        added = layout.import_edits(updated)
        if added is None:
            return None
        compared, import_edits = added
        if edits and edits[0].start.line <= compared:
            return None  # the lines compared for the imports reach the statement's
        return import_edits + edits


class _Layout:
    """Where a module's top-level statements are in its code (`text`), found from
    their own code, and the edits of a change to a run of them, at a cost that does
    not grow with the module: exactly those of comparing the whole module before
    and after (`_edits`). A fix that also adds imports gets the edits of each
    change found apart (a test compares them with `_edits` on every fixture)."""

    CONTEXT_LINES = 8
    """Lines after a change compared with it: where the change ends may depend on
    them (a change ending in a line the next ones repeat)."""

    def __init__(
        self, module: cst.Module, text: str, chunks: dict[int, tuple[cst.CSTNode, str]]
    ) -> None:
        self.module = module
        self.text = text
        self._chunks = chunks
        # Line starts as `str.splitlines` (which `_edits` uses) breaks lines.
        self._line_starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
        self._imports: dict[int, tuple[cst.Module, tuple[int, tuple[Edit, ...]] | None]] = {}

    def code(self, nodes: Sequence[cst.CSTNode]) -> str:
        return "".join(_chunk(self.module, node, self._chunks) for node in nodes)

    def statement_edits(self, statement: cst.CSTNode, after: str) -> tuple[Edit, ...] | None:
        """The edits of the module whose top-level `statement` becomes the code
        `after`; None if its code does not occur exactly once in the module's."""
        before = self.code([statement])
        start = _only_place(self.text, before)
        if start is None:
            return None
        return self._edits(start, start + len(before), after)

    def _edits(self, start: int, end: int, after: str) -> tuple[Edit, ...] | None:
        """The edits of the module whose code from `start` to `end` (line starts)
        becomes `after`."""
        first = bisect.bisect_right(self._line_starts, start) - 1
        if self._line_starts[first] != start:
            return None
        following = bisect.bisect_left(self._line_starts, end)
        stop = following + self.CONTEXT_LINES
        context_end = self._line_starts[stop] if stop < len(self._line_starts) else len(self.text)
        context = self.text[end:context_end]
        return _line_edits(
            (self.text[start:end] + context).splitlines(keepends=True),
            (after + context).splitlines(keepends=True),
            first,
            whole=False,
        )

    def import_edits(self, updated: cst.Module) -> tuple[int, tuple[Edit, ...]] | None:
        """The edits of the imports `updated` adds (its statements from the first
        that changed to the last, compared with the module's), found once per
        file; with the last line compared to find them."""
        known = self._imports.get(id(updated))
        if known is None or known[0] is not updated:
            known = (updated, self._import_edits(updated))
            self._imports[id(updated)] = known
        return known[1]

    def _import_edits(self, updated: cst.Module) -> tuple[int, tuple[Edit, ...]] | None:
        old, new = self.module.body, updated.body
        first = 0
        while first < min(len(old), len(new)) and old[first] is new[first]:
            first += 1
        last_old, last_new = len(old), len(new)
        while last_old > first and last_new > first and old[last_old - 1] is new[last_new - 1]:
            last_old, last_new = last_old - 1, last_new - 1
        above = self.code([*self.module.header, *old[:first]])
        changed = self.code(old[first:last_old])
        if not self.text.startswith(above + changed):
            return None
        end = len(above) + len(changed)
        edits = self._edits(len(above), end, self.code(new[first:last_new]))
        compared = bisect.bisect_left(self._line_starts, end) + self.CONTEXT_LINES
        return None if edits is None else (compared, edits)


_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _passes(rule: type[Rule], file: SourceFile) -> bool:
    try:
        return rule.gate(file)
    except Unparsable:
        return True  # libcst may read syntax newer than this Python: run the rule
    except ProjectError:
        return True  # a broken project file: the visit meets it only if it needs it


def _allowed(level: Applicability) -> frozenset[Applicability]:
    if level is Applicability.UNSAFE:
        return frozenset(Applicability)
    return frozenset({Applicability.SAFE})
