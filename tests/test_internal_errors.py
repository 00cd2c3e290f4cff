"""A bug in testlint is never a success nor "problems found": it ends the run with
exit 2 and one line naming what failed (never a traceback, which Python ends with
exit 1), and the findings that could still be made are shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from broken_rules import BrokenFix, Crashes, CrashesInItsGate
from cli_runner import make_runner, write
from testlint import launcher, record
from testlint.cli import main
from testlint.registry import RULES
from testlint.rule import Rule

EXIT = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
BUG = "this is a testlint bug, please report it"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    write(tmp_path, "test_a.py", EXIT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*args: str, stdin: str | None = None) -> Result:
    runner = make_runner()
    return runner.invoke(
        main,
        ["--no-cache", "--output-format", "concise", *args],
        input=stdin,
        catch_exceptions=True,
    )


def one_error_line(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.startswith("testlint: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("rule", "raised"), [(Crashes, "RuntimeError: boom"), (CrashesInItsGate, "KeyError: 'gate'")]
)
def test_a_crashing_rule_leaves_the_files_other_findings(
    project: Path, monkeypatch: pytest.MonkeyPatch, rule: type[Rule], raised: str
) -> None:
    """The crash used to drop every finding of the file."""
    monkeypatch.setattr("testlint.runner.RULES", (rule, *RULES))
    result = check(".")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "test_a.py:6:5: TL101" in result.stdout
    error = one_error_line(result)
    assert error.startswith(f"testlint: error: test_a.py: internal error ({raised}) in {rule.code}")
    assert error.endswith(BUG)


def test_a_crashing_rule_leaves_the_files_other_findings_on_standard_input(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("testlint.runner.RULES", (Crashes, *RULES))
    result = check("-", stdin=EXIT)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "-:6:5: TL101" in result.stdout
    assert "internal error (RuntimeError: boom)" in one_error_line(result)


def test_a_crash_outside_any_file_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("walk")

    monkeypatch.setattr("testlint.runner.discover", broken)
    result = check(".")
    assert result.exit_code == 2, result.stdout + result.stderr
    error = one_error_line(result)
    assert error.startswith("testlint: error: internal error (RuntimeError: walk) at ")
    assert error.endswith(BUG)


def test_a_fix_that_breaks_the_code_is_an_internal_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was a warning: the run exited 1 ("problems found") or 0."""
    monkeypatch.setattr("testlint.runner.RULES", (BrokenFix,))
    result = check("--fix", ".")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "does not parse" in one_error_line(result)
    assert (project / "test_a.py").read_text(encoding="utf-8") == EXIT


SCRIPT = """
import sys
import testlint.output
from testlint.launcher import main

def broken(*args, **kwargs):
    raise ValueError("cannot render")

testlint.output.summary = broken
main(["--no-cache", "."])
"""


def test_the_command_never_ends_with_a_traceback(project: Path) -> None:
    """Python ends on an uncaught exception with exit 1: "problems found"."""
    ended = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ended.returncode == 2, ended.stderr
    assert "Traceback" not in ended.stderr
    lines = ended.stderr.splitlines()
    assert len(lines) == 1, ended.stderr
    assert lines[0].startswith("testlint: error: internal error (ValueError: cannot render) at ")


def test_a_crash_while_checking_changed_files_alone_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The re-check of a few changed test modules (`rerun.py`) runs before the CLI."""
    monkeypatch.setattr(record, "RACY_NS", -(10**15))  # record files made just now
    write(project, "test_b.py", "def test_b():\n    pass\n")

    def launch() -> int | str | None:
        with pytest.raises(SystemExit) as exited:
            launcher.main(["--output-format", "concise", "."])
        return exited.value.code

    assert launch() == 1
    capsys.readouterr()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("recheck")

    monkeypatch.setattr("testlint.rerun.rerun", broken)
    write(project, "test_b.py", "def test_b():\n    assert True\n")
    assert launch() == 2
    err = capsys.readouterr().err
    assert err.startswith("testlint: error: internal error (RuntimeError: recheck) at "), err
    assert len(err.splitlines()) == 1
