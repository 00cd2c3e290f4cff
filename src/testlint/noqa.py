"""`# noqa` directives: finding them, what they suppress, rewriting them.

One reading for the engine, which suppresses findings, and for TL003, which reports
the directives that suppress nothing: the two must never disagree.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Za-z][\w-]*(?:\s*,\s*[A-Za-z][\w-]*|\s+[A-Za-z][\w-]*)*))?",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"\s*,\s*|\s+")
LINE_ENDS = re.compile(r"\r\n|\r|\n")
"""Line ends as Python counts lines (not `\\f`)."""


@dataclass(frozen=True)
class Directive:
    """The first `# noqa` directive of a comment (later ones are not read, as in flake8)."""

    comment: str
    start: int
    end: int
    """Where the directive is in `comment`."""
    codes_at: int
    """Where its first code is (`end` for a bare `# noqa`)."""
    codes: tuple[str, ...]
    """As written; empty for a bare `# noqa`, which suppresses everything."""


def directive(comment: str) -> Directive | None:
    match = NOQA.search(comment)
    if match is None:
        return None
    written = match.group("codes")
    if written is None:
        return Directive(comment, match.start(), match.end(), match.end(), ())
    codes = tuple(_SEPARATOR.split(written))
    return Directive(comment, match.start(), match.end(), match.start("codes"), codes)


def suppresses(written: str, code: str, name: str) -> bool:
    """Whether a code written in a directive stands for the rule `code`/`name`: its
    code in any case, or its name (read, but TL003 asks for the code)."""
    return written.upper() == code or written == name


def codes_by_line(text: str) -> dict[int, frozenset[str] | None]:
    """Line -> codes named in a `# noqa` comment on it (None: bare `# noqa`)."""
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string
    except (tokenize.TokenError, SyntaxError):
        comments = {n: line for n, line in enumerate(LINE_ENDS.split(text), 1) if "#" in line}
    found: dict[int, frozenset[str] | None] = {}
    for line, comment in comments.items():
        read = directive(comment)
        if read is not None:
            found[line] = frozenset(read.codes) if read.codes else None
    return found


def rewritten(read: Directive, drop: Collection[str], replace: Mapping[str, str]) -> str | None:
    """The comment with the codes in `drop` removed and those in `replace` replaced.
    The directive goes when no code is left (a bare `# noqa` would suppress
    everything); None when nothing of the comment is left."""
    kept: list[str] = []
    for code in read.codes:
        if code in drop:
            continue
        new = replace.get(code, code)
        if new in kept or (code in replace and new in read.codes):
            continue  # `TL101, module-level-exit`: one `TL101` is enough
        kept.append(new)
    comment = read.comment
    before, after = comment[: read.start], comment[read.end :]
    if kept:
        written = comment[read.codes_at : read.end]
        found = _SEPARATOR.search(written)
        separator = found.group() if found else ", "
        return before + comment[read.start : read.codes_at] + separator.join(kept) + after
    rest = after.strip().lstrip("-:;,. ")
    if before.strip("# \t"):  # another comment first (`type: ignore`): it stays
        gap = before[len(before.rstrip()) :] or " "
        return before.rstrip() + (gap + rest if rest else "")
    if not rest:
        return None
    return rest if rest.startswith("#") else f"# {rest}"


def with_codes(read: Directive, added: Sequence[str]) -> str:
    """The comment with `added` appended to its directive's codes (those it names
    already, in any case, are not repeated), in the directive's own separator. A
    bare `# noqa` already suppresses everything: it is returned as it is."""
    comment = read.comment
    written = {code.upper() for code in read.codes}
    new = [code for code in dict.fromkeys(added) if code.upper() not in written]
    if not read.codes or not new:
        return comment
    found = _SEPARATOR.search(comment[read.codes_at : read.end])
    separator = found.group() if found else ", "
    return comment[: read.end] + separator + separator.join(new) + comment[read.end :]


def directive_text(codes: Sequence[str]) -> str:
    """A new directive naming `codes`: `# noqa: TL101, TL201`."""
    return f"# noqa: {', '.join(codes)}"
