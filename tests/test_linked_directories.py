"""Directories reached through symbolic links are checked, as pytest collects them
(its directory walk asks `DirEntry.is_dir()`, which follows links). Unlike pytest,
which follows a link loop until the path is too long, each real directory is walked
once and each real file checked once: a loop ends, and no finding is reported twice.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from cli_runner import make_runner, write
from testlint import launcher, record
from testlint.cli import main

EXIT = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
PASSING = "def test_passes():\n    pass\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`project/` (the working directory, with its own pytest.ini) beside `other/`."""
    root = tmp_path / "project"
    write(root, "pytest.ini", "[pytest]\n")
    monkeypatch.chdir(root)
    return root


def check(*args: str) -> Result:
    return make_runner().invoke(main, ["--no-cache", "--output-format", "concise", *args])


def reported(result: Result) -> list[str]:
    """The files with a TL101 finding, in the order reported."""
    return re.findall(r"^(\S+):\d+:\d+: TL101", result.stdout, re.MULTILINE)


def test_a_linked_test_directory_is_checked(project: Path) -> None:
    """`tests/integration -> ../../other/tests` was skipped: "All checks passed!"."""
    write(project, "tests/test_unit.py", PASSING)
    write(project.parent, "other/tests/test_remote.py", EXIT)
    (project / "tests" / "integration").symlink_to(project.parent / "other" / "tests")
    result = check("tests")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert reported(result) == ["tests/integration/test_remote.py"]


def test_a_linked_directory_inside_the_suite_is_checked(project: Path) -> None:
    write(project, "suites/slow/test_slow.py", EXIT)
    (project / "tests").mkdir()
    (project / "tests" / "slow").symlink_to("../suites/slow")
    assert reported(check("tests")) == ["tests/slow/test_slow.py"]


def test_a_linked_directory_named_on_the_command_line_is_checked(project: Path) -> None:
    write(project, "real_tests/test_a.py", EXIT)
    (project / "tests").symlink_to("real_tests")
    for named in ("tests", "tests/"):
        assert reported(check(named)) == ["tests/test_a.py"], named


def test_link_loops_end_and_each_file_is_checked_once(project: Path) -> None:
    write(project, "tests/test_a.py", EXIT)
    write(project, "tests/sub/test_b.py", EXIT)
    (project / "tests" / "sub" / "up").symlink_to("..")  # a loop through its parent
    (project / "tests" / "sub" / "here").symlink_to(".")  # a loop on itself
    (project / "tests" / "again").symlink_to("sub")  # the same directory twice
    result = check(".")
    assert result.exit_code == 1, result.stderr
    assert sorted(reported(result)) == ["tests/again/test_b.py", "tests/test_a.py"] or sorted(
        reported(result)
    ) == ["tests/sub/test_b.py", "tests/test_a.py"]
    assert "Checked 2 files" in result.stdout


def test_a_link_into_the_walk_from_outside_ends_too(project: Path) -> None:
    """A link to a directory above the one named: its other directories are walked
    (pytest does so too), the named one not again."""
    write(project, "tests/test_a.py", EXIT)
    write(project, "more/test_more.py", EXIT)
    (project / "tests" / "root").symlink_to("..")
    assert sorted(reported(check("tests"))) == ["tests/root/more/test_more.py", "tests/test_a.py"]


def test_files_checked_are_those_pytest_collects(project: Path) -> None:
    write(project, "tests/test_unit.py", PASSING)
    write(project, "suites/slow/test_slow.py", PASSING)
    write(project.parent, "other/tests/test_remote.py", PASSING)
    (project / "tests" / "slow").symlink_to("../suites/slow")
    (project / "tests" / "integration").symlink_to(project.parent / "other" / "tests")
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    by_pytest = sorted(
        {line.split("::")[0] for line in collected.stdout.splitlines() if "::" in line}
    )
    shown = make_runner().invoke(main, ["--show-files", "tests"])
    assert shown.exit_code == 0, shown.stderr
    assert (
        sorted(shown.stdout.split())
        == by_pytest
        == [
            "tests/integration/test_remote.py",
            "tests/slow/test_slow.py",
            "tests/test_unit.py",
        ]
    )


def test_an_edit_behind_a_link_is_not_replayed_stale(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recorded run is replayed only while nothing it read changed: files reached
    through a linked directory count too."""
    monkeypatch.setattr(record, "RACY_NS", -(10**15))  # record files made just now
    write(project, "tests/test_unit.py", PASSING)
    remote = write(project.parent, "other/tests/test_remote.py", PASSING)
    (project / "tests" / "integration").symlink_to(project.parent / "other" / "tests")

    def launch() -> tuple[int | str | None, str]:
        with pytest.raises(SystemExit) as exited:
            launcher.main(["--output-format", "concise", "tests"])
        return exited.value.code, capsys.readouterr().out

    assert launch()[0] == 0
    assert launch()[0] == 0
    remote.write_text(EXIT, encoding="utf-8")
    code, out = launch()
    assert code == 1
    assert "tests/integration/test_remote.py:6:5: TL101" in out
    write(project.parent, "other/tests/deeper/test_new.py", EXIT)
    code, out = launch()
    assert "tests/integration/deeper/test_new.py:6:5: TL101" in out
