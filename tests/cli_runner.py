"""A click test runner that keeps stdout and stderr apart, for the CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner


def make_runner() -> CliRunner:
    """Separate stdout and stderr on every click we support: 8.1 (the last for
    Python 3.9) mixes them unless told not to; 8.2 removed the option."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg,unused-ignore]
    except TypeError:
        return CliRunner()


def run_process(
    *args: str, cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`python -m testlint *args` in `cwd`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "testlint", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def write(root: Path, relative: str, text: str) -> Path:
    """Write `text` to `root/relative` (UTF-8), making its directories."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
