"""Reading a file as Python: decoding it, guarding libcst against pathological input,
and parsing it, with errors that point where CPython would.

Every way a file can fail to be read becomes a `SourceError`, which the engine
reports as TL001 (never a traceback).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import warnings

import libcst as cst


class SourceError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class PythonRefuses(SourceError):
    """The Python running testlint cannot parse the file (libcst may, or not)."""


def decode(source: bytes) -> str:
    """Text of a Python source file, honouring a BOM and a PEP 263 cookie."""
    if b"\x00" in source:
        raise SourceError("Cannot parse file: it contains a NUL byte")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" not in str(exc):
            raise SourceError(f"Cannot decode file: {exc}") from exc
        encoding = "utf-8"  # no cookie, and the first two lines are not valid UTF-8
    except LookupError as exc:
        raise SourceError(f"Cannot decode file: {exc}") from exc
    try:
        return source.decode(encoding)
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        column = exc.start - (source.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SourceError(
            f"Cannot decode file as {encoding}: invalid byte {source[exc.start]:#04x} "
            f"at offset {exc.start}",
            line,
            column,
        ) from exc


MAX_NESTING = 1000


_LONG_LINE = re.compile(r"[^\n]{1001}")
"""Deeper trees make libcst's native parser exhaust the stack (a segfault) or
take minutes; CPython itself refuses most of them."""


def _python_syntax_error(source: bytes | str) -> SourceError | None:
    """CPython's verdict on the file, which points at the right place."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except SyntaxError as exc:
        return PythonRefuses(f"Cannot parse file: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError) as exc:
        return SourceError(f"Cannot parse file: Python cannot parse it either ({exc})")
    return None


def syntax_error(source: bytes | str, text: str) -> SourceError | None:
    """Why the file cannot be parsed, as a full parse would say, or None. CPython's
    parser answers first (cheap); only a file it refuses is given to libcst, which
    may still read syntax newer than the running interpreter."""
    if _python_syntax_error(source) is None:
        return None
    try:
        parse(source, text)
    except SourceError as error:
        return error
    return None


def _nesting(tree: ast.AST) -> tuple[int, int]:
    """The depth of the tree, and the line of its deepest node."""
    deepest, line, stack = 0, 1, [(tree, 1, 1)]
    while stack:
        node, depth, where = stack.pop()
        where = getattr(node, "lineno", where)
        if depth > deepest:
            deepest, line = depth, where
        stack.extend((child, depth + 1, where) for child in ast.iter_child_nodes(node))
    return deepest, line


def _bracket_depth(text: str) -> tuple[int, int]:
    """The deepest bracket nesting in `text`, and its line (strings and comments
    are not told apart: an over-estimate, which only makes the guard stricter)."""
    deepest, line, depth, number = 0, 1, 0, 1
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest, line = depth, number
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            number += 1
    return deepest, line


def _too_complex(source: bytes | str, text: str) -> SourceError | None:
    """Guard libcst against pathological files, cheaply: only files with very long
    lines or very many lines are measured, with CPython's fast parser."""
    if text.count("\n") <= 5000 and _LONG_LINE.search(text) is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except SyntaxError:
        # Maybe syntax newer than this interpreter (PEP 695 `type X = ...` on 3.11):
        # libcst may read it; measure the brackets instead of the tree.
        depth, _ = _bracket_depth(text)
        return _python_syntax_error(source) if depth > MAX_NESTING else None
    except (ValueError, RecursionError, MemoryError):
        return _python_syntax_error(source)  # too complex for CPython: so for libcst
    depth, line = _nesting(tree)
    if depth > MAX_NESTING:
        return SourceError(
            f"Cannot parse file: expressions nested {depth} deep (the limit is {MAX_NESTING})",
            line,
        )
    return None


def parse(source: bytes | str, text: str | None = None) -> cst.Module:
    if text is not None:
        error = _too_complex(source, text)
        if error is not None:
            raise error
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        python_error = _python_syntax_error(source)
        if python_error is not None:
            raise python_error from exc
        message = str(exc.message).strip().splitlines()[0]
        raise SourceError(
            f"Cannot parse file: {message} (the file is valid Python, "
            "but libcst cannot parse this syntax yet)",
            exc.raw_line,
            exc.raw_column + 1,
        ) from exc
    except cst.CSTLogicError as exc:
        # libcst's parser fails on syntax it does not know yet (t-strings on 1.9).
        python_error = _python_syntax_error(source)
        if python_error is not None:
            version = ".".join(map(str, sys.version_info[:2]))
            raise PythonRefuses(
                f"{python_error} (Python {version}, which runs testlint; libcst cannot "
                "parse it either: it may be written for a newer Python)",
                python_error.line,
                python_error.column,
            ) from exc
        raise SourceError(
            f"Cannot parse file: libcst's parser failed ({exc}); the file is valid "
            "Python, but libcst cannot parse this syntax yet"
        ) from exc
    except (RecursionError, MemoryError) as exc:
        raise SourceError(
            f"Cannot parse file: it is nested too deeply ({type(exc).__name__})"
        ) from exc


def python_parses(source: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
