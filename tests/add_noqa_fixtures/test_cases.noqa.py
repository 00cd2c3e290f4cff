"""Findings on lines of every shape `--add-noqa` meets."""

import os
import sys

import pytest

try:
    import numpy
except ImportError:
    sys.exit(1)  # noqa: TL101

if os.environ.get("CI_WINDOWS"):
    sys.exit("this suite does not run on Windows, see https://example.org/docs#windows")  # noqa: E501, TL101

if sys.platform == "win32":
    pytest.skip("""POSIX only:
    see issue #12 (# noqa is only a word here)""")  # noqa: TL102

if sys.platform == "darwin":
    pytest.skip(  # noqa: TL102
        "no fork on macOS",
    )

if os.environ.get("SLOW"):
    sys.exit(2)  # keep: the nightly job sets SLOW  # noqa: TL101

if sys.platform == "cygwin":
    pytest.skip("no cygwin") or sys.exit(5)  # noqa: TL101, TL102

if sys.platform == "emscripten":
    pytest.skip("no processes") or sys.exit(6)  # noqa:TL102, TL101

if os.environ.get("LEGACY"):
    pytest.skip(f"""legacy mode {os.environ["LEGACY"]}: see #7
    and {'#'} signs""")  # noqa: TL102

if os.environ.get("NO_NETWORK"):
    sys.exit(7) if os.environ.get("STRICT") \
        else pytest.skip("no network")  # noqa: TL101, TL102


def test_numpy():
    assert numpy
