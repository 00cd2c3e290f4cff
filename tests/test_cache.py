"""The on-disk cache and the worker pool: same answers as a fresh serial run, and
entries invalidated by every change a result depends on."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cli_runner import make_runner, write
from testlint import cache, engine, index, module_info, runner, workers
from testlint.cli import main
from testlint.engine import Linter
from testlint.files import SourcePath
from testlint.module_info import ModuleInfo
from testlint.registry import RULES
from testlint.rule import FileKind
from testlint.runner import RunOptions, RunResult, resolve_settings, run

PAYMENTS = "def charge(amount):\n    return amount\n"
ORDERS_BY_VALUE = (
    "from shop.payments import charge\n\n\ndef checkout(total):\n    return charge(total)\n"
)
ORDERS_BY_MODULE = (
    "from shop import payments\n\n\ndef checkout(total):\n    return payments.charge(total)\n"
)
TEST_ORDERS = """\
from unittest import mock

from shop import orders


def test_checkout():
    with mock.patch("shop.payments.charge") as charge:
        orders.checkout(3)
    charge.assert_called_once()
"""


def shop(root: Path) -> Path:
    write(root, "pyproject.toml", "[project]\nname = 'shop'\n")
    write(root, "src/shop/__init__.py", "")
    write(root, "src/shop/payments.py", PAYMENTS)
    write(root, "src/shop/orders.py", ORDERS_BY_VALUE)
    write(root, "tests/test_orders.py", TEST_ORDERS)
    return root


def lint(root: Path, **options: object) -> RunResult:
    settings = {"cache": True, "cache_dir": root / "cache", **options}
    return run([root / "tests"], RunOptions(**settings))  # type: ignore[arg-type]


def codes(result: RunResult) -> list[tuple[str, str, int]]:
    return [(d.path.name, d.code, d.start.line) for d in result.diagnostics]


def environment(root: Path) -> str:
    """The digest of the environment of the project at `root`, as a run makes it."""
    settings, project = resolve_settings([root], RunOptions())
    return cache.environment_digest(project, settings, cache.Cache(root / "cache", root))


@pytest.fixture
def no_linting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any file actually linted from here on fails the test."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("linted a file the cache should have answered")

    monkeypatch.setattr(engine.Linter, "check", fail)


def test_a_warm_run_answers_from_the_cache(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop(tmp_path)
    cold = lint(tmp_path)
    assert codes(cold) == [("test_orders.py", "TL401", 7)]
    request.getfixturevalue("no_linting")
    warm = lint(tmp_path)
    assert codes(warm) == codes(cold)
    assert [d.message for d in warm.diagnostics] == [d.message for d in cold.diagnostics]
    assert warm.diagnostics[0].fix_applicability == cold.diagnostics[0].fix_applicability


def test_touching_a_file_without_changing_it_keeps_its_entry(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shop(tmp_path)
    lint(tmp_path)
    test = tmp_path / "tests/test_orders.py"
    os.utime(test, ns=(1, 1))  # new stat, same content: re-hashed, still a hit
    request.getfixturevalue("no_linting")
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]


def test_a_change_to_a_module_under_test_invalidates_the_patch_rules(tmp_path: Path) -> None:
    shop(tmp_path)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    write(tmp_path, "src/shop/orders.py", ORDERS_BY_MODULE)
    assert codes(lint(tmp_path)) == []
    write(tmp_path, "src/shop/orders.py", ORDERS_BY_VALUE)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]


def test_a_module_that_starts_exiting_is_seen_by_tl103(tmp_path: Path) -> None:
    shop(tmp_path)
    write(tmp_path, "tests/test_tool.py", "from shop import tool\n\n\ndef test_x():\n    pass\n")
    write(tmp_path, "src/shop/tool.py", "import sys\n")
    assert "TL103" not in {c for _, c, _ in codes(lint(tmp_path))}
    write(tmp_path, "src/shop/tool.py", "import sys\n\nsys.exit(0)\n")
    assert ("test_tool.py", "TL103", 1) in codes(lint(tmp_path))


def test_exit_lines_remembered_by_the_cache_are_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop(tmp_path)
    write(tmp_path, "tests/test_tool.py", "from shop import tool\n\n\ndef test_x():\n    pass\n")
    write(tmp_path, "src/shop/tool.py", "import sys\n\nsys.exit(0)\n")
    assert ("test_tool.py", "TL103", 1) in codes(lint(tmp_path))
    # The next run (a new Project, so nothing remembered in memory) reads the cache.
    parsed: list[str] = []
    real = module_info.read_module

    def counting(name: str, path: Path, data: bytes) -> ModuleInfo | None:
        parsed.append(name)
        return real(name, path, data)

    monkeypatch.setattr(index, "read_module", counting)
    write(tmp_path, "tests/test_tool.py", "from shop import tool\n\n\ndef test_y():\n    pass\n")
    assert ("test_tool.py", "TL103", 1) in codes(lint(tmp_path))
    assert "shop.tool" not in parsed


def test_a_new_scope_forgets_what_was_derived_from_contents(tmp_path: Path) -> None:
    store = cache.Cache(tmp_path, tmp_path, scope="old", tokens={"a": "mark.x"}, exits={"b": 3})
    store.enter("old")
    assert store.exits == {"b": 3}
    store.enter("new")
    assert (store.entries, store.tokens, store.exits) == ({}, {}, {})


def test_another_test_module_changing_the_suite_facts_invalidates(tmp_path: Path) -> None:
    """pytest-asyncio counts as used when the suite marks a test `asyncio`: then an
    unmarked async test in another file is reported."""
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path, "tests/test_a.py", "async def test_a():\n    pass\n")
    write(tmp_path, "tests/test_b.py", "def test_b():\n    pass\n")
    assert codes(lint(tmp_path)) == []
    write(
        tmp_path,
        "tests/test_b.py",
        "import pytest\n\n\n@pytest.mark.asyncio\nasync def test_b():\n    pass\n",
    )
    assert ("test_a.py", "TL302", 1) in codes(lint(tmp_path))


def test_a_change_to_configuration_invalidates(tmp_path: Path) -> None:
    shop(tmp_path)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    write(
        tmp_path,
        "pyproject.toml",
        "[project]\nname = 'shop'\n[tool.testlint]\nignore = ['TL401']\n",
    )
    assert codes(lint(tmp_path)) == []


def test_a_conftest_change_invalidates(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path, "tests/test_a.py", "async def test_a():\n    pass\n")
    assert codes(lint(tmp_path)) == []
    write(tmp_path, "tests/conftest.py", "pytest_plugins = ['pytest_asyncio']\n")
    assert ("test_a.py", "TL302", 1) in codes(lint(tmp_path))


def test_fix_still_fixes_a_file_answered_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    test = write(tmp_path, "tests/test_skip.py", "import pytest\n\npytest.skip('no')\n")
    assert codes(lint(tmp_path)) == [("test_skip.py", "TL102", 3)]
    fixed = lint(tmp_path, fix=True)
    assert fixed.fixes_applied == 1
    assert "allow_module_level=True" in test.read_text()
    assert codes(lint(tmp_path)) == []


def test_a_broken_cache_file_is_ignored(tmp_path: Path) -> None:
    shop(tmp_path)
    lint(tmp_path)
    (stored,) = (tmp_path / "cache").glob("v*/*.json")
    stored.write_text("{not json")
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    stored.write_text(json.dumps({"scope": 1, "entries": [], "stats": "x"}))
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]


def _first_finding(stored: dict[str, Any]) -> dict[str, Any]:
    entry = next(e for e in stored["entries"].values() if e["d"])
    finding: dict[str, Any] = entry["d"][0]
    return finding


def _test_stat(stored: dict[str, Any]) -> str:
    return next(str(name) for name in stored["stats"] if name.endswith("test_orders.py"))


BROKEN: dict[str, Callable[[dict[str, Any]], object]] = {
    "a finding is an empty object": lambda c: _first_finding(c).clear(),
    "a finding is a number": lambda c: next(iter(c["entries"].values()))["d"].append(1),
    "the findings are a string": lambda c: next(iter(c["entries"].values())).update(d="x"),
    "a position is text": lambda c: _first_finding(c).update(start=["a", "b"]),
    "an unknown fix grade": lambda c: _first_finding(c).update(fix="bogus"),
    "a short edit": lambda c: _first_finding(c).update(edits=[[1]]),
    "the groups are a list": lambda c: next(iter(c["entries"].values())).update(g=[1]),
    "a stat is a number": lambda c: c["stats"].update({_test_stat(c): 5}),
    "a stat is too short": lambda c: c["stats"].update({_test_stat(c): [1, "x"]}),
    "the stats are a list": lambda c: c.update(stats=[]),
    "the tokens are a list": lambda c: c.update(tokens=[1]),
    "a token is a number": lambda c: c["tokens"].update({"x": 3}),
    "an exit line is text": lambda c: c["exits"].update({"x": "y"}),
    "the entries are a list": lambda c: c.update(entries=[1]),
    "the scope is a number": lambda c: c.update(scope=3),
    "no entries": lambda c: c.pop("entries"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
@pytest.mark.parametrize("options", [{}, {"with_edits": True}, {"diff": True}])
def test_a_cache_file_of_valid_json_but_not_a_cache_is_as_none(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
    options: dict[str, bool],
) -> None:
    """Written by another tool, a bug, a disk error: no traceback, the same answer as
    without it, and a sound cache in its place for the next run."""
    monkeypatch.setattr(cache, "RACY_NS", -(10**15), raising=False)  # remember new files
    shop(tmp_path)
    write(tmp_path, "tests/test_skip.py", "import pytest\n\npytest.skip('no')\n")
    expected = codes(lint(tmp_path, **options))
    lint(tmp_path, **options)  # the linted files hashed too
    (stored,) = (tmp_path / "cache").glob("v*/*.json")
    content = json.loads(stored.read_text())
    BROKEN[broken](content)
    stored.write_text(json.dumps(content))
    assert codes(lint(tmp_path, **options)) == expected
    if not options.get("diff"):  # entries with fixes are never used to fix
        request.getfixturevalue("no_linting")
        assert codes(lint(tmp_path, **options)) == expected


def test_json_nested_too_deep_to_read_is_as_no_cache(tmp_path: Path) -> None:
    shop(tmp_path)
    lint(tmp_path)
    (stored,) = (tmp_path / "cache").glob("v*/*.json")
    stored.write_text("[" * 100_000 + "]" * 100_000)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]


@pytest.mark.parametrize("kind", ["symbolic link loop", "a file", "a dangling link"])
def test_a_cache_directory_that_cannot_be_one_is_as_no_cache(tmp_path: Path, kind: str) -> None:
    shop(tmp_path)
    directory = tmp_path / ".testlint_cache"
    if kind == "symbolic link loop":
        directory.symlink_to(tmp_path / "loop")
        (tmp_path / "loop").symlink_to(directory)
    elif kind == "a file":
        directory.write_text("not a directory\n")
    else:
        directory.symlink_to(tmp_path / "nowhere")
    for _ in range(2):
        result = make_runner().invoke(main, ["check", str(tmp_path / "tests")])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.exit_code == 1, result.output
        assert "TL401" in result.output
        assert "Traceback" not in result.stderr


def test_a_cache_file_that_cannot_be_read_is_as_none(tmp_path: Path) -> None:
    shop(tmp_path)
    lint(tmp_path)
    (stored,) = (tmp_path / "cache").glob("v*/*.json")
    stored.unlink()
    stored.mkdir()  # a directory where the file should be: nothing can read or replace it
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    stored.rmdir()
    stored.write_text("{}")
    stored.chmod(0)
    try:
        assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    finally:
        stored.chmod(0o600)


def test_the_default_cache_is_under_the_project_root_and_ignores_itself(tmp_path: Path) -> None:
    shop(tmp_path)
    result = make_runner().invoke(main, ["check", str(tmp_path / "tests")])
    assert result.exit_code == 1, result.output
    cache = tmp_path / ".testlint_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert list(cache.glob("v*/*.json"))


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    shop(tmp_path)
    result = make_runner().invoke(main, ["check", "--no-cache", str(tmp_path / "tests")])
    assert result.exit_code == 1, result.output
    assert not (tmp_path / ".testlint_cache").exists()


def test_cache_dir_from_configuration(tmp_path: Path) -> None:
    shop(tmp_path)
    write(
        tmp_path, "pyproject.toml", "[project]\nname = 'shop'\n[tool.testlint]\ncache-dir = 'c'\n"
    )
    result = make_runner().invoke(main, ["check", str(tmp_path / "tests")])
    assert result.exit_code == 1, result.output
    assert list((tmp_path / "c").glob("v*/*.json"))
    assert not (tmp_path / ".testlint_cache").exists()


def test_no_progress_bar_when_not_on_a_terminal(tmp_path: Path) -> None:
    shop(tmp_path)
    result = make_runner().invoke(main, ["check", str(tmp_path / "tests")])
    assert "\r" not in result.stderr
    assert "files" not in result.stderr


def test_workers_give_the_same_answers_as_one_process(tmp_path: Path) -> None:
    shop(tmp_path)
    for n in range(40):
        body = TEST_ORDERS if n % 3 == 0 else "import sys\n\nsys.exit(1)\n"
        write(tmp_path, f"tests/test_many_{n}.py", body)
    serial = run([tmp_path / "tests"], RunOptions(jobs=1))
    parallel = run([tmp_path / "tests"], RunOptions(jobs=2))
    assert len(serial.diagnostics) == 41
    assert codes(parallel) == codes(serial)
    assert [d.message for d in parallel.diagnostics] == [d.message for d in serial.diagnostics]


def test_a_run_without_jobs_lints_its_first_files_here_then_starts_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `--jobs`, the first files are linted in this process (the workers
    inherit what they taught the project model), then workers take the rest; a
    short run starts none. The answers are those of one process either way."""
    shop(tmp_path)
    for n in range(40):
        body = TEST_ORDERS if n % 3 == 0 else "import sys\n\nsys.exit(1)\n"
        write(tmp_path, f"tests/test_many_{n}.py", body)
    serial = run([tmp_path / "tests"], RunOptions(jobs=1))
    handed: list[int] = []
    real = workers.in_workers

    def spy(sizes: list[int], *args: Any) -> Any:
        handed.append(len(sizes))
        return real(sizes, *args)

    monkeypatch.setattr(runner, "in_workers", spy)
    monkeypatch.setattr(runner, "_jobs", lambda options, files: 2)
    short = run([tmp_path / "tests"], RunOptions())
    assert handed == []  # the whole run took less than SERIAL_HEAD_SECONDS
    monkeypatch.setattr(runner, "SERIAL_HEAD_SECONDS", 0.0)
    split = run([tmp_path / "tests"], RunOptions())
    assert handed == [40]  # one file linted here, then workers for the other 40
    for result in (short, split):
        assert [(d.path, d.start, d.code, d.message) for d in result.diagnostics] == [
            (d.path, d.start, d.code, d.message) for d in serial.diagnostics
        ]


def test_workers_apply_fixes(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    for n in range(30):
        write(tmp_path, f"tests/test_skip_{n}.py", "import pytest\n\npytest.skip('no')\n")
    result = run([tmp_path / "tests"], RunOptions(jobs=2, fix=True))
    assert result.fixes_applied == 30
    assert all(
        "allow_module_level=True" in p.read_text() for p in (tmp_path / "tests").glob("*.py")
    )


def test_a_run_over_some_files_keeps_the_entries_of_the_others(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """pre-commit lints the staged files only: the rest of the cache must survive."""
    shop(tmp_path)
    write(tmp_path, "tests/test_other.py", "import sys\n\nsys.exit(1)\n")
    everything = codes(lint(tmp_path))
    one = run(
        [tmp_path / "tests/test_other.py"],
        RunOptions(cache=True, cache_dir=tmp_path / "cache"),
    )
    assert codes(one) == [("test_other.py", "TL101", 3)]
    request.getfixturevalue("no_linting")
    assert codes(lint(tmp_path)) == everything


def test_a_warm_run_writes_nothing(tmp_path: Path) -> None:
    shop(tmp_path)
    lint(tmp_path)
    (stored,) = (tmp_path / "cache").glob("v*/*.json")
    before = stored.stat().st_mtime_ns
    os.utime(stored, ns=(before - 10**9, before - 10**9))
    lint(tmp_path)
    assert stored.stat().st_mtime_ns == before - 10**9


def test_suite_tokens_from_the_linted_bytes_equal_those_read_from_the_file(
    tmp_path: Path,
) -> None:
    """Workers hand the parent each file's suite tokens (it then reads no test file
    again): they must be what the cache reads from the file itself, or a later run
    would see the suite change."""
    text = (
        "\ufeff# caf\xe9\r\nimport pytest\r\n\r\n"
        "@pytest.mark.r\xe9seau\n@pytest.mark.slow\ndef test_a(): pass\n"
    )
    data = text.encode("utf-8") + b"\n# \xff\xfe not utf-8: mark.broken\n"
    path = write(tmp_path, "tests/test_bytes.py", "")
    path.write_bytes(data)
    settings, project = resolve_settings([path], RunOptions())
    item = SourcePath(path, FileKind.TEST, explicit=True)
    linter = Linter(RULES, settings, project)
    _, _, offered = runner._lint_one(item, linter, RunOptions(cache=True), [])
    assert offered is not None
    read = cache.suite_tokens(path.read_text(encoding="utf-8", errors="replace"))
    found = path.stat()
    stat = [found.st_ctime_ns, found.st_mtime_ns, found.st_size, found.st_ino]
    assert offered == (cache.Hasher({}).digest(path), read, stat)
    assert read == "mark.broken mark.r\xe9seau mark.slow"


def test_work_is_handed_out_largest_first_in_bounded_chunks() -> None:
    sizes = [10, 50_000, 300, 7, 20_000, 20_000, *([1_000] * 100)]
    chunks = workers._chunks(sizes)
    order = [number for chunk in chunks for number in chunk]
    assert sorted(order) == list(range(len(sizes)))
    assert [sizes[n] for n in order] == sorted(sizes, reverse=True)
    assert chunks[0] == [1]  # a big file alone
    for chunk in chunks:
        assert len(chunk) <= workers.CHUNK_FILES
        assert len(chunk) == 1 or sum(sizes[n] for n in chunk[:-1]) < workers.CHUNK_BYTES
    # The last tasks are short: no worker is left alone with a long one.
    assert sum(sizes[n] for n in chunks[-1]) <= workers.TAIL_CHUNK_BYTES
    assert max(sum(sizes[n] for n in chunk) for chunk in chunks[-3:]) < workers.CHUNK_BYTES


def test_files_a_selective_rule_may_parse_are_handed_out_first(tmp_path: Path) -> None:
    """In a small run, a file holding the trigger words of a rule few files trigger
    (here `Pool`) goes to the workers before larger files that only hold common
    ones (`import`, `patch`): its libcst parse must not be the last task."""
    paths = [
        write(tmp_path, "tests/test_pool.py", "import multiprocessing\nmultiprocessing.Pool()\n")
    ]
    for number in range(8):
        body = "from unittest import mock\n" + "mock.patch('os.getcwd')\n" * (50 + number)
        paths.append(write(tmp_path, f"tests/test_big_{number}.py", body))
    settings, project = resolve_settings([tmp_path], RunOptions())
    linter = Linter(RULES, settings, project)
    todo: list[runner.Work] = [
        (SourcePath(path, FileKind.TEST, explicit=False), linter, "") for path in paths
    ]
    first = runner._likely_parsed(todo)
    assert first == {0}
    chunks = workers._chunks([path.stat().st_size for path in paths], 2, first)
    order = [number for chunk in chunks for number in chunk]
    assert order[0] == 0
    assert order[1:] == sorted(range(1, len(paths)), key=lambda n: -paths[n].stat().st_size)
    # Large runs are not read twice: the parses spread over the workers anyway.
    assert runner._likely_parsed(todo * (runner.PRESCAN_FILES // len(todo) + 1)) == set()


@pytest.mark.parametrize(
    "name",
    ["ci/test.sh", "ci/nightly.yml", "run-tests.sh", "azure-pipelines.yml", "makefile", "Justfile"],
)
def test_every_run_file_is_part_of_the_environment(tmp_path: Path, name: str) -> None:
    """`run_files` tells the xdist rules how the suite is run: editing one must
    invalidate every entry, wherever it lives."""
    from testlint.dependencies import run_files

    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    path = write(tmp_path, name, "pytest tests\n")
    assert path in [found for found, _ in run_files(tmp_path)]
    before = environment(tmp_path)
    path.write_text("pytest -n 4 -m 'not serial' tests\n")
    assert environment(tmp_path) != before


def test_the_scope_is_the_testlint_that_made_the_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are keyed on testlint's source files, as replay records are: an
    edited checkout (an editable install) must not answer from the old code."""
    shop(tmp_path)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    linted: list[Path] = []
    original = engine.Linter.check

    def check(self: Linter, path: Path, *args: Any, **kwargs: Any) -> engine.FileResult:
        linted.append(path)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(engine.Linter, "check", check)
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    assert linted == [], "the same code: answered from the cache"
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "edited")
    assert codes(lint(tmp_path)) == [("test_orders.py", "TL401", 7)]
    assert len(linted) == 1, "answered from entries made by other code"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tests/test_a.py", False),
        ("tests/test_yml.py", False),
        ("tests/conftest.py", True),
        ("tox.ini", True),
        ("noxfile.py", True),
        ("ci/test_a.py", True),
        ("scripts/test_x.py", True),
        ("tools/run.sh", True),
        (".github/workflows/test.yml", True),
        ("requirements-dev.txt", True),
    ],
)
def test_in_environment_over_estimates_what_the_environment_digest_reads(
    tmp_path: Path, name: str, expected: bool
) -> None:
    """Every file the digest reads is in the environment (the reverse may not hold)."""
    found = cache.in_environment(str(tmp_path / name), str(tmp_path))
    assert found is expected
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n", encoding="utf-8")
    before = environment(tmp_path)
    path.write_text("x = 22\n", encoding="utf-8")
    after = environment(tmp_path)
    assert before == after or found


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_first_run_reads_each_linted_file_once_and_the_next_run_hits_every_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """With no entry to look up, the parent hashes no file it lints: the keys come
    from what was linted, and answer the next run."""
    root = shop(tmp_path)
    for number in range(30):  # enough files for workers
        write(root, f"tests/test_more_{number}.py", f"def test_{number}():\n    pass\n")
    hashed: list[str] = []
    real = cache.Hasher.remember

    def remember(self: cache.Hasher, key: str, signature: list[object], data: bytes) -> str:
        hashed.append(key)
        return real(self, key, signature, data)

    monkeypatch.setattr(cache.Hasher, "remember", remember)
    first = lint(root, jobs=jobs)
    assert not [key for key in hashed if "/tests/test_" in key]
    assert codes(first) == [("test_orders.py", "TL401", 7)]

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("linted a file the cache should have answered")

    monkeypatch.setattr(engine.Linter, "check", fail)
    assert codes(lint(root, jobs=jobs)) == codes(first)


def test_workers_and_one_process_agree_beside_a_broken_project_template(tmp_path: Path) -> None:
    """Facts built before the workers fork (the suite's test files) may read a
    broken pyproject.toml: kedro's project template `{{ cookiecutter.repo_name
    }}/pyproject.toml`, listed with the suite. The run used to stop with an
    internal error ("this is a testlint bug") with workers, and one process
    reported the template's TOML error for every file; no file checked here lies
    under it, so both now report the files' own findings, and alike."""
    shop(tmp_path)
    for n in range(12):
        body = TEST_ORDERS if n % 3 == 0 else "import sys\n\nsys.exit(1)\n"
        write(tmp_path, f"tests/test_many_{n}.py", body)
    template = "templates/{{ cookiecutter.repo_name }}"
    write(tmp_path, f"{template}/pyproject.toml", "[project]\nname = {{ cookiecutter.name }}\n")
    write(tmp_path, f"{template}/tests/test_run.py", "def test_run():\n    pass\n")
    serial = run([tmp_path / "tests"], RunOptions(jobs=1))
    parallel = run([tmp_path / "tests"], RunOptions(jobs=2))
    assert serial.errors == parallel.errors == []
    assert codes(parallel) == codes(serial)
    assert [code for _, code, _ in codes(serial)].count("TL101") == 8
