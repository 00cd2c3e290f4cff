"""Fingerprints: stats, content digests and the digest of testlint's own code.

Standard library only: the run record (`record.py`) and the cache (`cache.py`)
both key on these.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

from testlint import __version__

RACY_NS = 1_000_000_000
"""A file whose stat is this close before a run started (or later) is "racy": a
later write in the same clock tick could leave the same stat with other content
(git's racy-clean), so its stat does not vouch for its content. A second covers
filesystems that stamp whole seconds (ext3, HFS+, many network filesystems)."""


Signature = Optional[list[Any]]
"""mtime, ctime, size, inode and mode (`os.stat`); a directory's also the digest of
the names it holds (`listing`)."""


def code_fingerprint() -> str:
    """testlint's version and source files, libcst's, and the Python running them:
    an edited checkout (an editable install) must not replay the old code's output."""
    parts = [__version__, sys.version, sys.executable]
    package = os.path.dirname(os.path.abspath(__file__))
    for directory in (package, os.path.join(package, "rules")):
        with os.scandir(directory) as listing:
            for entry in sorted(listing, key=lambda entry: entry.name):
                if entry.name.endswith(".py"):
                    parts.append(f"{entry.name}={signature(entry.path)}")
    spec = importlib.util.find_spec("libcst")
    origin = spec.origin if spec is not None else None
    parts.append(f"libcst={signature(origin) if origin else None}")
    return combine(parts)


def combine(parts: Iterable[str]) -> str:
    """One digest of `parts` (paths and digests: never a NUL inside)."""
    joined = "\0".join(parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogateescape")).hexdigest()


def signature(path: str) -> Signature:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return [found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino, found.st_mode]


def content_digest(path: str) -> str | None:
    """The digest of a file's bytes: a racy file's identity (`record`)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def write_json_atomically(path: Path, data: object) -> None:
    """Write `data` as compact JSON, atomically: a concurrent run wins or loses
    whole. Raises OSError. (`json.dumps`, not `dump`: dump streams through the
    pure-Python encoder.)"""
    write_bytes_atomically(path, json.dumps(data, separators=(",", ":")).encode("utf-8"), 0o600)


def write_bytes_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` through a new file that replaces it: a concurrent
    writer wins or loses whole. Raises OSError."""
    # Not `tempfile`: importing it costs a re-check more than writing does.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
