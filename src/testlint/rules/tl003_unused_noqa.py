from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import libcst as cst

from testlint.diagnostics import Applicability, NodeFix
from testlint.noqa import NOQA, Directive, directive, rewritten
from testlint.rule import CachedVisitors, Report, Rule, RuleContext

if TYPE_CHECKING:  # libcst is loaded only when a file is parsed (`replay.defer_import`)
    Holder = Union[cst.TrailingWhitespace, cst.EmptyLine]

TL_CODE = re.compile(r"TL\d+", re.IGNORECASE)
"""What a testlint code looks like, known or not."""


class UnusedNoqa(Rule):
    """
    ## What it does
    Checks the `# noqa` directives in test modules and conftests for testlint
    codes that do nothing or are not codes:

    - a code that suppresses no finding: its rule reports nothing on a statement
      covering that line (a `# noqa` applies to every line of the reported
      statement, and TL003 looks at the same lines);
    - a code that looks like testlint's (`TL` and digits) but is no rule's
      (`TL999`, or a prefix such as `TL1`: a directive names whole codes);
    - a rule name in place of its code (`# noqa: module-level-exit`): testlint
      still honours it, but asks for the code `TL101`.

    A code is reported unused only when its rule ran on the file, as ruff's RUF100
    needs the rule enabled: not when `select`, `ignore` or `per-file-ignores` leave
    it out, nor in a kind of file the rule does not look at (TL102 in a conftest).
    A bare `# noqa`, other tools' codes (`E501`, `F401`) and `TL003` itself are
    never reported, so `# noqa: TL003` keeps a directive as it is. Only the first
    directive of a comment is read, as by the engine and flake8.

    The `testlint` command reports it; the flake8 plugin does not: flake8 applies
    `# noqa` itself, and plugins such as flake8-noqa check directives there.

    ## Why is this bad?
    A directive that suppresses nothing hides the next real finding on that line,
    and tells readers the line has a problem it no longer has. An unknown code
    suppresses nothing: the finding it was meant for is either gone or still
    reported. A rule name is read only by testlint: ruff warns "Invalid `# noqa`
    directive" on every run, and flake8 takes it for a bare `# noqa` that hides
    everything on the line.

    ## Example
    ```python
    import sys

    RETRIES = 3  # noqa: TL101
    TIMEOUT = 10  # noqa: E501, TL999
    ```

    ## Use instead
    ```python
    import sys

    RETRIES = 3
    TIMEOUT = 10  # noqa: E501
    ```

    ## Fix safety
    The fix is **safe**: it removes the unused and unknown codes, and writes each
    rule name as its code; other tools' codes stay as they are. When no code is
    left the whole directive goes (a bare `# noqa` would suppress everything), and
    with it the comment unless it says something else. No finding appears: the
    codes removed suppressed nothing.
    """

    code = "TL003"
    name = "unused-noqa"
    summary = (
        "`# noqa` with a testlint code that suppresses nothing, an unknown code, or a rule name"
    )
    triggers = ()
    fixable = "always"


@dataclass(frozen=True)
class NoqaComment:
    """A comment whose `# noqa` directive names a testlint code or rule name."""

    comment: cst.Comment
    holder: Holder
    """Where the comment is: the end of a line, or a line of its own."""
    top: cst.CSTNode | None
    """The top-level statement holding it (where its position is cheap to find)."""
    directive: Directive


def _names_testlint(codes: Collection[str], known: Mapping[str, type[Rule]]) -> bool:
    return any(TL_CODE.fullmatch(code) or code in known for code in codes)


def might_name_testlint(text: str, known: Mapping[str, type[Rule]]) -> bool:
    """Whether a `# noqa` directive in `text` may name a testlint code or rule
    name: a text scan, before any parse (it also sees directives in strings)."""
    for match in NOQA.finditer(text):
        read = directive(match.group())
        if read is not None and _names_testlint(read.codes, known):
            return True
    return False


class NoqaComments(CachedVisitors):
    """Collects, in the engine's batched visit, the comments this rule reads."""

    def __init__(self, context: RuleContext, known: Mapping[str, type[Rule]]) -> None:
        super().__init__()
        self.context = context
        self.known = known
        self.found: list[NoqaComment] = []

    def visit_TrailingWhitespace(self, node: cst.TrailingWhitespace) -> None:
        self._note(node, node.comment)

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        self._note(node, node.comment)

    def _note(self, holder: Holder, comment: cst.Comment | None) -> None:
        if comment is None or "noqa" not in comment.value.lower():
            return
        read = directive(comment.value)
        if read is not None and _names_testlint(read.codes, self.known):
            top = self.context.top_statement
            self.found.append(NoqaComment(comment, holder, top, read))


def _rule_of(code: str, known: Mapping[str, type[Rule]]) -> type[Rule] | None:
    return known.get(code.upper()) or known.get(code)


def _listed(codes: Collection[str]) -> str:
    return ", ".join(f"`{code}`" for code in codes)


def report_unused(
    found: NoqaComment,
    used: Collection[str],
    checked: Collection[str],
    known: Mapping[str, type[Rule]],
) -> Report | None:
    """The report for one directive, or None. `used`: its codes that suppress a
    finding; `checked`: codes of the rules that ran on the file; `known`: every
    rule by code and by name."""
    unused: list[str] = []
    unknown: list[str] = []
    names: dict[str, str] = {}
    for code in found.directive.codes:
        rule = _rule_of(code, known)
        if rule is None:
            if TL_CODE.fullmatch(code):
                unknown.append(code)
        elif rule.code != UnusedNoqa.code and rule.code in checked and code not in used:
            unused.append(code)
        elif code == rule.name:
            names[code] = rule.code
    if not (unused or unknown or names):
        return None
    parts = []
    if unused:
        parts.append(f"unused `noqa` code{'s' if len(unused) > 1 else ''} {_listed(unused)}")
    if unknown:
        parts.append(f"unknown `noqa` code{'s' if len(unknown) > 1 else ''} {_listed(unknown)}")
    parts.extend(f"rule name `{n}` in `noqa` instead of code `{c}`" for n, c in names.items())
    message = "; ".join(parts)
    fix = _fix(found, [*unused, *unknown], names)
    return Report(UnusedNoqa, found.comment, message[0].upper() + message[1:], None, fix, found.top)


def _fix(found: NoqaComment, drop: Collection[str], names: Mapping[str, str]) -> NodeFix:
    new = rewritten(found.directive, drop, names)
    changes: dict[cst.CSTNode, cst.CSTNode | cst.RemovalSentinel]
    if new is not None:
        changes = {found.comment: cst.Comment(new)}
    elif isinstance(found.holder, cst.EmptyLine):
        changes = {found.holder: cst.RemoveFromParent()}
    else:
        changes = {
            found.holder: found.holder.with_changes(
                whitespace=cst.SimpleWhitespace(""), comment=None
            )
        }
    if len(drop) == len(found.directive.codes):
        title = "Remove the `noqa` directive"
    else:
        actions = [f"remove {_listed(drop)}"] if drop else []
        actions.extend(f"replace `{n}` with `{c}`" for n, c in names.items())
        title = "; ".join(actions)
        title = title[0].upper() + title[1:]
    return NodeFix(title, Applicability.SAFE, changes)
