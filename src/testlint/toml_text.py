"""Where things are in a TOML file's text: tables, keys, values, array items, comments.

`tomllib` gives values but no positions; a configuration finding needs the line of
its key, a fix needs the span of a value. `scan` reads the text once and is proven
against `tomllib` (`Document.agrees`): a caller trusts the spans only when every
value read back from its span equals what `tomllib` made of the file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}#\r\n]")


class ScanError(Exception):
    """The text is not TOML as this scanner reads it."""


@dataclass(frozen=True)
class Span:
    """Offsets in the text: `text[start:end]`."""

    start: int
    end: int


@dataclass(frozen=True)
class Entry:
    """One `key = value` line (its value may span lines)."""

    path: tuple[str, ...]
    """The full key: the table's path, then the dotted key."""
    key: Span
    value: Span
    items: tuple[Span, ...] | None
    """The items of an array value (None: not an array)."""
    in_array_table: bool = False
    """Under a `[[table]]`: `path` does not say which element holds it."""


@dataclass(frozen=True)
class Header:
    path: tuple[str, ...]
    span: Span
    array: bool


@dataclass
class Document:
    text: str
    entries: list[Entry] = field(default_factory=list)
    headers: list[Header] = field(default_factory=list)
    comments: dict[int, str] = field(default_factory=dict)
    """1-based line -> the comment on it (from `#`)."""

    def entry(self, path: tuple[str, ...]) -> Entry | None:
        return next((e for e in self.entries if e.path == path and not e.in_array_table), None)

    def header(self, path: tuple[str, ...]) -> Header | None:
        return next((h for h in self.headers if h.path == path and not h.array), None)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of an offset."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def agrees(self, data: Mapping[str, Any]) -> bool:
        """Every value read back from its span equals `tomllib`'s value at its key."""
        for entry in self.entries:
            if entry.in_array_table:
                continue
            found = lookup(data, entry.path)
            if found is _MISSING or value_of(self.text[entry.value.start : entry.value.end]) != (
                found
            ):
                return False
        return True


_MISSING = object()


def lookup(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = data
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def value_of(text: str) -> Any:
    """A TOML value written alone (raises `TOMLDecodeError`)."""
    return tomllib.loads(f"v = {text}")["v"]


def loads(text: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(text)
    return data


def scan(text: str) -> Document:
    """Raises `ScanError` on text this scanner cannot read."""
    try:
        return _Scanner(text).document()
    except IndexError as exc:
        raise ScanError("unexpected end of file") from exc


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.doc = Document(text)
        self.array_tables: set[tuple[str, ...]] = set()

    def document(self) -> Document:
        table: tuple[str, ...] = ()
        in_array = False
        text = self.text
        while self.i < len(text):
            self._blank()
            if self.i >= len(text):
                break
            char = text[self.i]
            if char in "\r\n":
                self.i += 1
            elif char == "#":
                self._comment()
            elif char == "[":
                table, in_array = self._header()
            else:
                self._entry(table, in_array)
        return self.doc

    def _blank(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def _comment(self) -> None:
        end = self.i
        while end < len(self.text) and self.text[end] not in "\r\n":
            end += 1
        line = self.text.count("\n", 0, self.i) + 1
        self.doc.comments[line] = self.text[self.i : end]
        self.i = end

    def _line_end(self) -> None:
        """After a header or an entry: blanks, a comment, then a line end."""
        self._blank()
        if self.i < len(self.text) and self.text[self.i] == "#":
            self._comment()
        if self.i < len(self.text) and self.text[self.i] not in "\r\n":
            raise ScanError(f"unexpected {self.text[self.i]!r} at offset {self.i}")

    def _header(self) -> tuple[tuple[str, ...], bool]:
        start = self.i
        array = self.text.startswith("[[", self.i)
        self.i += 2 if array else 1
        path = self._key()
        self._blank()
        closing = "]]" if array else "]"
        if not self.text.startswith(closing, self.i):
            raise ScanError(f"unclosed table header at offset {start}")
        self.i += len(closing)
        self.doc.headers.append(Header(path, Span(start, self.i), array))
        self._line_end()
        if array:
            self.array_tables.add(path)
        # `[a.b]` after `[[a]]` belongs to the last element of `a`.
        within = any(path[: len(table)] == table for table in self.array_tables)
        return path, within

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._blank()
            parts.append(self._simple_key())
            self._blank()
            if self.i < len(self.text) and self.text[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def _simple_key(self) -> str:
        char = self.text[self.i]
        if char in "\"'":
            start = self.i
            self._string()
            return str(value_of(self.text[start : self.i]))
        match = _BARE_KEY.match(self.text, self.i)
        if match is None:
            raise ScanError(f"no key at offset {self.i}")
        self.i = match.end()
        return match.group()

    def _entry(self, table: tuple[str, ...], in_array: bool) -> None:
        start = self.i
        key = self._key()
        key_span = Span(start, self.i)
        if self.text[self.i] != "=":
            raise ScanError(f"no `=` at offset {self.i}")
        self.i += 1
        self._blank()
        value_start = self.i
        items = self._value()
        entry = Entry((*table, *key), key_span, Span(value_start, self.i), items, in_array)
        self.doc.entries.append(entry)
        self._line_end()

    def _value(self) -> tuple[Span, ...] | None:
        char = self.text[self.i]
        if char in "\"'":
            self._string()
        elif char == "[":
            return self._array()
        elif char == "{":
            self._inline_table()
        else:
            match = _SCALAR_END.search(self.text, self.i)
            end = match.start() if match else len(self.text)
            while end > self.i and self.text[end - 1] in " \t":
                end -= 1
            if end == self.i:
                raise ScanError(f"no value at offset {self.i}")
            self.i = end
        return None

    def _string(self) -> None:
        text, quote = self.text, self.text[self.i]
        if text.startswith(quote * 3, self.i):
            end = text.find(quote * 3, self.i + 3)
            while quote == '"' and end != -1 and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            if end == -1:
                raise ScanError(f"unclosed string at offset {self.i}")
            end += 3
            while end < len(text) and text[end] == quote and end - self.i < 3 + 3 + 2:
                end += 1  # up to two quotes may close the content: `""""a""""`
            self.i = end
            return
        end = self.i + 1
        while text[end] != quote:
            if text[end] in "\r\n":
                raise ScanError(f"unclosed string at offset {self.i}")
            end += 2 if quote == '"' and text[end] == "\\" else 1
        self.i = end + 1

    def _skip_inside(self) -> None:
        """Blanks, line ends and comments between an array's items."""
        while True:
            self._blank()
            if self.i < len(self.text) and self.text[self.i] in "\r\n":
                self.i += 1
            elif self.i < len(self.text) and self.text[self.i] == "#":
                self._comment()
            else:
                return

    def _array(self) -> tuple[Span, ...]:
        self.i += 1
        items: list[Span] = []
        while True:
            self._skip_inside()
            if self.text[self.i] == "]":
                self.i += 1
                return tuple(items)
            start = self.i
            self._value()
            items.append(Span(start, self.i))
            self._skip_inside()
            if self.text[self.i] == ",":
                self.i += 1
            elif self.text[self.i] != "]":
                raise ScanError(f"expected `,` or `]` at offset {self.i}")

    def _inline_table(self) -> None:
        self.i += 1
        while True:
            self._skip_inside()
            if self.text[self.i] == "}":
                self.i += 1
                return
            self._key()
            if self.text[self.i] != "=":
                raise ScanError(f"no `=` at offset {self.i}")
            self.i += 1
            self._blank()
            self._value()
            self._skip_inside()
            if self.text[self.i] == ",":
                self.i += 1


def _escaped(text: str, at: int) -> bool:
    """An odd number of backslashes before `at`."""
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1
