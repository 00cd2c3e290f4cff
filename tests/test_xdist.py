"""How TL2xx reads xdist invocations and requires-python (the fixture projects under
tests/fixtures/TL2* cover the rules themselves)."""

from __future__ import annotations

import pytest

from testlint.project import admits_python_below
from testlint.rules._xdist import parse_invocation, pytest_lines


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
