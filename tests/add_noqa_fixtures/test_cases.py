"""Findings on lines of every shape `--add-noqa` meets."""

import os
import sys

import pytest

try:
    import numpy
except ImportError:
    sys.exit(1)

if os.environ.get("CI_WINDOWS"):
    sys.exit("this suite does not run on Windows, see https://example.org/docs#windows")  # noqa: E501

if sys.platform == "win32":
    pytest.skip("""POSIX only:
    see issue #12 (# noqa is only a word here)""")

if sys.platform == "darwin":
    pytest.skip(
        "no fork on macOS",
    )

if os.environ.get("SLOW"):
    sys.exit(2)  # keep: the nightly job sets SLOW

if sys.platform == "cygwin":
    pytest.skip("no cygwin") or sys.exit(5)

if sys.platform == "emscripten":
    pytest.skip("no processes") or sys.exit(6)  # noqa:TL102

if os.environ.get("LEGACY"):
    pytest.skip(f"""legacy mode {os.environ["LEGACY"]}: see #7
    and {'#'} signs""")

if os.environ.get("NO_NETWORK"):
    sys.exit(7) if os.environ.get("STRICT") \
        else pytest.skip("no network")


def test_numpy():
    assert numpy
