"""`testlint check --show-settings PATH` and `--show-files`, on copies of the fixture
projects (each is its own project there, as a user's would be)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import Result

from cli_runner import make_runner
from testlint.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def invoke(*args: str) -> Result:
    return make_runner().invoke(main, list(args), catch_exceptions=False)


def copy_of(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture project (without goldens), as the working directory."""
    copy = tmp_path / Path(fixture).name
    shutil.copytree(FIXTURES / fixture, copy, ignore=shutil.ignore_patterns("*.fixed.py"))
    monkeypatch.chdir(copy)
    return copy


def rows(output: str) -> dict[str, list[str]]:
    """`label -> its lines` of a `--show-settings` output (continuation lines
    joined to the label above them)."""
    found: dict[str, list[str]] = {}
    label = ""
    for line in output.splitlines():
        match = re.match(r"^  (.{23}) (.*)$", line)
        if match is None:
            continue
        if match.group(1).strip():
            label = match.group(1).strip()
            found[label] = [match.group(2)]
        else:
            found[label].append(match.group(2))
    return found


def settings_of(path: str, *args: str) -> dict[str, list[str]]:
    result = invoke("check", "--show-settings", *args, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Settings for {path}")
    return rows(result.stdout)


# ------------------------------------------------------------------ --show-settings


def test_xdist_evidence_markers_and_what_acts_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_of("TL201/seed_parallel_unsafe", tmp_path, monkeypatch)
    shown = settings_of("tests/unit/core/test_batch_runner.py")
    assert shown["pytest configuration"] == ["pytest.ini"]
    assert shown["rootdir"] == [". (the configuration file's directory)"]
    assert shown["file"] == ["test module"]
    assert shown["runs xdist"][:2] == ["yes", "requirements-dev.txt: pytest-xdist >=3.6 declared"]
    # The workflow's command, with its line.
    assert shown["runs xdist"][2].startswith(".github/workflows/tests.yml:18: run: pytest -n auto")
    assert shown["serial markers"] == ["parallel_unsafe, serial (default)"]
    assert shown["adopted"] == [
        "parallel_unsafe: registered in `markers` (pytest.ini)",
        "serial: registered in `markers` (pytest.ini)",
    ]
    assert shown["acted on by"] == [
        "parallel_unsafe: a hook in tests/conftest.py names it and maps it to `xdist_group`",
        "serial: a hook in tests/conftest.py names it and maps it to `xdist_group`",
        "(too late: tests/conftest.py maps to `xdist_group` without `tryfirst=True`)",
    ]
    assert shown["pytest"][0] == "requirements-dev.txt: pytest >=8 declared"
    assert shown["pytest-asyncio"] == ["not declared, and no test module or conftest uses it"]


def test_a_run_that_deselects_the_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_of("TL204/m_not_serial_in_ci", tmp_path, monkeypatch)
    shown = settings_of("test_cache.py")
    assert shown["acted on by"] == [
        '`-m "not serial"` (.github/workflows/tests.yml:10)',
        '`-m "serial"` (.github/workflows/tests.yml:12)',
    ]
    assert shown["runs xdist"][1:] == [
        "pyproject.toml: pytest-xdist declared",
        ".github/workflows/tests.yml:10: run: pytest -n auto -m 'not serial'",
    ]


def test_xdist_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_of("TL201/xdist_disabled_p_no_xdist", tmp_path, monkeypatch)
    test = next(project.rglob("test_*.py")).relative_to(project).as_posix()
    shown = settings_of(test)
    assert shown["runs xdist"] == ["no: `-p no:xdist` in `addopts` (pyproject.toml)"]


@pytest.mark.parametrize(
    ("fixture", "mode"),
    [
        ("TL301/auto_addopts", "auto (`--asyncio-mode` in `addopts` (pytest.ini))"),
        ("TL301/auto_pytest_ini", "auto (`asyncio_mode` in pytest.ini)"),
        ("TL301/mode_set_in_conftest", "auto (`config.option.asyncio_mode = ...` in conftest.py)"),
        ("TL301/testlint_override", "auto (`[tool.testlint] asyncio-mode` in pyproject.toml)"),
        ("TL301/strict_default", None),
    ],
)
def test_asyncio_mode_and_where_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str, mode: str | None
) -> None:
    project = copy_of(fixture, tmp_path, monkeypatch)
    test = sorted(project.rglob("test_*.py"))[0].relative_to(project).as_posix()
    shown = settings_of(test)
    if mode is None:
        assert shown["mode"][0].startswith("strict (")
    else:
        assert shown["mode"] == [mode]
    assert shown["pytest"][-1] == "(testlint reads the configuration as pytest 9 does)"


def test_why_a_file_is_not_collected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_of("TL101/ignored_by_config", tmp_path, monkeypatch)
    expected = {
        "data/test_sample.py": (
            'no: `norecursedirs` pattern "data" (pytest.ini) matches data/, '
            "unless pytest is given it or a path inside it"
        ),
        "scripts/test_script.py": "no: `--ignore=scripts/test_script.py` in `addopts` (pytest.ini)",
        "test_gui_manual.py": "no: `--ignore-glob=*_manual.py` in `addopts` (pytest.ini)",
        "sub/test_ignored.py": 'no: `collect_ignore` entry "sub/test_ignored.py" in conftest.py',
        "sub/test_collected.py": "yes",
    }
    for path, verdict in expected.items():
        shown = settings_of(path)
        assert shown["collected by pytest"] == [verdict], path
    # Under `if sys.version_info < (3, 10):`: not evaluated, so not applied.
    assert settings_of("sub/test_py310_only.py")["collect_ignore not read"] == [
        'conftest.py:7: collect_ignore_glob = ["sub/test_py310_*.py"]'
    ]
    assert settings_of("test_gui_manual.py")["file"] == ["other module"]


def test_a_file_python_files_does_not_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_of("TL101/ignored_by_config", tmp_path, monkeypatch)
    (Path("sub") / "helpers.py").write_text("X = 1\n")
    shown = settings_of("sub/helpers.py")
    assert shown["collected by pytest"] == [
        "no: `python_files` does not name it (test_*.py *_test.py)"
    ]
    assert shown["python_files"] == ["test_*.py *_test.py (pytest's default)"]


def test_testlint_settings_say_where_each_value_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_files = check_*.py\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.testlint]\n"
        'ignore = ["TL201"]\n'
        'exclude = ["legacy"]\n'
        'serial-markers = ["serial"]\n'
        '[tool.testlint.per-file-ignores]\n"tests/*" = ["TL101"]\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "check_a.py").write_text("import sys\n")
    shown = settings_of("tests/check_a.py", "--extend-select", "TL1", "--unsafe-fixes")
    assert shown["configuration"] == ["pyproject.toml ([tool.testlint])"]
    assert shown["python_files"] == ["check_*.py (`python_files` in pytest.ini)"]
    assert shown["select"] == ["TL (default)"]
    assert shown["extend-select"] == ["TL1 (command line)"]
    assert shown["ignore"] == ["TL201 (pyproject.toml)"]
    assert shown["exclude"] == ["legacy (pyproject.toml)"]
    assert shown["unsafe-fixes"] == ["true (command line)"]
    assert shown["per-file-ignores"] == ['"tests/*" = TL101']
    rules = shown["rules for this file"][0]
    assert "TL101" not in rules  # per-file-ignores
    assert "TL201" not in rules  # ignore
    assert rules.endswith("(as a test module)")
    assert shown["serial-markers"] == ['["serial"] (pyproject.toml; read by TL201, TL203, TL204)']
    assert shown["asyncio-mode"] == ['"" (default; read by TL301, TL302, TL305)']
    isolated = settings_of("tests/check_a.py", "--isolated")
    assert isolated["configuration"] == ["none (--isolated): defaults"]
    assert isolated["ignore"] == ["(none) (default)"]


def test_a_directory_and_a_sub_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    server = tmp_path / "server"
    (server / "tests").mkdir(parents=True)
    (server / "requirements.txt").write_text("pytest-asyncio==0.18.3\n")
    result = invoke("check", "--show-settings", "server/tests")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Settings for files in server/tests\n")
    shown = rows(result.stdout)
    assert shown["sub-project"] == ["server (it declares its own dependencies)"]
    assert shown["pytest-asyncio"] == [
        "runs, pinned before 0.19 (no strict mode by default)",
        "server/requirements.txt: pytest-asyncio ==0.18.3 declared",
    ]
    assert "file" not in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.py"], "testlint: error: nope.py: no such file or directory"),
        (["a.py", "b.py"], "--show-settings takes one path"),
        (["--diff", "a.py"], "--show-settings cannot be used with --diff"),
    ],
)
def test_show_settings_refuses_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("")
    (tmp_path / "b.py").write_text("")
    result = invoke("check", "--show-settings", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_configuration_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.testlint]\nselct = []\n")
    (tmp_path / "test_a.py").write_text("")
    for option in ("--show-settings", "--show-files"):
        result = invoke("check", option, "test_a.py")
        assert result.exit_code == 2
        assert "unknown key 'selct'" in result.stderr


# ------------------------------------------------------------------ --show-files


def test_show_files_lists_what_check_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_of("TL101/ignored_by_config", tmp_path, monkeypatch)
    result = invoke("check", "--show-files")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "conftest.py",
        "sub/test_collected.py",
        "sub/test_py310_only.py",
    ]
    checked = invoke("check", "--no-cache", ".")
    assert f"Checked {len(result.stdout.splitlines())} files" in checked.stdout


@pytest.mark.parametrize(
    "fixture", ["TL201/seed_parallel_unsafe", "TL401/inventory_flat", "TL003", "TL204/no_xdist"]
)
def test_show_files_counts_what_check_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str
) -> None:
    copy_of(fixture, tmp_path, monkeypatch)
    files = invoke("check", "--show-files", ".").stdout.splitlines()
    checked = invoke("check", "--no-cache", "--output-format", "json", ".")
    count = re.search(r"Checked (\d+) file", checked.stderr)
    assert count is not None, checked.stderr
    assert len(files) == int(count.group(1))


def test_show_files_honours_exclude_and_reports_a_bad_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.testlint]\nexclude = ["legacy"]\n')
    for name in ("tests/test_a.py", "legacy/test_b.py", "tests/helper.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    assert invoke("check", "--show-files").stdout == "tests/test_a.py\n"
    named = invoke("check", "--show-files", "legacy/test_b.py", "--force-exclude")
    assert (named.exit_code, named.stdout) == (0, "")
    assert "no test modules or conftests found" in named.stderr
    bad = invoke("check", "--show-files", "tests", "nope")
    assert bad.exit_code == 2
    assert bad.stdout == "tests/test_a.py\n"
    assert "testlint: error: nope: no such file or directory" in bad.stderr


def test_the_versions_assumed_and_where_they_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "requirements.txt").write_text("pytest-asyncio>=0.21,<1\npytest-xdist\n")
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "pytest"\nversion = "8.3.5"\n')
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    shown = settings_of("test_a.py")
    assert shown["pytest-asyncio version"] == [
        "0.26.0 (the newest release the declared requirements admit)"
    ]
    assert shown["pytest version"] == ["8.3.5 (locked in uv.lock)"]
    (tmp_path / "requirements.txt").write_text("pytest-xdist\n")
    (tmp_path / "uv.lock").unlink()
    shown = settings_of("test_a.py")
    assert shown["pytest-asyncio version"] == ["1.5.0 (not declared: the latest release)"]
    assert shown["pytest version"] == ["9.2.0 (not declared: the latest release)"]
