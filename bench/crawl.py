"""Crawl real code through testlint's engine and count what goes wrong: it must never crash.

    python bench/crawl.py                       # the running interpreter's site-packages
    python bench/crawl.py DIR [DIR ...]         # every .py file under these roots
    python bench/crawl.py DIR --jobs 2 --chunk 40 --timeout 900 --failures 50

Every `.py` file under the roots is read and checked twice, as a test module and as a
conftest, with every rule enabled, gating off (so every file is parsed and every rule
visits it) and unsafe fixes applied in memory. Nothing is ever written.

Files are checked in worker processes, a chunk of files each, every file inside its
own `try`: an exception is a crash of that file, and a worker that dies (a segfault in
libcst's native parser) or runs past `--timeout` is a crash of the file it was on; the
rest of its chunk goes to a new worker.

Printed at the end:

- files checked, and the time taken;
- parse failures (TL001), by cause: syntax error (CPython refuses the file too), syntax
  that CPython parses but libcst cannot, decoding, too deeply nested;
- crashes, with the files: must be 0;
- fixes applied, and fix outputs that do not re-parse (libcst, and CPython when CPython
  parsed the input) or that a second fix changes again: both must be 0;
- fixes refused by the engine as a testlint bug, and the slowest files.

The exit code is 1 if there was any crash or bad fix, else 0.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", "node_modules"}
BUG = "this is a testlint bug"


# ------------------------------------------------------------------ worker


def _tl001_cause(message: str) -> str:
    if "libcst cannot parse" in message:
        return "valid Python that libcst cannot parse"
    if "decode" in message or "NUL byte" in message:
        return "cannot decode"
    if "nested" in message or "cannot parse it either" in message:
        return "too deeply nested"
    return "syntax error"


def _check_file(linters: dict[Path, Any], path: Path) -> dict[str, Any]:
    import libcst as cst

    from testlint.diagnostics import Applicability
    from testlint.engine import Linter
    from testlint.project import Project
    from testlint.registry import RULES
    from testlint.rule import FileKind
    from testlint.settings import load_settings
    from testlint.source import python_parses

    record: dict[str, Any] = {"path": str(path), "problems": [], "fixes": 0, "tl001": None}
    started = time.perf_counter()
    try:
        source = path.read_bytes()
    except OSError as exc:
        record["unreadable"] = exc.strerror
        return record
    root = path.parent
    linter = linters.get(root)
    if linter is None:
        settings = load_settings(None, RULES, root)
        linter = Linter(RULES, settings, Project(root), gating=False)
        linters.clear()  # one directory at a time: the project model caches per tree
        linters[root] = linter
    parses = None
    for kind in (FileKind.TEST, FileKind.CONFTEST):
        where = kind.name.lower()
        try:
            result = linter.check(path, source, kind, fix=Applicability.UNSAFE)
            tl001 = [d for d in result.diagnostics if d.code == "TL001"]
            if tl001 and record["tl001"] is None:
                record["tl001"] = _tl001_cause(tl001[0].message)
                record["tl001_message"] = tl001[0].message
            for error in result.errors:
                kind_of = "refused fix" if BUG in error else "warning"
                record["problems"].append([kind_of, where, error])
            if result.fixed is None:
                continue
            record["fixes"] += result.fixes_applied
            try:
                cst.parse_module(result.fixed)
                if parses is None:
                    parses = python_parses(source)
                if parses:
                    ast.parse(result.fixed)
            except Exception as exc:
                record["problems"].append(["bad fix", where, f"does not re-parse: {exc!r}"])
                continue
            again = linter.check(path, result.fixed, kind, fix=Applicability.UNSAFE)
            if again.fixed is not None:
                record["problems"].append(["bad fix", where, "a second fix changed it again"])
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where_in_code = f"{Path(frame.filename).name}:{frame.lineno}"
            message = f"{type(exc).__name__}: {exc} (at {where_in_code})"
            record["problems"].append(["crash", where, message[:500]])
    record["seconds"] = time.perf_counter() - started
    return record


def worker(listing: Path) -> None:
    """Check the files listed in `listing`, one JSON line each on stdout."""
    from testlint.workers import with_deep_stack

    paths = [Path(line) for line in listing.read_text(encoding="utf-8").splitlines() if line]

    def work() -> None:
        linters: dict[Path, Any] = {}
        for path in paths:
            print(json.dumps({"start": str(path)}), flush=True)
            print(json.dumps(_check_file(linters, path)), flush=True)

    with_deep_stack(work)


# ------------------------------------------------------------------ parent


@dataclass
class Totals:
    files: int = 0
    unreadable: int = 0
    fixes: int = 0
    fixed_files: list[str] = field(default_factory=list)
    tl001: Counter[str] = field(default_factory=Counter)
    tl001_examples: dict[str, list[str]] = field(default_factory=dict)
    crashes: list[str] = field(default_factory=list)
    bad_fixes: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def add(self, record: dict[str, Any]) -> None:
        self.files += 1
        path = record["path"]
        if "unreadable" in record:
            self.unreadable += 1
            return
        if record["tl001"]:
            self.tl001[record["tl001"]] += 1
            examples = self.tl001_examples.setdefault(record["tl001"], [])
            examples.append(f"{path}: {record.get('tl001_message', '')}")
        if record["fixes"]:
            self.fixes += record["fixes"]
            self.fixed_files.append(path)
        for what, kind, message in record["problems"]:
            line = f"{path} [{kind}]: {message}"
            {
                "crash": self.crashes,
                "bad fix": self.bad_fixes,
                "refused fix": self.refused,
                "warning": self.warnings,
            }[what].append(line)
        self.slowest.append((record.get("seconds", 0.0), path))
        self.slowest = sorted(self.slowest, reverse=True)[:5]


def python_files(roots: list[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
            continue
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            for name in sorted(filenames):
                path = Path(directory, name)
                if name.endswith(".py") and path.is_file():
                    yield path


def run_chunk(chunk: list[Path], timeout: float, totals: Totals) -> None:
    """Check `chunk` in worker processes until every file has a record."""
    remaining = list(chunk)
    while remaining:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
            listing.write("\n".join(str(p) for p in remaining))
        current: str | None = None
        done: set[str] = set()
        try:
            process = subprocess.run(
                [sys.executable, __file__, "--worker", listing.name],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            output, died = process.stdout, process.returncode != 0
            reason = f"worker exited {process.returncode}: {process.stderr.strip()[-300:]}"
        except subprocess.TimeoutExpired as exc:
            raw = exc.stdout or ""
            output = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            died, reason = True, f"timed out after {timeout:.0f} s"
        finally:
            os.unlink(listing.name)
        for line in output.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "start" in record:
                current = record["start"]
                continue
            done.add(record["path"])
            totals.add(record)
            current = None
        if died and current is not None:
            totals.files += 1
            totals.crashes.append(f"{current} [worker]: {reason}")
            done.add(current)
        elif died:
            totals.crashes.append(f"(chunk starting at {remaining[0]}) [worker]: {reason}")
            return
        remaining = [p for p in remaining if str(p) not in done]


def report(totals: Totals, seconds: float, failures: int) -> None:
    def listing(title: str, lines: list[str]) -> None:
        print(f"{title}: {len(lines)}")
        for line in lines[:failures]:
            print(f"    {line}")
        if len(lines) > failures:
            print(f"    ... and {len(lines) - failures} more")

    print(f"files checked: {totals.files} (unreadable: {totals.unreadable})")
    print(f"parse failures (TL001): {sum(totals.tl001.values())}")
    for cause, count in totals.tl001.most_common():
        print(f"    {count:6d}  {cause}")
        for example in totals.tl001_examples[cause][:3]:
            print(f"            e.g. {example[:200]}")
    listing("crashes", totals.crashes)
    listing(f"fixes applied: {totals.fixes}, files fixed", totals.fixed_files)
    listing("fix outputs that do not re-parse or are not idempotent", totals.bad_fixes)
    listing("fixes refused by the engine as a testlint bug", totals.refused)
    listing("other warnings", totals.warnings)
    print("slowest files:")
    for spent, path in totals.slowest:
        print(f"    {spent:7.2f} s  {path}")
    print(f"total time: {seconds:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, help="default: site-packages")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--chunk", type=int, default=40, help="files per worker process")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per chunk")
    parser.add_argument("--failures", type=int, default=30, help="how many of each to list")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker)
        return 0
    roots = args.roots or [Path(sysconfig.get_paths()["purelib"])]
    files = list(python_files(roots))
    print(f"crawling {len(files)} files under {', '.join(map(str, roots))}", flush=True)
    chunks = [files[i : i + args.chunk] for i in range(0, len(files), args.chunk)]
    totals = Totals()
    started = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # Each thread only waits on its worker process; Totals is updated under the GIL
        # one record at a time.
        for done, _ in enumerate(
            pool.map(lambda chunk: run_chunk(chunk, args.timeout, totals), chunks), 1
        ):
            elapsed = time.perf_counter() - started
            print(f"  {done}/{len(chunks)} chunks, {elapsed:.0f} s", file=sys.stderr, flush=True)
    report(totals, time.perf_counter() - started, args.failures)
    return 1 if totals.crashes or totals.bad_fixes else 0


if __name__ == "__main__":
    sys.exit(main())
