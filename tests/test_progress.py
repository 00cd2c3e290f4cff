"""The progress bar: drawn at once, kept moving, fitted to the terminal, cleared.

The terminal tests run it in tmux (a real terminal emulator) 40 and 120 columns
wide and read the screen tmux shows: what a user would see, stale text included.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testlint.workers import Progress

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
EXIT = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"


class Stream(io.StringIO):
    """A stream that says it is a terminal (it has no size: the bar takes 80)."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("done", [0, 1, 150, 300])
def test_the_line_always_fits_the_terminal(done: int) -> None:
    bar = Progress(300, enabled=False)
    bar.done = done
    for width in range(1, 200):
        line = bar.line(width)
        assert len(line) <= max(width - 1, 1), (width, line)
        if width >= 20:
            assert f"{done:>3}/300 files" in line, (width, line)
    assert bar.line(120).count("#") == 30 * done // 300


def test_the_bar_keeps_its_place_as_the_count_grows() -> None:
    bar = Progress(3000, enabled=False)
    places = set()
    for done in (0, 9, 10, 999, 1000, 3000):
        bar.done = done
        places.add(bar.line(40).index("]"))
    assert len(places) == 1


def test_it_is_drawn_at_once_kept_moving_and_cleared() -> None:
    stream = Stream()
    bar = Progress(300, enabled=True, stream=stream)
    try:
        assert "0/300 files" in stream.getvalue()  # before any file is done
        first = stream.getvalue()
        time.sleep(4 * Progress.TICK)
        frames = stream.getvalue()[len(first) :].split("\r")
        assert len([frame for frame in frames if "0/300 files" in frame]) >= 2, "no file done"
        assert len({frame[:1] for frame in frames if frame}) >= 2, "the spinner turns"
    finally:
        bar.close()
    assert stream.getvalue().endswith("\r\x1b[2K")
    ended = stream.getvalue()
    time.sleep(3 * Progress.TICK)
    assert stream.getvalue() == ended, "nothing drawn once closed"


def test_a_disabled_bar_draws_nothing() -> None:
    stream = Stream()
    bar = Progress(300, enabled=False, stream=stream)
    bar.advance()
    bar.close()
    assert stream.getvalue() == ""
    empty = Progress(0, enabled=True, stream=stream)
    empty.close()
    assert stream.getvalue() == ""


# ------------------------------------------------------------------ a real terminal


class Terminal:
    """A tmux session `columns` wide, running one command; its screen as shown."""

    def __init__(self, directory: Path, columns: int, rows: int = 15) -> None:
        assert TMUX is not None
        self.tmux = [TMUX, "-S", str(directory / "tmux.sock"), "-f", os.devnull]
        self.columns = columns
        self.rows = rows

    def start(self, command: str, cwd: Path) -> None:
        environ = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR")}
        size = ["-x", str(self.columns), "-y", str(self.rows)]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", "t", *size, command],
            cwd=cwd,
            env=environ,
            check=True,
        )

    def screen(self, history: bool = False) -> list[str]:
        start = ["-S", "-"] if history else []
        shown = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", "t", *start],
            capture_output=True,
            text=True,
            check=True,
        )
        return shown.stdout.splitlines()

    def wait_for(self, text: str, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if any(text in row for row in screen):
                return screen
            assert time.monotonic() < deadline, f"never shown: {text!r}\n" + "\n".join(screen)
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def short_directory() -> Iterator[Path]:
    """A directory with a short name: a tmux socket path must be short."""
    directory = Path(tempfile.mkdtemp(prefix="tl-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


DRIVER = """\
import sys, time
from pathlib import Path
from testlint.workers import Progress

gate = Path(sys.argv[1])
print("before the run", flush=True)
bar = Progress(300, enabled=True)
while not (gate / "advance").exists():
    time.sleep(0.02)
for _ in range(120):
    bar.advance()
while not (gate / "close").exists():
    time.sleep(0.02)
bar.close()
print("after the run", flush=True)
time.sleep(600)
"""


def shown_rows(screen: list[str]) -> list[str]:
    return [row for row in screen if row.strip()]


@needs_tmux
@pytest.mark.parametrize("columns", [40, 120])
def test_the_bar_on_a_real_terminal(short_directory: Path, columns: int) -> None:
    driver = short_directory / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    terminal = Terminal(short_directory, columns)
    terminal.start(f"{sys.executable} {driver} {short_directory}", short_directory)
    try:
        # Drawn at once, on one row that fits.
        rows = shown_rows(terminal.wait_for("0/300 files"))
        assert rows[0] == "before the run"
        assert len(rows) == 2, rows
        assert len(rows[1]) < columns
        # Moving while no file is done.
        time.sleep(4 * Progress.TICK)
        later = shown_rows(terminal.screen())
        assert len(later) == 2, later
        assert later[1] != rows[1], "the bar looks stuck"
        # Redrawn in place: one row, nothing left of the longer or older lines.
        (short_directory / "advance").touch()
        rows = shown_rows(terminal.wait_for("120/300 files"))
        assert len(rows) == 2, rows
        assert len(rows[1]) < columns
        if columns == 120:
            assert "[" + "#" * 12 + " " * 18 + "]" in rows[1]
        else:
            assert re.search(r"\[#+ +\]", rows[1]), rows[1]
        # Cleared: the run's output starts on a clean row.
        (short_directory / "close").touch()
        rows = shown_rows(terminal.wait_for("after the run"))
        assert rows == ["before the run", "after the run"]
    finally:
        terminal.close()


@needs_tmux
def test_a_run_with_workers_on_a_narrow_terminal_leaves_no_trace_of_the_bar(
    short_directory: Path,
) -> None:
    project = short_directory / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for number in range(60):
        (project / f"tests/test_{number}.py").write_text(EXIT, encoding="utf-8")
    terminal = Terminal(short_directory, columns=40)
    command = (
        f"{sys.executable} -m testlint --no-cache -j 2 --output-format concise -q tests; "
        "echo EXIT=$?; sleep 600"
    )
    terminal.start(command, project)
    try:
        terminal.wait_for("EXIT=")
        history = terminal.screen(history=True)
        assert "EXIT=1" in history
        assert not [row for row in history if re.search(r"/60 files|\[#|\[ ", row)], history
        findings = [row for row in history if row.startswith("tests/test_")]
        assert len(findings) == 60
    finally:
        terminal.close()
