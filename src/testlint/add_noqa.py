"""`testlint check --add-noqa`: a `# noqa: TLxxx` for every current finding.

The files are those `testlint check` checks (`runner.select`), each linted as the
check lints it. A directive goes on the first line, from the finding's own, whose
end can hold a comment (not inside a multi-line string, not a line continued by a
backslash): the engine honours a directive on any line of the reported statement
(`engine.Linter._active`). It joins the directive already on that line, keeping
its codes and other tools' (`# noqa: E501, TL101`), or follows the comment there.
The file is linted again before it is written: a directive that would not
suppress its finding is not added, and the file must still parse.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testlint.diagnostics import Diagnostic
from testlint.engine import FileResult, Linter
from testlint.files import WriteError, write_atomically
from testlint.locate import ProjectError
from testlint.noqa import LINE_ENDS, directive, directive_text, with_codes
from testlint.project import FileKind
from testlint.runner import RunOptions, select
from testlint.source import SourceError, decode, parse, python_parses
from testlint.workers import with_deep_stack

LEFT_ALONE = frozenset({"TL001", "TL003"})
"""No directive suppresses TL001 (the file cannot be parsed); a TL003 finding is a
directive that suppresses nothing, which `--fix` removes."""


@dataclass
class Added:
    """What `--add-noqa` did."""

    directives: int = 0
    """Codes added to directives (a code added for several findings of one line
    counts once)."""
    files: int = 0
    """Files written."""
    remaining: list[Diagnostic] = field(default_factory=list)
    """Findings no directive was added for (`LEFT_ALONE`, or it would not suppress
    them, or the file could not be written)."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def add_noqa(paths: Sequence[Path], options: RunOptions) -> Added:
    """Add a directive for every finding in the files under `paths`. Raises
    ConfigError."""
    return with_deep_stack(lambda: _add_noqa(paths, options))


def _add_noqa(paths: Sequence[Path], options: RunOptions) -> Added:
    selection = select(paths, options)
    added = Added(errors=list(selection.errors), warnings=list(selection.warnings))
    for item, linter in selection.work:
        _add_to_file(item.path, item.kind, linter, added)
    return added


def _add_to_file(path: Path, kind: FileKind, linter: Linter, added: Added) -> None:
    try:
        source = path.read_bytes()
    except IsADirectoryError:
        return
    except OSError as exc:
        added.errors.append(f"{path}: cannot read: {exc.strerror}")
        return
    before = _lint(linter, path, source, kind, added)
    if before is None:
        return
    added.warnings.extend(f"{path}: {message}" for message in before.errors)
    wanted = [d for d in before.diagnostics if d.code not in LEFT_ALONE]
    added.remaining.extend(d for d in before.diagnostics if d.code in LEFT_ALONE)
    if not wanted:
        return
    try:
        new, count, placed = _placed(linter, path, source, kind, wanted, added)
    except _CannotPlace as exc:
        added.warnings.append(f"{path}: no `# noqa` added: {exc}")
        added.remaining.extend(wanted)
        return
    missed = [d for d in wanted if _key(d) not in placed]
    added.remaining.extend(missed)
    if missed:
        lines = ", ".join(str(line) for line in sorted({d.start.line for d in missed}))
        added.warnings.append(
            f"{path}: no `# noqa` added for the findings of line {lines}: "
            "no line of their statement can hold a comment"
        )
    if new == source:
        return
    try:
        parse(new)
        if python_parses(source) and not python_parses(new):
            raise SourceError("not valid Python")
    except SourceError:
        added.errors.append(
            f"{path}: not written: adding `# noqa` produced code that does not parse; "
            "this is a testlint bug, please report it"
        )
        added.remaining.extend(d for d in wanted if _key(d) in placed)
        return
    try:
        write_atomically(path, source, new)
    except WriteError as exc:
        added.warnings.append(f"{path}: {exc}")
        added.remaining.extend(d for d in wanted if _key(d) in placed)
        return
    added.directives += count
    added.files += 1


def _placed(
    linter: Linter,
    path: Path,
    source: bytes,
    kind: FileKind,
    wanted: list[Diagnostic],
    added: Added,
) -> tuple[bytes, int, set[tuple[int, int, str, str]]]:
    """The new source, the codes added and the findings they suppress: the file is
    linted again, and a directive that leaves its finding reported is not added
    (a second try without it must suppress all the others)."""
    chosen = list(wanted)
    for _ in range(2):
        new, count = with_directives(source, chosen)
        after = _lint(linter, path, new, kind, added)
        if after is None:
            raise _CannotPlace("linting the result failed")
        still = {_key(d) for d in after.diagnostics}
        if not any(_key(d) in still for d in chosen):
            return new, count, {_key(d) for d in chosen}
        chosen = [d for d in chosen if _key(d) not in still]
        if not chosen:
            break
    return source, 0, set()


def _lint(
    linter: Linter, path: Path, source: bytes, kind: FileKind, added: Added
) -> FileResult | None:
    try:
        return linter.check(path, source, kind)
    except ProjectError as exc:
        added.errors.append(str(exc))
    except Exception as exc:  # a bug in a rule must not end the run for every file
        added.errors.append(
            f"{path}: internal error ({type(exc).__name__}: {exc}); "
            "this is a testlint bug, please report it"
        )
    return None


def _key(diagnostic: Diagnostic) -> tuple[int, int, str, str]:
    """A finding, wherever it is: comments added at line ends move nothing."""
    return (diagnostic.start.line, diagnostic.start.column, diagnostic.code, diagnostic.message)


class _CannotPlace(Exception):
    pass


def with_directives(source: bytes, findings: Iterable[Diagnostic]) -> tuple[bytes, int]:
    """`source` with a directive naming each finding's code, and how many codes
    were added. Raises `_CannotPlace` for a file this cannot edit safely."""
    try:
        text = decode(source)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except (SourceError, SyntaxError, LookupError) as exc:
        raise _CannotPlace(f"cannot read it as Python source ({exc})") from exc
    if text.encode(encoding) != source:
        raise _CannotPlace(f"it does not round-trip through {encoding}")
    open_ends, comments = comment_places(text)
    pieces = LINE_ENDS.split(text)
    ends = LINE_ENDS.findall(text)
    codes: dict[int, list[str]] = {}
    for finding in sorted(findings, key=Diagnostic.sort_key):
        line = next((n for n in range(finding.start.line, len(pieces) + 1) if n in open_ends), None)
        if line is None:
            raise _CannotPlace(f"no line from line {finding.start.line} on can hold a comment")
        codes.setdefault(line, []).append(finding.code)
    count = 0
    for line, wanted in codes.items():
        body = pieces[line - 1]
        new = sorted(set(wanted))
        column = comments.get(line)
        if column is None:
            body = f"{body.rstrip()}  {directive_text(new)}"
            count += len(new)
            pieces[line - 1] = body
            continue
        comment = body[column:].rstrip()
        read = directive(comment)
        if read is None:
            merged = f"{comment}  {directive_text(new)}"
        elif not read.codes:
            continue  # a bare directive suppresses everything already
        else:
            merged = with_codes(read, new)
            written = {code.upper() for code in read.codes}
            new = [code for code in new if code.upper() not in written]
        count += len(new)
        pieces[line - 1] = body[:column] + merged
    rebuilt = "".join(piece + end for piece, end in zip(pieces, [*ends, ""]))
    return rebuilt.encode(encoding), count


def comment_places(text: str) -> tuple[set[int], dict[int, int]]:
    """The lines whose end can hold a comment (the end of a logical line, or of a
    line inside brackets: not inside a multi-line string, not continued by a
    backslash), and the column of the comment already on a line."""
    open_ends: set[int] = set()
    comments: dict[int, int] = {}
    ends = (tokenize.NEWLINE, tokenize.NL)
    try:
        readline = io.StringIO(text, newline=None).readline
        for token in tokenize.generate_tokens(readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.start[1]
                open_ends.add(token.start[0])
            elif token.type in ends:
                open_ends.add(token.start[0])
    except (tokenize.TokenError, SyntaxError) as exc:
        raise _CannotPlace(f"cannot tokenize it ({exc})") from exc
    return open_ends, comments
