"""The run record: a check whose inputs have not changed prints what it printed last time.

`testlint tests/` run again with nothing changed must not import libcst, build the
project model or read a cached entry per file: it stats what the last run depended
on and, if every stat is the same, prints the same output and exits with the same
code. If the only stats that changed are those of a few test modules that can be
checked alone (no configuration, CI file or other file's result reads them:
`CheckedFile`, `runner._alone`), `rerun.py` checks just those and prints the run's
output with the other files' findings as recorded. Anything else runs the linter
(`cli.py`), which records the run for next time. `launcher.py` decides which.

A record is made by a check (no `--fix`, `--diff`, `-o`, standard input or `--config`)
with the cache on, that reported no error. It is keyed on the command line, the
working directory, `TESTLINT_CACHE_DIR`, what the output's look depends on
(`TESTLINT_OUTPUT_FORMAT`, colour and the terminal's width: `terminal.replay_key`)
and testlint's own code (its version and source files, libcst's, the Python
running it), and holds the stat (mtime, ctime, size, inode, mode) of:

- every directory under the project root and under each directory named, and every
  file in them, skipping only what no part of testlint reads (`__pycache__`,
  `node_modules`, `site-packages`, virtualenvs (whose pyvenv.cfg is watched),
  symbolic links to directories, and hidden directories, unless pytest's
  `norecursedirs` lets discovery walk them);
  a directory's record holds a digest of the names in it too: a file added, removed
  or renamed changes those names, while a file saved through a temporary file
  renamed over it changes the directory's time only (and its own stat);
- every directory from a named path up to the root, and the files that mark a
  project or hold configuration in every directory above the root (found or
  missing: creating one changes the answer);
- the CI directories read for how the suite is run (`.github/workflows`, ...).

The stats are taken after the run. A run during which any of them changed is not
recorded (a stamp of a whole second may hide a change up to a second later). A
file that changed within a second before the run is "racy": a later write in the
same clock tick could leave the same stat with other content, so its content
digest is recorded too and compared on every replay (git's racy-clean).
Records live in `v1/replay/` of the cache directory, the newest `KEEP` kept.

Standard library only (and `locate`, `fingerprint`, `invocation`, `terminal`): a
replay imports nothing else.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from testlint.fingerprint import (
    RACY_NS,
    Signature,
    code_fingerprint,
    combine,
    content_digest,
    signature,
    write_json_atomically,
)
from testlint.invocation import cache_directory, parse
from testlint.locate import (
    ENVIRONMENT_DIRECTORIES,
    NEVER_READ,
    ROOT_MARKERS,
    VIRTUALENV_MARKER,
    is_virtualenv,
)
from testlint.terminal import replay_key

FORMAT = 1


KEEP = 8


MAX_CHANGED = 16
"""More changed files than this: the full run, in parallel, is as quick."""


TEST_MODULE = "test module"
"""`FileKind.TEST.value` (rule.py is not imported to replay)."""


INTERRUPTED = "testlint: interrupted (no file is left half written)"


EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it


SETTLED_NS = 50_000_000
"""A file changed this close to the run's start, or later, may have changed during
the run (the kernel stamps files with a clock a few milliseconds coarse): no record."""


WHOLE_SECOND_NS = 1_000_000_000
"""A stamp of a whole second comes from a filesystem that stamps whole seconds: the
file may have changed at any time within that second."""


MAX_REHASHED = 64
"""More racy files than this (a fresh checkout): the next run records instead."""


UNREAD_DIRECTORIES = NEVER_READ
"""Skipped by every reader of the tree (module index, suite listing, environment
digest); discovery decides about hidden and `venv` directories from `norecursedirs`,
and the module index reads a package's `venv` subpackage (a virtualenv, with its
pyvenv.cfg, is skipped by all)."""


class CheckedFile(NamedTuple):
    """A checked file, as a record keeps it for `rerun` (a JSON list)."""

    path: str
    """As given on the command line (or found under a named directory)."""
    kind: str
    """`FileKind.value`."""
    findings: list[dict[str, Any]]
    """`cache.encode`d diagnostics."""
    reads: list[str]
    """The test modules its result read (resolved)."""
    reads_suite: bool
    """Whether its result read the suite's facts."""
    suite_tokens: str | None
    """What the suite facts can read from it (None: not known)."""


Printed = list[tuple[bool, str, bool]]
"""What a run printed, in order: (to stderr, text, newline after it)."""


def run_key(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    return combine(
        [
            str(FORMAT),
            os.getcwd(),
            environ.get("TESTLINT_CACHE_DIR", ""),
            # The output's look: the format the environment chooses, colour, width.
            replay_key(sys.stdout, environ),
            code_fingerprint(),
            *argv,
        ]
    )


def record_path(directory: Path, key: str) -> Path:
    return directory / f"v{FORMAT}" / "replay" / f"{key[:32]}.json"


class Replay:
    """What a recorded run printed, and its exit code."""

    __slots__ = ("exit_code", "printed")

    def __init__(self, printed: Printed, exit_code: int) -> None:
        self.printed = printed
        self.exit_code = exit_code


class Changed:
    """A recorded run whose inputs changed only in a few test modules that no other
    file's result read (see `rerun`)."""

    __slots__ = ("names", "record", "relisted")

    def __init__(self, record: dict[str, Any], names: set[str], relisted: list[str]) -> None:
        self.record = record
        self.names = names
        self.relisted = relisted
        """Directories whose stat changed but not the names they hold."""


def find(argv: Sequence[str], environ: Mapping[str, str]) -> Replay | Changed | None:
    """The recorded output of this command, if nothing it depended on changed; the
    record and what changed, if only files `rerun` can check again did."""
    invocation = parse(argv)
    if invocation is None:
        return None
    key = run_key(argv, environ)
    try:
        path = record_path(cache_directory(invocation, environ), key)
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        if record["key"] != key:
            return None
        changed: set[str] = set()
        relisted: list[str] = []
        for name, recorded in record["stats"]:
            if not _unchanged(name, recorded, relisted):
                changed.add(name)
                if len(changed) > MAX_CHANGED or "checked" not in record:
                    return None
        if changed:
            if not _only_alone(record, changed):
                return None
            return Changed(record, changed, relisted)
        printed = [(bool(err), str(text), bool(nl)) for err, text, nl in record["printed"]]
        return Replay(printed, int(record["exit"]))
    except Exception:  # no record, a foreign or broken one, an unusual tree: just lint
        return None


def _racy(found: Signature, started_ns: int) -> bool:
    """A file whose stat changed just before or during the run: a later edit in the
    same instant could leave the same stat. A directory is never racy: the names it
    holds are recorded and compared (`_unchanged`), so testlint's own cache directory
    appearing in the root during the first run does not cost the second its replay."""
    return found is not None and len(found) == 5 and found[1] >= started_ns - RACY_NS


def settled(changed_ns: int, started_ns: int) -> bool:
    """Whether a file last changed at `changed_ns` was already as the run read it:
    it changed before the run started, by more than the clock's coarseness (a whole
    second for a stamp of a whole second)."""
    coarse = changed_ns % WHOLE_SECOND_NS == 0
    return changed_ns < started_ns - min(RACY_NS, WHOLE_SECOND_NS if coarse else SETTLED_NS)


def _is_file_with_content(recorded: list[Any]) -> bool:
    return len(recorded) > 5 and stat.S_ISREG(recorded[4])


def _unchanged(name: str, recorded: Signature, relisted: list[str]) -> bool:
    """Whether `name` has the stat it was recorded with; a directory also when only
    its stat changed, not the names it holds (then it joins `relisted`): an editor
    that saves through a temporary file renamed over the old one changes the
    directory's time, and the file's own stat tells that it changed. A file recorded
    while racy must also still hold the same bytes."""
    now = signature(name)
    if now is None or recorded is None:
        return now == recorded
    if _is_file_with_content(recorded):
        return now == recorded[:5] and content_digest(name) == recorded[5]
    if now == recorded or now == recorded[:5]:  # a file; a directory
        return True
    if len(recorded) > 5 and now[3:] == recorded[3:5] and listing(name) == recorded[5]:
        relisted.append(name)
        return True
    return False


def listing(directory: str) -> str | None:
    """A digest of the names a directory holds."""
    try:
        return combine(sorted(os.listdir(directory)))
    except OSError:
        return None


def among(changed: set[str]) -> Callable[[str], bool]:
    """Whether a recorded name (as given on the command line) is one of the `changed`
    absolute names: most of a suite's names are ruled out by their base name,
    without resolving them."""
    bases = {os.path.basename(name) for name in changed}
    return lambda name: os.path.basename(name) in bases and os.path.abspath(name) in changed


def _only_alone(record: dict[str, Any], changed: set[str]) -> bool:
    """Whether every changed file is a checked test module whose content no other
    file's result read (`CheckedFile`; `runner.run_changed` checks the rest)."""
    checked = [CheckedFile(*facts) for facts in record["checked"]]
    is_changed = among(changed)
    tests = {
        os.path.abspath(file.path)
        for file in checked
        if file.kind == TEST_MODULE and is_changed(file.path)
    }
    if not changed <= tests or any(signature(name) is None for name in changed):
        return False
    for file in checked:
        reads = changed.intersection(file.reads)
        if reads and reads != {os.path.realpath(file.path)}:  # reading itself: checked anew
            return False
    return True


def write_printed(printed: Printed) -> None:
    try:
        for err, text, newline in printed:
            stream = sys.stderr if err else sys.stdout
            stream.write(text + "\n" if newline else text)
        sys.stdout.flush()
    except BrokenPipeError:  # `testlint | head`: the reader has gone
        _silence_stdout()
        sys.exit(1)  # as click does


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def snapshot(
    root: Path,
    paths: Sequence[Path],
    skipped: Iterable[Path],
    discovery_enters: Callable[[Path], bool],
) -> dict[str, Signature]:
    """The stat of everything a run under `root` over `paths` may have read or
    listed (see the module docstring). `discovery_enters(directory)`: whether
    discovery walks a directory that the other readers skip."""
    stats: dict[str, Signature] = {}
    excluded = {os.path.abspath(path) for path in skipped}

    def walk(directory: str) -> None:
        if directory in stats or directory in excluded:
            return
        own = stats[directory] = signature(directory)
        try:
            with os.scandir(directory) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError:
            return
        if own is not None:
            stats[directory] = [*own, combine(entry.name for entry in entries)]
        for entry in entries:
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False
            if not is_directory:
                stats[entry.path] = signature(entry.path)
            elif _read_by_all(entry) or discovery_enters(Path(entry.path)):
                walk(entry.path)
            else:  # skipped; a virtualenv only while its pyvenv.cfg is there
                marker = os.path.join(entry.path, VIRTUALENV_MARKER)
                held = signature(marker)
                if held is not None:
                    stats[marker] = held

    root_name = os.path.abspath(root)
    walk(root_name)
    for name in ENVIRONMENT_DIRECTORIES:
        if os.path.isdir(os.path.join(root_name, name)):
            walk(os.path.join(root_name, name))
    for path in paths:
        named = os.path.abspath(path)
        if os.path.isdir(named):
            walk(named)
        else:
            stats[named] = signature(named)
        # Every directory up to the root: configuration is looked up along it.
        parent = os.path.dirname(named)
        while _within(parent, root_name) and parent not in stats:
            stats[parent] = with_listing(parent)
            parent = os.path.dirname(parent)
    for directory in Path(root_name).parents:
        for marker in ROOT_MARKERS:
            name = os.path.join(directory, marker)
            stats[name] = signature(name)
    return stats


def signatures(paths: Iterable[str]) -> dict[str, Signature]:
    """The stat of each file (for files a run read outside the snapshot's root)."""
    return {path: signature(path) for path in paths}


def with_listing(directory: str) -> Signature:
    """A directory's stat and the digest of its names (`_unchanged`)."""
    found = signature(directory)
    names = listing(directory)
    return found if found is None or names is None else [*found, names]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _read_by_all(entry: os.DirEntry[str]) -> bool:
    """Whether the module index, suite listing and environment digest may enter."""
    return not (
        entry.name.startswith(".") or entry.name in UNREAD_DIRECTORIES or is_virtualenv(entry.path)
    )


def record(
    argv: Sequence[str],
    printed: Printed,
    exit_code: int,
    started_ns: int,
    stats: Mapping[str, Signature],
    rerunnable: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> bool:
    """Remember this run for `find`, unless something changed during it (or just
    before it). `rerunnable`: what `rerun` needs (`runner.Recorded.to_json` and the
    output options, "shown"), when a few changed test modules can be checked alone.
    Returns whether a record was written."""
    invocation = parse(argv)
    if invocation is None:
        return False
    recorded = _with_racy_contents(stats, started_ns)
    if recorded is None:
        return False
    key = run_key(argv, environ)
    try:
        path = record_path(cache_directory(invocation, environ), key)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "key": key,
            "stats": list(recorded.items()),
            "printed": printed,
            "exit": exit_code,
            **(rerunnable or {}),
        }
        write_json_atomically(path, document)
        _prune(path.parent)
    except Exception:  # a read-only checkout still lints; it just does not remember
        return False
    return True


def _with_racy_contents(
    stats: Mapping[str, Signature], started_ns: int
) -> dict[str, Signature] | None:
    """`stats` with the content digest of each racy file, compared on replay: a
    file saved just before the run no longer costs the next run its replay. None
    when a file may have changed during the run, or too many are racy."""
    racy = [name for name, found in stats.items() if _racy(found, started_ns)]
    if len(racy) > MAX_REHASHED:
        return None
    found = dict(stats)
    for name in racy:
        recorded = found[name]
        assert recorded is not None  # `_racy`
        if not stat.S_ISREG(recorded[4]) or not settled(recorded[1], started_ns):
            return None  # a FIFO is never read: opening one waits for a writer
        digest = content_digest(name)
        if digest is None:
            return None
        found[name] = [*recorded, digest]
    return found


def _prune(directory: Path) -> None:
    """Keep the newest `KEEP` records: pre-commit names different files each time."""
    import contextlib  # here: a replay never prunes

    records = [entry for entry in os.scandir(directory) if entry.name.endswith(".json")]
    if len(records) <= KEEP:
        return
    records.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for entry in records[KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
