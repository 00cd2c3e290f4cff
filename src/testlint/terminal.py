"""What the look of a check's output depends on, besides its findings: the format
chosen (its names are here), and the terminal it is written to (colour, width).

Standard library only: a replay (`record.py`) keys its records on these facts
before it imports anything else, so that the output recorded in a terminal 120
columns wide, in colour, is not replayed into a pipe or a narrower terminal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

OUTPUT_FORMATS = ("full", "concise", "json", "github", "gitlab", "junit", "sarif")
"""`--output-format` values, the default (ruff's) first."""

ALIASES = {"text": "concise"}
"""Older names that still work: `text` was the one-line format's name."""

DEFAULT_FORMAT = "full"

FORMAT_VARIABLE = "TESTLINT_OUTPUT_FORMAT"
"""The environment variable that chooses the format when `--output-format` is not
given (it wins over `output-format` in the configuration, as `RUFF_OUTPUT_FORMAT`)."""

HUMAN_FORMATS = frozenset({"full", "concise"})
"""Formats written for people: the summary goes with them to standard output."""


def canonical_format(name: str) -> str:
    """`text` -> `concise`; every other known name stays as it is."""
    return ALIASES.get(name, name)


def is_tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or unusual stream
        return False


def wants_color(stream: TextIO | None, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal, unless `NO_COLOR` is set (non-empty); `FORCE_COLOR`
    (non-empty) forces it anywhere. `NO_COLOR` wins over `FORCE_COLOR`, as in ruff."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return is_tty(stream) and environ.get("TERM") != "dumb"


def width_of(stream: TextIO | None, environ: Mapping[str, str]) -> int | None:
    """The terminal's width in columns, None when `stream` is not a terminal
    (a pipe or a file: lines are never wrapped there). `COLUMNS` wins, as for
    `shutil.get_terminal_size`."""
    if not is_tty(stream):
        return None
    columns = environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        assert stream is not None
        found = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None
    return found if found > 0 else None


def replay_key(stream: TextIO | None, environ: Mapping[str, str]) -> str:
    """Everything besides the command line and the files that the output of a
    check written to `stream` depends on: the format chosen by the environment,
    colour and width."""
    return "|".join(
        [
            environ.get(FORMAT_VARIABLE, ""),
            "color" if wants_color(stream, environ) else "plain",
            str(width_of(stream, environ) or "-"),
        ]
    )
