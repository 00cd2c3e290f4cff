"""Keep the code `dataclasses` compiles for each class's methods between runs.

Python compiles the methods of every dataclass from source text each time the
class is created: a process that re-checks one file creates 71 of testlint's (0.05 s
of its 0.16 s), and importing libcst creates some 600 more (0.13 s). Like bytecode,
that code depends only on the text and the Python that compiled it, so it is kept
in `__pycache__` beside this module and, once there, loaded instead of compiled.

The one speed trick: `dataclasses` calls the builtin `exec` by its global name, and
`install` gives that module a global `exec` which runs the code compiled earlier
from the same text (or compiles it, as `exec` does). Nothing else changes, and
nothing is kept where Python writes no bytecode. tests/test_dataclass_code.py
proves the classes built either way equal.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from testlint.fingerprint import write_bytes_atomically

_MAX_ENTRIES = 8192
"""More means several versions of libcst have come and gone: start afresh."""

_known: dict[bytes, bytes] = {}
"""Digest of a method's source text -> its code, marshalled."""
_new: dict[bytes, bytes] = {}
"""Entries compiled by this process, not yet written."""
_installed_path: str | None = None


def cache_path() -> str | None:
    """Where the code is kept: `__pycache__` beside this module, named for the
    Python that compiled it (and its `-O` level), as a module's bytecode would be;
    under `sys.pycache_prefix` when one is set. None where Python keeps no bytecode."""
    pseudo_source = os.path.join(os.path.dirname(__file__), "dataclass_methods.py")
    try:
        compiled = importlib.util.cache_from_source(pseudo_source)
    except NotImplementedError:  # sys.implementation.cache_tag is None
        return None
    return os.path.splitext(compiled)[0] + ".marshal"


def install() -> None:
    """From now on, dataclasses created in this process (and its forks) reuse the
    code kept by earlier runs. Idempotent."""
    global _installed_path
    import dataclasses

    if _installed_path is not None:
        return
    path = cache_path()
    if path is None:
        return
    _installed_path = path
    _known.update(_read(path))
    dataclasses.exec = _exec  # type: ignore[attr-defined]


def save(*, force: bool = False) -> None:
    """Write the code compiled since the last save, with what was kept before.
    Never where Python writes no bytecode (`PYTHONDONTWRITEBYTECODE`, `-B`) unless
    `force`; never raises (a read-only install keeps compiling)."""
    path = _installed_path
    if path is None or not _new or (sys.dont_write_bytecode and not force):
        return
    kept = _read(path)
    if len(kept) + len(_new) > _MAX_ENTRIES:
        kept = {}
    kept.update(_new)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_bytes_atomically(Path(path), marshal.dumps(kept), 0o644)
    except (OSError, ValueError):
        return
    _known.update(_new)
    _new.clear()


def _exec(source: Any, globals: Any = None, locals: Any = None, /, **kwargs: Any) -> None:
    """`exec`, with the code of a source text compiled earlier when there is one."""
    if isinstance(source, str):
        source = _code(source)
    builtins.exec(source, globals, locals, **kwargs)


def _code(text: str) -> Any:
    """The code `exec(text)` would compile: the same text, name, mode and flags
    (`dataclasses` has no `__future__` import, hence `dont_inherit`)."""
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    raw = _known.get(key) or _new.get(key)
    if raw is not None:
        try:
            return marshal.loads(raw)
        except (EOFError, ValueError, TypeError):
            pass
    code = compile(text, "<string>", "exec", dont_inherit=True)
    _new[key] = marshal.dumps(code)
    return code


def _read(path: str) -> dict[bytes, bytes]:
    """The entries kept at `path`; none when it is missing, unreadable or not ours."""
    try:
        with open(path, "rb") as stream:
            kept = marshal.load(stream)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, bytes) and isinstance(v, bytes)}
