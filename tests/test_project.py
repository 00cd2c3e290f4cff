"""The project model: pytest configuration as pytest finds it, test-module detection,
and the dependencies a project declares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_runner import write
from testlint.dependencies import normalize_name, parse_requirement
from testlint.locate import ProjectError, common_root, find_project_root
from testlint.project import NotRecursed, Project
from testlint.pytest_config import DEFAULT_PYTHON_FILES, read_collect_ignores
from testlint.rule import FileKind

# Every file pytest 9 reads configuration from, highest precedence first, each
# setting `python_files` to `<marker>_*.py` so the winner is visible.
CONFIG_FILES = {
    "pytest.toml": '[pytest]\npython_files = ["a_*.py"]\n',
    ".pytest.toml": '[pytest]\npython_files = ["b_*.py"]\n',
    "pytest.ini": "[pytest]\npython_files = c_*.py\n",
    ".pytest.ini": "[pytest]\npython_files = d_*.py\n",
    "pyproject.toml": '[tool.pytest.ini_options]\npython_files = "e_*.py"\n',
    "tox.ini": "[pytest]\npython_files = f_*.py\n",
    "setup.cfg": "[tool:pytest]\npython_files = g_*.py\n",
}
ORDER = list(CONFIG_FILES)


# ------------------------------------------------------------------ pytest config


@pytest.mark.parametrize("winner", ORDER)
def test_config_precedence_within_one_directory(tmp_path: Path, winner: str) -> None:
    for name in ORDER[ORDER.index(winner) :]:
        write(tmp_path, name, CONFIG_FILES[name])
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.path == (tmp_path / winner).resolve()
    assert config.python_files == (CONFIG_FILES[winner].split("_*")[0][-1] + "_*.py",)


def test_pyproject_without_pytest_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.testlint]\nselect = []\n')
    write(tmp_path, "tox.ini", "[pytest]\npython_files = f_*.py\n")
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.path == (tmp_path / "tox.ini").resolve()


def test_tox_ini_without_pytest_section_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "tox.ini", "[tox]\nenvlist = py311\n")
    write(tmp_path, "setup.cfg", "[tool:pytest]\npython_files = g_*.py\n")
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.path == (tmp_path / "setup.cfg").resolve()
    assert config.python_files == ("g_*.py",)


def test_setup_cfg_needs_the_tool_pytest_section(tmp_path: Path) -> None:
    write(tmp_path, "sub/setup.cfg", "[pytest]\npython_files = g_*.py\n")
    write(tmp_path, "pytest.ini", "[pytest]\n")
    config = Project(tmp_path).pytest_config(tmp_path / "sub")
    assert config.path == (tmp_path / "pytest.ini").resolve()


def test_pytest_ini_without_a_section_still_wins(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "# empty\n")
    write(tmp_path, "pyproject.toml", CONFIG_FILES["pyproject.toml"])
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.path == (tmp_path / "pytest.ini").resolve()
    assert config.python_files == DEFAULT_PYTHON_FILES


def test_empty_ini_options_table_is_a_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.pytest.ini_options]\n")
    write(tmp_path, "tox.ini", "[pytest]\npython_files = f_*.py\n")
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.path == (tmp_path / "pyproject.toml").resolve()
    assert config.python_files == DEFAULT_PYTHON_FILES


def test_without_any_config_the_defaults_apply(tmp_path: Path) -> None:
    write(tmp_path, "pkg/tests/test_a.py", "")
    config = Project(tmp_path).pytest_config(tmp_path / "pkg/tests")
    assert config.path is None or tmp_path.resolve() not in config.path.parents
    assert Project(tmp_path).file_kind(tmp_path / "pkg/tests/test_a.py") is FileKind.TEST


def test_nearest_config_wins(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\npython_files = test_*.py\n")
    write(tmp_path, "tests/pytest.ini", "[pytest]\npython_files = check_*.py\n")
    project = Project(tmp_path)
    assert (
        project.pytest_config(tmp_path / "tests/unit").path
        == (tmp_path / "tests/pytest.ini").resolve()
    )
    assert project.pytest_config(tmp_path / "other").path == (tmp_path / "pytest.ini").resolve()
    assert project.file_kind(tmp_path / "tests/unit/check_a.py") is FileKind.TEST
    assert project.file_kind(tmp_path / "tests/unit/test_a.py") is FileKind.OTHER
    assert project.file_kind(tmp_path / "other/test_a.py") is FileKind.TEST
    assert project.file_kind(tmp_path / "other/check_a.py") is FileKind.OTHER


def test_tool_pytest_native_toml(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        "[tool.pytest]\n"
        'python_files = ["check_*.py", "*_spec.py"]\n'
        'addopts = ["-ra", "--strict-markers"]\n'
        'markers = ["slow: slow tests", "serial(reason): one at a time"]\n'
        "xfail_strict = true\n",
    )
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.toml_mode
    assert config.python_files == ("check_*.py", "*_spec.py")
    assert config.addopts == ("-ra", "--strict-markers")
    assert config.markers == frozenset({"slow", "serial"})
    assert config.values["xfail_strict"] is True


def test_tool_pytest_ini_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        "[tool.pytest.ini_options]\n"
        'python_files = "check_*.py *_spec.py"\n'
        'addopts = "-ra -p no:cacheprovider"\n',
    )
    config = Project(tmp_path).pytest_config(tmp_path)
    assert not config.toml_mode
    assert config.python_files == ("check_*.py", "*_spec.py")
    assert config.addopts == ("-ra", "-p", "no:cacheprovider")


def test_ini_options_win_over_a_plugin_table_beside_them(tmp_path: Path) -> None:
    # mitmproxy: `[tool.pytest.individual_coverage]` next to `ini_options`; pytest < 9
    # reads only `ini_options` (and pytest 9 refuses both), so the mode is auto.
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n\n'
        '[tool.pytest.individual_coverage]\nexclude = ["x.py"]\n',
    )
    config = Project(tmp_path).pytest_config(tmp_path)
    assert not config.toml_mode
    assert config.get_str("asyncio_mode") == "auto"


def test_tool_pytest_ini_options_with_lists(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.pytest.ini_options]\npython_files = ["check_*.py"]\nmarkers = ["slow"]\n',
    )
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.python_files == ("check_*.py",)
    assert config.markers == frozenset({"slow"})


def test_pytest_toml_reads_the_pytest_table(tmp_path: Path) -> None:
    write(tmp_path, "pytest.toml", '[pytest]\npython_files = ["check_*.py"]\n')
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.toml_mode
    assert config.python_files == ("check_*.py",)


def test_invalid_pytest_toml_is_a_project_error(tmp_path: Path) -> None:
    write(tmp_path, "pytest.toml", "[pytest\n")
    with pytest.raises(ProjectError, match="invalid TOML"):
        Project(tmp_path).pytest_config(tmp_path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("check_*.py", ("check_*.py",)),
        ("check_*.py  *_spec.py", ("check_*.py", "*_spec.py")),
        ("\n    check_*.py\n    *_spec.py", ("check_*.py", "*_spec.py")),
    ],
)
def test_python_files_in_ini(tmp_path: Path, value: str, expected: tuple[str, ...]) -> None:
    write(tmp_path, "pytest.ini", f"[pytest]\npython_files = {value}\n")
    assert Project(tmp_path).pytest_config(tmp_path).python_files == expected


def test_markers_names_are_parsed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pytest.ini",
        "[pytest]\nmarkers =\n"
        "    slow: marks tests as slow\n"
        "    serial(reason): run alone\n"
        "    webtest\n"
        "    network (deprecated): old\n",
    )
    markers = Project(tmp_path).pytest_config(tmp_path).markers
    assert markers == frozenset({"slow", "serial", "webtest", "network"})


def test_addopts_are_shell_split(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pytest.ini",
        "[pytest]\naddopts = -ra --tb=short -k \"not slow and not db\" -p 'no:cacheprovider'\n",
    )
    assert Project(tmp_path).pytest_config(tmp_path).addopts == (
        "-ra",
        "--tb=short",
        "-k",
        "not slow and not db",
        "-p",
        "no:cacheprovider",
    )


def test_missing_options_have_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    config = Project(tmp_path).pytest_config(tmp_path)
    assert config.python_files == ("test_*.py", "*_test.py")
    assert config.addopts == ()
    assert config.markers == frozenset()
    assert config.get_list("norecursedirs") is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("test_a.py", FileKind.TEST),
        ("a_test.py", FileKind.TEST),
        ("conftest.py", FileKind.CONFTEST),
        ("helpers.py", FileKind.OTHER),
        ("testing.py", FileKind.OTHER),
        ("test_a.pyi", FileKind.OTHER),
        ("test_a.txt", FileKind.OTHER),
    ],
)
def test_file_kind_with_default_python_files(tmp_path: Path, name: str, kind: FileKind) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    project = Project(tmp_path)
    assert project.file_kind(tmp_path / "tests" / name) is kind


def test_conftest_is_a_conftest_whatever_python_files_says(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\npython_files = *.py\n")
    project = Project(tmp_path)
    assert project.file_kind(tmp_path / "conftest.py") is FileKind.CONFTEST
    assert project.file_kind(tmp_path / "helpers.py") is FileKind.TEST


def test_python_files_with_a_directory_match_relative_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\npython_files = sub/*_check.py\n")
    write(tmp_path, "tests/sub/x_check.py", "")
    monkeypatch.chdir(tmp_path)
    project = Project(tmp_path)
    assert project.file_kind(tmp_path / "tests/sub/x_check.py") is FileKind.TEST
    assert project.file_kind(Path("tests/sub/x_check.py")) is FileKind.TEST


def test_find_project_root(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "")
    (tmp_path / "src/pkg").mkdir(parents=True)
    assert find_project_root(tmp_path / "src/pkg") == tmp_path.resolve()
    assert find_project_root(tmp_path / "src/pkg/mod.py") == tmp_path.resolve()


# ------------------------------------------------------------------ requirements


@pytest.mark.parametrize(
    ("files", "declared"),
    [
        pytest.param(
            {
                "pyproject.toml": "[project]\n"
                'dependencies = ["requests>=2", "Pytest_Asyncio ; python_version > \'3.8\'"]\n'
                "[project.optional-dependencies]\n"
                'test = ["pytest-cov[toml]>=4"]\n'
            },
            {"requests", "pytest-asyncio", "pytest-cov"},
            id="pep621",
        ),
        pytest.param(
            {
                "pyproject.toml": "[dependency-groups]\n"
                'test = ["pytest-mock", {include-group = "lint"}]\n'
                'lint = ["ruff==0.5"]\n'
            },
            {"pytest-mock", "ruff"},
            id="dependency-groups",
        ),
        pytest.param(
            {
                "pyproject.toml": "[tool.poetry.dependencies]\n"
                'hypothesis = {version = "^6"}\n'
                "[tool.poetry.dev-dependencies]\n"
                'freezegun = "1.0"\n'
                "[tool.poetry.group.test.dependencies]\n"
                'pytest-timeout = "*"\n'
            },
            {"hypothesis", "freezegun", "pytest-timeout"},
            id="poetry",
        ),
        pytest.param(
            {
                "requirements-dev.txt": "-r requirements/base.txt\n"
                "pytest-xdist==3.5  # parallel\n"
                "-e .\n"
                "# a comment\n"
                "--index-url https://example.invalid/simple\n",
                "requirements/base.txt": "factory_boy\n--requirement=more.txt\n",
                "requirements/more.txt": "Faker>=20\n",
                "requirements/ci.txt": "responses\n",
            },
            {"pytest-xdist", "factory-boy", "faker", "responses"},
            id="requirements-files",
        ),
        pytest.param(
            {
                "tox.ini": "[tox]\nenvlist = py311\n[testenv]\ndeps =\n"
                "    py311: pytest-xdist\n"
                "    py310,py311: pytest-sugar\n"
                "    !py39: syrupy\n"
                "    coverage[toml]\n"
                "[testenv:lint]\ndeps = flake8\n"
            },
            {"pytest-xdist", "pytest-sugar", "syrupy", "coverage", "flake8"},
            id="tox",
        ),
        pytest.param(
            {
                "justfile": "install group:\n"
                "    python -m pip install -r deps/{{ group }}-requirements.txt\n",
                "deps/test-requirements.txt": "pytest>=6,<9\n",
                "deps/build-requirements.txt": "build\n",
                ".github/workflows/ci.yml": "steps:\n"
                "  - run: pip install --requirement=ci/pins.txt\n"
                "  - run: pip install -r ../outside.txt -r /etc/abs.txt -r missing.txt\n",
                "ci/pins.txt": "pytest-asyncio==1.4.0\n",
                "other/unused-requirements.txt": "never-installed\n",
            },
            {"pytest", "build", "pytest-asyncio"},
            id="installed-by-run-files",
        ),
        pytest.param(
            {
                "setup.cfg": "[options]\ninstall_requires =\n    attrs>=20\n"
                "tests_require = mock\n"
                "[options.extras_require]\ntesting =\n    pytest-benchmark\n"
            },
            {"attrs", "mock", "pytest-benchmark"},
            id="setup-cfg",
        ),
    ],
)
def test_declared_requirements(tmp_path: Path, files: dict[str, str], declared: set[str]) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    project = Project(tmp_path)
    assert {r.name for r in project.requirements} == declared
    for name in declared:
        assert project.uses(name)
    assert not project.uses("pytest-randomly")


def test_requirement_sources_and_specifiers(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "pytest-xdist>=3\n")
    [requirement] = Project(tmp_path).requirement("pytest_xdist")
    assert requirement.specifier == ">=3"
    assert requirement.source == tmp_path / "requirements.txt"


def test_names_are_normalised(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "Pytest_Asyncio\npytest.mock\n")
    project = Project(tmp_path)
    assert normalize_name("Pytest_Asyncio") == "pytest-asyncio"
    assert normalize_name("a__B..c--d") == "a-b-c-d"
    for name in ("pytest-asyncio", "PYTEST_ASYNCIO", "pytest.asyncio", "pytest-mock"):
        assert project.uses(name)


def test_requirements_include_cycles_terminate(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "-r requirements-dev.txt\nrequests\n")
    write(tmp_path, "requirements-dev.txt", "-r requirements.txt\npytest\n")
    assert {r.name for r in Project(tmp_path).requirements} == {"requests", "pytest"}


def test_nothing_declared(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    project = Project(tmp_path)
    assert project.requirements == ()
    assert not project.uses("pytest")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("pytest-xdist", "pytest-xdist"),
        ("pytest-xdist[psutil] >= 3", "pytest-xdist"),
        ("Pytest_Xdist==3 ; python_version < '3.9'", "pytest-xdist"),
        ("pytest-xdist  # comment", "pytest-xdist"),
        ("-e .", None),
        ("# comment", None),
        ("./local/package", None),
        ("", None),
    ],
)
def test_parse_requirement(text: str, name: str | None) -> None:
    requirement = parse_requirement(text, Path("requirements.txt"))
    assert (requirement.name if requirement else None) == name


def test_direct_reference_requirement_is_declared(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        "[project]\n"
        'dependencies = ["pytest-xdist @ git+https://github.com/pytest-dev/pytest-xdist"]\n',
    )
    assert Project(tmp_path).uses("pytest-xdist")


def test_suite_scan_skips_fifos_and_symlink_loops(tmp_path: Path) -> None:
    """Reading a FIFO blocks forever and resolving a loop raises: the suite scan
    (used by the async and xdist rules) lists regular files only."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")
    os.mkfifo(tmp_path / "test_fifo.py")
    (tmp_path / "test_loop.py").symlink_to(tmp_path / "test_loop.py")
    assert Project(tmp_path).suite_files == (tmp_path / "test_ok.py",)


def test_common_root_resolves_as_path_resolve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "a").mkdir(parents=True)
    (tmp_path / "real" / "a" / "t.py").write_text("")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "u.py").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "a" / "v.py").symlink_to(tmp_path / "elsewhere" / "u.py")
    monkeypatch.chdir(tmp_path)
    cases = [
        [Path("link/a/t.py")],
        [Path("link/a/t.py"), Path("real/a/missing.py")],
        [Path("real/a/v.py")],  # a file that is a link: its target counts
        [Path("real/a/t.py"), Path("link/a/..")],
        [Path("real/a"), Path("elsewhere/u.py")],
        [Path("t.py")],
    ]
    for paths in cases:
        expected = Path(os.path.commonpath([str(p.resolve()) for p in paths]))
        assert common_root(paths) == expected, paths


@pytest.mark.parametrize(
    "patterns",
    [
        ("test_*.py", "*_test.py"),
        ("check_*.py",),
        ("*.py",),
        ("[tc]est_?.py", "*[!x].py"),
        (),
        ("testing/*.py", "test_*.py"),
    ],
)
@pytest.mark.parametrize(
    "name",
    ["test_a.py", "a_test.py", "check_x.py", "x.py", "tEST_a.py", "test_.py", ".py", "t.pyc"],
)
def test_the_compiled_name_matcher_agrees_with_python_files_match(
    tmp_path: Path, patterns: tuple[str, ...], name: str
) -> None:
    from testlint.pytest_config import names_matcher, python_files_match

    path = tmp_path / "testing" / name
    expected = any(python_files_match(pattern, path) for pattern in patterns)
    assert names_matcher(patterns)(str(path)) == expected


def test_a_linked_test_file_is_collected_where_it_leads(tmp_path: Path) -> None:
    """A directory's rules are remembered by its name, but a link is judged by
    its target's directory (here one that `norecursedirs` keeps pytest out of)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nnorecursedirs = hidden\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "hidden").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    (tmp_path / "hidden" / "test_b.py").write_text("")
    (tmp_path / "tests" / "test_b.py").symlink_to(tmp_path / "hidden" / "test_b.py")
    project = Project(tmp_path)
    assert project.is_collected(tmp_path / "tests" / "test_a.py")
    assert not project.is_collected(tmp_path / "tests" / "test_b.py")
    assert project.is_collected(tmp_path / "tests" / "test_a.py")


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        ("pytest-aiohttp\n", "used"),  # 1.x runs on pytest-asyncio and installs it (fpl)
        ("pytest-aiohttp>=1.0\n", "used"),
        ("pytest-aiohttp==0.3.0\n", "unused"),  # aiohttp's own plugin, no pytest-asyncio
        ("pytest\n", "unused"),
    ],
)
def test_pytest_aiohttp_brings_pytest_asyncio(
    tmp_path: Path, requirements: str, expected: str
) -> None:
    write(tmp_path, "requirements.txt", requirements)
    write(tmp_path, "pytest.ini", "[pytest]\n")
    write(tmp_path, "tests/test_api.py", "async def test_get():\n    assert True\n")
    assert Project(tmp_path).pytest_asyncio == expected
    old = Project(tmp_path).old_aiohttp_plugin
    assert old == ("0.3.0" in requirements)


# ------------------------------------------------------------------ evidence


def test_exclusion_names_what_keeps_pytest_away(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\nnorecursedirs = legacy*\naddopts = --ignore=old\n")
    write(
        tmp_path,
        "tests/conftest.py",
        'import sys\n\ncollect_ignore = ["test_skip.py"]\ncollect_ignore_glob = ["*_wip.py"]\n'
        'if sys.platform == "win32":\n    collect_ignore.append("test_posix.py")\n'
        'collect_ignore.extend([f"test_{sys.platform}.py", "test_also.py"])\n',
    )
    project = Project(tmp_path)
    verdicts = {
        name: project.exclusion(tmp_path / name)
        for name in (
            "tests/test_a.py",
            "tests/legacy_one/test_b.py",
            "old/test_c.py",
            "tests/test_skip.py",
            "tests/test_x_wip.py",
            "tests/test_also.py",
            "tests/test_posix.py",
        )
    }
    assert verdicts["tests/test_a.py"] is None
    assert verdicts["tests/test_posix.py"] is None  # under a condition: not evaluated
    found = {
        name: (type(v).__name__, getattr(v, "pattern", None) or getattr(v, "key", None))
        for name, v in verdicts.items()
        if v is not None
    }
    assert found == {
        "tests/legacy_one/test_b.py": ("NotRecursed", "legacy*"),
        "old/test_c.py": ("Ignore", "--ignore"),
        "tests/test_skip.py": ("Ignore", "collect_ignore"),
        "tests/test_x_wip.py": ("Ignore", "collect_ignore_glob"),
        "tests/test_also.py": ("Ignore", "collect_ignore"),
    }
    for name, verdict in verdicts.items():
        assert project.is_collected(tmp_path / name) is (verdict is None)
    not_recursed = verdicts["tests/legacy_one/test_b.py"]
    assert isinstance(not_recursed, NotRecursed)
    assert not_recursed.source == tmp_path / "pytest.ini"
    unevaluated = read_collect_ignores(tmp_path / "tests" / "conftest.py").unevaluated
    assert unevaluated == (
        (6, 'collect_ignore.append("test_posix.py")'),
        (7, 'collect_ignore.extend([f"test_{sys.platform}.py", "test_also.py"])'),
    )


def test_collect_ignores_under_a_version_condition_are_read_for_this_python(
    tmp_path: Path,
) -> None:
    """Additions under a module-level `if` on `sys.version_info` alone are known for
    the running Python (the branch it takes), never applied to discovery."""
    write(
        tmp_path,
        "tests/conftest.py",
        "import os, sys\n"
        "collect_ignore_glob = []\n"
        "if sys.version_info < (99, 0):\n"
        '    collect_ignore_glob.append("*_py99.py")\n'
        "if sys.version_info[:2] >= (3, 0):\n"
        '    collect_ignore.append("test_py3_only.py")\n'
        "if sys.version_info >= (99,):\n"
        '    collect_ignore_glob.append("*_old.py")\n'
        "elif sys.version_info == (1, 0):\n"
        '    collect_ignore_glob.append("*_never.py")\n'
        "else:\n"
        '    collect_ignore_glob.extend(["*_else.py"])\n'
        "if sys.version_info[0:2] < (99, 0):\n"  # a slice with a start: not read
        '    collect_ignore_glob.append("*_start.py")\n'
        "if os.name == 'nt':\n"
        '    collect_ignore_glob.append("*_nt.py")\n'
        "if sys.version_info < (99, 0) and os.name == 'nt':\n"
        '    collect_ignore_glob.append("*_both.py")\n',
    )
    read = read_collect_ignores(tmp_path / "tests" / "conftest.py")
    assert [i.written for i in read.on_this_python] == [
        "*_py99.py",
        "test_py3_only.py",
        "*_else.py",
    ]
    assert read.entries == ()
    for name in ("test_x_py99.py", "test_py3_only.py", "test_x_else.py", "test_x_nt.py"):
        write(tmp_path, f"tests/{name}", "def test(): pass\n")
    project = Project(tmp_path)
    gated = {
        name: getattr(project.ignored_on_this_python(tmp_path / "tests" / name), "written", None)
        for name in ("test_x_py99.py", "test_py3_only.py", "test_x_else.py", "test_x_nt.py")
    }
    assert gated == {
        "test_x_py99.py": "*_py99.py",
        "test_py3_only.py": "test_py3_only.py",
        "test_x_else.py": "*_else.py",
        "test_x_nt.py": None,
    }
    assert all(project.is_collected(tmp_path / "tests" / name) for name in gated)


def test_default_norecursedirs_name_no_configuration_file(tmp_path: Path) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    verdict = Project(tmp_path).exclusion(tmp_path / "build" / "test_a.py")
    assert verdict == NotRecursed((tmp_path / "build").resolve(), "build", None)


@pytest.mark.parametrize(
    ("files", "status", "evidence"),
    [
        ({"uv.lock": '[[package]]\nname = "pytest-asyncio"\nversion = "0.18.3"\n'}, "legacy",
         [("pytest-asyncio 0.18.3 locked", "uv.lock")]),
        ({"requirements-dev.txt": "pytest-asyncio>=0.23\n"}, "used",
         [("pytest-asyncio >=0.23 declared", "requirements-dev.txt")]),
        ({"requirements.txt": "pytest-aio\n"}, "other-plugin",
         [("pytest-aio declared", "requirements.txt")]),
        ({"requirements.txt": "pytest-aiohttp>=1\n"}, "used",
         [("pytest-aiohttp >=1 declared", "requirements.txt")]),
        ({"tests/test_a.py": "import pytest_asyncio\n"}, "used",
         [("not declared, but the suite uses it", "tests/test_a.py")]),
        ({}, "unused", []),
    ],
)  # fmt: skip
def test_pytest_asyncio_status_says_what_decided_it(
    tmp_path: Path, files: dict[str, str], status: str, evidence: list[tuple[str, str]]
) -> None:
    write(tmp_path, "pytest.ini", "[pytest]\n")
    for name, text in files.items():
        write(tmp_path, name, text)
    project = Project(tmp_path)
    found = project.pytest_asyncio_status
    assert found.status == project.pytest_asyncio == status
    assert [
        (e.what, e.path.relative_to(tmp_path).as_posix()) for e in found.evidence if e.path
    ] == (evidence)


def _plain_directory_rules(project: Project, directory: Path) -> object:
    """`Project._directory_rules` the plain way: every directory up to the rootdir
    matched against every pattern, every conftest above read, for each question."""
    from testlint.project import _up_to
    from testlint.pytest_config import DEFAULT_NORECURSEDIRS, addopts_ignore_entries
    from testlint.pytest_config import python_files_match as matches

    config = project.pytest_config(directory)
    rootdir = config.rootdir or project.root
    if not directory.is_relative_to(rootdir):
        return ()
    patterns = config.get_list("norecursedirs")
    norecurse = patterns if patterns is not None else DEFAULT_NORECURSEDIRS
    for current in (directory, *directory.parents):
        if current == rootdir or not current.is_relative_to(rootdir):
            break
        for pattern in norecurse:
            if matches(pattern, current):
                return NotRecursed(current, pattern, config.path if patterns is not None else None)
    ignores = addopts_ignore_entries(config, rootdir)
    for current in _up_to(directory, rootdir):
        ignores += read_collect_ignores(current / "conftest.py").entries
    return ignores


def test_suite_mention_equals_the_first_suite_file_holding_the_word(tmp_path: Path) -> None:
    """`_suite_mention` classifies only the test-named files that hold a word (a
    speed trick): on a tree with uncollected look-alikes and on every fixture
    project it finds the file the plain way does, the first of `suite_files`."""
    write(tmp_path, "pytest.ini", "[pytest]\nnorecursedirs = build\npython_files = check_*.py\n")
    write(tmp_path, "build/check_a.py", "import pytest_asyncio\n")  # not collected
    write(tmp_path, "t/test_b.py", "import pytest_asyncio\n")  # not named as a test
    write(tmp_path, "t/check_c.py", "@pytest.mark.asyncio\n")
    write(tmp_path, "t/check_d.py", "import pytest_asyncio\n")
    fixtures = Path(__file__).parent / "fixtures"
    roots = [tmp_path, *sorted(p for p in fixtures.glob("TL*/*") if p.is_dir())]
    found = 0
    for root in roots:
        for words in (("pytest_asyncio", "mark.asyncio"), ("pytest_asyncio",), ("xdist",)):
            project, plain = Project(root), Project(root)
            expected = next(
                (p for p in plain.suite_files if any(w in plain.suite_text(p) for w in words)),
                None,
            )
            assert project._suite_mention(words) == expected, (root, words)
            found += expected is not None
    assert Project(tmp_path)._suite_mention(("pytest_asyncio",)) == tmp_path / "t/check_d.py"
    assert found > 20


def test_directory_rules_remembered_per_directory_equal_the_plain_way(tmp_path: Path) -> None:
    """Each directory's `norecursedirs` match and `collect_ignore` entries are
    found once and shared by the directories below it (a speed trick): the rules
    of every directory of every fixture project and of a nested tree are those
    of the plain way."""
    write(tmp_path, "pytest.ini", "[pytest]\nnorecursedirs = build* .*\naddopts = --ignore=t/x\n")
    write(tmp_path, "t/conftest.py", 'collect_ignore = ["old.py"]\n')
    write(tmp_path, "t/a/conftest.py", 'collect_ignore_glob = ["*_legacy.py"]\n')
    for directory in ("t/a/b/c", "t/build_1/d", "t/.hidden/e", "t/x/y"):
        write(tmp_path, f"{directory}/test_one.py", "def test(): pass\n")
    fixtures = Path(__file__).parent / "fixtures"
    roots = [tmp_path, *sorted(p for p in fixtures.glob("TL*/*") if p.is_dir())]
    compared = 0
    for root in roots:
        remembered, plain = Project(root), Project(root)
        directories = sorted({p.parent.resolve() for p in root.rglob("*.py")})
        for folder in directories:
            got = remembered._directory_rules(folder)
            assert got == _plain_directory_rules(plain, folder), folder
            compared += 1
    assert compared > 100


def test_answers_remembered_for_the_directories_above_equal_fresh_answers(
    tmp_path: Path,
) -> None:
    """`find_config_file` with the run's answers so far (`known`) and
    `Project.owner`, which remember the answer of every directory they looked at
    (speed tricks for suites with a directory per test), answer every directory
    of a nested tree of configurations and sub-projects as a fresh lookup."""
    from testlint.locate import find_config_file

    write(tmp_path, "pyproject.toml", "[tool.testlint]\n")
    write(tmp_path, "a/pyproject.toml", "[project]\nname = 'a'\n")  # no table: not a config
    write(tmp_path, "a/b/pyproject.toml", "[tool.testlint]\nselect = ['TL1']\n")
    write(tmp_path, "c/requirements-dev.txt", "pytest\n")
    write(tmp_path, "c/d/setup.cfg", "[metadata]\nname = d\n")
    folders = ["a/b/c/d", "a/x/y", "c/d/e/f", "c/g", "h/i/j", "a/b", "c", "."]
    for folder in folders:
        write(tmp_path, f"{folder}/tests/test_x.py", "def test(): pass\n")
    files = sorted(tmp_path.rglob("test_x.py"), key=lambda p: (len(p.parts), str(p)))
    for order in (files, files[::-1]):  # shallow directories first, then deep ones first
        known: dict[Path, Path | None] = {}
        remembered = Project(tmp_path)
        for path in order:
            assert find_config_file(path.parent, known) == find_config_file(path.parent), path
            fresh = Project(tmp_path).owner(path)
            assert remembered.owner(path).root == fresh.root, path
    assert len(known) > len(files)
    assert {Project(tmp_path).owner(p).root.name for p in files} >= {"c", "d", tmp_path.name}


def _plain_pytest_config(directory: Path) -> object:
    """The nearest configuration the plain way: resolve, then a `stat` per name."""
    from testlint.pytest_config import CONFIG_FILES, DEFAULT_PYTEST_CONFIG

    for current in (directory.resolve(), *directory.resolve().parents):
        for name, loader in CONFIG_FILES:
            candidate = current / name
            if candidate.is_file():
                config = loader(candidate)
                if config is not None:
                    return config
    return DEFAULT_PYTEST_CONFIG


def test_configuration_found_from_listings_equals_a_stat_per_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Project.pytest_config` lists each directory once instead of asking for each
    configuration file name, and resolves directories through their parents (speed
    tricks for suites with a directory per test): every directory of a tree with
    look-alike names, links and an unlistable directory, and of every fixture
    project, gets the configuration of the plain way."""
    write(tmp_path, "pytest.ini", "[pytest]\npython_files = check_*.py\n")
    write(tmp_path, "a/tox.ini", "[tox]\nenvlist = py\n")  # no [pytest]: not a config
    write(tmp_path, "a/b/setup.cfg", "[tool:pytest]\npython_files = b_*.py\n")
    write(tmp_path, "c/PYTEST.INI", "[pytest]\npython_files = upper_*.py\n")
    write(tmp_path, "d/pyproject.toml/test_x.py", "")  # a directory named like a file
    write(tmp_path, "e/pytest.toml", '[pytest]\npython_files = ["e_*.py"]\n')
    write(tmp_path, "f/g/test_x.py", "")
    (tmp_path / "linked").symlink_to(tmp_path / "a" / "b")
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "pytest.ini").symlink_to(tmp_path / "e" / "pytest.toml")
    write(tmp_path, "locked/i/test_x.py", "")
    write(tmp_path, "locked/pytest.ini", "[pytest]\npython_files = locked_*.py\n")
    fixtures = Path(__file__).parent / "fixtures"
    roots = [tmp_path, *sorted(p for p in fixtures.glob("TL*/*") if p.is_dir())]
    listdir = os.listdir
    refused = []

    def listing(directory: Path) -> list[str]:
        if Path(directory).name == "locked":  # as an unreadable directory does
            refused.append(directory)
            raise PermissionError(13, "Permission denied", str(directory))
        return listdir(directory)

    monkeypatch.setattr("testlint.pytest_config.os.listdir", listing)
    compared = 0
    for root in roots:
        project = Project(root)
        folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
        if root == tmp_path:
            folders.append(tmp_path / "linked")
        for folder in folders:
            expected = _plain_pytest_config(folder)
            assert project.pytest_config(folder) == expected, folder
            assert project.real_directory(folder) == folder.resolve(), folder
            compared += 1
    assert compared > 100
    assert refused
    assert Project(tmp_path).pytest_config(tmp_path / "locked" / "i").python_files == (
        "locked_*.py",
    )


def test_a_requirements_file_a_run_file_names_is_an_input_even_while_missing(
    tmp_path: Path,
) -> None:
    """Creating the file a workflow installs with `-r` changes what the project
    declares, so the cache watches it before it exists; a templated name watches
    the files that exist, as the root's `*requirements*.txt` glob does."""
    from testlint.dependencies import requirement_files

    write(tmp_path, ".github/workflows/ci.yml", "steps:\n  - run: pip install -r ci/pins.txt\n")
    write(tmp_path, "justfile", "i g:\n    pip install -r deps/{{ g }}-requirements.txt\n")
    write(tmp_path, "deps/test-requirements.txt", "pytest<9\n")
    assert requirement_files(tmp_path) == [
        tmp_path / "ci/pins.txt",
        tmp_path / "deps/test-requirements.txt",
    ]
    write(tmp_path, "ci/pins.txt", "pytest-asyncio==1.4.0\n")
    assert Project(tmp_path).uses("pytest-asyncio")


def test_recalled_requirements_are_those_read(tmp_path: Path) -> None:
    """`known_requirements` through a record (JSON) and `recall_requirements` give
    the same tuple, repeats and order included, for the project and a sub-project."""
    import json

    tox = "[testenv]\ndeps =\n    pytest-asyncio>=0.23\n    pytest\n    pytest-asyncio>=0.23\n"
    files = {
        "pyproject.toml": '[project]\nname = "a"\ndependencies = ["attrs>=22"]\n',
        "tox.ini": tox,
        "requirements-dev.txt": "pytest==8.0\n",
        "sub/pyproject.toml": '[project]\nname = "b"\ndependencies = ["pytest-xdist"]\n',
        "sub/tests/test_b.py": "def test_b():\n    pass\n",
    }
    for name, text in files.items():
        write(tmp_path, name, text)
    first = Project(tmp_path)
    sub = first.owner(tmp_path / "sub" / "tests" / "test_b.py")
    assert sub.root == tmp_path / "sub"
    expected = (first.requirements, sub.requirements)
    assert len(first.requirements) >= 5
    known = json.loads(json.dumps(first.known_requirements()))
    again = Project(tmp_path)
    again.recall_requirements(known)
    sub_again = again.owner(tmp_path / "sub" / "tests" / "test_b.py")
    assert (again.requirements, sub_again.requirements) == expected
    assert Project(tmp_path).known_requirements() == {}  # none read, none recorded
