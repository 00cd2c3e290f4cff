"""The `full` output format, ruff's default layout: each finding with its source
lines, the reported span underlined, the fix's title and a preview of what the
fix changes.

```
TL101 [*] `sys.exit()` at import time ends the whole pytest run, not just this module
 --> tests/test_a.py:6:5
  |
4 |     import nope
5 | except ImportError:
6 |     sys.exit(1)
  |     ^^^^^^^^^^^
  |
help: Replace with `pytest.skip(..., allow_module_level=True)`
  |
...
```

Colour (ANSI SGR codes, as ruff paints them) only when `Style.color`; messages
wrapped to `Style.width` (None: never, e.g. into a pipe). Source text is shown
with tabs expanded and control characters replaced, so a checked file cannot
send escape sequences to the terminal.
"""

from __future__ import annotations

import difflib
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from testlint.diagnostics import Applicability, Diagnostic, Edit, Position

BOLD, RED, GREEN, YELLOW, CYAN = "1", "31", "32", "33", "36"
BRIGHT_RED, BRIGHT_BLUE, BRIGHT_CYAN = "91", "94", "96"
GUTTER = (BOLD, BRIGHT_BLUE)
MARK = (BOLD, BRIGHT_RED)

CONTEXT_LINES = 2
"""Source lines shown before and after the reported span (as ruff)."""
DIFF_CONTEXT = 1
"""Unchanged lines shown around each change of a fix's preview (as ruff)."""
LONG_LINE = 400
"""Characters of a source line shown (a minified or generated line goes on for
megabytes); the rest is cut, marked `\u2026`."""
LONG_SPAN = 12
"""A span of more lines shows its first and last `SPAN_ENDS` lines only."""
SPAN_ENDS = 4
TAB = "    "
HUNK_SEPARATOR = "-" * 80
UNSAFE_NOTE = "This is an unsafe fix and may change runtime behavior"
MIN_WRAP = 30
"""Never wrap a message narrower than this, however narrow the terminal."""

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Style:
    """How the terminal shows text: colour or not, and its width (None: no wrapping)."""

    color: bool = False
    width: int | None = None

    def paint(self, text: str, *codes: str) -> str:
        if not self.color or not text:
            return text
        return "".join(f"\x1b[{code}m" for code in codes) + text + "\x1b[0m"


def visible(text: str) -> str:
    """`text` as a terminal should show it: tabs expanded, control characters
    (escape sequences included) replaced."""
    return _CONTROL.sub("\ufffd", text.replace("\t", TAB))


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: wide East Asian characters take two,
    combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def source_lines(text: str) -> list[str]:
    """Lines as Python counts them (`\\n`, `\\r\\n` or `\\r` end one)."""
    lines = _LINE_BREAK.split(text)
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # after the last line's end: no line
    return lines


def is_shown_fixable(diagnostic: Diagnostic, unsafe_fixes: bool) -> bool:
    """Whether `--fix` (with the run's `unsafe-fixes`) would fix it: the `[*]` mark."""
    if diagnostic.fix_applicability is None:
        return False
    return unsafe_fixes or diagnostic.fix_applicability is Applicability.SAFE


# ------------------------------------------------------------------ rows

Row = tuple["int | None", str, str]
"""A snippet row: its line number (None: a marker row), the span's margin (two
characters for a span of several lines, else empty), and its text."""

DiffRow = tuple[str, "int | None", str]
"""A preview row: "=" unchanged, "-" removed, "+" added, "~" between hunks; the
line's number after the fix (None for removed lines); its text."""


def _offset(raw: str, column: int) -> int:
    """The display column (0-based) of the 1-based character `column` of `raw`
    (as `shown` cuts it)."""
    return display_width(visible(raw[: min(max(column - 1, 0), LONG_LINE)]))


def shown(raw: str) -> str:
    """A source line as shown: `visible`, and cut after `LONG_LINE` characters."""
    if len(raw) <= LONG_LINE:
        return visible(raw)
    return visible(raw[:LONG_LINE]) + "\u2026"


def snippet_rows(diagnostic: Diagnostic, lines: Sequence[str]) -> list[Row]:
    """The source around the finding, its span marked, or [] when its lines are
    not in `lines` (the file changed since, or could not be read)."""
    start, end = diagnostic.start, diagnostic.end
    if not 1 <= start.line <= len(lines) or end < start:
        return []
    last_line = min(end.line, len(lines))
    first = max(1, start.line - CONTEXT_LINES)
    last = min(len(lines), last_line + CONTEXT_LINES)
    if last_line == start.line:
        raw = lines[start.line - 1]
        end_column = end.column if end.line == start.line else len(raw) + 1
        # A long line is shown from a little before the span, cut after `LONG_LINE`.
        cut = max(0, start.column - 1 - LONG_LINE // 4) if len(raw) > LONG_LINE else 0
        window = raw[cut : cut + LONG_LINE]
        before = ("\u2026" if cut else "") + visible(raw[cut : start.column - 1])
        text = before + visible(window[len(raw[cut : start.column - 1]) :])
        if cut + LONG_LINE < len(raw):
            text += "\u2026"
        underlined = raw[start.column - 1 : min(max(end_column - 1, 0), cut + LONG_LINE)]
        carets = "^" * max(1, display_width(visible(underlined)))
        rows: list[Row] = []
        for number in range(first, last + 1):
            rows.append((number, "", text if number == start.line else shown(lines[number - 1])))
            if number == start.line:
                rows.append((None, "", " " * display_width(before) + carets))
        return rows
    return _multi_line_rows(diagnostic, lines, first, last, last_line)


def _multi_line_rows(
    diagnostic: Diagnostic, lines: Sequence[str], first: int, last: int, last_line: int
) -> list[Row]:
    start, end = diagnostic.start, diagnostic.end
    start_raw = lines[start.line - 1]
    # A span from the line's first character: `/` opens it; else a marker row
    # points at where it starts.
    opens_line = not start_raw[: start.column - 1].strip()
    end_raw = lines[last_line - 1]
    end_column = end.column if end.line == last_line else len(end_raw) + 1
    end_offset = _offset(end_raw, max(end_column - 1, 1))
    rows: list[Row] = []
    inner = range(start.line + 1, last_line + 1)
    hidden: range = range(0)
    if last_line - start.line + 1 > LONG_SPAN:
        hidden = range(start.line + SPAN_ENDS, last_line - SPAN_ENDS + 1)
    for number in range(first, last + 1):
        text = shown(lines[number - 1])
        if number == start.line:
            rows.append((number, "/ " if opens_line else "  ", text))
            if not opens_line:
                rows.append((None, " " + "_" * (_offset(start_raw, start.column) + 1), "^"))
        elif number in hidden:
            if number == hidden.start:
                rows.append((None, "| ", "..."))
        elif number in inner:
            rows.append((number, "| ", text))
            if number == last_line:
                rows.append((None, "|" + "_" * (end_offset + 1), "^"))
        else:
            rows.append((number, "  ", text))
    return rows


def apply_edits(text: str, edits: Sequence[Edit]) -> str | None:
    """`text` with `edits` applied (positions as the engine made them: lines of
    `str.splitlines`, 1-based character columns), or None if one does not fit or
    two overlap."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int | None:
        if line == len(lines) + 1 and column == 1:
            return len(text)
        if not 1 <= line <= len(lines) or not 1 <= column <= len(lines[line - 1]) + 1:
            return None
        return starts[line - 1] + column - 1

    spans = []
    for edit in edits:
        begin = offset(edit.start.line, edit.start.column)
        finish = offset(edit.end.line, edit.end.column)
        if begin is None or finish is None or finish < begin:
            return None
        spans.append((begin, finish, edit.content))
    spans.sort(reverse=True)
    for (_, finish, _), (next_begin, _, _) in zip(spans[1:], spans):
        if finish > next_begin:
            return None
    for begin, finish, content in spans:
        text = text[:begin] + content + text[finish:]
    return text


Group = tuple[int, int, "list[str]", "list[str]"]
"""Lines `first` to `last` (0-based, `last` excluded) and what the fix makes of
them: the lines before and after."""


def _groups(split: Sequence[str], edits: Sequence[Edit]) -> list[Group] | None:
    """The fix's edits as groups of whole lines (edits on the same or adjacent
    lines together); None when an edit does not fit the text."""
    spans: list[tuple[int, int, Edit]] = []
    for edit in edits:
        if not 1 <= edit.start.line <= edit.end.line <= len(split) + 1:
            return None
        first = edit.start.line - 1
        last = edit.end.line - 1 if edit.end.column == 1 else edit.end.line
        if edit.start.column > 1:
            last = max(last, first + 1)
        spans.append((first, min(max(last, first), len(split)), edit))
    spans.sort(key=lambda span: (span[0], span[1]))
    merged: list[tuple[int, int, list[Edit]]] = []
    for first, last, edit in spans:
        if merged and first <= merged[-1][1]:
            begin, end, together = merged[-1]
            merged[-1] = (begin, max(end, last), [*together, edit])
        else:
            merged.append((first, last, [edit]))
    groups: list[Group] = []
    for first, last, together in merged:
        region = "".join(split[first:last])
        moved = [
            Edit(
                edit.content,
                Position(edit.start.line - first, edit.start.column),
                Position(edit.end.line - first, edit.end.column),
            )
            for edit in together
        ]
        after = apply_edits(region, moved)
        if after is None:
            return None
        if after != region:
            groups.append((first, last, region.splitlines(), after.splitlines()))
    return groups


def preview_rows(split: Sequence[str], edits: Sequence[Edit]) -> list[DiffRow]:
    """What the fix changes, as hunks with `DIFF_CONTEXT` unchanged lines around
    (hunks whose context would touch are one). `split`: the file's lines as
    `str.splitlines(keepends=True)` makes them (the edits' numbering). Only the
    lines the edits touch are compared: a fix to a 10 MB file costs no more."""
    groups = _groups(split, edits)
    if not groups:
        return []

    def unchanged(begin: int, end: int, shift: int) -> list[DiffRow]:
        return [("=", i + shift + 1, split[i].rstrip("\r\n")) for i in range(begin, end)]

    hunks: list[list[DiffRow]] = []
    shift = 0  # lines added minus lines removed so far
    end = -1  # the last hunk's last line (excluded), before its trailing context
    for first, last, before, after in groups:
        if hunks and first - end <= 2 * DIFF_CONTEXT:
            hunks[-1].extend(unchanged(end, first, shift))
        else:
            if hunks:
                hunks[-1].extend(unchanged(end, min(end + DIFF_CONTEXT, len(split)), shift))
            hunks.append(unchanged(max(first - DIFF_CONTEXT, 0), first, shift))
        rows = hunks[-1]
        base = first + shift
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows.extend(("=", base + j + 1, after[j]) for j in range(j1, j2))
                continue
            rows.extend(("-", None, line) for line in before[i1:i2])
            rows.extend(("+", base + j + 1, after[j]) for j in range(j1, j2))
        shift += len(after) - len(before)
        end = last
    hunks[-1].extend(unchanged(end, min(end + DIFF_CONTEXT, len(split)), shift))
    rows = hunks[0]
    for hunk in hunks[1:]:
        rows = [*rows, ("~", None, ""), *hunk]
    return rows


# ------------------------------------------------------------------ drawing


def _wrapped(text: str, style: Style, indent: int) -> list[str]:
    """`text`, that starts `indent` columns in, wrapped to the width (continuation
    lines are meant to be indented by as much)."""
    if style.width is None or indent + len(text) <= style.width:
        return [text]
    room = max(MIN_WRAP, style.width - indent)
    return textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False) or [text]


def _labelled(label: str, codes: tuple[str, ...], text: str, style: Style) -> list[str]:
    """`help: text`, `note: text`: wrapped, the continuation lined up."""
    indent = len(label) + 2
    parts = _wrapped(text, style, indent)
    lines = [style.paint(label, *codes) + style.paint(": " + parts[0], BOLD)]
    lines.extend(" " * indent + style.paint(part, BOLD) for part in parts[1:])
    return lines


def _header(diagnostic: Diagnostic, fixable: bool, style: Style) -> list[str]:
    code = style.paint(diagnostic.code, BOLD, BRIGHT_RED)
    mark = " [" + style.paint("*", BOLD, BRIGHT_CYAN) + "]" if fixable else ""
    indent = len(diagnostic.code) + (4 if fixable else 0) + 1
    parts = _wrapped(visible(diagnostic.message), style, indent)
    lines = [code + mark + style.paint(" " + parts[0], BOLD)]
    lines.extend(" " * indent + style.paint(part, BOLD) for part in parts[1:])
    return lines


def _marked(text: str, style: Style) -> str:
    """A mark (`^^^`, `|`, `/`, `|___^`) painted, the spaces around it not."""
    stripped = text.strip()
    if not stripped:
        return text
    before = text[: len(text) - len(text.lstrip())]
    after = text[len(text.rstrip()) :]
    return before + style.paint(stripped, *MARK) + after


def _source_row(row: Row, pad: int, style: Style) -> str:
    number, margin, text = row
    gutter = style.paint((str(number) if number is not None else "").rjust(pad) + " |", *GUTTER)
    if number is None:  # a marker row: all of it is the mark
        body = _marked(margin + text, style)
    else:
        body = _marked(margin, style) + text
    return f"{gutter} {body}".rstrip()


def _preview_row(row: DiffRow, pad: int, style: Style) -> str:
    kind, number, text = row
    text = shown(text)
    if kind == "~":
        return HUNK_SEPARATOR
    if kind == "-":
        sign = style.paint("-", BOLD, RED)
        return (" " * pad + " " + sign + " " + style.paint(text, RED)).rstrip()
    gutter = style.paint(str(number).ljust(pad), *GUTTER)
    if kind == "+":
        return (
            gutter + " " + style.paint("+", BOLD, GREEN) + " " + style.paint(text, GREEN)
        ).rstrip()
    return (gutter + " " + style.paint("|", *GUTTER) + " " + text).rstrip()


class Source:
    """A file's text, split as the snippet (Python's line ends) and the edits
    (`str.splitlines`) count lines, each once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None
        self._split: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = source_lines(self.text)
        return self._lines

    @property
    def split(self) -> list[str]:
        if self._split is None:
            self._split = self.text.splitlines(keepends=True)
        return self._split


def full(
    diagnostic: Diagnostic,
    where: str,
    source: Source | None,
    unsafe_fixes: bool,
    style: Style,
) -> str:
    """One finding in the `full` format. `where`: its path as shown; `source`: the
    file as the finding was made from it (None: not available)."""
    rows = snippet_rows(diagnostic, source.lines) if source is not None else []
    preview: list[DiffRow] = []
    if source is not None and diagnostic.fix is not None:
        preview = preview_rows(source.split, diagnostic.fix.edits)
    numbers = [row[0] for row in rows if row[0] is not None]
    numbers += [row[1] for row in preview if row[1] is not None]
    pad = len(str(max(numbers, default=1)))
    bar = style.paint(" " * pad + " |", *GUTTER)
    out = _header(diagnostic, is_shown_fixable(diagnostic, unsafe_fixes), style)
    start = diagnostic.start
    out.append(" " * pad + style.paint("-->", *GUTTER) + f" {where}:{start.line}:{start.column}")
    if rows:
        out.append(bar)
        out.extend(_source_row(row, pad, style) for row in rows)
        out.append(bar)
    if diagnostic.fix_title:
        out.extend(_labelled("help", (BOLD, BRIGHT_CYAN), visible(diagnostic.fix_title), style))
        if preview:
            out.append(bar)
            out.extend(_preview_row(row, pad, style) for row in preview)
            out.append(bar)
        if diagnostic.fix_applicability is Applicability.UNSAFE:
            out.extend(_labelled("note", (BOLD, YELLOW), UNSAFE_NOTE, style))
    return "\n".join(out)
