"""Where a run's work happens: a thread with a deep stack, forked worker processes,
Ctrl-C, and the progress bar. Nothing here knows what the work is (`runner.py`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


STACK_SIZE = 512 * 1024 * 1024


RECURSION_LIMIT = 50_000


GC_THRESHOLD = 100_000
"""Allocations between young collections during a run (CPython's default: 700).
Parsing makes trees of short-lived objects that reference counting frees, and
with the default each parse set off hundreds of collections, which also walked
the long-lived objects (libcst's classes, the module index): 8% of linting a
large file, 3% of a run over 10,000 small ones. Garbage with cycles waits longer
(bounded by this count), as mypy does with the same setting."""


INTERRUPTED = threading.Event()
"""Set on Ctrl-C: the run stops before its next file and writes nothing more."""


def with_deep_stack(function: Callable[[], T]) -> T:
    """Run `function` on a thread with a large stack and recursion limit: libcst's
    parser and visitors recurse once per nesting level of the checked code."""
    outcome: list[T] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
        finally:
            done.set()

    INTERRUPTED.clear()
    old_stack = threading.stack_size(STACK_SIZE)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    old_threshold = gc.get_threshold()
    gc.set_threshold(max(old_threshold[0], GC_THRESHOLD), *old_threshold[1:])
    try:
        worker = threading.Thread(target=target, name="testlint")
        worker.start()
        _wait(done)
        worker.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
        gc.set_threshold(*old_threshold)
    if failure:
        raise failure[0]
    return outcome[0]


def _wait(done: threading.Event) -> None:
    """Wait for the worker thread. On Ctrl-C, ask it to stop after the file in hand
    and wait for that, then raise KeyboardInterrupt: a thread still running when the
    interpreter exits dies inside libcst's native code and aborts the process (and
    `Thread.join`, once interrupted, no longer waits). A second Ctrl-C leaves at once:
    every write is atomic, so no file is left half written."""
    try:
        done.wait()
    except KeyboardInterrupt:
        INTERRUPTED.set()
        if _STOP is not None:
            _STOP.set()  # workers, which ignore SIGINT, stop before their next file
        try:
            done.wait()
        except KeyboardInterrupt:
            _kill_workers()
            os._exit(130)
        raise


def _kill_workers() -> None:
    """Worker processes outlive an `os._exit` of their parent: they wait for tasks on
    a pipe whose write end they hold themselves, and keep the parent's stdout open
    (`testlint | less` would never end)."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return  # imported only to start workers
    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError):
            child.kill()


CHUNK_BYTES = 32_000
"""A worker's task: files totalling about this much source (a few tens of
milliseconds of linting), so that handing work out costs little against doing it."""


CHUNK_FILES = 64


TAIL_CHUNK_BYTES = 4_000
"""The smallest task: towards the end of a run, tasks shrink (to the work left
divided among twice the workers), so that no worker is left with a long last task
while the others idle."""


_WORK: Callable[[int], Any] | None = None
"""What each worker does with an item's number: set before the fork, inherited."""
_STOP: Any = None


def in_workers(
    sizes: list[int], jobs: int, work: Callable[[int], T], first: frozenset[int] = frozenset()
) -> Iterator[tuple[int, T]]:
    """`work(number)` for every item, in forked workers, as they finish: the workers
    inherit everything built so far (the project model, settings, module index),
    so nothing is parsed or read twice to set them up. `sizes`: each item's size,
    to hand out the largest first (those in `first` before all others)."""
    global _WORK, _STOP
    import multiprocessing  # here: a run of a few files starts no worker

    context = multiprocessing.get_context("fork")
    _WORK, _STOP = work, context.Event()
    chunks = _chunks(sizes, jobs, first)
    # What the workers inherit (libcst's classes, the project model, the module
    # index) lives as long as they do: frozen, their collections never walk it,
    # nor write to its pages (which stay shared with the parent).
    gc.freeze()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with the main thread waiting
        pool = context.Pool(jobs, initializer=_worker_start)
    try:
        for outcomes in pool.imap_unordered(_worker_run, chunks):
            if INTERRUPTED.is_set():
                _STOP.set()
                return
            yield from outcomes
    finally:
        pool.close()
        pool.join()
        gc.unfreeze()
        _WORK = None


def _chunks(
    sizes: list[int], jobs: int = 2, first: frozenset[int] = frozenset()
) -> list[list[int]]:
    """File numbers in tasks for the workers, largest files first (those in `first`
    before the others): the run ends when the slowest worker does, so a big file
    must not be the last one handed out. Small files are grouped (see `CHUNK_BYTES`
    and `TAIL_CHUNK_BYTES`)."""
    order = sorted(range(len(sizes)), key=lambda number: (number not in first, -sizes[number]))
    left = sum(sizes)
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for number in order:
        current.append(number)
        total += sizes[number]
        budget = min(CHUNK_BYTES, max(TAIL_CHUNK_BYTES, left // (2 * jobs)))
        if total >= budget or len(current) >= CHUNK_FILES:
            chunks.append(current)
            left -= total
            current, total = [], 0
    if current:
        chunks.append(current)
    return chunks


def _worker_start() -> None:
    # Ctrl-C reaches every process of the group: a worker finishes its file in
    # hand, tells the others through the shared event, and takes no more.
    signal.signal(signal.SIGINT, _stop_on_interrupt)
    threading.stack_size(STACK_SIZE)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def _stop_on_interrupt(signum: int, frame: object) -> None:
    if _STOP is not None:
        _STOP.set()


def _worker_run(chunk: list[int]) -> list[tuple[int, Any]]:
    work = _WORK
    assert work is not None
    outcomes: list[tuple[int, Any]] = []

    def run_chunk() -> None:
        for number in chunk:
            if _STOP.is_set():
                return
            outcomes.append((number, work(number)))

    # libcst recurses once per nesting level: a thread with a large stack, as in `run`.
    thread = threading.Thread(target=run_chunk)
    thread.start()
    thread.join()
    return outcomes


_DRAWING = threading.Lock()
"""Held while the progress line is written: a fork (`in_workers`) waits for a
write in hand, so that no worker starts with the stream's lock taken."""


def _after_fork_in_child() -> None:
    global _DRAWING
    _DRAWING = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(
        before=lambda: _DRAWING.acquire(),
        after_in_parent=lambda: _DRAWING.release(),
        after_in_child=_after_fork_in_child,
    )


class Progress:
    """`- [#####      ] 120/300 files 4s` on stderr, while a run lints.

    Drawn at once (`0/300 files`), again as files finish (at most ten times a
    second) and every `TICK` seconds while none does, with a spinner and the time
    so far: a large file, or workers still starting, never leave it blank or
    frozen. The line is fitted to the terminal's width when drawn (a line that
    wrapped could not be redrawn in place: `\\r` goes back to the start of the
    last row only), and cleared when the run ends."""

    TICK = 0.25
    BAR = 30
    MIN_BAR = 5
    SPINNER = "-\\|/"

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0
        self.stream = stream if stream is not None else sys.stderr
        self._started = time.monotonic()
        self._drawn = 0.0
        self._frame = 0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.enabled:
            self._draw()
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if time.monotonic() - self._drawn >= 0.1 or self.done == self.total:
            self._draw()

    def close(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with _DRAWING:
            self._write("\r\x1b[2K")

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            if time.monotonic() - self._drawn >= self.TICK:
                self._draw()

    def line(self, width: int) -> str:
        """The progress line for a terminal `width` columns wide (it never takes the
        last column, where some terminals wrap at once)."""
        room = max(width - 1, 1)
        spinner = self.SPINNER[self._frame % len(self.SPINNER)]
        elapsed = int(time.monotonic() - self._started)
        count = f"{self.done:>{len(str(self.total))}}/{self.total} files"  # the bar stays put
        tail = f" {count} {elapsed}s"
        bar = min(self.BAR, room - len(tail) - 4)  # "- [" and "]"
        if bar >= self.MIN_BAR:
            filled = bar * self.done // self.total
            text = f"{spinner} [{'#' * filled}{' ' * (bar - filled)}]{tail}"
        else:
            text = f"{spinner}{tail}"
        return text[:room]

    def _draw(self) -> None:
        with _DRAWING:
            if not self.enabled:
                return
            self._drawn = time.monotonic()
            self._frame += 1
            self._write("\r" + self.line(self._width()) + "\x1b[K")

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            return 80

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the run goes on
            self.enabled = False
