"""The pytest and pytest-asyncio versions a project runs: a lock file's, else the
newest release its declared specifiers admit, else the latest release."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import write
from testlint.dependencies import _name_and_specifier, highest_admitted, release
from testlint.project import Project

FIXTURES_ROOT = Path(__file__).parent / "fixtures"

RELEASES = ("0.21.0", "0.21.2", "0.23.8", "0.26.0", "1.0.0", "1.4.1", "1.5.0")


@pytest.mark.parametrize(
    ("specifiers", "expected"),
    [
        ([""], "1.5.0"),
        (["*"], "1.5.0"),
        ([">=0.21"], "1.5.0"),
        (["<1"], "0.26.0"),
        (["<1.0,>=0.21"], "0.26.0"),
        (["==0.21.*"], "0.21.2"),
        (["==0.23.8"], "0.23.8"),
        (["~=0.21.0"], "0.21.2"),
        (["~=0.21"], "0.26.0"),
        (["^0.21"], "0.21.2"),
        (["^1.0"], "1.5.0"),
        (["~0.23"], "0.23.8"),
        (["!=1.5.0"], "1.4.1"),
        (["0.23.8"], "0.23.8"),  # Poetry: a bare version is `==`
        (["^0.21 || ^1.0"], "1.5.0"),
        ([">=0.21", "<0.24"], "0.23.8"),  # every declaration must hold
        (["<0.20"], None),  # no release known to testlint
        (["==2.0.0"], None),
        ([">=0.21", "<0.21"], None),
        (["@ git+https://example.org/x"], None),
    ],
)  # fmt: skip
def test_the_newest_release_every_specifier_admits(
    specifiers: list[str], expected: str | None
) -> None:
    assert highest_admitted(specifiers, RELEASES) == expected


def test_release_reads_the_numbers() -> None:
    assert release("1.4.1.post1") == (1, 4, 1)
    assert release("0.23.5a1") == (0, 23, 5)
    assert release("v2") == (2,)
    assert release("dev") == ()


@pytest.mark.parametrize(
    ("files", "pytest_asyncio", "pytest_version"),
    [
        ({}, ("1.5.0", "latest", []), ("9.2.0", "latest", [])),
        (
            {"requirements.txt": "pytest-asyncio>=0.21\npytest<9\n"},
            ("1.5.0", "declared", ["requirements.txt: pytest-asyncio >=0.21 declared"]),
            ("8.4.2", "declared", ["requirements.txt: pytest <9 declared"]),
        ),
        (
            {
                "requirements.txt": "pytest-asyncio>=0.21\n",
                "uv.lock": '[[package]]\nname = "pytest-asyncio"\nversion = "0.23.8"\n',
            },
            ("0.23.8", "locked", ["uv.lock: pytest-asyncio 0.23.8 locked"]),
            ("9.2.0", "latest", []),
        ),
        (
            {
                "pyproject.toml": (
                    '[tool.poetry.group.dev.dependencies]\n'
                    'pytest-asyncio = { version = "^0.21", extras = [] }\n'
                )
            },
            ("0.21.2", "declared", ["pyproject.toml: pytest-asyncio ^0.21 declared"]),
            ("9.2.0", "latest", []),
        ),
        (
            {"tox.ini": "[testenv]\ndeps =\n    pytest-asyncio==0.1\n"},
            (None, "declared", ["tox.ini: pytest-asyncio ==0.1 declared"]),
            ("9.2.0", "latest", []),
        ),
    ],
)  # fmt: skip
def test_the_version_a_project_runs_and_what_says_so(
    tmp_path: Path,
    files: dict[str, str],
    pytest_asyncio: tuple[str | None, str, list[str]],
    pytest_version: tuple[str | None, str, list[str]],
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    project = Project(tmp_path)
    for name, (version, how, evidence) in (
        ("pytest-asyncio", pytest_asyncio),
        ("pytest", pytest_version),
    ):
        assumed = project.assumed_version(name)
        assert (assumed.text, assumed.how) == (version, how)
        shown = [
            f"{e.path.relative_to(tmp_path).as_posix()}: {e.what}"
            for e in assumed.evidence
            if e.path
        ]
        assert shown == evidence


def test_a_sub_project_that_declares_nothing_runs_what_the_checked_project_declares(
    tmp_path: Path,
) -> None:
    write(tmp_path, "requirements.txt", "pytest-asyncio==0.23.8\n")
    write(tmp_path, "pkg/setup.py", "from setuptools import setup\nsetup(name='pkg')\n")
    write(tmp_path, "pkg/tests/test_a.py", "def test_a():\n    pass\n")
    project = Project(tmp_path)
    assumed = project.running_version(tmp_path / "pkg/tests/test_a.py", "pytest-asyncio")
    assert assumed.text == "0.23.8"
    assert assumed.at_least((0, 23)) is True
    assert assumed.at_least((1, 0)) is False


@pytest.mark.parametrize(
    ("files", "admits_before_one"),
    [
        ({}, True),
        ({"requirements.txt": "pytest-asyncio>=0.21\n"}, True),
        ({"requirements.txt": "pytest-asyncio>=1.0\n"}, False),
        ({"requirements.txt": "pytest-asyncio==1.4.0\n"}, False),
        ({"uv.lock": '[[package]]\nname = "pytest-asyncio"\nversion = "1.4.0"\n'}, False),
        ({"uv.lock": '[[package]]\nname = "pytest-asyncio"\nversion = "0.21.2"\n'}, True),
    ],
)  # fmt: skip
def test_whether_a_project_admits_a_release_before_one(
    tmp_path: Path, files: dict[str, str], admits_before_one: bool
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    assumed = Project(tmp_path).assumed_version("pytest-asyncio")
    assert assumed.admits_below((1, 0)) is admits_before_one


def test_a_pipfile_declares_requirements(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Pipfile",
        '[packages]\naiohttp = "*"\n\n[dev-packages]\npytest = ">=8,<9"\n'
        'pytest-asyncio = {version = "~=0.23.0"}\npytest-xdist = "*"\n',
    )
    project = Project(tmp_path)
    assert project.assumed_version("pytest").text == "8.4.2"
    assert project.assumed_version("pytest-asyncio").text == "0.23.8"
    assert project.uses("pytest-xdist")


def test_tox_factor_conditions_are_read_past(tmp_path: Path) -> None:
    """tox's factor conditions hold dots and braces (`py3.8-django: ...`); the line
    after the condition is the requirement, never the condition itself."""
    write(
        tmp_path,
        "tox.ini",
        "[testenv]\ndeps =\n    py3.8-common: pytest-asyncio==0.21.1\n"
        "    {py3.9,py3.10}-xdist: pytest-xdist\n    !py3.7: pytest>=8\n"
        "    py311: hypothesis\n",
    )
    declared = [(r.name, r.specifier) for r in Project(tmp_path).requirements]
    assert declared == [
        ("pytest-asyncio", "==0.21.1"),
        ("pytest-xdist", ""),
        ("pytest", ">=8"),
        ("hypothesis", ""),
    ]


def test_requirement_lines_remembered_equal_the_plain_parse() -> None:
    lines = ["pytest>=8", "pytest>=8", "x[extra] @ https://a", "-r b.txt", "# c", "", "Py_Test"]
    plain = _name_and_specifier.__wrapped__
    assert [_name_and_specifier(line) for line in lines] == [plain(line) for line in lines]


UV_LOCK = """\
version = 1
revision = 3
requires-python = ">=3.10"

[[package]]
name = "anyio"
version = "4.4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "idna" },
    { name = "sniffio", marker = "python_full_version < '3.11'" },
]
wheels = [
    { url = "https://files.pythonhosted.org/anyio.whl", hash = "sha256:abc" },
]

[package.optional-dependencies]
trio = [
    { name = "trio" },
]

[[package]]
name = "shop"
source = { editable = "." }

[[ package ]]  # spaced, with a comment
name = "Pytest_Asyncio"   # a comment
version = "1.5.0"
"""

POETRY_LOCK = """\
# This file is automatically @generated by Poetry 1.7.1 and should not be changed by hand.\r
\r
[[package]]\r
name = "pytest"\r
version = "8.4.2"\r
description = "pytest: simple powerful testing with Python, \\"quoted\\""\r
optional = false\r
\r
[package.dependencies]\r
name = "*"\r
version = ">=1"\r
\r
[package.extras]\r
testing = ["argcomplete", "hypothesis (>=3.56)"]\r
\r
[metadata]\r
lock-version = "2.0"\r
"""


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        (UV_LOCK, True),
        (POETRY_LOCK, True),  # CRLF, escapes, a dependency called `name`
        ('[[package]]\nname = "a"\nversion = "1"\ndescription = """\nname = "b"\n"""\n', False),
        ("[[package]]\nname = 'single'\nversion = '1.0'\n", False),
        ('[[package]]\nname = "a"\nnames = "b"\nversion = "1"\n', False),
        ('[[package]]\nname = "a"\nversion = 1.0\n', False),
        ('[[package]]\nversion = "2"\nname = "late"\n[[package]]\nname = "alone"\n', True),
        ("", True),
    ],
)
def test_lock_files_read_line_by_line_equal_tomllib(text: str, fast: bool, tmp_path: Path) -> None:
    """`lock_file_packages` reads a lock file line by line where it keeps to the
    plain shape (a speed trick: tomllib was 0.13 s of a 1 s run), and gives what
    tomllib gives; the shapes it cannot read go to tomllib (`fast` False)."""
    from testlint.dependencies import (
        _scanned_lock_packages,
        lock_file_packages,
        parsed_lock_packages,
    )

    where = tmp_path / "uv.lock"
    assert (_scanned_lock_packages(text) is not None) is fast
    assert lock_file_packages(text, where) == parsed_lock_packages(text, where)


def test_every_fixture_lock_file_is_read_alike() -> None:
    from testlint.dependencies import _scanned_lock_packages, parsed_lock_packages

    locks = [
        path
        for pattern in ("uv.lock", "poetry.lock", "pdm.lock")
        for path in FIXTURES_ROOT.rglob(pattern)
    ]
    assert len(locks) >= 3
    for path in locks:
        text = path.read_text(encoding="utf-8")
        assert _scanned_lock_packages(text) == parsed_lock_packages(text, path), path
