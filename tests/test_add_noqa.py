"""`testlint check --add-noqa`: a directive for every finding, on a line where the
engine honours it, merged with the directive already there.

The inputs are under tests/add_noqa_fixtures/ (a project with its own pytest.ini);
`name.noqa.py` is `name.py` after `--add-noqa`.
"""

from __future__ import annotations

import ast
import shutil
import stat
import sys
from pathlib import Path

import pytest
from click.testing import Result

from cli_runner import make_runner
from testlint.cli import main
from testlint.noqa import directive, with_codes

FIXTURES = Path(__file__).parent / "add_noqa_fixtures"


def invoke(*args: str) -> Result:
    return make_runner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture project (without the expected outputs), as the
    working directory."""
    copy = tmp_path / "project"
    shutil.copytree(FIXTURES, copy, ignore=shutil.ignore_patterns("*.noqa.py"))
    monkeypatch.chdir(copy)
    return copy


def test_a_directive_for_every_finding_where_it_is_honoured(project: Path) -> None:
    before = invoke("check", "--no-cache", "test_cases.py")
    assert before.exit_code == 1
    assert "found 11 problems" in before.stdout
    result = invoke("check", "--add-noqa", "test_cases.py")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "Added 11 noqa directives.\n"
    assert result.stdout == ""
    expected = (FIXTURES / "test_cases.noqa.py").read_text(encoding="utf-8")
    assert (project / "test_cases.py").read_text(encoding="utf-8") == expected
    ast.parse(expected)
    after = invoke("check", "--no-cache", "test_cases.py")
    assert after.exit_code == 0, after.stdout
    # The merged directives keep the codes ruff and flake8 read (E501).
    assert "# noqa: E501, TL101" in expected


def test_a_second_run_adds_nothing(project: Path) -> None:
    invoke("check", "--add-noqa", "test_cases.py")
    written = (project / "test_cases.py").read_bytes()
    again = invoke("check", "--add-noqa", "test_cases.py")
    assert again.exit_code == 0
    assert again.stderr == "Added 0 noqa directives.\n"
    assert (project / "test_cases.py").read_bytes() == written


def test_what_no_directive_can_suppress_is_left_and_exits_1(project: Path) -> None:
    original = (project / "test_left_alone.py").read_bytes()
    result = invoke("check", "--add-noqa", "test_left_alone.py")
    assert result.exit_code == 1
    assert (project / "test_left_alone.py").read_bytes() == original
    assert "no `# noqa` added for the findings of line 9" in result.stderr
    assert "Added 0 noqa directives.\n2 findings left without a directive" in result.stderr
    # A directory: every file under it, counted together.
    whole = invoke("check", "--add-noqa", ".")
    assert whole.exit_code == 1
    assert "Added 11 noqa directives." in whole.stderr


def test_quiet_prints_only_problems(project: Path) -> None:
    result = invoke("check", "--add-noqa", "-q", "test_cases.py")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_line_ends_encoding_and_a_missing_final_newline_are_kept(project: Path) -> None:
    source = (
        "# -*- coding: latin-1 -*-\r\nimport sys\r\n\r\n"
        'NAME = "caf\xe9"\r\ntry:\r\n    import nope\r\nexcept ImportError:\r\n    sys.exit(1)'
    ).encode("latin-1")
    (project / "test_latin.py").write_bytes(source)
    result = invoke("check", "--add-noqa", "test_latin.py")
    assert result.exit_code == 0, result.stderr
    assert (project / "test_latin.py").read_bytes() == source + b"  # noqa: TL101"


def test_a_read_only_file_is_not_written(project: Path) -> None:
    path = project / "test_cases.py"
    original = path.read_bytes()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        result = invoke("check", "--add-noqa", "test_cases.py")
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.exit_code == 1
    assert "the file is read-only; not written" in result.stderr
    assert "Added 0 noqa directives.\n11 findings left" in result.stderr
    assert path.read_bytes() == original


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fix"], "--add-noqa cannot be used with --fix"),
        (["--diff"], "--add-noqa cannot be used with --diff"),
        (["--show-files"], "--show-settings cannot be used with --show-files"),
        (["--stdin-filename", "x.py"], "--add-noqa reads files"),
    ],
)
def test_incompatible_options_exit_2(project: Path, args: list[str], message: str) -> None:
    first = "--show-settings" if "--show-files" in args else "--add-noqa"
    result = invoke("check", first, *args, "test_cases.py")
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_missing_path_exits_2(project: Path) -> None:
    result = invoke("check", "--add-noqa", "nope.py", "test_cases.py")
    assert result.exit_code == 2
    assert "testlint: error: nope.py: no such file or directory" in result.stderr
    assert "# noqa: TL101" in (project / "test_cases.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("comment", "added", "expected"),
    [
        ("# noqa: E501", ["TL101"], "# noqa: E501, TL101"),
        ("# noqa:E501,W291", ["TL101", "TL102"], "# noqa:E501,W291,TL101,TL102"),
        ("# noqa: E501 W291  # why", ["TL101"], "# noqa: E501 W291 TL101  # why"),
        ("# NOQA: tl101", ["TL101"], "# NOQA: tl101"),
        ("# noqa", ["TL101"], "# noqa"),
        ("# type: ignore  # noqa: F401", ["TL101"], "# type: ignore  # noqa: F401, TL101"),
    ],
)
def test_codes_join_the_directive_in_its_own_style(
    comment: str, added: list[str], expected: str
) -> None:
    read = directive(comment)
    assert read is not None
    assert with_codes(read, added) == expected


def test_the_front_ends_agree_on_the_directives(project: Path) -> None:
    """flake8 applies `# noqa` itself: the added directives silence it too."""
    import subprocess

    invoke("check", "--add-noqa", "test_cases.py")
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TL", "test_cases.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert flake8.returncode == 0, flake8.stdout + flake8.stderr
