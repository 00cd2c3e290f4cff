"""Benchmark testlint against parse floors and peer tools, in one run, on the same files.

    python bench/bench.py CORPUS_DIR [CORPUS_DIR ...]     # real suites (copied first)
    python bench/bench.py CORPUS --skip-fixit              # Fixit takes minutes: leave it out
    python bench/bench.py --generate 1000 --generate 10000 # synthetic projects; growth table
    python bench/bench.py --generate 1000,10000 --peers-on-generated  # ruff/flake8 on them too
    python bench/bench.py CORPUS --qualified-names 60      # also price QualifiedNameProvider
    python bench/bench.py CORPUS --flake8-gate             # plugin cost on files no rule matches
    python bench/bench.py CORPUS --json out.json           # every number, for the docs
    python bench/bench.py CORPUS --rounds 3                # medians of 3 interleaved rounds
    python bench/bench.py A B C --each                     # each corpus its own suite; a table
    python bench/bench.py CORPUS --profile                 # which gates send files to libcst
    python bench/bench.py CORPUS --gates                   # CPU of each rule's gate

Corpora are real repositories and are never modified: the project around each
CORPUS_DIR (its nearest pyproject.toml, setup.py, ... or .git) is first copied into a
scratch directory (without .git, caches, virtualenvs, node_modules) and every
measurement runs on the copy. For each corpus run (all CORPUS_DIRs together) and for
each `--generate N`, on the same file list (the test modules and conftests testlint
would check):

- floors: `ast.parse` and `libcst.parse_module` of every file, in one process;
- testlint cold (`--cache-dir` a fresh empty directory), warm (the same command again,
  nothing changed) and touched (after appending a comment line to the middle file of
  the sorted list). "Cold" means no testlint cache; the OS file cache is warm for all;
- testlint with gating off and no cache (the runner API), ruff `--select PT`,
  flake8 `--select PT` (flake8-pytest-style, with testlint's own flake8 plugin kept
  out: flake8 runs every installed plugin whatever `--select` says) and Fixit, when
  installed. On generated suites only with `--peers-on-generated`.

testlint's own bytecode is written first (`compileall`), as installing a wheel does,
and testlint runs once on its bundled examples to keep its dataclass code, as a
user's first run does (`dataclass_code.py`): where PYTHONDONTWRITEBYTECODE is set,
every run would otherwise recompile testlint.
Each measurement runs in its own process. Reported: wall time; CPU time of the whole
process tree (wait4, plus orphaned descendants the bench reaps itself); peak memory of
the whole tree (testlint may use a process pool): a sampler sums the RSS of every
descendant every 50 ms (and, as that sum grows, their PSS, which counts pages shared
by forked workers once). Then the performance targets as PASS/FAIL lines (SKIP when a
peer was not run, ERROR when a measurement failed), and for several `--generate N` a
growth table. Machines are shared and noisy: compare the ratios within one run, not
absolute seconds across runs. With `--rounds N`, every measurement of a suite is taken
N times, in rounds (each round runs every command once, cold with a new empty cache):
the table shows each command's median wall and CPU time and its largest peak memory,
and a ratio target is the median of its N per-round ratios (each round's two figures
were taken minutes apart at most). Tools that are not installed are skipped; a command that
exits other than 0 or 1 is reported as failed (with its last stderr line) and the run
goes on.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLOOR_SCRIPT = """
import sys, ast, warnings
import libcst
kind, listing = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore")
for path in open(listing, encoding="utf-8").read().splitlines():
    data = open(path, "rb").read()
    try:
        if kind == "ast":
            ast.parse(data)
        else:
            libcst.parse_module(data)
    except Exception:
        pass
"""

QUALIFIED_SCRIPT = """
import sys, libcst
from libcst.metadata import MetadataWrapper, QualifiedNameProvider
from testlint.names import ImportTable
kind, listing = sys.argv[1], sys.argv[2]
for path in open(listing, encoding="utf-8").read().splitlines():
    try:
        module = libcst.parse_module(open(path, "rb").read())
    except Exception:
        continue
    if kind == "qualified-names":
        MetadataWrapper(module).resolve(QualifiedNameProvider)
    else:
        ImportTable(module)
"""

# --no-cache semantics through the runner API, before and after RunOptions grows a
# cache field; exit 3 says the bench must learn the new field's meaning.
NO_GATING = textwrap.dedent(
    """
    import dataclasses, sys
    from pathlib import Path
    from testlint.runner import RunOptions, run
    fields = {f.name: f for f in dataclasses.fields(RunOptions)}
    extra = {}
    if "no_cache" in fields:
        extra["no_cache"] = True
    elif "cache" in fields:
        if not isinstance(fields["cache"].default, bool):
            sys.exit(f"bench: RunOptions.cache = {fields['cache'].default!r}: how to disable?")
        extra["cache"] = False
    run([Path(p) for p in sys.argv[1:]], RunOptions(isolated=True, gating=False, **extra))
    """
)

# flake8 runs every installed plugin whatever --select says: in a venv with testlint,
# its own flake8 plugin would triple the peer's time.
FLAKE8_SCRIPT = textwrap.dedent(
    """
    import sys
    from flake8.main.cli import main
    from flake8.plugins import finder
    find = finder.find_plugins
    finder.find_plugins = lambda *a: [p for p in find(*a) if p.package != "testlint"]
    sys.exit(main(sys.argv[1:]))
    """
)

TOUCH = "# touched by bench\n"
COPY_IGNORE = (".git", "__pycache__", "node_modules", ".tox", ".nox", ".venv", ".*_cache")
SAMPLE_INTERVAL = 0.05
PSS_GAP = 0.2
"""PSS costs some 2 ms of CPU per 100 MB to read: read it when the RSS sum has grown,
at most this often (seconds)."""
ORPHAN_TIMEOUT = 10.0
PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")
HAS_PROC = (PROC / "self" / "status").exists()
HAS_CHILDREN_FILES = (PROC / "self" / "task" / str(os.getpid()) / "children").exists()
HAS_PSS = (PROC / "self" / "smaps_rollup").exists()
# ru_maxrss is in KiB on Linux, in bytes on macOS.
MAXRSS_PER_MB = 1024 * 1024 if sys.platform == "darwin" else 1024


@dataclass
class Measurement:
    key: str
    name: str
    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    """Most memory the process tree held at once: the sampled sum of RSS, at least the
    largest peak RSS of a single process."""
    pss_mb: float | None = None
    processes: int = 1
    """Most processes alive at once in the tree."""
    ok: bool = True
    note: str = ""
    stderr: str = ""
    """The end of the command's stderr, when it failed."""
    walls: list[float] = field(default_factory=list)
    """Each round's wall time (`--rounds`); `wall` is their median."""
    cpus: list[float] = field(default_factory=list)
    """Each round's CPU time (`--rounds`); `cpu` is their median."""


@dataclass
class Target:
    label: str
    status: str
    """PASS, FAIL, SKIP (a tool not installed or not run) or ERROR (a measurement failed)."""
    detail: str
    value: float | None = None
    limit: float | None = None


@dataclass
class Suite:
    name: str
    directory: Path
    """The scratch copy every command runs in (paths are relative to it)."""
    sources: list[Path]
    """The directories checked, in the copy."""
    origins: list[Path] = field(default_factory=list)
    """The corpus directories given (their project was copied)."""
    generated: int = 0
    files: list[Path] = field(default_factory=list)
    lines: int = 0
    touched: str = ""
    cache_mb: float = 0.0
    results: list[Measurement] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


# -- measuring a process tree ------------------------------------------------------------


class TreeSampler(threading.Thread):
    """Every SAMPLE_INTERVAL, sums the memory of every descendant of this process.
    Only one command runs at a time, so the descendants are that command's tree; with
    the subreaper set, orphans (a forkserver, a pool whose parent exited) stay in it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.done = threading.Event()
        self.peak_sum = 0
        """Bytes: the largest sampled sum of the processes' RSS."""
        self.peak_single = 0
        """Bytes: the largest VmHWM (own peak RSS) seen: a spike between two samples."""
        self.peak_pss: int | None = None
        self.processes = 0
        self.pss_read = time.monotonic()  # the first PSS after PSS_GAP: a new process is small
        self.pss_at = 0
        """The RSS sum when PSS was last read: read again once it has grown by 5%."""

    def run(self) -> None:
        # Some 0.3 ms of the bench's CPU per sample (RSS only), 2 ms per 100 MB with PSS.
        while True:
            self.sample()
            if self.done.wait(SAMPLE_INTERVAL):
                break

    def sample(self) -> None:
        # A zombie has no memory lines: not counted as a process.
        alive = {pid: found for pid in descendants(os.getpid()) if (found := _memory(pid))}
        rss = sum(current for current, _ in alive.values())
        now = time.monotonic()
        if HAS_PSS and rss > self.pss_at * 1.05 and now - self.pss_read >= PSS_GAP:
            self.pss_read, self.pss_at = now, rss
            self.peak_pss = max(self.peak_pss or 0, sum(_pss(pid) for pid in alive))
        self.peak_sum = max(self.peak_sum, rss)
        self.peak_single = max([self.peak_single, *(peak for _, peak in alive.values())])
        self.processes = max(self.processes, len(alive))

    @property
    def peak(self) -> int:
        return max(self.peak_sum, self.peak_single)

    def stop(self) -> None:
        self.done.set()
        self.join()


def descendants(root: int) -> list[int]:
    children = _children_files if HAS_CHILDREN_FILES else _children_by_scan()
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _children_files(pid: int) -> list[int]:
    """/proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): cheap, no full scan."""
    found: list[int] = []
    try:
        tasks = os.listdir(PROC / str(pid) / "task")
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(
                int(c) for c in (PROC / str(pid) / "task" / task / "children").read_text().split()
            )
        except OSError:
            continue  # the thread or the process is gone
    return found


def _children_by_scan() -> Callable[[int], list[int]]:
    """Parent links of every process, from /proc/*/stat (kernels without children files)."""
    by_parent: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(PROC / entry.name / "stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(text[text.rindex(b")") + 2 :].split()[1])
        by_parent.setdefault(ppid, []).append(int(entry.name))
    return lambda pid: by_parent.get(pid, [])


def _memory(pid: int) -> tuple[int, int] | None:
    """Current and peak RSS (VmRSS, VmHWM) in bytes; None for a zombie or a gone process."""
    found: dict[bytes, int] = {}
    try:
        with open(PROC / str(pid) / "status", "rb") as status:
            for line in status:
                if line.startswith((b"VmRSS:", b"VmHWM:")):
                    found[line[:5]] = int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        return None
    if len(found) < 2:
        return None
    return found[b"VmRSS"], found[b"VmHWM"]


def _pss(pid: int) -> int:
    try:
        with open(PROC / str(pid) / "smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def become_subreaper() -> bool:
    """Orphaned descendants of a command are then reparented to the bench, not to init:
    they stay in the sampled tree, and reaping them yields their CPU time."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        result: int = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return result == 0


def reap_orphans() -> tuple[float, float, str]:
    """CPU seconds and largest RSS (MB) of the command's orphans, reaped as they exit."""
    cpu = maxrss = 0.0
    deadline = time.monotonic() + ORPHAN_TIMEOUT
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return cpu, maxrss, ""
        if pid:
            cpu += usage.ru_utime + usage.ru_stime
            maxrss = max(maxrss, usage.ru_maxrss / MAXRSS_PER_MB)
        elif time.monotonic() > deadline:
            return cpu, maxrss, f"descendants still running after {ORPHAN_TIMEOUT:.0f} s"
        else:
            time.sleep(0.01)


def measure(key: str, name: str, command: list[str], cwd: Path) -> Measurement:
    """Wall time until the command exits. CPU time from wait4: on Linux a process's
    rusage includes that of every descendant it waited for, so a pool's workers count
    once the pool is shut down (checked: 2 fork workers burning 1 s each give 2.1 s).
    Descendants nobody waits for are lost there: a forkserver (multiprocessing's
    default on Linux from Python 3.14) is orphaned when the command exits, and with it
    its workers' CPU (same check: 0.09 s). Hence the subreaper: the bench reaps such
    orphans itself and adds their CPU. Memory: see TreeSampler."""
    sampler = TreeSampler()
    with tempfile.TemporaryFile() as stderr:  # a pipe would block a chatty command
        start = time.perf_counter()
        try:
            process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        except OSError as exc:
            return Measurement(key, name, ok=False, note=f"cannot start: {exc}")
        if HAS_PROC:
            sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        orphan_cpu, orphan_rss, orphan_note = reap_orphans()
        if HAS_PROC:
            sampler.stop()
        stderr.seek(0)
        error = stderr.read().decode(errors="replace").strip()
    # Linters exit 1 when they find something; anything else is a failure to report.
    ok = code in (0, 1)
    if HAS_PROC:
        peak = sampler.peak / 2**20
    else:
        # The largest single process only, and at least the bench's own RSS: a child's
        # ru_maxrss starts from its parent's at fork (checked: `true` spawned by a 300 MB
        # process reports 310 MB). VmHWM, above, starts afresh at exec.
        peak = max(usage.ru_maxrss / MAXRSS_PER_MB, orphan_rss)
    notes = [orphan_note] if orphan_note else []
    if not ok:
        last = error.splitlines()[-1] if error else "(no stderr)"
        notes.insert(0, f"exit {code}: {last[:200]}")
    return Measurement(
        key,
        name,
        wall,
        usage.ru_utime + usage.ru_stime + orphan_cpu,
        peak,
        None if sampler.peak_pss is None else sampler.peak_pss / 2**20,
        max(sampler.processes, 1),
        ok,
        "; ".join(notes),
        "" if ok else error[-2000:],
    )


# -- suites: copied corpora and generated projects -----------------------------------------


def test_files(roots: list[Path]) -> list[Path]:
    """The files testlint checks (test modules and conftests), via its own discovery."""
    from testlint.files import SourcePath, discover
    from testlint.locate import find_project_root
    from testlint.project import Project
    from testlint.rule import FileKind
    from testlint.settings import Settings

    found: list[Path] = []
    for root in roots:
        project_root = find_project_root(root)
        settings = Settings(base=project_root)
        kinds = frozenset({FileKind.TEST, FileKind.CONFTEST})
        for item in discover([root], Project(project_root), settings, kinds):
            if isinstance(item, SourcePath):
                found.append(item.path)
    return sorted(set(found))


def copy_corpora(corpora: list[Path], directory: Path) -> list[Path]:
    """Copy the project around each corpus into `directory`; the corpora's paths there."""
    from testlint.locate import ROOT_MARKERS, find_project_root

    copies: dict[Path, Path] = {}
    mapped: list[Path] = []
    for corpus in corpora:
        corpus = corpus.resolve()
        if not corpus.exists():
            raise SystemExit(f"bench: {corpus} does not exist")
        project = find_project_root(corpus)
        if not any((project / marker).exists() for marker in ROOT_MARKERS):
            project = corpus if corpus.is_dir() else corpus.parent  # in no project
        if project in (Path(project.anchor), Path.home()):
            raise SystemExit(f"bench: refusing to copy all of {project}")
        if directory.is_relative_to(project):
            raise SystemExit(f"bench: {project} holds the scratch directory: set TMPDIR")
        if project not in copies:
            copy = directory / f"{len(copies)}-{project.name}"
            ignore = shutil.ignore_patterns(*COPY_IGNORE)
            shutil.copytree(project, copy, symlinks=True, ignore=ignore)
            if (project / ".git").exists():
                (copy / ".git").mkdir()  # a root marker for testlint: keep the same root
            copies[project] = copy
        mapped.append(copies[project] / corpus.relative_to(project))
    return mapped


def corpus_suite(corpora: list[Path], scratch: Path) -> Suite:
    directory = scratch / "corpora"
    number = 1
    while directory.exists():  # --each: one copy per suite
        number += 1
        directory = scratch / f"corpora-{number}"
    directory.mkdir()
    name = ", ".join(f"{c.resolve().parent.name}/{c.resolve().name}" for c in corpora)
    return Suite(name, directory, copy_corpora(corpora, directory), [c.resolve() for c in corpora])


GENERATED = '''\
"""Generated test module {n}."""
import os
import sys
from unittest import mock

import pytest
{imports}
try:
    import yaml
except ImportError:
    yaml = None

CONSTANT_{n} = {n}


class TestGroup{n}:
    @pytest.mark.parametrize("value", [1, 2, 3])
    def test_value(self, value):
        assert value * CONSTANT_{n} >= value

    def test_patch(self):
        with mock.patch("os.getcwd", return_value="/tmp"):
            assert os.getcwd() == "/tmp"


@pytest.fixture
def resource_{n}():
    yield {{"id": {n}}}


def test_resource(resource_{n}):
    assert resource_{n}["id"] == {n}


def test_skip_inside():
    if sys.platform == "nope":
        pytest.skip("never")
'''

# Extra blocks for some files, with the imports they need. Each makes the index of
# the project's modules and the cross-file rules do real work.
SYS_EXIT = "\nif not os.environ.get('CI'):\n    sys.exit(0)\n"  # TL101, a true positive
PATCH_WHERE_USED = (
    "\nfrom shop.orders import checkout\n",
    """

def test_checkout_charges(cart):
    with mock.patch("shop.orders.charge") as charge:
        checkout(cart["total"])
    charge.assert_called_once_with(cart["total"])
""",
)
# TL401, a true positive: shop.orders did `from shop.payments import charge`.
PATCH_WHERE_DEFINED = (
    "\nfrom shop.orders import checkout\n",
    """

def test_checkout_charges_the_total(cart):
    with mock.patch("shop.payments.charge") as charge:
        checkout(cart["total"])
    charge.assert_called_once()
""",
)
ASYNC_TESTS = (
    "import pytest_asyncio\n\nfrom shop.inventory import reserve\n",
    """

@pytest_asyncio.fixture
async def reserved_{n}():
    yield reserve("item-{n}")


@pytest.mark.asyncio
async def test_reserved(reserved_{n}):
    assert reserved_{n}["item"] == "item-{n}"
""",
)

PROJECT_FILES = {
    "pyproject.toml": """\
[project]
name = "shop"
version = "0.1"
requires-python = ">=3.9"

[project.optional-dependencies]
test = ["pytest>=8", "pytest-asyncio>=0.23", "pytest-xdist>=3"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
asyncio_mode = "strict"
addopts = ["-ra", "--strict-markers"]
markers = ["slow: long tests"]
""",
    "src/shop/__init__.py": '"""A small shop."""\n',
    "src/shop/payments.py": """\
def charge(total):
    return {"charged": total}


def refund(total):
    return {"refunded": total}
""",
    "src/shop/orders.py": """\
from shop.payments import charge, refund


def checkout(total):
    return charge(total)


def cancel(total):
    return refund(total)
""",
    "src/shop/inventory.py": """\
import time

STOCK = {}


def reserve(item):
    STOCK[item] = STOCK.get(item, 0) - 1
    return {"item": item, "at": time.time()}
""",
    "tests/conftest.py": """\
import pytest


@pytest.fixture
def cart():
    return {"total": 10}
""",
}


def generated_module(n: int) -> str:
    """The template, plus: a module-level sys.exit on 2% of files, a patch where the
    name is defined (TL401) on 2%, a correct patch on 10%, async tests on 5%."""
    imports, body = "", ""
    if n % 50 == 25:
        imports, body = PATCH_WHERE_DEFINED
    elif n % 10 == 3:
        imports, body = PATCH_WHERE_USED
    elif n % 20 == 7:
        imports, body = ASYNC_TESTS
    text = GENERATED.format(n=n, imports=imports) + body.format(n=n)
    return text + SYS_EXIT if n % 50 == 0 else text


def generate(count: int, scratch: Path) -> Suite:
    project = scratch / f"generated-{count}"
    for name, text in PROJECT_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    for n in range(count):
        (project / "tests" / f"test_generated_{n}.py").write_text(generated_module(n))
    return Suite(f"generated, {count} test modules", project, [project / "tests"], generated=count)


# -- running ------------------------------------------------------------------------------


def run_suite(suite: Suite, args: argparse.Namespace, scratch: Path) -> None:
    suite.files = test_files(suite.sources)
    if not suite.files:
        raise SystemExit(f"bench: no test files in {suite.name}")
    suite.lines = sum(p.read_bytes().count(b"\n") for p in suite.files)
    paths = [str(p.relative_to(suite.directory)) for p in suite.files]
    listing = scratch / f"files-{suite.directory.name}.txt"
    listing.write_text("\n".join(str(p) for p in suite.files), encoding="utf-8")
    print(f"== {suite.name}: {len(suite.files)} test files, {suite.lines} lines")
    rounds = f", medians of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"   (measured on a copy in {suite.directory}{rounds})\n")
    taken: list[list[Measurement]] = []
    for number in range(args.rounds):
        results = floors(listing, suite.directory)
        cache = scratch / f"cache-{suite.directory.name}-{number}"
        results += testlint_cache_runs(suite, paths, cache)
        if not suite.generated or args.peers_on_generated:
            results += peers(paths, suite.directory, args.skip_fixit)
        if args.qualified_names:
            results += qualified(paths, args.qualified_names, suite.directory, scratch)
        taken.append(results)
    suite.results = combine(taken)
    suite.targets = targets(suite.results)
    report(suite)
    if args.profile:
        profile(suite)
    if args.gates:
        gate_costs(suite)
    if args.flake8_gate:
        gate = flake8_gate(suite.files)
        if gate is not None:
            suite.targets.append(gate)
            print_targets([gate])
    print()


def combine(rounds: list[list[Measurement]]) -> list[Measurement]:
    """One measurement per command: the median wall and CPU time of its rounds, the
    largest peak memory and process count, every round's wall time; failed if any
    round failed (then that round's measurement, with its note)."""
    combined: list[Measurement] = []
    for same in zip(*rounds):
        failed = [m for m in same if not m.ok]
        if failed:
            combined.append(failed[0])
            continue
        first = same[0]
        pss = [m.pss_mb for m in same if m.pss_mb is not None]
        combined.append(
            Measurement(
                first.key,
                first.name,
                statistics.median(m.wall for m in same),
                statistics.median(m.cpu for m in same),
                max(m.peak_mb for m in same),
                max(pss) if pss else None,
                max(m.processes for m in same),
                note="; ".join(sorted({m.note for m in same if m.note})),
                walls=[m.wall for m in same],
                cpus=[m.cpu for m in same],
            )
        )
    return combined


def floors(listing: Path, cwd: Path) -> list[Measurement]:
    python = sys.executable
    return [
        measure("ast", "ast.parse (floor)", [python, "-c", FLOOR_SCRIPT, "ast", str(listing)], cwd),
        measure(
            "libcst",
            "libcst.parse_module (floor)",
            [python, "-c", FLOOR_SCRIPT, "cst", str(listing)],
            cwd,
        ),
    ]


def testlint_cache_runs(suite: Suite, paths: list[str], cache: Path) -> list[Measurement]:
    """Cold (fresh empty cache), warm (again, nothing changed), touched (one file changed)."""
    cache.mkdir()
    command = [sys.executable, "-m", "testlint", "--isolated", "--exit-zero", "-q"]
    command += ["--cache-dir", str(cache), *paths]
    cold = measure("cold", "testlint cold", command, suite.directory)
    suite.cache_mb = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
    warm = measure("warm", "testlint warm", command, suite.directory)
    middle = suite.files[len(suite.files) // 2]
    text = middle.read_text(encoding="utf-8", errors="replace")
    with middle.open("a", encoding="utf-8") as stream:
        stream.write(TOUCH if text.endswith("\n") or not text else f"\n{TOUCH}")
    suite.touched = str(middle.relative_to(suite.directory))
    touched = measure("touched", "testlint, 1 file touched", command, suite.directory)
    return [cold, warm, touched]


def peers(paths: list[str], cwd: Path, skip_fixit: bool) -> list[Measurement]:
    python = sys.executable
    results = [
        measure(
            "no-gating", "testlint, no gating, no cache", [python, "-c", NO_GATING, *paths], cwd
        )
    ]
    ruff = _venv_tool("ruff") or shutil.which("ruff")
    if ruff:
        command = [ruff, "check", "--isolated", "--no-cache", "--select", "PT", "--exit-zero"]
        results.append(measure("ruff", "ruff --select PT", [*command, *paths], cwd))
    if _importable("flake8_pytest_style"):
        command = [python, "-c", FLAKE8_SCRIPT, "--isolated", "--select", "PT", "--exit-zero"]
        results.append(measure("flake8", "flake8 --select PT", [*command, *paths], cwd))
    if _importable("fixit") and not skip_fixit:
        command = [python, "-m", "fixit", "lint", *paths]
        results.append(measure("fixit", "fixit lint", command, cwd))
    return results


def qualified(paths: list[str], count: int, cwd: Path, scratch: Path) -> list[Measurement]:
    sample = scratch / f"sample-{cwd.name}.txt"
    sample.write_text("\n".join(str(cwd / p) for p in paths[:count]), encoding="utf-8")
    return [
        measure(
            kind,
            f"parse + {kind} ({min(count, len(paths))} files)",
            [sys.executable, "-c", QUALIFIED_SCRIPT, kind, str(sample)],
            cwd,
        )
        for kind in ("import-table", "qualified-names")
    ]


def flake8_gate(files: list[Path]) -> Target | None:
    """flake8 runs every plugin on every file: on a file no rule can match, the
    plugin must cost little next to the `ast.parse` flake8 already does."""
    import ast

    from testlint.flake8_plugin import Plugin, _linter_for

    # The files where the gates (trigger words, the ast, project facts) leave no
    # rule to run: what flake8 pays for testlint on most files of a suite.
    quiet: list[tuple[Path, str, list[str]]] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        linter = _linter_for(path.resolve().parent)
        if isinstance(linter, Exception):
            continue
        kind = linter.project.file_kind(path.resolve())
        if not linter.rules_for(path.resolve(), kind, text)[0]:
            quiet.append((path, text, text.splitlines(keepends=True)))
    if not quiet:
        print("\nflake8 gate: a rule may report in every file; nothing to measure")
        return None
    trees = []
    start = time.perf_counter()
    for _, text, _ in quiet:
        trees.append(ast.parse(text))
    parse_time = time.perf_counter() - start
    list(Plugin(trees[0], quiet[0][2], str(quiet[0][0])).run())  # build the project model once
    start = time.perf_counter()
    for (path, _, lines), tree in zip(quiet, trees):
        list(Plugin(tree, lines, str(path)).run())
    plugin_time = time.perf_counter() - start
    ratio = plugin_time / max(parse_time, 1e-9)
    print(
        f"\nflake8 plugin on {len(quiet)} files no rule can match: {plugin_time:.3f} s, "
        f"ast.parse of the same files {parse_time:.3f} s, ratio {ratio:.2f}"
    )
    return Target(
        "flake8 plugin on files no rule can match ≤ 2 x their ast.parse",
        "PASS" if ratio <= 2 else "FAIL",
        f"{plugin_time:.3f} s / {parse_time:.3f} s = {ratio:.2f}",
        ratio,
        2.0,
    )


def _venv_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# -- targets and reports ------------------------------------------------------------------


def targets(results: list[Measurement]) -> list[Target]:
    """The issue's performance targets, from this run's wall times."""
    by_key = {r.key: r for r in results}
    return [
        ratio_target(
            "testlint cold CPU ≤ 0.5 x libcst.parse_module floor CPU",
            by_key,
            "cold",
            "libcst",
            0.5,
            cpu=True,
        ),
        ratio_target(
            "testlint cold ≤ 0.35 x libcst.parse_module floor (wall, quiet machine)",
            by_key,
            "cold",
            "libcst",
            0.35,
        ),
        ratio_target(
            "flake8 + flake8-pytest-style ≥ 10 x testlint cold (cold ≤ 0.1 x flake8)",
            by_key,
            "cold",
            "flake8",
            0.1,
        ),
        ratio_target("testlint warm ≤ 0.05 x cold", by_key, "warm", "cold", 0.05),
        ratio_target("testlint after touching 1 file ≤ 0.1 x cold", by_key, "touched", "cold", 0.1),
        memory_target(by_key.get("cold"), 300.0),
    ]


def ratio_target(
    label: str,
    by_key: dict[str, Measurement],
    part: str,
    whole: str,
    limit: float,
    *,
    cpu: bool = False,
) -> Target:
    a, b = by_key.get(part), by_key.get(whole)
    if a is None or b is None:
        missing = part if a is None else whole
        why = "not installed, or a generated suite without --peers-on-generated"
        return Target(label, "SKIP", f"{missing} not measured ({why})")
    failed = [m.name for m in (a, b) if not m.ok]
    if failed:
        return Target(label, "ERROR", f"{' and '.join(failed)} failed")
    a_times, b_times = (a.cpus, b.cpus) if cpu else (a.walls, b.walls)
    if len(a_times) > 1 and len(a_times) == len(b_times):
        ratios = [x / y for x, y in zip(a_times, b_times)]
        ratio = statistics.median(ratios)
        each = ", ".join(f"{r:.3f}" for r in ratios)
        detail = f"median of {len(ratios)} rounds {ratio:.3f} ({each}) (limit {limit})"
    else:
        x, y = (a.cpu, b.cpu) if cpu else (a.wall, b.wall)
        ratio = x / y
        detail = f"{x:.2f} s / {y:.2f} s = {ratio:.3f} (limit {limit})"
    status = "PASS" if ratio <= limit else "FAIL"
    return Target(label, status, detail, ratio, limit)


def memory_target(cold: Measurement | None, limit: float) -> Target:
    label = f"testlint cold peak memory < {limit:.0f} MB"
    if cold is None:
        return Target(label, "SKIP", "not run")
    if not cold.ok:
        return Target(label, "ERROR", f"{cold.name} failed")
    status = "PASS" if cold.peak_mb < limit else "FAIL"
    pss = f", PSS {cold.pss_mb:.0f} MB" if cold.pss_mb is not None else ""
    detail = f"{cold.peak_mb:.0f} MB in {cold.processes} process(es){pss}"
    return Target(label, status, detail, cold.peak_mb, limit)


def report(suite: Suite) -> None:
    by_key = {r.key: r for r in suite.results}
    floor, cold = by_key.get("libcst"), by_key.get("cold")
    header = (
        f"{'':36} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'PSS MB':>7} {'procs':>5} "
        f"{'÷ libcst':>8} {'÷ cold':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in suite.results:
        if not r.ok:
            print(f"{r.name:36} failed: {r.note}")
            continue
        pss = f"{r.pss_mb:7.1f}" if r.pss_mb is not None else f"{'-':>7}"
        spread = f"  [{min(r.walls):.2f}-{max(r.walls):.2f}]" if len(r.walls) > 1 else ""
        print(
            f"{r.name:36} {r.wall:8.2f} {r.cpu:8.2f} {r.peak_mb:8.1f} {pss} {r.processes:5} "
            f"{_ratio(r, floor):>8} {_ratio(r, cold):>7}{spread}"
            + (f"  ({r.note})" if r.note else "")
        )
    print(f"\ntouched: {suite.touched}; cache after cold: {suite.cache_mb:.2f} MB")
    print_targets(suite.targets)


def print_summary(suites: list[Suite]) -> None:
    """One line per suite: the ratios the targets are stated in."""
    header = (
        f"{'suite':44} {'files':>6} {'cold cpu':>8} {'÷ libcst':>8} {'warm÷cold':>9} "
        f"{'touch÷cold':>10} {'peak MB':>8} {'flake8÷cold':>11}"
    )
    print(header)
    print("-" * len(header))
    for suite in suites:
        by_key = {r.key: r for r in suite.results if r.ok}
        cold, floor = by_key.get("cold"), by_key.get("libcst")
        warm, touched, flake8 = by_key.get("warm"), by_key.get("touched"), by_key.get("flake8")

        def wall_ratio(top: Measurement | None, bottom: Measurement | None) -> str:
            if top is None or bottom is None or bottom.wall <= 0:
                return "-"
            return f"{top.wall / bottom.wall:.3f}"

        cpu_ratio = f"{cold.cpu / floor.cpu:.3f}" if cold and floor and floor.cpu > 0 else "-"
        print(
            f"{suite.name[:44]:44} {len(suite.files):6} {cold.cpu if cold else 0:8.2f} "
            f"{cpu_ratio:>8} {wall_ratio(warm, cold):>9} {wall_ratio(touched, cold):>10} "
            f"{cold.peak_mb if cold else 0:8.1f} {wall_ratio(flake8, cold):>11}"
        )
    print()


def profile(suite: Suite) -> None:
    """Which rules' gates let files through to a libcst parse, in this process."""
    from testlint.engine import Linter
    from testlint.files import SourcePath, discover
    from testlint.registry import RULES
    from testlint.runner import RunOptions, resolve_settings

    settings, project = resolve_settings(suite.sources, RunOptions(isolated=True))
    linter = Linter(RULES, settings, project)
    passed: Counter[str] = Counter()
    reported: Counter[str] = Counter()
    parsed = 0
    items = discover(list(suite.sources), project, settings, linter.file_kinds)
    for item in items:
        if not isinstance(item, SourcePath):
            continue
        source = item.path.read_bytes()
        rules, _ = linter.rules_for(item.path, item.kind, source.decode("utf-8", "replace"))
        if not rules:
            continue
        parsed += 1
        found = {d.code for d in linter.check(item.path, source, item.kind).diagnostics}
        passed.update(rule.code for rule in rules)
        reported.update(rule.code for rule in rules if rule.code in found)
    print(f"profile: {parsed} of {len(suite.files)} files parsed with libcst")
    for code in sorted(passed):
        print(f"  {code}: gate passed in {passed[code]} files, reported in {reported[code]}")


def gate_costs(suite: Suite) -> None:
    """CPU of each rule's gate over the suite's files, in this process, beside the
    `ast` parse they share: where a run's time goes when few files reach libcst."""
    from testlint.engine import Linter, _passes
    from testlint.files import SourcePath, discover
    from testlint.registry import RULES
    from testlint.rule import SourceFile
    from testlint.runner import RunOptions, resolve_settings

    settings, project = resolve_settings(suite.sources, RunOptions(isolated=True))
    linter = Linter(RULES, settings, project)
    cost: dict[str, float] = {}
    passed: Counter[str] = Counter()
    parse = 0.0
    for item in discover(list(suite.sources), project, settings, linter.file_kinds):
        if not isinstance(item, SourcePath):
            continue
        text = item.path.read_bytes().decode("utf-8", "replace")
        file = SourceFile(item.path, text, project, settings, None)
        started = time.process_time()
        file.scan  # noqa: B018 -- parsed here, so that no gate is charged for it
        parse += time.process_time() - started
        for rule in linter.rules:
            if item.kind not in rule.file_kinds:
                continue
            if not any(t in text for t in rule.triggers):
                continue
            started = time.process_time()
            passed[rule.code] += _passes(rule, file)
            cost[rule.code] = cost.get(rule.code, 0.0) + time.process_time() - started
    print(f"gates: ast parse and scan {parse:.3f} s CPU, gates {sum(cost.values()):.3f} s")
    for code, seconds in sorted(cost.items(), key=lambda item: -item[1]):
        print(f"  {code}: {seconds:.3f} s, passed in {passed[code]} files")


def _ratio(result: Measurement, base: Measurement | None) -> str:
    if base is None or not base.ok or base.wall <= 0:
        return "-"
    return f"{result.wall / base.wall:.2f}"


def print_targets(found: list[Target]) -> None:
    for target in found:
        print(f"{target.status:5} {target.label}: {target.detail}")


def growth_rows(suites: list[Suite]) -> list[dict[str, Any]]:
    rows = []
    for suite in suites:
        if not suite.generated:
            continue
        by_key = {r.key: r for r in suite.results}
        cold, warm, touched = by_key["cold"], by_key["warm"], by_key["touched"]
        rows.append(
            {
                "n": suite.generated,
                "files": len(suite.files),
                "cold_wall": cold.wall if cold.ok else None,
                "cold_wall_per_1k_files": cold.wall / len(suite.files) * 1000 if cold.ok else None,
                "cold_peak_mb": cold.peak_mb if cold.ok else None,
                "warm_wall": warm.wall if warm.ok else None,
                "touched_wall": touched.wall if touched.ok else None,
            }
        )
    return rows


def print_growth(rows: list[dict[str, Any]]) -> None:
    columns = [
        ("n", "N", "{:d}"),
        ("files", "files", "{:d}"),
        ("cold_wall", "cold s", "{:.2f}"),
        ("cold_wall_per_1k_files", "s / 1k files", "{:.2f}"),
        ("cold_peak_mb", "cold peak MB", "{:.0f}"),
        ("warm_wall", "warm s", "{:.2f}"),
        ("touched_wall", "touched s", "{:.2f}"),
    ]
    print("== growth (generated suites)")
    print(" ".join(f"{title:>12}" for _, title, _ in columns))
    for row in rows:
        cells = ["failed" if row[k] is None else form.format(row[k]) for k, _, form in columns]
        print(" ".join(f"{cell:>12}" for cell in cells))


def environment() -> dict[str, Any]:
    import testlint

    repo = Path(testlint.__file__).resolve().parent  # the commit of the testlint measured
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = None
    if HAS_PROC:
        memory = f"sum of the process tree's RSS, sampled every {SAMPLE_INTERVAL} s"
    else:
        memory = "wait4 ru_maxrss: the largest single process"
    return {
        "testlint": testlint.__version__,
        "bytecode": compile_bytecode(repo),
        "commit": head,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory": memory,
    }


def compile_bytecode(package: Path) -> str:
    """Write testlint's bytecode before timing it, as installing a wheel does, and
    the dataclass code it keeps beside it (`dataclass_code.py`), as its first run
    does. Without them, an environment with PYTHONDONTWRITEBYTECODE=1 (or a
    read-only checkout) compiles every testlint module and every dataclass on every
    run, which users never pay."""
    done = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)], capture_output=True
    )
    if done.returncode != 0:
        return "not compiled (compileall failed)"
    examples = package.parent.parent / "examples"  # in a checkout, as the bench is
    if not examples.is_dir():
        return "compiled (no examples/ to run: dataclass code not kept)"
    with tempfile.TemporaryDirectory() as cache:
        first_run = [sys.executable, "-m", "testlint", "--cache-dir", cache, str(examples)]
        environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        done = subprocess.run(first_run, capture_output=True, env=environ)
    if done.returncode not in (0, 1):
        return "compiled (its first run failed: dataclass code not kept)"
    return "compiled, dataclass code kept"


def write_json(
    path: Path, suites: list[Suite], rows: list[dict[str, Any]], env: dict[str, Any]
) -> None:
    def suite_data(suite: Suite) -> dict[str, Any]:
        data = dataclasses.asdict(suite)
        data["directory"] = str(suite.directory)
        data["sources"] = [str(p) for p in suite.sources]
        data["origins"] = [str(p) for p in suite.origins]
        data["files"] = len(suite.files)
        return data

    document = {"environment": env, "suites": [suite_data(s) for s in suites], "growth": rows}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"measurements written to {path}")


# -- command line -------------------------------------------------------------------------


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or list of numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be at least 1: {text!r}")
    return counts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("corpus", nargs="*", type=Path, help="test directories of real projects")
    parser.add_argument(
        "--generate",
        type=_counts,
        action="extend",
        default=[],
        metavar="N[,N...]",
        help="a synthetic project with N test modules (repeatable; a growth table follows)",
    )
    parser.add_argument(
        "--peers-on-generated",
        action="store_true",
        help="also run no-gating testlint, ruff, flake8 and Fixit on generated suites",
    )
    parser.add_argument("--skip-fixit", action="store_true", help="do not run Fixit (slow)")
    parser.add_argument(
        "--qualified-names",
        type=int,
        default=0,
        metavar="N",
        help="also time QualifiedNameProvider vs testlint's import table on N files",
    )
    parser.add_argument(
        "--flake8-gate",
        action="store_true",
        help="time the flake8 plugin on files no rule can match, against ast.parse",
    )
    parser.add_argument(
        "--each",
        action="store_true",
        help="measure each corpus as its own suite, then a table of every suite's ratios",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="per suite: the rules whose gates send files to a libcst parse, and how "
        "many of those files they then report in (a gate to sharpen when it is few)",
    )
    parser.add_argument(
        "--gates",
        action="store_true",
        help="per suite: the CPU each rule's gate takes over its files, beside the "
        "`ast` parse they share (a gate is charged for scan facts it reads first)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every measurement here")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="take every measurement N times, in interleaved rounds; report medians",
    )
    args = parser.parse_args()
    if not args.corpus and not args.generate:
        parser.error("give a corpus directory or --generate N")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    env = environment()  # before the subreaper: git's children are no command's orphans
    env["subreaper"] = become_subreaper()
    print(
        f"testlint {env['testlint']} ({env['commit']}, bytecode {env['bytecode']}), "
        f"Python {env['python']}, {env['cpus']} CPUs; memory: {env['memory']}\n"
    )
    scratch = Path(tempfile.mkdtemp(prefix="testlint-bench-")).resolve()
    suites: list[Suite] = []
    try:
        groups = [[corpus] for corpus in args.corpus] if args.each else [args.corpus]
        for group in groups if args.corpus else []:
            suites.append(corpus_suite(group, scratch))
            run_suite(suites[-1], args, scratch)
        if args.each and len(suites) > 1:
            print_summary(suites)
        for count in args.generate:
            suites.append(generate(count, scratch))
            run_suite(suites[-1], args, scratch)
            shutil.rmtree(suites[-1].directory, ignore_errors=True)
        rows = growth_rows(suites)
        if rows:
            print_growth(rows)
        if args.json:
            write_json(args.json, suites, rows, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
