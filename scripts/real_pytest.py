"""Run real pytest, at the versions a rule names, on its fixture projects: the failure
the rule describes happens before the fix, and not after.

    python scripts/real_pytest.py                # every case (makes venvs once, in --venvs)
    python scripts/real_pytest.py --only TL702   # the cases of one rule

Each case copies a fixture project into a scratch directory, installs nothing into it,
and runs `python -m pytest` from a virtual environment holding exactly the pinned
pytest and pytest-asyncio (made with `pip` on first use, kept in `--venvs`). A case
states the exit code expected, a text the output must hold, and, for a fixed project,
the exit code after testlint's `--fix`. Needs the package index; not part of the
test suite (which must not download), run by hand when a rule's versions change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ASYNC_TEST = "import pytest\n\n\n@pytest.mark.asyncio\nasync def test_runs():\n    pass\n"


@dataclass(frozen=True)
class Case:
    rule: str
    project: str
    """A directory under tests/fixtures."""
    pins: tuple[str, ...]
    exit_code: int
    says: str
    """Text the output holds ("" for none)."""
    fixed_exit_code: int | None = None
    """The exit code after `testlint --fix` (None: the case has no fix)."""
    options: tuple[str, ...] = ()
    add_async_test: bool = False
    """The project holds only configuration: give pytest one async test to run."""


PYTEST_9_2 = ("pytest==9.2.0", "pytest-asyncio==1.5.0")
STOPS = "INTERNALERROR"
DEFAULT_FUNCTION = ("-o", "asyncio_default_fixture_loop_scope=function")

CASES = (
    # TL305, the unset option: fine today, ScopeMismatch under the announced default.
    Case("TL305", "TL305/unset", PYTEST_9_2, 0, "1 passed", options=("-k", "TestOrders")),
    Case(
        "TL305",
        "TL305/unset",
        PYTEST_9_2,
        1,
        "ScopeMismatch",
        fixed_exit_code=0,
        options=(*DEFAULT_FUNCTION, "-k", "TestOrders"),
    ),
    # TL702: filterwarnings makes the start-up warning an error under pytest 9.2 only.
    Case("TL702", "TL702/error_list", PYTEST_9_2, 3, STOPS, 0, add_async_test=True),
    Case("TL702", "TL702/addopts_w", PYTEST_9_2, 3, STOPS, 0, add_async_test=True),
    Case("TL702", "TL702/string_lines", PYTEST_9_2, 3, STOPS, 0, add_async_test=True),
    Case("TL702", "TL702/native_pytest_toml", PYTEST_9_2, 3, STOPS, 0, add_async_test=True),
    Case(
        "TL702",
        "TL702/asyncio_1_4",
        ("pytest==9.2.0", "pytest-asyncio==1.4.0"),
        3,
        STOPS,
        add_async_test=True,
    ),
    Case(
        "TL702",
        "TL702/pytest_9_1",
        ("pytest==9.1.0", "pytest-asyncio==1.5.0"),
        0,
        "1 passed",
        add_async_test=True,
    ),
    Case("TL702", "TL702/ignored_after", PYTEST_9_2, 0, "1 passed", add_async_test=True),
    Case("TL702", "TL702/ignored_by_message", PYTEST_9_2, 0, "1 passed", add_async_test=True),
    Case("TL702", "TL702/ignored_by_module", PYTEST_9_2, 0, "1 passed", add_async_test=True),
    Case("TL702", "TL702/user_warning_ignored", PYTEST_9_2, 0, "1 passed", add_async_test=True),
    Case("TL702", "TL702/option_set", PYTEST_9_2, 0, "1 passed", add_async_test=True),
    Case("TL702", "TL702/option_in_addopts", PYTEST_9_2, 0, "1 passed", add_async_test=True),
)


def venv_for(pins: tuple[str, ...], venvs: Path) -> Path:
    name = "-".join(pin.replace("==", "") for pin in pins)
    python = venvs / name / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venvs / name)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def run(case: Case, venvs: Path, scratch: Path) -> str | None:
    """What went wrong with the case (None: it held)."""
    project = scratch / case.project.replace("/", "-")
    shutil.copytree(FIXTURES / case.project, project)
    for golden in [*project.glob("*.fixed.*"), *project.glob("*.unsafe.fixed.*")]:
        golden.unlink()
    if case.add_async_test:
        (project / "test_runs.py").write_text(ASYNC_TEST)
    python = venv_for(case.pins, venvs)
    pytest = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *case.options]
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    environment.pop("PYTEST_ADDOPTS", None)
    before = subprocess.run(pytest, cwd=project, capture_output=True, text=True, env=environment)
    output = before.stdout + before.stderr
    if before.returncode != case.exit_code or case.says not in output:
        return (
            f"before the fix: exit {before.returncode}, wanted {case.exit_code} and {case.says!r}"
        )
    if case.fixed_exit_code is None:
        return None
    testlint = [sys.executable, "-m", "testlint", "check", "--no-cache", "--fix", "."]
    subprocess.run(testlint, cwd=project, capture_output=True, env=environment)
    after = subprocess.run(pytest, cwd=project, capture_output=True, text=True, env=environment)
    if after.returncode != case.fixed_exit_code:
        tail = (after.stdout + after.stderr).strip().splitlines()[-1:]
        return f"after the fix: exit {after.returncode}, wanted {case.fixed_exit_code} {tail}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="CODE")
    default_venvs = Path(tempfile.gettempdir()) / "testlint-real-pytest"
    parser.add_argument("--venvs", type=Path, default=default_venvs)
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as directory:
        for number, case in enumerate(CASES):
            if args.only and case.rule not in args.only:
                continue
            problem = run(case, args.venvs, Path(directory) / str(number))
            shown = f"{case.rule} {case.project} ({', '.join(case.pins)} {' '.join(case.options)})"
            print(f"{'ok  ' if problem is None else 'FAIL'} {shown}")
            if problem is not None:
                print(f"     {problem}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
