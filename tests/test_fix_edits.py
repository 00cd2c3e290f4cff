"""A fix's text edits (what JSON and SARIF show): exact, and quick on a large file."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import pytest

from testlint import engine
from testlint.diagnostics import Edit

SAFE = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"


def apply(before: str, edits: Sequence[Edit]) -> str:
    """Line-granular edits (column 1 to column 1), applied bottom-up."""
    lines = before.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: e.start.line, reverse=True):
        assert edit.start.column == edit.end.column == 1
        lines[edit.start.line - 1 : edit.end.line - 1] = [edit.content]
    return "".join(lines)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a\nb\nc\n", "a\nc\n"),
        ("a\nb\n", "z\na\nb\nz\n"),
        ("", "a\n"),
        ("a\nb\nc\nd\n", "a\nB\nc\nD\n"),
        ("a\n" * 5000 + "b\n" + "a\n" * 5000, "c\n" + "a\n" * 5000 + "a\n" * 5000 + "d\n"),
    ],
)
def test_edits_reproduce_the_fixed_text(before: str, after: str) -> None:
    assert apply(before, engine._edits(before, after)) == after


def test_edits_of_a_fix_to_a_huge_file_are_quick() -> None:
    # A large literal of equal lines: matching each against all the others took
    # minutes (the hostile directory's 10 MB file, in the default output format).
    before = "import sys\n" + "x\n" * 200_000 + "sys.exit(1)\n" + "y\n" * 10
    after = "import pytest\n" + "x\n" * 200_000 + "pytest.skip()\n" + "y\n" * 10
    started = time.monotonic()
    edits = engine._edits(before, after)
    assert time.monotonic() - started < 5
    assert apply(before, edits) == after
    assert len(edits) == 2


@pytest.mark.parametrize("max_changes", [200, 2])
def test_edits_found_for_many_lines_reproduce_the_fixed_text(
    monkeypatch: pytest.MonkeyPatch, max_changes: int
) -> None:
    """The linear search for a few changes (and, past `MAX_CHANGES`, difflib with
    its junk heuristics), tried on small texts by making every text "large"."""
    monkeypatch.setattr(engine, "MATCHED_LINES", 0)
    monkeypatch.setattr(engine, "MAX_CHANGES", max_changes)
    rng = random.Random(max_changes)
    for _ in range(2000):
        lines = [rng.choice("abc") + "\n" for _ in range(rng.randint(0, 12))]
        changed = list(lines)
        for _ in range(rng.randint(0, 4)):
            roll = rng.random()
            if roll < 0.4 and changed:
                del changed[rng.randrange(len(changed))]
            elif roll < 0.8:
                changed.insert(rng.randint(0, len(changed)), rng.choice("abcd") + "\n")
            elif changed:
                changed[rng.randrange(len(changed))] = rng.choice("abcd") + "\n"
        before, after = "".join(lines), "".join(changed)
        assert apply(before, engine._edits(before, after)) == after, (before, after)
