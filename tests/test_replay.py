"""Replay: an unchanged check prints what it printed last time, and any change a
result depends on makes it lint again (same output as a run without a cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest

from launching import Launch, uncached
from testlint import cli, config_lint, dependencies, fingerprint, index, invocation, record, runner
from testlint import project as project_module
from testlint.files import skips_directory
from testlint.locate import ROOT_MARKERS
from testlint.registry import ALL_RULES
from testlint.runner import RunOptions

SHOP = {
    "pyproject.toml": "[project]\nname = 'shop'\n\n[tool.testlint]\n",
    "src/shop/__init__.py": "",
    "src/shop/payments.py": "def charge(amount):\n    return amount\n",
    "src/shop/orders.py": (
        "from shop.payments import charge\n\n\ndef checkout(total):\n    return charge(total)\n"
    ),
    "tests/conftest.py": "import pytest\n",
    "tests/test_orders.py": (
        "from unittest import mock\n\nfrom shop import orders\n\n\n"
        "def test_checkout():\n"
        '    with mock.patch("shop.payments.charge") as charge:\n'
        "        orders.checkout(3)\n"
        "    charge.assert_called_once()\n"
    ),
    "tests/unit/test_exit.py": "import sys\n\ntry:\n    import numpy\nexcept ImportError:\n"
    "    sys.exit(1)\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    write(root, SHOP)
    monkeypatch.chdir(root)
    # Files made a moment ago are "racy": recording is tested with the guard off,
    # and the guard on its own (test_a_run_just_after_a_change_is_not_recorded).
    monkeypatch.setattr(record, "RACY_NS", -(10**15))
    return root


@pytest.fixture
def launch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Launch:
    return Launch(monkeypatch, capsys)


def test_an_unchanged_check_is_replayed_exactly(shop: Path, launch: Launch) -> None:
    first = launch("tests")
    assert first[0] == 1
    assert "TL401" in first[1]
    assert "TL101" in first[1]
    assert not first[3]
    second = launch("tests")
    assert second[3], "nothing changed: replayed, not linted"
    assert second[:3] == first[:3]
    assert launch("tests")[:3] == first[:3]
    # Each command line is its own record.
    assert not launch("check", "tests", "--output-format", "json")[3]
    replayed = launch("check", "tests", "--output-format", "json")
    assert replayed[3]
    assert json.loads(replayed[1])


@pytest.mark.parametrize(
    "change",
    [
        "edit a test",
        "add a test in a new directory",
        "remove a test",
        "edit a module a patch rule reads",
        "edit the configuration",
        "add a conftest",
        "a CI workflow runs xdist",
    ],
)
def test_every_change_lints_again(shop: Path, launch: Launch, change: str) -> None:
    launch("tests")
    assert launch("tests")[3]
    if change == "edit a test":
        (shop / "tests/unit/test_exit.py").write_text("import sys\n", encoding="utf-8")
    elif change == "add a test in a new directory":
        write(shop, {"tests/new/deeper/test_new.py": "import os\nos._exit(3)\n"})
    elif change == "remove a test":
        (shop / "tests/test_orders.py").unlink()
    elif change == "edit a module a patch rule reads":
        write(shop, {"src/shop/orders.py": "from shop import payments\n"})
    elif change == "edit the configuration":
        write(shop, {"pyproject.toml": SHOP["pyproject.toml"] + 'ignore = ["TL101"]\n'})
    elif change == "add a conftest":
        write(shop, {"tests/unit/conftest.py": "import sys\nsys.exit(0)\n"})
    else:
        write(
            shop,
            {
                ".github/workflows/ci.yml": "steps:\n  - run: pytest -n auto\n",
                "tests/test_pool.py": "from concurrent.futures import ThreadPoolExecutor\n\n\n"
                "def test_pool():\n    with ThreadPoolExecutor() as pool:\n"
                "        pool.submit(print)\n",
            },
        )
    code, out, err, replayed = launch("tests")
    assert not replayed, f"{change}: replayed a stale result"
    assert (code, out, err) == uncached(launch, "tests")


# ------------------------------------------------------------------ a few changed test modules

EDITS = {
    "a finding appears": ("tests/test_orders.py", "\nimport sys\n\nsys.exit(1)\n"),
    "a finding goes": ("tests/unit/test_exit.py", None),
    "a fixable finding appears": (
        "tests/test_orders.py",
        "\n\n@pytest.fixture\nasync def client():\n    yield 1\n",
    ),
    "the file no longer parses": ("tests/test_orders.py", "\ndef broken(:\n"),
    "a comment": ("tests/unit/test_exit.py", "# reviewed\n"),
}


def edit(root: Path, name: str, appended: str | None) -> None:
    path = root / name
    text = "import sys\n" if appended is None else path.read_text("utf-8") + appended
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("change", sorted(EDITS))
def test_a_changed_test_module_is_checked_alone(shop: Path, launch: Launch, change: str) -> None:
    """Only that file is checked again, and the output is a full run's."""
    launch("tests")
    edit(shop, *EDITS[change])
    linted, reruns = launch.linted, launch.reruns
    code, out, err, _ = launch("tests")
    assert (launch.linted, launch.reruns) == (linted, reruns + 1), "checked alone"
    assert (code, out, err) == uncached(launch, "tests")
    # The re-check was recorded: the next run replays it.
    assert launch("tests") == (code, out, err, True)


def test_a_recheck_starts_from_the_exiting_modules_found_before(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(shop, {"src/shop/tool.py": "import sys\n\nsys.exit(0)\n"})
    launch("tests")
    built: list[Path] = []
    real = index.build_index

    def counting(root: Path, *args: Any) -> Any:
        built.append(root)
        return real(root, *args)

    monkeypatch.setattr(project_module, "build_index", counting)
    write(shop, {"tests/unit/test_exit.py": "from shop import tool\n"})
    reruns = launch.reruns
    code, out, err, _ = launch("tests")
    assert launch.reruns == reruns + 1
    assert not built, "the module index was listed again"
    assert "TL103" in out
    assert (code, out, err) == uncached(launch, "tests")


def test_a_recheck_starts_from_the_requirements_read_before(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only dependency files declare requirements, and a re-check runs only when
    none of them changed: it takes the recorded ones (sentry-python's tox.ini
    declares 17,263) instead of reading every dependency file again."""
    deps = "".join(
        f"[testenv:py3{minor}]\ndeps =\n    pytest-asyncio>=0.23\n" for minor in range(9, 14)
    )
    write(shop, {"tox.ini": deps, "tests/unit/test_exit.py": "async def test_a():\n    pass\n"})
    first = launch("tests")
    assert "TL302" in first[1]
    declared: list[Path] = []
    real = dependencies.declared_requirements

    def counting(root: Path) -> Any:
        declared.append(root)
        return real(root)

    monkeypatch.setattr(project_module, "declared_requirements", counting)
    edit(shop, "tests/unit/test_exit.py", "\nasync def test_b():\n    pass\n")
    reruns = launch.reruns
    code, out, err, _ = launch("tests")
    assert launch.reruns == reruns + 1
    assert not declared, "the dependency files were read again"
    assert out.count("TL302") == 2
    assert (code, out, err) == uncached(launch, "tests")
    assert declared  # the full run read them: the count above could fail


def test_a_module_saved_through_a_renamed_temporary_file_is_checked_alone(
    shop: Path, launch: Launch
) -> None:
    """Editors that save atomically change the directory's time too; the names it
    holds are the same, so only the module is checked again."""
    launch("tests")
    temporary = shop / "tests/unit/.test_exit.py.tmp"
    temporary.write_text("import sys\n\nsys.exit(3)\n", encoding="utf-8")
    os.replace(temporary, shop / "tests/unit/test_exit.py")
    reruns, linted = launch.reruns, launch.linted
    code, out, err, _ = launch("tests")
    assert (launch.reruns, launch.linted) == (reruns + 1, linted)
    assert (code, out, err) == uncached(launch, "tests")
    assert launch("tests") == (code, out, err, True)


def test_a_file_that_came_and_went_is_replayed(shop: Path, launch: Launch) -> None:
    first = launch("tests")
    swap = shop / "tests/.test_orders.py.swp"
    swap.write_text("", encoding="utf-8")
    swap.unlink()
    assert launch("tests") == (*first[:3], True)


@pytest.mark.parametrize("change", ["rename", "add", "remove"])
def test_a_directory_whose_names_changed_lints_everything(
    shop: Path, launch: Launch, change: str
) -> None:
    write(shop, {"tests/unit/test_ok.py": "def test_ok():\n    pass\n"})
    launch("tests")
    unit = shop / "tests/unit"
    if change == "rename":
        (unit / "test_ok.py").rename(unit / "test_fine.py")
    elif change == "add":
        write(shop, {"tests/unit/notes.txt": "x\n"})
    else:
        (unit / "test_ok.py").unlink()
    linted = launch.linted
    code, out, err, _ = launch("tests")
    assert launch.linted == linted + 1
    assert (code, out, err) == uncached(launch, "tests")


def test_ctrl_c_during_a_recheck_exits_130(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch("tests")
    edit(shop, *EDITS["a comment"])

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_changed", interrupted)
    code, out, err, _ = launch("tests")
    assert (code, out) == (130, "")
    assert "interrupted" in err


def test_several_changed_modules_and_other_output_options(shop: Path, launch: Launch) -> None:
    argv = ("tests", "--statistics", "--select", "TL1,TL3", "--exit-zero")
    launch(*argv)
    edit(shop, *EDITS["a finding goes"])
    edit(shop, *EDITS["a fixable finding appears"])
    reruns = launch.reruns
    code, out, err, _ = launch(*argv)
    assert launch.reruns == reruns + 1
    assert (code, out, err) == uncached(launch, *argv)


def test_new_suite_facts_for_other_files_lint_everything(shop: Path, launch: Launch) -> None:
    """An asyncio marker in one file tells every async test that pytest-asyncio is
    in use: the other files' results change, so everything is linted."""
    write(shop, {"tests/test_async.py": "async def test_fetch():\n    pass\n"})
    before = launch("tests")
    assert "TL302" not in before[1]  # pytest-asyncio is not in use
    edit(
        shop,
        "tests/test_orders.py",
        "\nimport pytest\n\n@pytest.mark.asyncio\nasync def test_a(): pass\n",
    )
    linted = launch.linted
    code, out, err, _ = launch("tests")
    assert launch.linted == linted + 1, "linted every file"
    assert "TL302" in out
    assert (code, out, err) == uncached(launch, "tests")


def test_a_test_module_another_result_read_lints_everything(shop: Path, launch: Launch) -> None:
    write(
        shop,
        {
            "tests/helpers_test.py": "def make():\n    return 1\n",
            "tests/test_orders.py": "from unittest import mock\n\n\ndef test_make():\n"
            '    with mock.patch("tests.helpers_test.make"):\n        pass\n',
        },
    )
    launch("tests")
    (recorded,) = (shop / ".testlint_cache/v1/replay").glob("*.json")
    reads = {facts[0]: facts[3] for facts in json.loads(recorded.read_text("utf-8"))["checked"]}
    helper = os.path.realpath("tests/helpers_test.py")
    assert reads[os.path.join("tests", "test_orders.py")] == [helper]
    write(shop, {"tests/helpers_test.py": "def made():\n    return 1\n"})
    linted = launch.linted
    code, out, err, _ = launch("tests")
    assert launch.linted == linted + 1, "linted every file"
    assert "TL403" in out  # the patch target is gone
    assert (code, out, err) == uncached(launch, "tests")


@pytest.mark.parametrize(
    "name", ["tests/conftest.py", "src/shop/orders.py", "pyproject.toml", "ci/run.sh"]
)
def test_other_changed_files_lint_everything(shop: Path, launch: Launch, name: str) -> None:
    write(shop, {"ci/run.sh": "pytest\n"})
    launch("tests")
    edit(shop, name, "\n# edited\n")
    linted = launch.linted
    launch("tests")
    assert launch.linted == linted + 1


ERROR_FILTER = (
    "[project]\nname = 'shop'\ndependencies = [{}]\n\n"
    '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'
)


@pytest.mark.parametrize("declared", ["", '"pytest-asyncio"'])
def test_a_recheck_reuses_the_configuration_results_while_the_suite_facts_stand(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch, declared: str
) -> None:
    """The configuration rules read test modules only through the suite facts: a
    re-check whose changed modules keep their suite tokens reuses the recorded
    configuration results (TL702's here, or none); one that gains `mark.asyncio`
    (pytest-asyncio now in use) checks the configuration again."""
    write(shop, {"pyproject.toml": ERROR_FILTER.format(declared)})
    checks: list[Path] = []
    real = config_lint.check_config

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        checks.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_config", counting)
    first = launch("tests")
    assert ("TL702" in first[1]) == bool(declared)
    for appended, checked_again in (
        ("# reviewed\n", False),
        ("\nimport pytest\n\n@pytest.mark.asyncio\nasync def test_a(): pass\n", True),
        ("# reviewed again\n", False),
    ):
        edit(shop, "tests/unit/test_exit.py", appended)
        before, reruns = len(checks), launch.reruns
        code, out, err, _ = launch("tests")
        assert launch.reruns == reruns + 1, "checked alone"
        assert (len(checks) > before) == checked_again, appended
        assert (code, out, err) == uncached(launch, "tests")
    assert "TL702" in out


def test_the_bundled_examples_checked_alone_match_full_runs(shop: Path, launch: Launch) -> None:
    examples = Path(__file__).parent.parent / "examples"
    for path in examples.rglob("*"):
        if path.is_file():
            write(shop / "ex", {str(path.relative_to(examples)): path.read_text("utf-8")})
    os.chdir(shop / "ex")
    modules = sorted(Path("tests").rglob("test_*.py"))
    assert len(modules) >= 4
    launch("tests")
    reruns = launch.reruns
    for module in modules:
        original = module.read_text("utf-8")
        for appended in (
            "\nimport sys\nsys.exit(2)\n",
            "\n# note\n",
            "\nasync def test_late(): pass\n",
        ):
            module.write_text(original + appended, encoding="utf-8")
            code, out, err, _ = launch("tests")
            assert (code, out, err) == uncached(launch, "tests"), (module, appended)
        module.write_text(original, encoding="utf-8")
        assert launch("tests")[:3] == uncached(launch, "tests")
    assert launch.reruns - reruns >= 3 * len(modules)


def test_a_directory_only_discovery_walks_is_watched(shop: Path, launch: Launch) -> None:
    """With `norecursedirs` not skipping hidden directories, pytest (and testlint)
    collect `.hidden/`: a file added there must not be missed."""
    config = SHOP["pyproject.toml"] + "\n[tool.pytest.ini_options]\nnorecursedirs = ['build']\n"
    write(shop, {"pyproject.toml": config, "tests/.hidden/test_ok.py": "def test(): pass\n"})
    launch("tests")
    assert launch("tests")[3]
    write(shop, {"tests/.hidden/test_exit.py": "import sys\nsys.exit(1)\n"})
    code, out, _, replayed = launch("tests")
    assert not replayed
    assert "test_exit.py" in out
    assert code == 1


def test_a_virtualenv_that_stops_being_one_is_watched(shop: Path, launch: Launch) -> None:
    """A directory holding a pyvenv.cfg is skipped by every reader, so its files are
    not watched; removing the pyvenv.cfg makes its modules the project's again."""
    write(shop, {"src/shop/pyvenv.cfg": "home = /usr\n", "tests/test_tool.py": "import shop\n"})
    launch("tests")
    assert launch("tests")[3]
    (shop / "src/shop/pyvenv.cfg").unlink()
    code, out, err, replayed = launch("tests")
    assert not replayed, "the virtualenv's modules are read now: replayed a stale result"
    assert (code, out, err) == uncached(launch, "tests")


def test_a_broken_configuration_where_discovery_never_goes_is_no_error(
    shop: Path, launch: Launch
) -> None:
    """What the cache and the replay watch is found by walking the whole root,
    asking of each hidden directory whether discovery would enter it: a broken
    pyproject.toml beside one is not the checked suite's."""
    write(shop, {"docs/pyproject.toml": "[broken\n", "docs/.build/notes.txt": "x\n"})
    first = launch("tests")
    assert first[0] == 1, first[2]
    assert launch("tests") == (*first[:3], True)
    assert first[:3] == uncached(launch, "tests")


def test_a_configuration_above_the_root_is_watched(shop: Path, launch: Launch) -> None:
    """The root is `tests/` (it has a setup.py) until a pyproject.toml above it
    gains a `[tool.testlint]` table; the cache stays where it is."""
    write(shop, {"pyproject.toml": "[project]\nname = 'shop'\n", "tests/setup.py": ""})
    os.chdir(shop / "tests")
    argv = (".", "--cache-dir", str(shop / "cache"))
    launch(*argv)
    assert launch(*argv)[3]
    write(shop, {"pyproject.toml": "[tool.testlint]\nignore = ['TL101']\n"})
    code, out, err, replayed = launch(*argv)
    assert not replayed
    assert "TL101" not in out
    assert (code, out, err) == uncached(launch, *argv)


@pytest.mark.parametrize(
    "argv",
    [["--fix", "tests"], ["--diff", "tests"], ["--no-cache", "tests"], ["rules"], ["tests", "-j2"]],
)
def test_commands_that_are_never_replayed(shop: Path, launch: Launch, argv: list[str]) -> None:
    for _ in range(2):
        assert not launch(*argv)[3]
    assert not (shop / ".testlint_cache/v1/replay").exists() or not any(
        (shop / ".testlint_cache/v1/replay").iterdir()
    )


def test_a_broken_record_is_ignored(shop: Path, launch: Launch) -> None:
    first = launch("tests")
    (record,) = (shop / ".testlint_cache/v1/replay").iterdir()
    record.write_text('{"key": 1, "stats": [', encoding="utf-8")
    code, out, err, replayed = launch("tests")
    assert not replayed
    assert (code, out, err) == first[:3]


@pytest.mark.parametrize(
    "broken", [{"start": ["a", "b"]}, {"code": None}, {"edits": [[1]]}, {"fix": "bogus"}]
)
def test_a_record_whose_findings_are_not_findings_is_ignored(
    shop: Path, launch: Launch, broken: dict[str, object]
) -> None:
    """A record of valid JSON with a finding no run wrote: the re-check of a changed
    module starting from it would print it; the full run answers instead."""
    first = launch("tests")
    (path,) = (shop / ".testlint_cache/v1/replay").iterdir()
    recorded = json.loads(path.read_text(encoding="utf-8"))
    for checked in recorded["checked"]:
        for finding in checked[2]:
            finding.update(broken)
    path.write_text(json.dumps(recorded), encoding="utf-8")
    edit(shop, *EDITS["a comment"])
    code, out, err, _ = launch("tests")
    assert "Traceback" not in err
    assert (code, out, err) == uncached(launch, "tests")
    assert first[0] == code


def test_a_run_just_after_a_change_is_replayed_by_content(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every file was written less than a second ago ("racy"): the record holds
    # their content, and the next run replays when that content is the same.
    monkeypatch.setattr(record, "RACY_NS", 10**9)
    time.sleep(2 * record.SETTLED_NS / 1e9)  # not changed *during* the run
    first = launch("tests")
    second = launch("tests")
    assert second[3], "a run just after an edit cost the next run its replay"
    assert second[:3] == first[:3]


def test_a_racy_file_rewritten_with_the_same_stat_is_linted_again(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An edit in the same clock tick can leave a file's stat as it was: the
    # recorded content tells (the stat is pinned here to what was recorded).
    monkeypatch.setattr(record, "RACY_NS", 10**9)
    time.sleep(2 * record.SETTLED_NS / 1e9)
    launch("tests")
    edited = str(shop / "tests/unit/test_exit.py")
    recorded = fingerprint.signature(edited)
    text = (shop / "tests/unit/test_exit.py").read_text(encoding="utf-8")
    (shop / "tests/unit/test_exit.py").write_text(
        text.replace("sys.exit(1)", "print(1)   "), encoding="utf-8"
    )
    plain = fingerprint.signature
    monkeypatch.setattr(
        record, "signature", lambda path: recorded if path == edited else plain(path)
    )
    _, out, _, replayed = launch("tests")
    assert not replayed, "a racy file's new content was not looked at"
    assert "test_exit.py" not in out


def test_an_edit_then_two_runs_replays_the_second(
    shop: Path, launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The editor's loop: save a test, run (that file is checked alone), run again.
    monkeypatch.setattr(record, "RACY_NS", 10**9)
    time.sleep(2 * record.SETTLED_NS / 1e9)
    launch("tests")
    write(shop, {"tests/unit/test_exit.py": "import sys\n\nsys.exit(3)\n"})
    time.sleep(2 * record.SETTLED_NS / 1e9)
    reruns = launch.reruns
    after_edit = launch("tests")
    assert launch.reruns == reruns + 1
    again = launch("tests")
    assert again[3], "the run after the edit's run was not replayed"
    assert again[:3] == after_edit[:3]


def test_a_file_changed_during_the_run_is_not_recorded(tmp_path: Path) -> None:
    started = time.time_ns()
    path = tmp_path / "test_a.py"
    path.write_text("x = 1\n", encoding="utf-8")  # written after the run started
    found = fingerprint.signature(str(path))
    assert found is not None
    stats: dict[str, fingerprint.Signature] = {str(path): found}
    assert record._with_racy_contents(stats, started) is None
    before = time.time_ns() + 2 * record.SETTLED_NS  # as if the run started later
    with_content = record._with_racy_contents(stats, before)
    assert with_content is not None
    assert with_content[str(path)] == [*found, fingerprint.content_digest(str(path))]


def test_records_are_pruned(shop: Path, launch: Launch) -> None:
    codes = [rule.code for rule in ALL_RULES]
    assert len(codes) >= record.KEEP + 3
    for code in codes[: record.KEEP + 3]:  # distinct command lines, each recorded
        launch("tests", "--select", code)
        time.sleep(0.01)  # distinct modification times
    assert len(list((shop / ".testlint_cache/v1/replay").glob("*.json"))) == record.KEEP


def test_the_record_is_found_where_the_runner_keeps_its_cache(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (["tests"], {}, ""),
        (["tests", "--isolated"], {}, ""),
        (["--cache-dir", "elsewhere", "tests"], {}, ""),
        (["tests"], {"TESTLINT_CACHE_DIR": str(shop / "env")}, ""),
        (["tests"], {}, 'cache-dir = "configured"\n'),
    ]
    for argv, environ, config in cases:
        write(shop, {"pyproject.toml": SHOP["pyproject.toml"] + config})
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        invoked = invocation.parse(argv)
        assert invoked is not None
        options = RunOptions(
            cache=True,
            cache_dir=Path(invoked.cache_dir) if invoked.cache_dir else None,
            isolated=invoked.isolated,
        )
        result = runner.run([Path(p) for p in invoked.paths], options)
        assert result.cache_directory == invocation.cache_directory(invoked, os.environ), argv
        for name in environ:
            monkeypatch.delenv(name)


def test_the_parser_knows_every_check_option() -> None:
    known = invocation.VALUE_OPTIONS | invocation.FLAG_OPTIONS | invocation.NOT_REPLAYED
    for param in cli.check.params:
        if not isinstance(param, click.Option):
            continue
        names = [*param.opts, *param.secondary_opts]
        assert set(names) <= known, f"invocation.py does not know {names}"
        if any(name in invocation.VALUE_OPTIONS for name in names):
            assert not param.is_flag, names
        if any(name in invocation.FLAG_OPTIONS for name in names):
            assert param.is_flag, names


@pytest.mark.parametrize(
    ("argv", "paths", "cache_dir"),
    [
        ([], (".",), None),
        (["check", "a", "b"], ("a", "b"), None),
        (["--select", "TL1", "a", "--cache-dir=c"], ("a",), "c"),
        (["-q", "--", "--weird-name.py"], ("--weird-name.py",), None),
        (["--cache-dir", "c", "--isolated"], (".",), "c"),
    ],
)
def test_parse(argv: list[str], paths: tuple[str, ...], cache_dir: str | None) -> None:
    found = invocation.parse(argv)
    assert found is not None
    assert found.paths == paths
    assert found.cache_dir == cache_dir


@pytest.mark.parametrize(
    "argv", [["-"], ["--fix"], ["explain", "TL101"], ["--select"], ["-qj2"], ["--bogus"]]
)
def test_parse_refuses(argv: list[str]) -> None:
    assert invocation.parse(argv) is None


# ------------------------------------------------------------------ the snapshot covers every read


class Reads:
    """Every path a run opens, lists or stats, from audit events and `os.stat`."""

    active: ClassVar[list[set[str]]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[object, ...]) -> None:
        if cls.active and event in ("open", "os.scandir", "os.listdir") and args:
            path = args[0]
            if isinstance(path, (str, Path)):
                cls.active[-1].add(os.path.abspath(path))


sys.addaudithook(Reads.hook)


@pytest.mark.parametrize("layout", ["shop", "examples"])
def test_the_snapshot_holds_everything_a_run_reads(
    shop: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    if layout == "examples":
        examples = Path(__file__).parent.parent / "examples"
        for path in examples.rglob("*"):
            if path.is_file():
                write(shop / "ex", {str(path.relative_to(examples)): path.read_text("utf-8")})
        os.chdir(shop / "ex")
        paths = [Path("tests")]
    else:
        write(shop, {".github/workflows/ci.yml": "run: pytest -n 4\n", "ci/run.sh": "pytest\n"})
        paths = [Path("tests"), Path("tests/unit/test_exit.py")]
    stats_seen: set[str] = set()
    real_stat = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if isinstance(path, (str, Path)):
            stats_seen.add(os.path.abspath(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    opened: set[str] = set()
    Reads.active.append(opened)
    monkeypatch.setattr(os, "stat", stat)
    try:
        result = runner.run(paths, RunOptions(jobs=1))
    finally:
        monkeypatch.setattr(os, "stat", real_stat)
        Reads.active.pop()
    assert result.project is not None
    assert result.diagnostics
    project, settings = result.project, result.settings
    stats = record.snapshot(
        project.root,
        paths,
        skipped=[],
        discovery_enters=lambda d: not skips_directory(d, project, settings),
    )
    tree = str(shop)
    for name in sorted(opened):
        if name.startswith(tree):
            assert name in stats, f"read or listed, not watched: {name}"
    for name in sorted(stats_seen):
        if name.startswith(tree):
            assert name in stats or os.path.dirname(name) in stats, f"probed: {name}"
        elif name.endswith(tuple(f"/{marker}" for marker in ROOT_MARKERS)):
            assert name in stats, f"probed above the root: {name}"


# ------------------------------------------------------- libcst only when a file is parsed

PROBE = """
import sys
from testlint import launcher
sys.argv = ["testlint", "--no-cache", "tests"]
try:
    launcher.main()
except SystemExit as exc:
    print("exit", exc.code, "libcst-loaded", "libcst._nodes.expression" in sys.modules)
"""


CORRECT_PATCH = SHOP["tests/test_orders.py"].replace("shop.payments.charge", "shop.orders.charge")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def test_ok():\n    assert 1 + 1 == 2\n", "exit 0 libcst-loaded False"),
        (CORRECT_PATCH, "exit 0 libcst-loaded False"),  # judged by the patch rules' gate
        ("import sys\n\nsys.exit(1)\n", "exit 1 libcst-loaded True"),
        (SHOP["tests/test_orders.py"], "exit 1 libcst-loaded True"),
    ],
)
def test_libcst_is_imported_only_when_a_file_is_parsed(
    tmp_path: Path, source: str, expected: str
) -> None:
    """Every testlint module touches libcst only inside functions, gates included:
    a check whose gates need no parse never imports it (`launcher.defer_import`)."""
    write(tmp_path, {name: text for name, text in SHOP.items() if not name.startswith("tests/")})
    write(tmp_path, {"tests/test_a.py": source})
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == expected, done.stderr


def test_a_replay_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`testlint | head -1`: the reader goes away; like a run that lints (click),
    a replay exits 1 without a traceback."""
    shop = tmp_path / "shop"
    write(shop, SHOP)
    time.sleep(1.1)  # older than the racy window, so that the first run is recorded
    cache = tmp_path / "cache"  # outside the project: creating it changes no watched stat
    command = [sys.executable, "-m", "testlint", "--cache-dir", str(cache), "tests"]
    first = subprocess.run(command, cwd=shop, capture_output=True, text=True, check=False)
    assert first.returncode == 1
    assert list((cache / "v1" / "replay").glob("*.json")), first.stderr
    process = subprocess.Popen(
        command, cwd=shop, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "Traceback" not in err, err


def test_replay_knows_what_a_test_module_is_called() -> None:
    from testlint.rule import FileKind

    assert FileKind.TEST.value == record.TEST_MODULE


def test_the_repository_workflow_of_a_sub_project_is_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch: Launch
) -> None:
    # The project is shop/ inside a repository whose CI workflow (outside the
    # project) runs its suite: editing that workflow must not replay a stale result.
    repository = tmp_path / "repo"
    write(repository / "shop", SHOP)
    (repository / ".git").mkdir()
    monkeypatch.chdir(repository / "shop")
    monkeypatch.setattr(record, "RACY_NS", -(10**15))
    write(repository, {".github/workflows/ci.yml": "steps:\n  - run: pytest tests\n"})
    launch("tests")
    assert launch("tests")[3]
    write(
        repository,
        {".github/workflows/ci.yml": "steps:\n  - working-directory: shop\n    run: pytest -n 4\n"},
    )
    code, out, err, replayed = launch("tests")
    assert not replayed, "the repository's workflow changed: replayed a stale result"
    assert (code, out, err) == uncached(launch, "tests")


def test_the_second_run_in_a_row_is_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, launch: Launch
) -> None:
    # With the real racy window: files written well before, then two runs in a row.
    # The first run creates .testlint_cache/ in the root (a directory change within
    # the window); that must not cost the second run its replay.
    root = tmp_path / "shop"
    write(root, SHOP)
    monkeypatch.setattr(record, "RACY_NS", 200_000_000)  # a shorter window, same rule
    time.sleep(0.3)  # every file is older than the window (ctime cannot be set back)
    monkeypatch.chdir(root)
    first = launch("tests")
    assert not first[3]
    second = launch("tests")
    assert second[3], "the second run in a row was not replayed"
    assert second[:3] == first[:3]
