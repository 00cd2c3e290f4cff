"""A run that did not check every file never reports success: a signal that stops
one worker, a worker killed outright, SIGTERM from `timeout` or a supervisor. Each
test runs `testlint --fix --jobs 2` over 2,000 small files that all need a fix (200
where the run must fix them all), and a signal is sent from inside the run, while a
worker lints its third file.

Exit codes: 130 for Ctrl-C (the whole process group, as a terminal sends it), 2
for every other way a run can end before its last file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_runner import make_runner
from testlint.cli import main

EXIT = b"import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
EXIT_FIXED = (
    b"import pytest\n\ntry:\n    import nope\nexcept ImportError:\n"
    b'    pytest.skip("could not import nope", allow_module_level=True)\n'
)
FILES = 2000
RUN_THROUGH_FILES = 200
TERMINATED = "testlint: terminated (no file is left half written)"

SCRIPT = """
import os, signal, sys, time
from testlint.engine import Linter
from testlint.launcher import main

action, marker = sys.argv[1], sys.argv[2]
parent = os.getpid()
original = Linter.check
seen = []

def first_to_get_here():
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True

def check(self, path, *args, **kwargs):
    seen.append(path)
    if os.getpid() != parent and len(seen) == 3 and first_to_get_here():
        target, number = action.split(":")
        signum = getattr(signal, number)
        if target == "group":
            os.killpg(os.getpgid(0), signum)
        elif target == "parent":
            os.kill(parent, signum)
        else:
            os.kill(os.getpid(), signum)
        time.sleep(0.2)
    return original(self, path, *args, **kwargs)

Linter.check = check
main(["--fix", "--no-cache", "--jobs", "2", "--output-format", "concise", "."])
"""


@dataclass(frozen=True)
class Ended:
    code: int
    out: str
    err: str
    contents: list[bytes]


def _suite(folder: Path, files: int) -> Path:
    suite = folder / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for number in range(files):
        (suite / f"test_{number:04d}.py").write_bytes(EXIT)
    return suite


@pytest.fixture(scope="module")
def suite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _suite(tmp_path_factory.mktemp("template"), FILES)


@pytest.fixture(scope="module")
def run_through_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For a run that must fix every file: fewer of them, still far more than the
    third file of a worker, where the signal is sent."""
    return _suite(tmp_path_factory.mktemp("template"), RUN_THROUGH_FILES)


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_signalled(
    template: Path, tmp_path: Path, action: str, before: Callable[[], None] | None = None
) -> Ended:
    """testlint over a copy of the suite, `action` ("worker:SIGINT", "group:SIGTERM",
    ...) done once, by the first worker to reach its third file."""
    suite = tmp_path / "suite"
    shutil.copytree(template, suite)
    files = len(list(suite.glob("test_*.py")))
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, action, str(tmp_path / "signalled")],
        cwd=suite,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which "group:" signals
        preexec_fn=before,
    )
    try:
        # Ends when every process holding its pipes has ended (workers included).
        out, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{action}: the run never ended")
    assert (tmp_path / "signalled").exists(), "no worker linted a third file"
    names = sorted(p.name for p in suite.iterdir())
    assert names == sorted(["pytest.ini", *(f"test_{n:04d}.py" for n in range(files))])
    contents = [(suite / f"test_{n:04d}.py").read_bytes() for n in range(files)]
    assert set(contents) <= {EXIT, EXIT_FIXED}, "a file was left half written"
    for stream in (out, err):
        assert "Traceback" not in stream, stream[-3000:]
    return Ended(process.returncode, out, err, contents)


def not_checked(err: str) -> int:
    """How many files the run says it did not check (it must say it)."""
    found = re.search(rf"(\d+) of {FILES} files were not checked", err)
    assert found, err
    return int(found.group(1))


def test_a_worker_interrupted_alone_does_not_end_the_run_quietly(
    suite_template: Path, tmp_path: Path
) -> None:
    """SIGINT to one worker stopped every worker, and the run said "Fixed N
    problems (0 remaining)" with exit 0 while most files were never opened."""
    ended = run_signalled(suite_template, tmp_path, "worker:SIGINT")
    assert ended.code == 2, ended.err
    assert "SIGINT" in ended.err
    missing = not_checked(ended.err)
    assert missing == ended.contents.count(EXIT) > 0


def test_a_run_started_with_sigint_ignored_ignores_it(
    run_through_template: Path, tmp_path: Path
) -> None:
    """A background job of a non-interactive shell (or `nohup`) starts with SIGINT
    ignored; its workers used to stop on it anyway, and the run still exited 0."""
    ended = run_signalled(run_through_template, tmp_path, "group:SIGINT", before=_ignoring_sigint)
    assert ended.code == 0, ended.err
    assert ended.contents == [EXIT_FIXED] * RUN_THROUGH_FILES
    assert f"Fixed {RUN_THROUGH_FILES} problems (0 remaining)." in ended.out


def test_a_worker_killed_outright_fails_the_run(suite_template: Path, tmp_path: Path) -> None:
    """A worker killed by SIGKILL (or the OOM killer) used to hang the run forever."""
    ended = run_signalled(suite_template, tmp_path, "worker:SIGKILL")
    assert ended.code == 2, ended.err
    assert "SIGKILL" in ended.err
    assert not_checked(ended.err) >= ended.contents.count(EXIT) > 0


def test_sigterm_to_one_worker_fails_the_run(suite_template: Path, tmp_path: Path) -> None:
    ended = run_signalled(suite_template, tmp_path, "worker:SIGTERM")
    assert ended.code == 2, ended.err
    assert "SIGTERM" in ended.err
    assert not_checked(ended.err) >= ended.contents.count(EXIT) > 0


@pytest.mark.parametrize("target", ["group", "parent"])
def test_sigterm_ends_the_run_with_one_line(
    suite_template: Path, tmp_path: Path, target: str
) -> None:
    """`timeout` sends SIGTERM to the whole group; a supervisor may send it to the
    main process only (whose workers then printed BrokenPipeError tracebacks). The
    run stops after the files in hand: one line, exit 2, no file half written."""
    ended = run_signalled(suite_template, tmp_path, f"{target}:SIGTERM")
    assert ended.code == 2, ended.err
    assert ended.err.strip() == TERMINATED
    assert EXIT in ended.contents, "the run went on after SIGTERM"


def test_ctrl_c_while_the_report_prints_is_no_problem_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the last file, while the findings print: click made it
    "Aborted!" and exit 1, as if problems were found."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_a.py").write_bytes(EXIT)
    monkeypatch.chdir(tmp_path)

    def pressed(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("testlint.output.report", pressed)
    result = make_runner().invoke(main, ["--no-cache", "."])
    assert result.exit_code == 130, result.stderr
    assert result.stderr.strip() == "testlint: interrupted (no file is left half written)"
