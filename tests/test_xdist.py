"""How TL2xx reads xdist invocations and requires-python (the fixture projects under
tests/fixtures/TL2* cover the rules themselves)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testlint.dependencies import admits_python_below
from testlint.rules._xdist import (
    _with_working_directories,
    _without_launcher,
    numbered_pytest_lines,
    parse_invocation,
    pytest_lines,
    selected_by,
)
from testlint.runner import RunOptions, run


@pytest.mark.parametrize(
    ("text", "numprocesses", "dist"),
    [
        ("-n auto", True, ()),
        ("-nauto --dist=loadgroup", True, ("loadgroup",)),
        ("--numprocesses=4 --dist worksteal", True, ("worksteal",)),
        ('session.run("pytest", "-n", "auto", "--dist", "loadscope")', True, ("loadscope",)),
        ("-d --tx popen", False, ("load",)),
        ("-x --durations=10", False, ()),
        ("--no-header -q", False, ()),
    ],
)
def test_parse_invocation(text: str, numprocesses: bool, dist: tuple[str, ...]) -> None:
    invocation = parse_invocation("x", text)
    assert invocation.numprocesses is numprocesses
    assert invocation.dist == dist


@pytest.mark.parametrize(
    ("text", "expressions"),
    [
        ('pytest -m "not serial" -n auto', ("not serial",)),
        ("pytest -m serial", ("serial",)),
        ("pytest -m='slow and not serial'", ("slow and not serial",)),
        ("pytest -n 2", ()),
    ],
)
def test_mark_expressions(text: str, expressions: tuple[str, ...]) -> None:
    assert parse_invocation("x", text).mark_expressions == expressions


def test_only_lines_running_pytest_count() -> None:
    text = "head -n 5 log.txt\nsort -n x\npytest -q \\\n  -n auto\n"
    lines = pytest_lines(text)
    assert "head" not in lines
    assert "sort" not in lines
    assert parse_invocation("Makefile", lines).numprocesses


def test_numbered_lines_say_where_each_command_starts() -> None:
    text = "all:\n\thead -n 5 log\n\tpytest -q \\\n\t  -n auto\n\n\tpy.test -x\n"
    assert numbered_pytest_lines(text) == [(3, "\tpytest -q  \t  -n auto"), (6, "\tpy.test -x")]


def _joined_then_split(text: str) -> str:
    """`pytest_lines` as it was written before it numbered its lines."""
    joined = re.sub(r"\\\r?\n", " ", _with_working_directories(text))
    kept = (line for line in joined.splitlines() if "pytest" in line or "py.test" in line)
    return "\n".join(map(_without_launcher, kept))


@given(
    st.lists(
        st.sampled_from(
            [
                "pytest -n 4",
                "py.test",
                "\\",
                " ",
                "\n",
                "\r\n",
                "\r",
                "\x0c",
                "- ",
                "x",
                "working-directory: sub",
                "      ",
                "mpirun -n 2 pytest",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_numbered_lines_are_the_lines_pytest_lines_joins(text: str) -> None:
    assert pytest_lines(text) == _joined_then_split(text)


@pytest.mark.parametrize(
    ("specifier", "admits"),
    [
        (None, True),
        ("", True),
        (">=3.9", True),
        (">=3.10,<4", True),
        (">3.13", True),  # 3.13.1 > 3.13
        (">=3.14", False),
        ("~=3.14", False),
        ("==3.14.*", False),
        ("^3.14", False),
        ("^3.10", True),
        (">=3.14 || >=3.9", True),
        ("<3.14", True),
    ],
)
def test_admits_python_below(specifier: str | None, admits: bool) -> None:
    assert admits_python_below(specifier, (3, 14)) is admits


def test_mark_expression_in_nox_arguments() -> None:
    text = 'session.run("pytest", "-m", "not serial", "-n", "auto")'
    assert parse_invocation("noxfile.py", text).mark_expressions == ("not serial",)


def test_zero_processes_is_not_xdist() -> None:
    assert not parse_invocation("x", "pytest -o addopts= -n 0 -q").numprocesses


@pytest.mark.parametrize(
    ("expression", "marks", "selected"),
    [
        ("primer", {"primer"}, True),
        ("primer", set(), False),
        ("not slow", set(), True),
        ("not slow", {"slow"}, False),
        ("not dev_mode and not autobahn", {"autobahn"}, False),
        ("(db or net) and not flaky", {"net"}, True),
        ("(db or net) and not flaky", {"net", "flaky"}, False),
        ("and or", set(), True),  # unreadable: selects everything
        ("$MARKS", set(), True),
    ],
)
def test_mark_expression_selection(expression: str, marks: set[str], selected: bool) -> None:
    assert selected_by(expression, marks) is selected


def test_a_workflow_step_names_its_working_directory() -> None:
    workflow = (
        "jobs:\n"
        "  test:\n"
        "    steps:\n"
        "      - name: install\n"
        "        run: uv sync\n"
        "      - name: tests\n"
        "        working-directory: ./server\n"
        "        run: uv run pytest -n auto --dist=loadgroup\n"
        "      - name: docs\n"
        "        run: pytest docs\n"
    )
    lines = pytest_lines(workflow).splitlines()
    assert lines[0].startswith("cd server && ")
    assert lines[1].strip() == "run: pytest docs"


SUB_PROJECT_TEST = """\
from concurrent.futures import ProcessPoolExecutor

import pytest


def square(n):
    return n * n


def test_plain():
    with ProcessPoolExecutor(2) as pool:
        assert list(pool.map(square, [2])) == [4]


@pytest.mark.primer
def test_primer():
    with ProcessPoolExecutor(2) as pool:
        assert list(pool.map(square, [3])) == [9]
"""


def test_a_sub_project_suite_is_run_by_the_repository_workflow(tmp_path: Path) -> None:
    # polar: server/ is the project; CI runs it from the repository's workflow with
    # `working-directory: server`. Only -m primer tests run under xdist there.
    (tmp_path / ".git").mkdir()
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "jobs:\n  test:\n    steps:\n"
        "      - name: serial\n        working-directory: server\n        run: pytest tests\n"
        "      - name: primer\n        working-directory: server\n"
        "        run: pytest -n auto -m primer tests\n",
        encoding="utf-8",
    )
    server = tmp_path / "server"
    (server / "tests").mkdir(parents=True)
    (server / "pyproject.toml").write_text(
        '[project]\nname = "server"\nrequires-python = ">=3.10"\n'
        'dependencies = []\n[dependency-groups]\ntest = ["pytest", "pytest-xdist"]\n'
        '[tool.pytest.ini_options]\nmarkers = ["primer: slow"]\n',
        encoding="utf-8",
    )
    (server / "tests" / "test_pool.py").write_text(SUB_PROJECT_TEST, encoding="utf-8")
    result = run([server / "tests"], RunOptions())
    assert [(d.code, d.start.line) for d in result.diagnostics] == [("TL202", 17)]
