"""Where a run's work happens: a thread with a deep stack, forked worker processes,
Ctrl-C and SIGTERM, and the progress bar. Nothing here knows what the work is (`runner.py`).
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
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

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
"""Set on Ctrl-C or SIGTERM: the run stops before its next file and writes nothing more."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a CI runner, a supervisor): the run stops as on Ctrl-C,
    after the files in hand. A `KeyboardInterrupt`, so that every path that stops
    cleanly on Ctrl-C does on SIGTERM too."""


TERMINATED = "testlint: terminated (no file is left half written)"
EXIT_TERMINATED = 2
"""A run ended by SIGTERM did not complete (`cli.py`'s exit codes)."""


class WorkersStopped(Exception):
    """Raised by `in_workers` once it has yielded every result it got, when some
    never came: a worker process was stopped by a signal or died."""

    def __init__(self, reason: str, lost: bool) -> None:
        super().__init__(reason)
        self.lost = lost
        """Whether a worker ended with a task in hand: its files may have been
        checked (and fixed), their results never sent."""


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
        with _sigterm_stops_the_run():
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


@contextlib.contextmanager
def _sigterm_stops_the_run() -> Iterator[None]:
    """While a run lasts, SIGTERM raises `Terminated` in the main thread, which
    `_wait` handles as Ctrl-C (by default it killed the process at once, and its
    workers, left alone, printed tracebacks). A SIGTERM ignored, or handled by the
    program that called testlint, is left as it is."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _wait(done: threading.Event) -> None:
    """Wait for the worker thread. On Ctrl-C (or SIGTERM), ask it to stop after the
    file in hand and wait for that, then raise KeyboardInterrupt (`Terminated`): a
    thread still running when the interpreter exits dies inside libcst's native code
    and aborts the process (and `Thread.join`, once interrupted, no longer waits). A
    second one leaves at once: every write is atomic, so no file is left half written."""
    try:
        done.wait()
    except KeyboardInterrupt as stop:
        INTERRUPTED.set()
        if _STOP is not None:
            _STOP.set()  # workers stop before their next file
        try:
            done.wait()
        except KeyboardInterrupt:
            _kill_workers()
            os._exit(EXIT_TERMINATED if isinstance(stop, Terminated) else 130)
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
"""Set (a shared event) when the workers must take no more items: Ctrl-C, SIGTERM,
a worker stopped by a signal, a worker gone."""
_STOPPED_BY: Any = None
"""The signal that stopped a worker (a shared integer; 0: none)."""
_LINTING = False
"""In a worker: a task is in hand."""
_LEAVING = False
"""In a worker: SIGTERM came during a task; the process ends once its file in hand is."""


def in_workers(
    sizes: list[int], jobs: int, work: Callable[[int], T], first: frozenset[int] = frozenset()
) -> Iterator[tuple[int, T]]:
    """`work(number)` for every item, in forked workers, as they finish: the workers
    inherit everything built so far (the project model, settings, module index),
    so nothing is parsed or read twice to set them up. `sizes`: each item's size,
    to hand out the largest first (those in `first` before all others).

    Raises WorkersStopped, after yielding every result that came back, when some
    item was never done (a worker stopped by a signal or killed): a run that did
    not check every file must not look like one that did."""
    global _WORK, _STOP, _STOPPED_BY
    import multiprocessing  # here: a run of a few files starts no worker
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    _WORK, _STOP, _STOPPED_BY = work, context.Event(), context.Value("i", 0, lock=False)
    chunks = _chunks(sizes, jobs, first)
    # What the workers inherit (libcst's classes, the project model, the module
    # index) lives as long as they do: frozen, their collections never walk it,
    # nor write to its pages (which stay shared with the parent).
    gc.freeze()
    before = set(multiprocessing.active_children())
    # Not `multiprocessing.Pool`: a worker killed there (SIGKILL, the OOM killer)
    # takes its task along, and the run waits for it forever.
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start)
    returned = 0
    lost = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with the main thread waiting
            tasks = [pool.submit(_worker_run, chunk) for chunk in chunks]  # the first one forks
        processes = [p for p in multiprocessing.active_children() if p not in before]
        for outcomes in _results(tasks):
            lost = lost or outcomes is None
            returned += len(outcomes or ())
            yield from outcomes or ()
    finally:
        _STOP.set()
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _WORK = None
    if returned < len(sizes) and not INTERRUPTED.is_set():
        raise WorkersStopped(_why_stopped(processes, _STOPPED_BY.value), lost)


def _results(
    tasks: list[Future[list[tuple[int, T]]]],
) -> Iterator[list[tuple[int, T]] | None]:
    """The outcomes of each task, as tasks finish; once the workers must stop, those
    of the tasks in hand (which stop after their file in hand) and no more. None for
    a task whose worker was lost."""
    from concurrent.futures import as_completed

    finished: set[Future[list[tuple[int, T]]]] = set()
    for task in as_completed(tasks):
        finished.add(task)
        yield _outcomes(task)
        if _STOP.is_set() or INTERRUPTED.is_set():
            break
    for task in tasks:
        if task not in finished and not task.cancel():  # in hand: cannot be cancelled
            yield _outcomes(task)


def _outcomes(task: Future[list[tuple[int, T]]]) -> list[tuple[int, T]] | None:
    """A task's outcomes; None when its worker was lost (`in_workers` tells why)."""
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool

    try:
        return task.result()
    except CancelledError:
        return []
    except BrokenProcessPool:
        _STOP.set()
        return None


def _why_stopped(processes: list[Any], stopped_by: int) -> str:
    """Why a run's workers did not do every item, for the user."""
    killed = [-process.exitcode for process in processes if (process.exitcode or 0) < 0]
    if killed:  # before `stopped_by`: the others then got SIGTERM from the pool
        likely = " (out of memory?)" if killed[0] == signal.SIGKILL else ""
        return f"a worker process was killed by {_signal_name(killed[0])}{likely}"
    if stopped_by:
        return f"a worker process received {_signal_name(stopped_by)}"
    codes = [process.exitcode for process in processes if process.exitcode]
    if codes:
        return f"a worker process ended unexpectedly (exit code {codes[0]})"
    return "a worker process did not send every result back"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
    # hand, tells the others through the shared event, and takes no more. A run
    # started with SIGINT ignored (a background job, `nohup`) ignores it here too.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _stop_on_signal)
    # Always handled: the pool ends its workers with SIGTERM when one of them died.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    threading.stack_size(STACK_SIZE)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


def _stop_on_signal(signum: int, frame: object) -> None:
    global _LEAVING
    _STOP.set()
    if not _STOPPED_BY.value:
        _STOPPED_BY.value = signum
    if signum == signal.SIGTERM:
        # Ends the process, but never in the middle of a file (a temporary file
        # beside it would be left behind): at once when idle, else after the task.
        if not _LINTING:
            os._exit(0)
        _LEAVING = True


def _worker_run(chunk: list[int]) -> list[tuple[int, Any]]:
    global _LINTING
    work = _WORK
    assert work is not None
    outcomes: list[tuple[int, Any]] = []
    failure: list[BaseException] = []

    def run_chunk() -> None:
        try:
            for number in chunk:
                if _STOP.is_set():
                    return
                outcomes.append((number, work(number)))
        except BaseException as exc:  # re-raised below: the parent learns of it
            failure.append(exc)

    # libcst recurses once per nesting level: a thread with a large stack, as in `run`.
    _LINTING = True
    thread = threading.Thread(target=run_chunk)
    thread.start()
    thread.join()
    _LINTING = False
    if _LEAVING:
        os._exit(0)
    if failure:
        raise failure[0]
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
