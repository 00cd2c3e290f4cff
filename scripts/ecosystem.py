"""The ecosystem check: testlint on pinned public pytest suites, judged finding by finding.

    python scripts/ecosystem.py                  # this checkout on every suite
    python scripts/ecosystem.py --base main~3    # and the difference from another revision
    python scripts/ecosystem.py --suite pypa/pip --suite celery/celery
    python scripts/ecosystem.py --check          # exit 1 if a finding has no verdict

Suites are listed in `scripts/ecosystem/suites.toml`, each pinned to a commit, with the
folders to check and how its CI runs pytest. Their code is never committed: each is read
from a bare git mirror (`MIRRORS/owner+name/repo`, as the search tool's `fetch` lays them
out, or `git clone --bare URL owner+name/repo`) and unpacked once, at the pinned commit,
into a cache outside the repository (`--cache`, default ~/.cache/testlint-ecosystem).

testlint runs on each suite without its cache, as its CLI would from the suite's root.
Printed per suite: files checked, seconds, findings per rule, and with `--base` the
findings added and removed, like ruff's ecosystem comment. Then precision per rule from
`scripts/ecosystem/verdicts.csv` (a verdict for every finding, read in the code: `true`,
`false`, or `miss` for a site testlint should report and does not), the findings that
have no verdict, and the judged true findings that a run no longer reports.

`--json FILE` writes every finding of the head run, for helpers that judge them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
SUITES = HERE / "ecosystem" / "suites.toml"
VERDICTS = HERE / "ecosystem" / "verdicts.csv"
VERDICT_FIELDS = ("repo", "commit", "path", "line", "code", "verdict", "reason")
VERDICT_VALUES = ("true", "false", "miss")
DEFAULT_MIRRORS = Path(os.environ.get("TESTLINT_ECOSYSTEM_MIRRORS", "/work/.mirror"))
DEFAULT_CACHE = Path(
    os.environ.get("TESTLINT_ECOSYSTEM_CACHE", Path.home() / ".cache" / "testlint-ecosystem")
)

# Runs testlint's engine the way `testlint check --no-cache` does and prints what the
# report needs, including how many files were checked (the CLI's text output has no
# such count). Run with PYTHONPATH pointing at the revision's `src`.
DRIVER = r"""
import json, sys
from pathlib import Path
from testlint.runner import RunOptions, run
from testlint.locate import ConfigError
try:
    result = run([Path(p) for p in sys.argv[1:]], RunOptions(cache=False))
except ConfigError as exc:
    print(json.dumps({"files": 0, "findings": [], "errors": [str(exc)]}))
    sys.exit(0)
findings = [
    [str(d.path), d.start.line, d.start.column, d.code, d.message,
     None if d.fix_applicability is None else d.fix_applicability.value]
    for d in result.diagnostics
]
print(json.dumps({"files": len(result.files), "findings": findings,
                  "errors": result.errors + result.warnings}))
"""


@dataclass(frozen=True)
class Suite:
    repo: str
    commit: str
    paths: tuple[str, ...]
    ci: str
    kind: str

    label: str = ""
    """How the run names it: the repo, or repo@commit when the list pins the repo
    at several commits (a historical pin: the commit before a project's own fix)."""

    @property
    def slug(self) -> str:
        return self.repo.replace("/", "+")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    code: str
    message: str
    fix: str | None

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.code)


@dataclass
class Outcome:
    files: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Key = tuple[str, str, str, int, str]
"""repo, commit, path, line, code: what a verdict is about."""


@dataclass(frozen=True)
class Verdict:
    repo: str
    commit: str
    path: str
    line: int
    code: str
    verdict: str
    reason: str

    @property
    def key(self) -> Key:
        return (self.repo, self.commit, self.path, self.line, self.code)


def load_suites(path: Path = SUITES) -> list[Suite]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    suites = [
        Suite(s["repo"], s["commit"], tuple(s["paths"]), s.get("ci", ""), s.get("kind", ""))
        for s in data["suite"]
    ]
    pins = [(suite.repo, suite.commit) for suite in suites]
    duplicates = sorted({f"{r}@{c}" for r, c in pins if pins.count((r, c)) > 1})
    if duplicates:
        raise SystemExit(f"suites listed twice: {', '.join(duplicates)}")
    repos = [suite.repo for suite in suites]
    return [
        replace(
            suite,
            label=suite.repo
            if repos.count(suite.repo) == 1
            else f"{suite.repo}@{suite.commit[:12]}",
        )
        for suite in suites
    ]


def load_verdicts(path: Path = VERDICTS) -> list[Verdict]:
    if not path.exists():
        return []
    verdicts = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            if row["verdict"] not in VERDICT_VALUES:
                raise SystemExit(f"{path}:{number}: verdict must be one of {VERDICT_VALUES}")
            if not row["reason"].strip():
                raise SystemExit(f"{path}:{number}: a verdict needs a reason")
            verdicts.append(
                Verdict(
                    row["repo"],
                    row["commit"],
                    row["path"],
                    int(row["line"]),
                    row["code"],
                    row["verdict"],
                    row["reason"],
                )
            )
    return verdicts


def materialise(suite: Suite, mirrors: Path, cache: Path) -> Path | None:
    """The suite's tree at its pinned commit, unpacked once into the cache. Blobs a
    mirror lacks (snapshots leave out very large files) are skipped."""
    target = cache / f"{suite.slug}-{suite.commit[:12]}"
    if (target / ".ecosystem-complete").exists():
        (target / ".git").mkdir(exist_ok=True)
        return target
    mirror = mirrors / suite.slug / "repo"
    if not mirror.is_dir():
        return None
    git = ["git", "--git-dir", str(mirror)]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", suite.commit], capture_output=True, check=False
    )
    if listing.returncode != 0:
        return None
    entries: list[tuple[str, str, str]] = []  # (mode, object, path)
    for item in listing.stdout.split(b"\0"):
        if item:
            meta, _, name = item.partition(b"\t")
            mode, kind, obj = meta.decode().split()
            if kind == "blob":
                entries.append((mode, obj, os.fsdecode(name)))
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    batch = subprocess.Popen(
        [*git, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert batch.stdin is not None
    assert batch.stdout is not None
    for mode, obj, relative in entries:
        batch.stdin.write(obj.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if header[-1] == b"missing":
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)  # the newline after each object
        path = target / relative
        if ".." in Path(relative).parts:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            path.symlink_to(os.fsdecode(data))
        else:
            path.write_bytes(data)
    batch.stdin.close()
    batch.wait()
    # A checkout has `.git` at its top: where testlint looks for CI workflows of a
    # sub-project's suite. An empty one marks it here.
    (target / ".git").mkdir(exist_ok=True)
    (target / ".ecosystem-complete").write_text(suite.commit, encoding="utf-8")
    return target


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    if sys.version_info >= (3, 12):
        tar.extractall(target, filter="data")
    else:  # pragma: no cover
        tar.extractall(target)


def revision_source(revision: str, into: Path) -> Path:
    """testlint's `src` at `revision` of this checkout, unpacked into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(CHECKOUT), "archive", "--format=tar", revision, "src"],
        capture_output=True,
        check=True,
    )
    with tempfile.TemporaryFile() as buffer:
        buffer.write(archive.stdout)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            _extract(tar, into)
    return into / "src"


def run_testlint(source: Path, root: Path, paths: Sequence[str]) -> Outcome:
    existing = [path for path in paths if (root / path).exists()]
    if not existing:
        return Outcome(errors=[f"none of {list(paths)} exists"])
    env = dict(os.environ, PYTHONPATH=str(source))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *existing],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(seconds=seconds, errors=[f"testlint failed ({done.returncode}): {tail}"])
    data = json.loads(done.stdout)
    findings = [Finding(*item) for item in data["findings"]]
    return Outcome(data["files"], seconds, findings, data["errors"])


def _by_rule(findings: Iterable[Finding]) -> str:
    counts = Counter(finding.code for finding in findings)
    return " ".join(f"{code}:{count}" for code, count in sorted(counts.items())) or "-"


def _show(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code} {finding.message}"


def precision_table(
    verdicts: Sequence[Verdict], reported: set[tuple[str, str, str, int, str]]
) -> list[str]:
    """Precision per rule over the judged findings a run reported; recall over
    those plus the real sites it did not report (misses, and true findings an
    earlier revision reported). A reported `miss` site counts as true."""
    true: Counter[str] = Counter()
    false: Counter[str] = Counter()
    miss: Counter[str] = Counter()
    for verdict in verdicts:
        if verdict.key in reported:
            (false if verdict.verdict == "false" else true)[verdict.code] += 1
        elif verdict.verdict != "false":
            miss[verdict.code] += 1
    lines = ["rule   judged  true  false  precision  misses  recall"]
    for code in sorted(set(true) | set(false) | set(miss)):
        judged = true[code] + false[code]
        precision = f"{true[code] / judged:.3f}" if judged else "-"
        found = true[code] + miss[code]
        recall = f"{true[code] / found:.3f}" if found else "-"
        lines.append(
            f"{code}  {judged:>6}  {true[code]:>4}  {false[code]:>5}  {precision:>9}  "
            f"{miss[code]:>6}  {recall:>6}"
        )
    judged = sum(true.values()) + sum(false.values())
    if judged:
        found = sum(true.values()) + sum(miss.values())
        lines.append(
            f"all    {judged:>6}  {sum(true.values()):>4}  {sum(false.values()):>5}  "
            f"{sum(true.values()) / judged:>9.3f}  {sum(miss.values()):>6}  "
            f"{sum(true.values()) / found:>6.3f}"
        )
    return lines


def _reported(
    suites: Sequence[Suite], outcomes: dict[str, Outcome], judged: dict[Key, Verdict]
) -> tuple[set[Key], list[tuple[Suite, Finding]]]:
    """The verdict keys of a run's findings, and its findings with no verdict."""
    reported: set[Key] = set()
    unjudged: list[tuple[Suite, Finding]] = []
    for suite in suites:
        for finding in outcomes.get(suite.label, Outcome()).findings:
            key = (suite.repo, suite.commit, finding.path, finding.line, finding.code)
            reported.add(key)
            if key not in judged:
                unjudged.append((suite, finding))
    return reported, unjudged


def _print_difference(base: Outcome, head: Outcome) -> None:
    before = {finding.key: finding for finding in base.findings}
    after = {finding.key: finding for finding in head.findings}
    if base.files != head.files:
        print(f"  files checked: {base.files} -> {head.files}")
    for key in sorted(after.keys() - before.keys()):
        print(f"  + {_show(after[key])}")
    for key in sorted(before.keys() - after.keys()):
        print(f"  - {_show(before[key])}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="also run this revision of testlint and show the diff")
    parser.add_argument("--suite", action="append", default=[], help="only these repos")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="write the head run's findings here")
    parser.add_argument("--check", action="store_true", help="exit 1 on an unjudged finding")
    args = parser.parse_args(argv)

    suites = load_suites()
    if args.suite:
        names = {suite.repo for suite in suites} | {suite.label for suite in suites}
        unknown = set(args.suite) - names
        if unknown:
            parser.error(f"not on the list: {', '.join(sorted(unknown))}")
        suites = [s for s in suites if s.repo in args.suite or s.label in args.suite]
    verdicts = load_verdicts()
    judged = {verdict.key: verdict for verdict in verdicts}
    head_source = CHECKOUT / "src"

    heads: dict[str, Outcome] = {}
    bases: dict[str, Outcome] = {}
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="testlint-base-") as scratch:
        base_source = revision_source(args.base, Path(scratch)) if args.base else None
        for suite in suites:
            root = materialise(suite, args.mirrors, args.cache)
            if root is None:
                missing.append(suite.label)
                print(f"{suite.label}: not available (no mirror at the pinned commit)")
                continue
            head = heads[suite.label] = run_testlint(head_source, root, suite.paths)
            print(
                f"{suite.label}: {head.files} files, {head.seconds:.1f} s, "
                f"{len(head.findings)} findings ({_by_rule(head.findings)})"
            )
            for error in head.errors:
                print(f"  error: {error}")
            if base_source is not None:
                base = bases[suite.label] = run_testlint(base_source, root, suite.paths)
                _print_difference(base, head)

    reported, unjudged = _reported(suites, heads, judged)
    listed = {(suite.repo, suite.commit) for suite in suites if suite.label in heads}
    verdicts = [verdict for verdict in verdicts if (verdict.repo, verdict.commit) in listed]
    lost = [
        verdict
        for verdict in verdicts
        if verdict.verdict == "true"
        and (verdict.repo, verdict.commit) in listed
        and verdict.key not in reported
    ]
    total_files = sum(outcome.files for outcome in heads.values())
    total_findings = sum(len(outcome.findings) for outcome in heads.values())
    print(f"\n{len(heads)} suites, {total_files} files, {total_findings} findings")
    if args.base:
        base_reported, base_unjudged = _reported(suites, bases, judged)
        print(f"\nbase {args.base}:")
        print("\n".join(precision_table(verdicts, base_reported)))
        if base_unjudged:
            print(f"({len(base_unjudged)} base findings have no verdict)")
        print("\nhead:")
    print("\n".join(precision_table(verdicts, reported)))
    if lost:
        print(f"\njudged true but no longer reported ({len(lost)}): record them as misses")
        for verdict in lost:
            print(f"  {verdict.repo} {verdict.path}:{verdict.line}: {verdict.code}")
    if unjudged:
        print(f"\nno verdict yet ({len(unjudged)}):")
        for suite, finding in unjudged:
            print(f"  {suite.label} {_show(finding)}")
    if missing:
        print(f"\nnot available: {', '.join(missing)}")
    if args.json:
        rows = [
            {"repo": suite.repo, "commit": suite.commit, "root": str(args.cache), **vars(f)}
            for suite in suites
            for f in heads.get(suite.label, Outcome()).findings
        ]
        if bases:
            rows += [
                {"repo": suite.repo, "commit": suite.commit, "base": True, **vars(f)}
                for suite in suites
                for f in bases.get(suite.label, Outcome()).findings
            ]
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 1 if args.check and (unjudged or lost) else 0


if __name__ == "__main__":
    sys.exit(main())
