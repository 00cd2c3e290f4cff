"""Every input a result depends on is part of its key: after any change, a cached run
and a replay answer exactly as a run without the cache does (#25)."""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import time
from collections.abc import Container, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from cli_runner import write
from launching import Launch, uncached
from testlint import (
    cache,
    config_lint,
    dependencies,
    engine,
    fingerprint,
    pytest_config,
    record,
    runner,
)
from testlint.locate import ROOT_MARKERS
from testlint.runner import RunOptions, RunResult, run

ASYNC_TESTS = """\
import pytest


@pytest.fixture
async def client():
    yield 1


async def test_get(client):
    pass
"""
"""TL301 and TL302 in pytest-asyncio's strict mode; nothing in auto mode or
without pytest-asyncio."""

USES_ASYNCIO = "[project]\nname = 'shop'\ndependencies = ['pytest-asyncio>=0.23']\n"


@pytest.fixture
def launch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Launch:
    # Files made a moment ago are "racy" for a replay: the tests here are about what
    # is watched, so a run is recorded however new its files are.
    monkeypatch.setattr(record, "RACY_NS", -(10**15))
    return Launch(monkeypatch, capsys)


def twins(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """Two copies of one project: one warmed with the cache, one run without it.
    Commands run inside each, so their output names the same relative paths."""
    made = []
    for name in ("cached", "fresh"):
        for relative, text in files.items():
            write(tmp_path / name, relative, text)
        made.append(tmp_path / name)
    return made[0], made[1]


def in_both(cached: Path, fresh: Path, relative: str, text: str) -> None:
    write(cached, relative, text)
    write(fresh, relative, text)


def outcome(launch: Launch, directory: Path, *argv: str) -> tuple[int, str, str, dict[str, str]]:
    """Exit code, output and every test module's text after `testlint *argv` in
    `directory`."""
    os.chdir(directory)
    code, out, err, _ = launch(*argv)
    texts = {str(p.relative_to(directory)): p.read_text() for p in directory.rglob("test_*.py")}
    return code, out, err, texts


# ------------------------------------------------------------------ pytest 9 config files


@pytest.mark.parametrize("name", ["pytest.toml", ".pytest.toml"])
@pytest.mark.parametrize("command", [(), ("--diff",), ("--fix",)])
def test_a_pytest_toml_switching_asyncio_mode_is_seen(
    tmp_path: Path, launch: Launch, name: str, command: tuple[str, ...]
) -> None:
    files = {
        "pyproject.toml": USES_ASYNCIO,
        name: '[pytest]\nasyncio_mode = "auto"\n',
        "tests/test_api.py": ASYNC_TESTS,
    }
    cached, fresh = twins(tmp_path, files)
    os.chdir(cached)
    assert launch("tests")[:2] == (0, "All checks passed! Checked 1 file.\n")
    assert launch("tests", "--diff")[:2] == (0, "")
    for root in (cached, fresh):
        write(root, name, '[pytest]\nasyncio_mode = "strict"\n')
    found = outcome(launch, cached, *command, "tests")
    expected = outcome(launch, fresh, *command, "tests", "--no-cache")
    assert found == expected
    shown = {(): "TL301", ("--diff",): "+import pytest_asyncio", ("--fix",): "Fixed 2 problems"}
    assert shown[command] in found[1]


def test_a_pytest_toml_above_the_root_is_watched(tmp_path: Path, launch: Launch) -> None:
    """pytest looks for its configuration above the project too (the project's own
    files configure no pytest here): a change there reaches every result."""
    files = {
        "pytest.toml": '[pytest]\nasyncio_mode = "auto"\n',
        "shop/pyproject.toml": USES_ASYNCIO,
        "shop/tests/test_api.py": ASYNC_TESTS,
    }
    cached, fresh = twins(tmp_path, files)
    os.chdir(cached / "shop")
    launch("tests")
    assert launch("tests")[:2] == (0, "All checks passed! Checked 1 file.\n")
    in_both(cached, fresh, "pytest.toml", '[pytest]\nasyncio_mode = "strict"\n')
    found = outcome(launch, cached / "shop", "tests")
    assert found == outcome(launch, fresh / "shop", "tests", "--no-cache")
    assert found[0] == 1


# ------------------------------------------------------------------ requirements includes


@pytest.mark.parametrize(
    ("line", "included"),
    [
        ("-r ../shared/base.txt", "shared/base.txt"),  # outside the root
        ("--requirement=deps/base.in", "shop/deps/base.in"),  # any name
        ("-c constraints.cfg", "shop/constraints.cfg"),
    ],
)
def test_a_dependency_added_to_an_included_requirements_file_is_seen(
    tmp_path: Path, launch: Launch, line: str, included: str
) -> None:
    files = {
        "shop/pyproject.toml": "[project]\nname = 'shop'\n",
        "shop/requirements-dev.txt": f"{line}\n",
        included: "requests\n",
        "shop/tests/test_api.py": ASYNC_TESTS,
    }
    cached, fresh = twins(tmp_path, files)
    os.chdir(cached / "shop")
    launch("tests")
    assert launch("tests")[:2] == (0, "All checks passed! Checked 1 file.\n")
    in_both(cached, fresh, included, "requests\npytest-asyncio>=0.23\n")
    found = outcome(launch, cached / "shop", "tests")
    assert found == outcome(launch, fresh / "shop", "tests", "--no-cache")
    assert found[0] == 1


def test_an_include_of_an_include_is_watched(tmp_path: Path, launch: Launch) -> None:
    files = {
        "shop/pyproject.toml": "[project]\nname = 'shop'\n",
        "shop/requirements.txt": "-r requirements/test.in\n",
        "shop/requirements/test.in": "-r ../../shared/pinned.txt\n",
        "shared/pinned.txt": "requests\n",
        "shop/tests/test_api.py": ASYNC_TESTS,
    }
    cached, fresh = twins(tmp_path, files)
    os.chdir(cached / "shop")
    launch("tests")
    in_both(cached, fresh, "shared/pinned.txt", "requests\npytest-asyncio\n")
    found = outcome(launch, cached / "shop", "tests")
    assert found == outcome(launch, fresh / "shop", "tests", "--no-cache")
    assert found[0] == 1


def test_requirements_files_that_include_each_other_are_each_read_once(tmp_path: Path) -> None:
    """`-r ../deps/a.txt` inside deps/a.txt names the same file by a longer path."""
    write(tmp_path, "requirements.txt", "-r deps/a.txt\n")
    write(tmp_path, "deps/a.txt", "pytest-xdist\n-r ../deps/a.txt\n-r b.txt\n-c missing.txt\n")
    write(tmp_path, "deps/b.txt", "pytest-asyncio\n-r ../requirements.txt\n")
    found = [r.name for r in dependencies.declared_requirements(tmp_path)]
    assert found == ["pytest-xdist", "pytest-asyncio"]
    assert dependencies.requirement_files(tmp_path) == [
        tmp_path / name
        for name in ("requirements.txt", "deps/a.txt", "deps/b.txt", "deps/missing.txt")
    ]


def test_every_pytest_configuration_file_marks_a_root() -> None:
    """A project configured by `pytest.toml` alone has its root there, as one
    configured by `pytest.ini` does; and replay watches these names above the root."""
    assert set(pytest_config.CONFIG_FILE_NAMES) <= set(ROOT_MARKERS)


# ------------------------------------------------------------------ the stat memo

EXITS = "import sys\n\nsys.exit(1)\n"
PASSES = "import sys\n\nprint(1111)\n"  # as long as EXITS


def lint(root: Path) -> RunResult:
    return run([root / "tests"], RunOptions(cache=True, cache_dir=root / "cache"))


def codes(result: RunResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def test_an_edit_that_keeps_size_and_mtime_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cp -p` (or an editor that restores the time) rewrites a file in place with
    its old mtime; the change time still tells."""
    monkeypatch.setattr(cache, "RACY_NS", -(10**15), raising=False)  # the memo trusts stats
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    test = write(tmp_path, "tests/test_a.py", EXITS)
    old = test.stat()
    assert codes(lint(tmp_path)) == ["TL101"]
    source = write(tmp_path, "elsewhere/test_a.py", PASSES)
    os.utime(source, ns=(old.st_atime_ns, old.st_mtime_ns))
    time.sleep(0.01)  # a change time the kernel can tell apart
    shutil.copy2(source, test)  # `cp -p`: in place, with the source's times
    now = test.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (old.st_ino, old.st_size, old.st_mtime_ns)
    assert codes(lint(tmp_path)) == []


def test_an_edit_in_the_same_clock_tick_as_a_run_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a filesystem with one-second timestamps, a file saved in the second a run
    read it can keep its whole stat: a stat that recent is not trusted."""
    write(tmp_path, "pyproject.toml", "[project]\nname = 'x'\n")
    test = write(tmp_path, "tests/test_a.py", EXITS)
    second = time.time_ns() // 10**9 * 10**9
    os.utime(test, ns=(second, second))  # a one-second filesystem's stamp
    pinned = cache.stat_signature(test)
    assert codes(lint(tmp_path)) == ["TL101"]
    test.write_text(PASSES, encoding="utf-8")
    os.utime(test, ns=(second, second))
    real = cache.stat_signature
    monkeypatch.setattr(
        cache, "stat_signature", lambda path: pinned if Path(path) == test else real(path)
    )
    assert codes(lint(tmp_path)) == []


def test_a_file_stamped_in_the_second_the_run_started_is_not_recorded(tmp_path: Path) -> None:
    """A whole-second stamp says only that the file changed within that second: a
    run that started during it may have read the file before that change."""
    path = write(tmp_path, "tests/test_a.py", "x = 1\n")
    found = fingerprint.signature(str(path))
    assert found is not None
    second = found[1] // 10**9 * 10**9
    stamped = [second, second, *found[2:]]  # mtime, ctime: a one-second filesystem
    started = second + 500_000_000  # the run started half-way through that second
    assert record._with_racy_contents({str(path): stamped}, started) is None
    later = second + 1_000_000_000 + record.SETTLED_NS + 1
    assert record._with_racy_contents({str(path): stamped}, later) is not None


# ------------------------------------------------------------------ every input, enumerated

XDIST_SUITE = {
    "shop/pyproject.toml": "[project]\nname = 'shop'\n\n[tool.testlint]\n",
    "shop/pytest.toml": '[pytest]\nasyncio_mode = "strict"\nmarkers = ["serial: one worker"]\n',
    "shop/ruff.toml": '[lint.isort]\nknown-first-party = ["shop"]\n',
    "shop/requirements-dev.txt": "-r requirements/base.in\n",
    "shop/requirements/base.in": "pytest-asyncio>=0.23\n",
    "shop/uv.lock": '[[package]]\nname = "pytest-asyncio"\nversion = "0.23.5"\n',
    "shop/tox.ini": "[testenv]\ndeps = pytest\ncommands = pytest\n",
    "shop/.github/workflows/ci.yml": (
        "steps:\n  - run: pip install -r ci/pins.txt\n  - run: python -m pytest -n auto\n"
    ),
    "shop/src/shop/__init__.py": "",
    "shop/src/shop/payments.py": "def charge(amount):\n    return amount\n",
    "shop/src/shop/orders.py": (
        "from shop.payments import charge\n\n\ndef checkout(total):\n    return charge(total)\n"
    ),
    "shop/src/shop/tool.py": "import sys\n\nsys.exit(0)\n",
    "shop/tests/conftest.py": (
        "import pytest\n\ncollect_ignore = ['test_ignored.py']\n\n\n"
        "@pytest.hookimpl(tryfirst=True)\ndef pytest_collection_modifyitems(items):\n"
        "    for item in items:\n        if item.get_closest_marker('serial'):\n"
        "            item.add_marker(pytest.mark.xdist_group('serial'))\n"
    ),
    "shop/tests/test_orders.py": (
        "from unittest import mock\n\nfrom shop import orders\n\n\ndef test_checkout():\n"
        '    with mock.patch("shop.payments.charge") as charge:\n'
        "        orders.checkout(3)\n    charge.assert_called_once()\n"
    ),
    "shop/tests/test_api.py": ASYNC_TESTS.replace(
        "import pytest\n", "import pytest\n\nimport shop\n"
    ),
    "shop/tests/test_tool.py": "from shop import tool\n\n\ndef test_tool():\n    pass\n",
    "shop/tests/test_pool.py": (
        "from concurrent.futures import ThreadPoolExecutor\n\nimport pytest\n\n\n"
        "@pytest.mark.serial\ndef test_pool():\n    with ThreadPoolExecutor(2) as pool:\n"
        "        assert list(pool.map(abs, [-1])) == [1]\n"
    ),
    "shop/tests/test_ignored.py": "import sys\nsys.exit(1)\n",
    "shop/tests/unit/test_skip.py": "import pytest\n\npytest.skip('no')\n",
}
"""A project whose results read every kind of input: pytest, ruff and testlint
configuration, requirements and their includes, a lock file, tox and CI files, a
conftest, the modules a patch target and an import name, the other test modules,
the names in the source roots (where the import a fix adds goes)."""

OUTSIDE_THE_ROOT = {
    "pytest.toml": '[pytest]\nasyncio_mode = "strict"\n',
    "shared/base.txt": "pytest-asyncio>=0.23\n",
    "shop/pyproject.toml": "[project]\nname = 'shop'\n\n[tool.testlint]\n",
    "shop/requirements-dev.txt": "-r ../shared/base.txt\n",
    "shop/tests/test_api.py": ASYNC_TESTS,
}
"""Inputs above and beside the project: pytest's configuration, an included
requirements file."""

IN_A_HIDDEN_DIRECTORY = {
    "shop/pyproject.toml": (
        "[project]\nname = 'shop'\ndependencies = ['pytest-asyncio']\n\n"
        "[tool.pytest.ini_options]\nnorecursedirs = ['build']\n"
    ),
    "shop/tests/.hidden/conftest.py": "import pytest\n",
    "shop/tests/.hidden/test_api.py": ASYNC_TESTS,
}
"""A directory only discovery enters (`norecursedirs` lets pytest collect it)."""

LAYOUTS = {
    "a suite": XDIST_SUITE,
    "outside the root": OUTSIDE_THE_ROOT,
    "in a hidden directory": IN_A_HIDDEN_DIRECTORY,
}


CHECK = ("check", "tests", "--output-format", "json")
"""Every finding with every edit of its fix: what a cached entry must reproduce."""


def probed(path: Path, data: bytes) -> bytes:
    """`data` changed so that whatever any reader derives from it changes too: a
    module now exits at import, on its first line (what the `exiting` fact keeps);
    words the suite facts look for (a marker in use, pytest-asyncio in use); a
    comment in every other format here."""
    if path.suffix == ".py":
        return b"import sys; sys.exit(0)  # mark.probe pytest_asyncio\n" + data
    return data + b"\n# mark.probe pytest_asyncio\n"


class Opened:
    """The files opened (audit events) while `recording`: what a run read."""

    active: ClassVar[list[set[Path]]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls.active and event == "open" and args and isinstance(args[0], (str, Path)):
            cls.active[-1].add(Path(os.path.abspath(args[0])))


sys.addaudithook(Opened.hook)


@contextmanager
def recording() -> Iterator[set[Path]]:
    found: set[Path] = set()
    Opened.active.append(found)
    try:
        yield found
    finally:
        Opened.active.pop()


def readers(tree: Path) -> dict[Path, set[Path]]:
    """Every file under `tree` a check of `tests` reads, and the checked files whose
    result read it: each checked file is checked alone (a project model of its
    own, no cache) while the files opened are recorded."""
    checked = run([Path("tests")], RunOptions()).files
    assert checked
    found: dict[Path, set[Path]] = {}
    for result in checked:
        path = result.path.resolve()
        with recording() as opened:
            run([result.path], RunOptions(with_edits=True, jobs=1))
        for name in opened:
            if name.is_relative_to(tree) and name.is_file():
                found.setdefault(name, set()).add(path)
    return found


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_file_a_result_reads_is_part_of_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch: Launch, layout: str
) -> None:
    """Each file a check reads to make a file's result is changed in turn: the next
    cached run (replay, re-check or full) checks that file again, and prints what a
    run without the cache prints. A reader of a new input that no key holds fails
    here, without this test naming it."""
    for relative, text in LAYOUTS[layout].items():
        write(tmp_path, relative, text)
    monkeypatch.chdir(tmp_path / "shop")
    inputs = readers(tmp_path)
    written = {tmp_path / name for name in LAYOUTS[layout]}
    unread = {tmp_path / "shop/tests/test_ignored.py"}
    assert set(inputs) == written - unread, "the layout no longer exercises its readers"
    linted: set[Path] = set()
    real = engine.Linter.check

    def check(self: engine.Linter, path: Path, *args: Any, **kwargs: Any) -> engine.FileResult:
        linted.add(path.resolve())
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(engine.Linter, "check", check)

    # A configuration file's findings (TL7xx) are made anew on every run that is not a replay.
    def check_config(path: Path, *args: Any, **kwargs: Any) -> engine.FileResult | None:
        linted.add(path.resolve())
        return config_lint.check_config(path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_config", check_config)
    launch(*CHECK)
    unseen: list[str] = []
    for changed, reading in sorted(inputs.items()):
        original = changed.read_bytes()
        changed.write_bytes(probed(changed, original))
        linted.clear()
        found = launch(*CHECK)[:3]
        stale = sorted(path.name for path in reading - linted)
        if stale or found != uncached(launch, *CHECK):
            unseen.append(f"{changed.relative_to(tmp_path)} (answered as before: {stale})")
        changed.write_bytes(original)
        launch(*CHECK)
    assert not unseen, "changed, yet the cached run did not see it: " + "; ".join(unseen)


def looked_for(tree: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every missing path under `tree` that a check of `tests` looks for."""
    missing: set[Path] = set()
    real = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        try:
            return real(path, *args, **kwargs)
        except OSError:
            if isinstance(path, (str, Path)):
                missing.add(Path(os.path.abspath(path)))
            raise

    from testlint import project, pytest_config

    listed = pytest_config.configuration_names_in

    def configuration_names_in(directory: Path) -> Container[str]:
        # Names looked for in one listing of the directory, not a `stat` each.
        present = listed(directory)
        for name in pytest_config.CONFIG_FILE_NAMES:
            if name not in present:
                missing.add(Path(os.path.abspath(directory / name)))
        return present

    with monkeypatch.context() as patched:
        patched.setattr(os, "stat", stat)
        patched.setattr(project, "configuration_names_in", configuration_names_in)
        accessor = getattr(pathlib, "_normal_accessor", None)
        if accessor is not None:  # Python < 3.11: pathlib took `os.stat` at import
            patched.setattr(accessor, "stat", stat)
        run([Path("tests")], RunOptions(with_edits=True, jobs=1))
    return sorted(path for path in missing if path.is_relative_to(tree) and path.parent.is_dir())


def unusual(path: Path, root: Path) -> bool:
    """Outside the root, or in a hidden directory of it."""
    if not path.is_relative_to(root):
        return True
    return any(part.startswith(".") for part in path.relative_to(root).parts[:-1])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_file_a_check_looks_for_is_an_input_once_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch: Launch, layout: str
) -> None:
    """Each path a check looks for and does not find (a configuration file, a
    conftest, a module, a directory a module name may be, a virtualenv's
    pyvenv.cfg) is created in turn: the next cached run answers as a run without
    the cache (most such files change nothing: their absence is an input only)."""
    for relative, text in LAYOUTS[layout].items():
        write(tmp_path, relative, text)
    root = tmp_path / "shop"
    monkeypatch.chdir(root)
    paths = looked_for(tmp_path, monkeypatch)
    assert root / "tests/pytest.toml" in paths
    if layout != "a suite":  # the others for what only they have (each path costs two runs)
        paths = [path for path in paths if unusual(path, root)]
        assert paths
    launch(*CHECK)
    unseen: list[str] = []
    for created in paths:
        if created.suffix:
            created.write_bytes(probed(created, b""))
        else:  # looked for as a directory as often as a file
            created.mkdir()
        if launch(*CHECK)[:3] != uncached(launch, *CHECK):
            unseen.append(str(created.relative_to(tmp_path)))
        created.unlink() if created.is_file() else created.rmdir()
    assert not unseen, "created, yet the cached run answered as before: " + ", ".join(unseen)
