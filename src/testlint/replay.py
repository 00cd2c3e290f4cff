"""Replay: a check whose inputs have not changed prints what it printed last time.

`testlint tests/` run again with nothing changed must not import libcst, build the
project model or read a cached entry per file: it stats what the last run depended
on and, if every stat is the same, prints the same output and exits with the same
code. If the only stats that changed are those of a few test modules that can be
checked alone (no configuration, CI file or other file's result reads them:
`runner.Checked`, `runner._alone`), `rerun` checks just those and prints the run's
output with the other files' findings as recorded. Anything else runs the linter
(`cli.py`), which records the run for next time.

A record is made by a check (no `--fix`, `--diff`, standard input or `--config`)
with the cache on, that reported no error. It is keyed on the command line, the
working directory, `TESTLINT_CACHE_DIR` and testlint's own code (its version and
source files, libcst's, the Python running it), and holds the stat (mtime, ctime,
size, inode, mode) of:

- every directory under the project root and under each directory named, and every
  file in them, skipping only what no part of testlint reads (`__pycache__`,
  `node_modules`, `site-packages`, virtualenvs, symbolic links to directories, and
  hidden directories, unless pytest's `norecursedirs` lets discovery walk them);
  a directory's record holds a digest of the names in it too: a file added, removed
  or renamed changes those names, while a file saved through a temporary file
  renamed over it changes the directory's time only (and its own stat);
- every directory from a named path up to the root, and the files that mark a
  project or hold configuration in every directory above the root (found or
  missing: creating one changes the answer);
- the CI directories read for how the suite is run (`.github/workflows`, ...).

The stats are taken after the run. A run during which any of them changed is not
recorded. A file that changed within a second before the run is "racy": a later
write in the same clock tick could leave the same stat with other content, so its
content digest is recorded too and compared on every replay (git's racy-clean).
Records live in `v1/replay/` of the cache directory, the newest `KEEP` kept.

This module imports only the standard library and `locate.py`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import stat
import sys
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from testlint import __version__
from testlint.locate import (
    DEFAULT_CACHE_DIRECTORY,
    ENVIRONMENT_DIRECTORIES,
    ROOT_MARKERS,
    common_root,
    find_config_file,
    find_project_root,
    load_toml,
)

FORMAT = 1
KEEP = 8
MAX_CHANGED = 16
"""More changed files than this: the full run, in parallel, is as quick."""
TEST_MODULE = "test module"
"""`FileKind.TEST.value` (rule.py is not imported to replay)."""
INTERRUPTED = "testlint: interrupted (no file is left half written)"
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it
RACY_NS = 1_000_000_000
"""A stat this close before the run started (or later) is not trusted: such a
file's content is recorded too, and compared on every replay (git's racy-clean)."""
SETTLED_NS = 50_000_000
"""A file changed this close to the run's start, or later, may have changed during
the run (the kernel stamps files with a clock a few milliseconds coarse): no record."""
MAX_REHASHED = 64
"""More racy files than this (a fresh checkout): the next run records instead."""

# The `check` options, by what they mean for a replay (tests compare these with
# the click command, so that a new option cannot be forgotten here).
VALUE_OPTIONS = frozenset(
    {"--select", "--extend-select", "--ignore", "--output-format", "--cache-dir", "-j", "--jobs"}
)
FLAG_OPTIONS = frozenset(
    {
        "--statistics",
        "--exit-zero",
        "-q",
        "--quiet",
        "--isolated",
        "--force-exclude",
        "--unsafe-fixes",
        "--no-unsafe-fixes",
    }
)
NOT_REPLAYED = frozenset(
    {"--fix", "--diff", "--config", "--no-cache", "--stdin-filename", "-h", "--help", "--version"}
)
"""Runs that write files, read standard input or print something else."""
UNREAD_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages"})
"""Skipped by every reader of the tree (module index, suite listing, environment
digest); discovery decides about hidden and `venv` directories from `norecursedirs`,
and the module index reads a package's `venv` subpackage (a virtualenv, with its
pyvenv.cfg, is skipped by all)."""

Signature = Optional[list[Any]]
"""mtime, ctime, size, inode and mode (`os.stat`); a directory's also the digest of
the names it holds (`listing`)."""
Printed = list[tuple[bool, str, bool]]
"""What a run printed, in order: (to stderr, text, newline after it)."""

ARGV: tuple[str, ...] | None = None
"""The command line, when the run was started by `main` (and may be recorded)."""


class Invocation:
    """What a `check` command line says that a replay needs."""

    __slots__ = ("argv", "cache_dir", "isolated", "paths")

    def __init__(
        self, argv: tuple[str, ...], paths: tuple[str, ...], cache_dir: str | None, isolated: bool
    ) -> None:
        self.argv = argv
        self.paths = paths
        self.cache_dir = cache_dir
        self.isolated = isolated


def parse(argv: Sequence[str]) -> Invocation | None:
    """The paths and the options a replay needs from a `check` command line, or
    None for a command that is never replayed (or that this parser does not know)."""
    args = list(argv)
    if args and args[0] == "check":
        args = args[1:]
    elif args and args[0] in ("rules", "explain"):
        return None
    paths: list[str] = []
    cache_dir: str | None = None
    isolated = only_paths = False
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if only_paths or not arg.startswith("-"):
            paths.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if arg == "--":
            only_paths = True
        elif arg in FLAG_OPTIONS:
            isolated = isolated or arg == "--isolated"
        elif name in VALUE_OPTIONS and (equals or name == arg):
            if not equals:
                if index >= len(args):
                    return None
                value = args[index]
                index += 1
            if name == "--cache-dir":
                cache_dir = value
        else:
            return None  # not replayed ("-", --fix, ...) or unknown
    if any(path == "-" for path in paths):
        return None
    return Invocation(tuple(argv), tuple(paths) or (".",), cache_dir, isolated)


def cache_directory(invocation: Invocation, environ: Mapping[str, str]) -> Path:
    """Where the run's cache lives, found as the runner finds it (`--cache-dir`,
    `TESTLINT_CACHE_DIR`, `cache-dir` in the configuration, else under the root)."""
    if invocation.cache_dir:
        return Path(invocation.cache_dir).resolve()
    if environ.get("TESTLINT_CACHE_DIR"):
        return Path(environ["TESTLINT_CACHE_DIR"]).resolve()
    start = common_root([Path(path) for path in invocation.paths])
    config = None if invocation.isolated else find_config_file(start)
    if config is None:
        return find_project_root(start) / DEFAULT_CACHE_DIRECTORY
    value = load_toml(config)["tool"]["testlint"].get("cache-dir")
    if isinstance(value, str) and value:
        return (config.parent / value).resolve()
    return config.parent / DEFAULT_CACHE_DIRECTORY


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


def run_key(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    return combine(
        [
            str(FORMAT),
            os.getcwd(),
            environ.get("TESTLINT_CACHE_DIR", ""),
            code_fingerprint(),
            *argv,
        ]
    )


def record_path(directory: Path, key: str) -> Path:
    return directory / f"v{FORMAT}" / "replay" / f"{key[:32]}.json"


def signature(path: str) -> Signature:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return [found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino, found.st_mode]


# ------------------------------------------------------------------ replaying


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
    it changed before the run started, by more than the clock's coarseness."""
    return changed_ns < started_ns - min(RACY_NS, SETTLED_NS)


def content_digest(path: str) -> str | None:
    """The digest of a file's bytes: a racy file's identity (`record`)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


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
    file's result read (`runner.Checked`; `runner.run_changed` checks the rest)."""
    checked = record["checked"]
    is_changed = among(changed)
    tests = {
        os.path.abspath(facts[0])
        for facts in checked
        if facts[1] == TEST_MODULE and is_changed(facts[0])
    }
    if not changed <= tests or any(signature(name) is None for name in changed):
        return False
    for facts in checked:
        reads = changed.intersection(facts[3])
        if reads and reads != {os.path.realpath(facts[0])}:  # reading itself: checked anew
            return False
    return True


def rerun(found: Changed, argv: Sequence[str], started_ns: int) -> int | None:
    """Check the changed files again, print the run's output with the other files'
    findings as recorded, and record the new run. Returns the exit code, or None
    (nothing printed) when only the full run can tell."""
    global ARGV
    defer_import("libcst")
    from testlint import output, runner

    recorded = found.record
    try:
        previous = runner.Recorded.from_json(recorded)
        shown = output.Shown(**recorded["shown"])
        result = runner.run_changed(previous, found.names)
    except Exception:  # a foreign record, or a file that cannot be checked alone
        return None
    if result is None:
        return None
    options = previous.options
    printed: Printed = []

    def say(text: str, err: bool, newline: bool) -> None:
        printed.append((err, text, newline))
        _write([(err, text, newline)])

    code = output.report(result, options, shown, say)
    ARGV = tuple(argv)
    stats = dict(recorded["stats"])
    stats.update((name, signature(name)) for name in found.names)
    stats.update((name, _with_listing(name)) for name in found.relisted)
    again = runner.Recorded.of(result, options)
    if again is not None and settled(result.newest_input_ns, started_ns):
        record(printed, code, started_ns, stats, {"shown": recorded["shown"], **again.to_json()})
    return code


def main(argv: Sequence[str] | None = None) -> None:
    """The `testlint` command: replay if nothing changed, else run the linter."""
    global ARGV
    started_ns = time.time_ns()
    args = list(sys.argv[1:] if argv is None else argv)
    found = find(args, os.environ)
    if isinstance(found, Replay):
        _write(found.printed)
        sys.exit(found.exit_code)
    if isinstance(found, Changed):
        try:
            code = rerun(found, args, started_ns)
        except KeyboardInterrupt:
            sys.stderr.write(INTERRUPTED + "\n")
            sys.exit(EXIT_INTERRUPTED)
        if code is not None:
            sys.exit(code)
    ARGV = tuple(args)
    defer_import("libcst")
    from testlint.cli import main as cli_main

    cli_main(args=args, prog_name="testlint")


def _write(printed: Printed) -> None:
    try:
        for err, text, newline in printed:
            stream = sys.stderr if err else sys.stdout
            stream.write(text + "\n" if newline else text)
        sys.stdout.flush()
    except BrokenPipeError:  # `testlint | head`: the reader has gone
        _silence_stdout()
        sys.exit(1)  # as click does


class _Deferred(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet; the first attribute
    asked of it imports the real module, whose names it then holds."""

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def defer_import(name: str) -> None:
    """Import `name` when first used, not when first imported. libcst takes longer
    to import (0.1 s) than a warm run over a few files, and the gates and the cache
    answer most files without parsing them. `import libcst as cst` then binds the
    stand-in; `cst.Name`, `from libcst import ...` or importing a submodule (which
    asks for the missing `__path__`) imports libcst itself."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in


# ------------------------------------------------------------------ recording


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
            stats[parent] = _with_listing(parent)
            parent = os.path.dirname(parent)
    for directory in Path(root_name).parents:
        for marker in ROOT_MARKERS:
            name = os.path.join(directory, marker)
            stats[name] = signature(name)
    return stats


def signatures(paths: Iterable[str]) -> dict[str, Signature]:
    """The stat of each file (for files a run read outside the snapshot's root)."""
    return {path: signature(path) for path in paths}


def _with_listing(directory: str) -> Signature:
    """A directory's stat and the digest of its names (`_unchanged`)."""
    found = signature(directory)
    names = listing(directory)
    return found if found is None or names is None else [*found, names]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _read_by_all(entry: os.DirEntry[str]) -> bool:
    """Whether the module index, suite listing and environment digest may enter."""
    return not (
        entry.name.startswith(".")
        or entry.name in UNREAD_DIRECTORIES
        or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
    )


def record(
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
    if ARGV is None:
        return False
    invocation = parse(ARGV)
    if invocation is None:
        return False
    recorded = _with_racy_contents(stats, started_ns)
    if recorded is None:
        return False
    key = run_key(ARGV, environ)
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


def write_json_atomically(path: Path, data: object) -> None:
    """Write `data` as compact JSON, atomically: a concurrent run wins or loses
    whole. Raises OSError. (`json.dumps`, not `dump`: dump streams through the
    pure-Python encoder.)"""
    # Not `tempfile`: importing it costs a re-check more than writing does.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(data, separators=(",", ":")))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


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
