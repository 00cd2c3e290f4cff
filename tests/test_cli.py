"""The command line: exit codes, output formats, fixing, selection and file discovery.

Each test builds a small project in `tmp_path` (with its own `pytest.ini`, so the
pytest configuration search never leaves it) and runs `testlint` in it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cli_runner import make_runner, run_process, write
from testlint import __version__
from testlint.cli import main
from testlint.registry import ALL_RULES

EXIT_MESSAGE = "`sys.exit()` at import time ends the whole pytest run, not just this module"
SKIP_MESSAGE = (
    "`pytest.skip()` at import time without `allow_module_level=True` is a collection error"
)

# TL101 at 6:5 with a safe fix (an exit in an `except ImportError:` handler).
SAFE = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
# TL201 (under xdist, with a serial marker the suite uses): the second test.
PARALLEL_WORK = (
    "from concurrent.futures import ThreadPoolExecutor\n\nimport pytest\n\n\n"
    "@pytest.mark.serial\ndef test_marked():\n    with ThreadPoolExecutor() as pool:\n"
    "        pool.submit(print)\n\n\n"
    "def test_pool():\n    with ThreadPoolExecutor() as pool:\n        pool.submit(print)\n"
)
# `import sys` served only the exit: the fix removes it.
SAFE_FIXED = (
    "import pytest\n\ntry:\n    import nope\nexcept ImportError:\n"
    '    pytest.skip("could not import nope", allow_module_level=True)\n'
)
# TL101 at 4:5 with an unsafe fix (an exit under a plain `if`).
UNSAFE = 'import sys\n\nif sys.platform == "win32":\n    sys.exit("POSIX only")\n'
UNSAFE_FIXED = (
    'import sys\n\nimport pytest\n\nif sys.platform == "win32":\n'
    '    pytest.skip("POSIX only", allow_module_level=True)\n'
)
# TL101 at 4:36 without any fix (an exit inside an expression).
UNFIXABLE = 'import os\nimport sys\n\nDEBUG = os.environ.get("DEBUG") or sys.exit(4)\n'
# TL102 at 6:5 with a safe fix.
SKIP = 'import sys\n\nimport pytest\n\nif sys.platform == "win32":\n    pytest.skip("POSIX only")\n'
SKIP_FIXED = (
    'import sys\n\nimport pytest\n\nif sys.platform == "win32":\n'
    '    pytest.skip("POSIX only", allow_module_level=True)\n'
)
CLEAN = "import sys\n\n\ndef test_exit():\n    sys.exit(1)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project (with its own pytest config) that is the working directory."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(root: Path, body: str) -> Path:
    return write(root, "pyproject.toml", "[tool.testlint]\n" + body)


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    return make_runner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def reported(*args: str) -> list[tuple[str, str, int]]:
    """(relative path, code, row) of every diagnostic, from the json output."""
    result = invoke("--output-format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return [
        (
            Path(item["filename"]).relative_to(Path.cwd()).as_posix(),
            item["code"],
            item["location"]["row"],
        )
        for item in json.loads(result.stdout)
    ]


def codes(*args: str) -> set[str]:
    return {code for _path, code, _row in reported(*args)}


# ------------------------------------------------------------------ exit codes


def test_clean_project_exits_0(project: Path) -> None:
    write(project, "tests/test_clean.py", CLEAN)
    result = invoke()
    assert result.exit_code == 0
    assert result.stdout == "All checks passed! Checked 1 file.\n"


def test_findings_exit_1(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke("--output-format", "concise")
    assert result.exit_code == 1
    assert "tests/test_x.py:6:5: TL101" in result.stdout


def test_unknown_config_key_exits_2_naming_key_and_file(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    pyproject = config(project, 'selct = ["TL101"]\n')
    result = invoke()
    assert result.exit_code == 2
    assert "'selct'" in result.stderr
    assert str(pyproject) in result.stderr
    assert result.stdout == ""


def test_wrong_type_in_config_exits_2(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    pyproject = config(project, "select = 5\n")
    result = invoke()
    assert result.exit_code == 2
    assert "'select'" in result.stderr
    assert "expected a list of strings" in result.stderr
    assert str(pyproject) in result.stderr


def test_invalid_toml_exits_2(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    pyproject = write(project, "pyproject.toml", "[tool.testlint\nselect = []\n")
    result = invoke()
    assert result.exit_code == 2
    assert "invalid TOML" in result.stderr
    assert str(pyproject) in result.stderr


def test_a_broken_project_template_below_the_root_fails_only_its_own_files(
    project: Path,
) -> None:
    """A project template's pyproject.toml (`name = {{ cookiecutter.name }}`) is no
    TOML, and pytest run from the root never reads it. It made every checked file
    report its TOML error (exit 2, no findings) as soon as a rule listed the suite
    or indexed the project's modules; it is still the error of a file under it."""
    template = project / "templates" / "{{ cookiecutter.repo_name }}"
    write(project, f"{template}/pyproject.toml", "[project]\nname = {{ cookiecutter.name }}\n")
    write(project, f"{template}/tests/test_run.py", "def test_run():\n    pass\n")
    write(project, "tests/test_x.py", SAFE)
    # The suite listing (TL201's serial marker under xdist, TL302's asyncio
    # plugin) and the module index (TL103's exiting modules) are read for these.
    write(project, "pytest.ini", "[pytest]\naddopts = -n 2\nmarkers =\n    serial: alone\n")
    write(project, "tests/test_pool.py", PARALLEL_WORK)
    write(project, "tests/test_io.py", "import helpers\n\n\nasync def test_io():\n    pass\n")
    write(project, "tests/helpers.py", "VALUE = 1\n")
    result = invoke("--output-format", "concise", "tests")
    assert result.stderr == ""
    assert result.exit_code == 1
    assert "tests/test_x.py:6:5: TL101" in result.stdout
    assert "tests/test_pool.py:13:10: TL201" in result.stdout
    broken = invoke("--output-format", "concise", f"{template}/tests/test_run.py")
    assert broken.exit_code == 2
    assert f"{template / 'pyproject.toml'}: invalid TOML" in broken.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--select", "TL999"],
        ["--extend-select", "TL999"],
        ["--ignore", "no-such-rule"],
        ["--select", "TL101,bogus"],
        ["--select", "TL8"],  # a family with no rule yet: would check nothing
    ],
)
def test_unknown_selector_on_command_line_exits_2(project: Path, args: list[str]) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke(*args)
    assert result.exit_code == 2
    assert "matches no rule" in result.stderr
    assert result.stdout == ""


def test_nonexistent_path_exits_2_and_other_paths_are_still_checked(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke("--output-format", "concise", "missing.py", "tests")
    assert result.exit_code == 2
    assert "missing.py: no such file or directory" in result.stderr
    assert "tests/test_x.py:6:5: TL101" in result.stdout


def test_nonexistent_path_exits_2_even_with_exit_zero(project: Path) -> None:
    assert invoke("--exit-zero", "missing").exit_code == 2


def test_config_with_isolated_exits_2(project: Path) -> None:
    pyproject = config(project, "")
    result = invoke("--config", str(pyproject), "--isolated")
    assert result.exit_code == 2
    assert "--config and --isolated" in result.stderr


def test_missing_config_file_exits_2(project: Path) -> None:
    result = invoke("--config", "nope.toml")
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr


def test_config_option_reads_the_given_file(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    write(project, "tests/test_y.py", SKIP)
    other = write(project, "other/settings.toml", '[tool.testlint]\nselect = ["TL102"]\n')
    assert codes() == {"TL101", "TL102"}
    assert codes("--config", str(other), "tests") == {"TL102"}


def test_isolated_ignores_the_configuration(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    config(project, 'ignore = ["TL101"]\nunknown-key = 1\n')
    assert invoke().exit_code == 2
    assert codes("--isolated") == {"TL101"}


# ------------------------------------------------------------------ text output


def test_check_is_the_default_command(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    implicit = invoke("tests")
    explicit = invoke("check", "tests")
    assert implicit.exit_code == explicit.exit_code == 1
    assert implicit.stdout == explicit.stdout
    assert "TL101" in implicit.stdout


def test_text_format_lines_and_summary(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNSAFE)
    write(project, "tests/test_c.py", UNFIXABLE)
    result = invoke("--output-format", "concise")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"tests/test_a.py:6:5: TL101 [*] {EXIT_MESSAGE}",
        f"tests/test_b.py:4:5: TL101 {EXIT_MESSAGE}",
        f"tests/test_c.py:4:36: TL101 {EXIT_MESSAGE}",
        "Checked 3 files, found 3 problems.",
        "[*] 1 fixable with `testlint --fix`.",
        "1 hidden fix can be enabled with `--unsafe-fixes`.",
    ]


def test_text_marks_unsafe_fixes_fixable_when_enabled(project: Path) -> None:
    write(project, "tests/test_b.py", UNSAFE)
    result = invoke("--output-format", "concise", "--unsafe-fixes")
    assert result.stdout.splitlines() == [
        f"tests/test_b.py:4:5: TL101 [*] {EXIT_MESSAGE}",
        "Checked 1 file, found 1 problem.",
        "[*] 1 fixable with `testlint --fix --unsafe-fixes`.",
    ]


def test_quiet_prints_no_summary(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    write(project, "tests/test_clean.py", CLEAN)
    result = invoke("--output-format", "concise", "-q")
    assert result.exit_code == 1
    assert result.stdout == f"tests/test_x.py:6:5: TL101 [*] {EXIT_MESSAGE}\n"
    (project / "tests/test_x.py").unlink()
    clean = invoke("--quiet")
    assert clean.exit_code == 0
    assert clean.stdout == ""


def test_exit_zero(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke("--output-format", "concise", "--exit-zero")
    assert result.exit_code == 0
    assert "tests/test_x.py:6:5: TL101" in result.stdout
    assert "Checked 1 file, found 1 problem." in result.stdout


def test_statistics(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNFIXABLE)
    write(project, "tests/test_c.py", SKIP)
    result = invoke("--statistics")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "    2\tTL101\t[*] module-level-exit",
        "    1\tTL102\t[*] skip-without-allow-module-level",
    ]
    assert not any(":6:5:" in line for line in lines), "statistics replace the listing"
    assert "Checked 3 files, found 3 problems." in lines


# ------------------------------------------------------------------ fixing


def test_fix_writes_the_file_and_exits_0_when_everything_was_fixed(project: Path) -> None:
    safe = write(project, "tests/test_a.py", SAFE)
    skip = write(project, "tests/test_b.py", SKIP)
    result = invoke("--fix")
    assert result.exit_code == 0, result.output
    assert safe.read_text(encoding="utf-8") == SAFE_FIXED
    assert skip.read_text(encoding="utf-8") == SKIP_FIXED
    assert result.stdout == "Fixed 2 problems (0 remaining).\n"
    again = invoke("--fix")
    assert again.exit_code == 0
    assert again.stdout == "All checks passed! Checked 2 files.\n"
    assert safe.read_text(encoding="utf-8") == SAFE_FIXED


def test_fix_exits_1_when_unfixable_problems_remain(project: Path) -> None:
    safe = write(project, "tests/test_a.py", SAFE)
    unfixable = write(project, "tests/test_b.py", UNFIXABLE)
    result = invoke("--output-format", "concise", "--fix")
    assert result.exit_code == 1
    assert safe.read_text(encoding="utf-8") == SAFE_FIXED
    assert unfixable.read_text(encoding="utf-8") == UNFIXABLE
    assert result.stdout.splitlines() == [
        f"tests/test_b.py:4:36: TL101 {EXIT_MESSAGE}",
        "Fixed 1 problem (1 remaining).",
        "Checked 2 files, found 1 problem.",
    ]


def test_diff_prints_a_unified_diff_and_writes_nothing(project: Path) -> None:
    path = write(project, "tests/test_a.py", SAFE)
    before = path.read_bytes()
    result = invoke("--diff")
    assert result.exit_code == 1
    assert path.read_bytes() == before
    assert result.stdout == (
        "--- a/tests/test_a.py\n"
        "+++ b/tests/test_a.py\n"
        "@@ -1,6 +1,6 @@\n"
        "-import sys\n"
        "+import pytest\n"
        " \n"
        " try:\n"
        "     import nope\n"
        " except ImportError:\n"
        "-    sys.exit(1)\n"
        '+    pytest.skip("could not import nope", allow_module_level=True)\n'
    )
    assert "Would fix 1 problem." in result.stderr


def test_diff_wins_over_fix(project: Path) -> None:
    path = write(project, "tests/test_a.py", SAFE)
    result = invoke("--fix", "--diff")
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == SAFE
    assert result.stdout.startswith("--- a/tests/test_a.py\n")


def test_diff_exits_0_when_nothing_would_change(project: Path) -> None:
    write(project, "tests/test_clean.py", CLEAN)
    result = invoke("--diff")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_unsafe_fixes_are_applied_only_when_requested(project: Path) -> None:
    path = write(project, "tests/test_b.py", UNSAFE)
    result = invoke("--fix")
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == UNSAFE
    assert "1 hidden fix can be enabled with `--unsafe-fixes`." in result.stdout
    result = invoke("--fix", "--unsafe-fixes")
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == UNSAFE_FIXED


def test_unsafe_fixes_from_config_and_overridden_on_the_command_line(project: Path) -> None:
    path = write(project, "tests/test_b.py", UNSAFE)
    config(project, "unsafe-fixes = true\n")
    invoke("--fix", "--no-unsafe-fixes")
    assert path.read_text(encoding="utf-8") == UNSAFE
    result = invoke("--fix")
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == UNSAFE_FIXED


def test_unsafe_fix_moves_a_script_exit_under_the_main_guard(project: Path) -> None:
    path = write(project, "tests/test_script.py", "import sys\n\nsys.exit(0)\n")
    assert invoke("--fix", "--unsafe-fixes").exit_code == 0
    assert path.read_text(encoding="utf-8") == (
        'import sys\n\nif __name__ == "__main__":\n    sys.exit(0)\n'
    )


# ------------------------------------------------------------------ selection


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"TL101", "TL102"}),
        (["--select", "TL101"], {"TL101"}),
        (["--select", "tl102"], {"TL102"}),
        (["--select", "TL1"], {"TL101", "TL102"}),
        (["--select", "module-level-exit"], {"TL101"}),
        (["--select", "TL101,TL102"], {"TL101", "TL102"}),
        (["--select", "ALL", "--ignore", "TL102"], {"TL101"}),
        (["--ignore", "TL101"], {"TL102"}),
        (["--ignore", "TL1"], set()),
        (["--ignore", "skip-without-allow-module-level"], {"TL101"}),
        (["--select", "TL102", "--extend-select", "TL101"], {"TL101", "TL102"}),
        (["--select", "TL102", "--extend-select", "module-level-exit"], {"TL101", "TL102"}),
    ],
)
def test_select_ignore_extend_select(project: Path, args: list[str], expected: set[str]) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", SKIP)
    assert codes(*args) == expected


def test_command_line_selection_combines_with_config(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", SKIP)
    config(project, 'select = ["TL102"]\n')
    assert codes() == {"TL102"}
    assert codes("--extend-select", "TL101") == {"TL101", "TL102"}
    assert codes("--select", "TL101") == {"TL101"}
    config(project, 'ignore = ["TL102"]\n')
    assert codes() == {"TL101"}
    assert codes("--ignore", "TL101") == set()


@pytest.mark.parametrize(
    ("comment", "suppressed", "directive_findings"),
    [
        ("# noqa", True, set()),
        ("# noqa: TL101", True, set()),
        ("# noqa:TL101", True, set()),
        ("# NOQA: tl101", True, set()),
        # A rule name still suppresses, and TL003 asks for the code.
        ("# noqa: module-level-exit", True, {"TL003"}),
        ("# noqa: E501, TL101", True, set()),
        ("# noqa: TL102", False, {"TL003"}),
        ("# noqa: E501", False, set()),
        ("# a comment", False, set()),
    ],
)
def test_noqa(project: Path, comment: str, suppressed: bool, directive_findings: set[str]) -> None:
    write(project, "tests/test_a.py", SAFE.replace("sys.exit(1)", f"sys.exit(1)  {comment}"))
    result = invoke()
    found = set() if suppressed else {"TL101"}
    assert result.exit_code == (1 if found | directive_findings else 0)
    assert codes() == found | directive_findings


def test_per_file_ignores(project: Path) -> None:
    write(project, "tests/legacy/test_a.py", SAFE)
    write(project, "tests/legacy/test_b.py", SKIP)
    write(project, "tests/test_c.py", SAFE)
    write(project, "tests/test_d.py", SKIP)
    config(
        project,
        '[tool.testlint.per-file-ignores]\n"tests/legacy/*" = ["TL101"]\n"test_d.py" = ["TL1"]\n',
    )
    assert sorted(reported()) == [
        ("tests/legacy/test_b.py", "TL102", 6),
        ("tests/test_c.py", "TL101", 6),
    ]


def test_per_file_ignores_by_rule_name(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    config(project, '[tool.testlint.per-file-ignores]\n"tests/**" = ["module-level-exit"]\n')
    assert reported() == []


def test_per_file_ignores_with_an_unknown_selector_exits_2(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    config(project, '[tool.testlint.per-file-ignores]\n"tests/*" = ["TL999"]\n')
    result = invoke()
    assert result.exit_code == 2
    assert "TL999" in result.stderr


# ------------------------------------------------------------------ discovery


def test_exclude_skips_directories_but_a_named_file_is_checked(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/generated/test_b.py", SAFE)
    write(project, "tests/generated/deep/test_c.py", SAFE)
    write(project, "other/snapshots/test_d.py", SAFE)
    write(project, "other/test_e.py", SAFE)
    config(project, 'exclude = ["tests/generated", "snapshots"]\n')
    assert [path for path, _, _ in reported()] == ["other/test_e.py", "tests/test_a.py"]
    assert [path for path, _, _ in reported("tests/generated/test_b.py")] == [
        "tests/generated/test_b.py"
    ]
    result = invoke("--force-exclude", "tests/generated/test_b.py")
    assert result.exit_code == 0


def test_exclude_file_glob(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_a_generated.py", SAFE)
    config(project, 'exclude = ["*_generated.py"]\n')
    assert [path for path, _, _ in reported()] == ["tests/test_a.py"]


@pytest.mark.parametrize(
    "directory",
    [
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        "site-packages",
        "build",
        "dist",
        ".tox",
        "pkg.egg-info",
        "tests/__pycache__",
    ],
)
def test_directories_pytest_never_collects_are_skipped(project: Path, directory: str) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, f"{directory}/test_x.py", SAFE)
    write(project, f"{directory}/lib/test_y.py", SAFE)
    assert [path for path, _, _ in reported()] == ["tests/test_a.py"]


def test_a_virtualenv_under_any_name_is_skipped(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "py311env/pyvenv.cfg", "home = /usr/bin\n")
    write(project, "py311env/lib/test_x.py", SAFE)
    write(project, "py311env_not/test_y.py", SAFE)
    assert [path for path, _, _ in reported()] == ["py311env_not/test_y.py", "tests/test_a.py"]


def test_norecursedirs_from_pytest_config(project: Path) -> None:
    write(project, "pytest.ini", "[pytest]\nnorecursedirs = legacy* .git\n")
    write(project, "tests/test_a.py", SAFE)
    write(project, "legacy_tests/test_b.py", SAFE)
    write(project, "tests/legacy/test_c.py", SAFE)
    # Setting norecursedirs replaces pytest's defaults (which skip `build`).
    write(project, "build/test_d.py", SAFE)
    assert [path for path, _, _ in reported()] == ["build/test_d.py", "tests/test_a.py"]


def test_a_directory_named_is_checked_as_pytest_collects_it_despite_norecursedirs(
    project: Path,
) -> None:
    """pytest applies `norecursedirs` only below the paths it is given (checked with
    pytest 9.2): `pytest tests/benchmark` collects `tests/benchmark/` and
    `tests/benchmark/sub/`, not `tests/benchmark/build/`; a directory given inside a
    left-out directory is collected too."""
    write(project, "pytest.ini", "[pytest]\nnorecursedirs = tests/benchmark build\n")
    write(project, "tests/test_a.py", SAFE)
    for name in ("test_b.py", "sub/test_s.py", "build/test_bb.py"):
        write(project, f"tests/benchmark/{name}", SAFE)
    write(project, "tests/benchmark/conftest.py", "collect_ignore = ['ignored']\n")
    write(project, "tests/benchmark/ignored/test_i.py", SAFE)
    assert [path for path, _, _ in reported("tests")] == ["tests/test_a.py"]
    assert [path for path, _, _ in reported("tests/benchmark")] == [
        "tests/benchmark/sub/test_s.py",
        "tests/benchmark/test_b.py",
    ]
    assert [path for path, _, _ in reported("tests/benchmark/sub")] == [
        "tests/benchmark/sub/test_s.py"
    ]
    assert [path for path, _, _ in reported("tests/benchmark/build")] == [
        "tests/benchmark/build/test_bb.py"
    ]
    # A file is judged as pytest's recursion judges it (pytest would collect a file
    # named on its command line, but pre-commit and flake8 name every file).
    assert reported("tests/benchmark/build/test_bb.py") == []


def test_non_test_module_is_not_reported(project: Path) -> None:
    write(project, "tests/helpers.py", "import sys\n\nsys.exit(1)\n")
    write(project, "tests/test_a.py", CLEAN)
    assert invoke().exit_code == 0
    result = invoke("tests/helpers.py")
    assert result.exit_code == 0
    assert result.stdout == "All checks passed! Checked 1 file.\n"


def test_a_path_without_test_modules_says_so(project: Path) -> None:
    # Never "All checks passed!" for nothing (ruff: "No Python files found").
    write(project, "src/app.py", "import sys\n\nsys.exit(1)\n")
    result = invoke("src")
    assert result.exit_code == 0
    assert result.stdout == "No files checked.\n"
    assert "no test modules or conftests found in src (python_files: test_*.py" in result.stderr


def test_python_files_from_pytest_config_decide_test_modules(project: Path) -> None:
    write(project, "pytest.ini", "[pytest]\npython_files = check_*.py\n")
    write(project, "tests/check_a.py", SAFE)
    write(project, "tests/test_b.py", SAFE)
    assert [path for path, _, _ in reported()] == ["tests/check_a.py"]


def test_default_python_files_include_suffix_pattern(project: Path) -> None:
    write(project, "tests/a_test.py", SAFE)
    write(project, "tests/atest.py", SAFE)
    assert [path for path, _, _ in reported()] == ["tests/a_test.py"]


def test_conftest_is_checked_but_not_fixed(project: Path) -> None:
    path = write(project, "tests/conftest.py", SAFE)
    result = invoke("--output-format", "concise", "--fix", "--unsafe-fixes")
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == SAFE
    assert f"tests/conftest.py:6:5: TL101 {EXIT_MESSAGE}" in result.stdout


def test_syntax_error_is_tl001_and_the_run_continues(project: Path) -> None:
    write(project, "tests/test_a.py", "import sys\n\ndef broken(:\n    sys.exit(1)\n")
    write(project, "tests/test_b.py", SAFE)
    result = invoke("--output-format", "concise")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tests/test_a.py:")
    assert ": TL001 Cannot parse file" in lines[0]
    assert lines[1] == f"tests/test_b.py:6:5: TL101 [*] {EXIT_MESSAGE}"
    fixed = invoke("--fix")
    assert fixed.exit_code == 1
    assert (project / "tests/test_b.py").read_text(encoding="utf-8") == SAFE_FIXED


def test_tl001_points_at_the_line_python_reports(project: Path) -> None:
    source = "import sys\nx = = 1\nsys.exit()\n"
    with pytest.raises(SyntaxError) as python_error:
        ast.parse(source)
    write(project, "tests/test_a.py", source)
    assert reported() == [("tests/test_a.py", "TL001", python_error.value.lineno)]


# ------------------------------------------------------------------ machine formats


def test_json_output_has_ruffs_fields(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNFIXABLE)
    result = invoke("--output-format", "json")
    assert result.exit_code == 1
    items: list[dict[str, Any]] = json.loads(result.stdout)
    fixable, unfixable = items
    assert fixable["code"] == "TL101"
    assert fixable["message"] == EXIT_MESSAGE
    assert Path(fixable["filename"]) == project.resolve() / "tests/test_a.py"
    assert fixable["location"] == {"row": 6, "column": 5}
    assert fixable["end_location"] == {"row": 6, "column": 16}
    assert fixable["noqa_row"] == 6
    assert "url" in fixable
    fix = fixable["fix"]
    assert fix["applicability"] == "safe"
    assert "pytest.skip" in fix["message"]
    assert fix["edits"]
    for edit in fix["edits"]:
        assert set(edit) == {"content", "location", "end_location"}
        assert edit["location"]["row"] >= 1
        assert edit["location"]["column"] >= 1
    contents = "".join(edit["content"] for edit in fix["edits"])
    assert "import pytest" in contents
    assert "allow_module_level=True" in contents
    assert unfixable["fix"] is None
    assert unfixable["location"] == {"row": 4, "column": 36}
    assert Path(unfixable["filename"]).name == "test_b.py"


def test_json_edits_reproduce_the_fix(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    [item] = json.loads(invoke("--output-format", "json").stdout)
    lines = SAFE.splitlines(keepends=True)
    # Line-granular edits (column 1), applied bottom-up.
    for edit in sorted(item["fix"]["edits"], key=lambda e: e["location"]["row"], reverse=True):
        assert edit["location"]["column"] == edit["end_location"]["column"] == 1
        start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
        lines[start:end] = edit["content"].splitlines(keepends=True)
    assert "".join(lines) == SAFE_FIXED


def test_json_output_is_an_empty_list_when_clean(project: Path) -> None:
    write(project, "tests/test_a.py", CLEAN)
    result = invoke("--output-format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("fmt", ["json", "github", "sarif"])
def test_machine_formats_say_how_many_files_were_checked(project: Path, fmt: str) -> None:
    # stdout stays machine-readable (json is ruff's bare list); the count goes to stderr.
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", CLEAN)
    result = invoke("--output-format", fmt)
    assert result.exit_code == 1
    assert "Checked 2 files, found 1 problem." in result.stderr
    assert "Checked 2 files" not in result.stdout
    if fmt != "github":
        json.loads(result.stdout)
    quiet = invoke("--output-format", fmt, "--quiet")
    assert "Checked 2 files" not in quiet.stderr


def test_json_shows_unsafe_applicability(project: Path) -> None:
    write(project, "tests/test_b.py", UNSAFE)
    [item] = json.loads(invoke("--output-format", "json").stdout)
    assert item["fix"]["applicability"] == "unsafe"


def test_github_format(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", SKIP)
    result = invoke("--output-format", "github")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::error file=tests/test_a.py,line=6,col=5,endLine=6,endColumn=16,title=TL101::"
        + EXIT_MESSAGE,
        "::error file=tests/test_b.py,line=6,col=5,endLine=6,endColumn=30,title=TL102::"
        + SKIP_MESSAGE,
    ]


def test_sarif_format(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    result = invoke("--output-format", "sarif")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["version"] == "2.1.0"
    assert "sarif" in document["$schema"]
    [run] = document["runs"]
    listed = {line.split()[0] for line in invoke("rules").stdout.splitlines()[1:]}
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert rule_ids == listed == {rule.code for rule in ALL_RULES}
    [finding] = run["results"]
    assert finding["ruleId"] == "TL101"
    assert finding["level"] == "error"
    assert finding["message"]["text"] == EXIT_MESSAGE
    location = finding["locations"][0]["physicalLocation"]
    assert location["region"]["startLine"] == 6
    assert location["region"]["startColumn"] == 5
    assert location["artifactLocation"]["uri"] == "tests/test_a.py"


def test_sarif_lists_rules_even_without_results(project: Path) -> None:
    write(project, "tests/test_a.py", CLEAN)
    result = invoke("--output-format", "sarif")
    assert result.exit_code == 0
    [run] = json.loads(result.stdout)["runs"]
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(ALL_RULES)
    assert run["properties"] == {"filesChecked": 1}  # no results from a checked file


def test_sarif_says_when_nothing_was_checked(project: Path) -> None:
    write(project, "src/app.py", "x = 1\n")
    [run] = json.loads(invoke("--output-format", "sarif", "src").stdout)["runs"]
    assert run["properties"] == {"filesChecked": 0}


# ------------------------------------------------------------------ standard input


def test_stdin_reports_the_given_filename(project: Path) -> None:
    result = invoke(
        "--output-format",
        "concise",
        "-",
        "--stdin-filename",
        "tests/test_x.py",
        stdin=SAFE.encode(),
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"tests/test_x.py:6:5: TL101 [*] {EXIT_MESSAGE}"
    assert not (project / "tests").exists(), "stdin must not create or write files"


def test_stdin_fix_prints_the_fixed_source(project: Path) -> None:
    result = invoke("-", "--stdin-filename", "tests/test_x.py", "--fix", stdin=SAFE.encode())
    assert result.exit_code == 0
    assert result.stdout == SAFE_FIXED
    assert "Fixed 1 problem" in result.stderr


def test_stdin_fix_prints_the_source_unchanged_when_nothing_to_fix(project: Path) -> None:
    result = invoke("-", "--stdin-filename", "tests/test_x.py", "--fix", stdin=UNFIXABLE.encode())
    assert result.exit_code == 1
    assert result.stdout == UNFIXABLE
    assert "TL101" in result.stderr


def test_stdin_filename_decides_the_kind_of_file(project: Path) -> None:
    as_helper = invoke("-", "--stdin-filename", "tests/helpers.py", stdin=SKIP.encode())
    assert as_helper.exit_code == 0
    as_conftest = invoke("-", "--stdin-filename", "tests/conftest.py", stdin=SKIP.encode())
    assert as_conftest.exit_code == 0, "TL102 does not apply to conftests"
    as_test = invoke("-", "--stdin-filename", "tests/test_x.py", stdin=SKIP.encode())
    assert as_test.exit_code == 1


def test_stdin_without_a_filename_is_a_test_module(project: Path) -> None:
    result = invoke("--output-format", "concise", "-", stdin=SAFE.encode())
    assert result.exit_code == 1
    assert result.stdout.startswith("-:6:5: TL101")


def test_stdin_fix_with_diff_prints_only_the_diff(project: Path) -> None:
    args = ("-", "--stdin-filename", "tests/test_x.py", "--diff")
    diff_only = invoke(*args, stdin=SAFE.encode())
    both = invoke(*args, "--fix", stdin=SAFE.encode())
    assert diff_only.stdout.startswith("--- a/tests/test_x.py")
    assert both.stdout == diff_only.stdout


def test_stdin_cannot_be_combined_with_paths(project: Path) -> None:
    result = invoke("-", "tests", stdin=SAFE.encode())
    assert result.exit_code == 2
    assert "standard input" in result.stderr


# ------------------------------------------------------------------ other commands


def test_rules_lists_every_rule(project: Path) -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {rule.code for rule in ALL_RULES}
    # Codes and names are stable: a rule added later joins these, none changes.
    assert (
        rows.items()
        >= {
            "TL001": "unparsable-file",
            "TL002": "invalid-configuration",
            "TL003": "unused-noqa",
            "TL101": "module-level-exit",
            "TL102": "skip-without-allow-module-level",
            "TL103": "test-imports-exiting-module",
            "TL201": "parallel-work-without-serial-marker",
            "TL202": "fork-started-process-under-xdist",
            "TL203": "serial-marker-not-registered",
            "TL204": "serial-marker-has-no-effect",
            "TL301": "async-fixture-with-plain-decorator",
            "TL302": "async-test-without-asyncio-mark",
            "TL303": "event-loop-fixture-requested",
            "TL304": "event-loop-fixture-defined",
            "TL305": "async-fixture-loop-scope-narrower",
            "TL306": "asyncio-mark-scope-argument",
            "TL401": "patch-of-name-imported-by-value",
            "TL402": "patch-of-value-captured-at-import",
            "TL403": "patch-target-does-not-exist",
            "TL404": "patch-of-fastapi-dependency",
            "TL501": "mark-on-fixture",
            "TL502": "misspelt-mark",
            "TL601": "nose-style-setup-teardown",
            "TL602": "uncollectable-test-class",
            "TL603": "async-test-in-plain-test-case",
            "TL701": "unusable-pytest-configuration",
            "TL702": "loop-scope-warning-as-error",
        }.items()
    )


def test_explain_by_code_and_by_name_print_the_same_docs(project: Path) -> None:
    by_code = invoke("explain", "TL101")
    by_name = invoke("explain", "module-level-exit")
    assert by_code.exit_code == by_name.exit_code == 0
    assert by_code.stdout == by_name.stdout
    assert by_code.stdout.startswith("# TL101 `module-level-exit`")
    assert "## What it does" in by_code.stdout
    assert "## Fix safety" in by_code.stdout


@pytest.mark.parametrize("rule", ["TL999", "no-such-rule", "TL1"])
def test_explain_unknown_rule_exits_2(project: Path, rule: str) -> None:
    result = invoke("explain", rule)
    assert result.exit_code == 2
    assert repr(rule) in result.stderr


def test_version(project: Path) -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout
    assert "testlint" in result.stdout


def test_help_lists_the_commands(project: Path) -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("check", "rules", "explain"):
        assert command in result.stdout


def test_short_help_is_the_same_as_long_help(project: Path) -> None:
    assert invoke("-h").stdout == invoke("--help").stdout


# ------------------------------------------------------------------ end to end


def test_process_exit_codes(project: Path) -> None:
    write(project, "tests/test_a.py", CLEAN)
    clean = run_process("tests", cwd=project)
    assert (clean.returncode, clean.stdout) == (0, b"All checks passed! Checked 1 file.\n")
    write(project, "tests/test_b.py", SAFE)
    found = run_process("--output-format", "concise", "tests", cwd=project)
    assert found.returncode == 1
    assert b"tests/test_b.py:6:5: TL101 [*]" in found.stdout
    config(project, "bogus = 1\n")
    broken = run_process("tests", cwd=project)
    assert broken.returncode == 2
    assert b"bogus" in broken.stderr
    assert b"Traceback" not in broken.stderr


def test_process_stdin_fix(project: Path) -> None:
    result = run_process(
        "-", "--stdin-filename", "tests/test_x.py", "--fix", cwd=project, stdin=SAFE.encode()
    )
    assert result.returncode == 0
    assert result.stdout == SAFE_FIXED.encode()
    assert b"Fixed 1 problem" in result.stderr


def test_process_stdin_report(project: Path) -> None:
    result = run_process(
        "-",
        "--stdin-filename",
        "tests/test_x.py",
        "--output-format",
        "github",
        cwd=project,
        stdin=SKIP.encode(),
    )
    assert result.returncode == 1
    assert result.stdout.decode().startswith("::error file=tests/test_x.py,line=6,col=5,")


def test_process_survives_a_deeply_nested_file(project: Path) -> None:
    depth = 3000
    write(project, "tests/test_deep.py", f"import sys\nx = {'(' * depth}1{')' * depth}\nexit()\n")
    write(project, "tests/test_other.py", SAFE)
    result = run_process("--output-format", "concise", "tests", cwd=project)
    assert result.returncode == 1, result.stderr.decode(errors="replace")[-500:]
    assert b"tests/test_other.py:6:5: TL101" in result.stdout
    assert b"tests/test_deep.py:" in result.stdout


def test_a_syntax_error_no_rule_looks_for_is_reported(project: Path) -> None:
    # No trigger word of any rule: the file used to pass as "All checks passed!",
    # while pytest stops the whole run on it ("1 error during collection").
    write(project, "tests/test_broken.py", "def test_ok(:\n    assert True\n")
    write(project, "tests/helpers.py", "x = (\n")  # not a test module: pytest never imports it
    result = invoke("--output-format", "concise", "tests", "--no-cache")
    assert result.exit_code == 1
    assert "tests/test_broken.py:1:13: TL001 Cannot parse file" in result.stdout
    assert "helpers.py" not in result.stdout


def test_a_syntax_error_respects_per_file_ignores(project: Path) -> None:
    write(project, "tests/test_broken.py", "def test_ok(:\n    pass\n")
    write(
        project,
        "pyproject.toml",
        '[tool.testlint]\n[tool.testlint.per-file-ignores]\n"tests/test_broken.py" = ["TL001"]\n',
    )
    result = invoke("tests", "--no-cache")
    assert result.exit_code == 0, result.stdout


def test_stdin_filename_alone_reads_standard_input(project: Path) -> None:
    # As in ruff: without `-`, --stdin-filename still means the source is on stdin
    # (it used to lint the whole directory instead).
    write(project, "tests/test_other.py", SAFE)
    result = invoke(
        "--output-format", "concise", "--stdin-filename", "tests/test_x.py", stdin=SAFE.encode()
    )
    assert result.exit_code == 1
    assert "tests/test_x.py:6:5: TL101" in result.stdout
    assert "test_other.py" not in result.stdout


def test_stdin_filename_with_paths_is_an_error(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke("--stdin-filename", "tests/test_x.py", "tests", stdin=SAFE.encode())
    assert result.exit_code == 2
    assert "--stdin-filename" in result.stderr


def test_diff_with_statistics_is_an_error(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    result = invoke("--diff", "--statistics", "tests")
    assert result.exit_code == 2
    assert "--diff cannot be used with --statistics" in result.stderr


def test_statistics_in_json(project: Path) -> None:
    write(project, "tests/test_x.py", SAFE)
    write(project, "tests/test_y.py", SAFE)
    result = invoke("--statistics", "--output-format", "json", "--no-cache", "tests")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"code": "TL101", "name": "module-level-exit", "count": 2, "fixable": True}
    ]


def test_relative_paths_find_a_conftest_fixtures_consumers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the project root with a relative path (as CI and the ecosystem check
    do), a conftest fixture's consumers are found below it: the anyio-only fixtures
    stay silent, as with absolute paths."""
    import shutil

    source = Path(__file__).parent / "fixtures" / "TL301" / "conftest_fixture_for_anyio_tests"
    shutil.copytree(source, tmp_path / "suite", ignore=shutil.ignore_patterns("*.fixed.py"))
    monkeypatch.chdir(tmp_path / "suite")
    result = make_runner().invoke(main, ["check", "--no-cache", "--output-format", "json", "tests"])
    found = {
        (d["filename"].replace("\\", "/").split("suite/")[-1], d["code"])
        for d in json.loads(result.stdout)
    }
    assert found == {("tests/mixed/conftest.py", "TL301")}


def test_newer_syntax_in_a_long_file_is_not_unparsable(project: Path) -> None:
    """A long file (the guard against pathological nesting measures it) with syntax
    newer than this interpreter (PEP 695, Python 3.12) is valid for the suite's
    Python: libcst reads it, and TL001 is not reported (tracecat's tests)."""
    long_line = "VALUES = [" + ", ".join(["1"] * 400) + "]\n"
    write(
        project,
        "test_types.py",
        "type Factory = int\n" + long_line + "\n\ndef test_x():\n    pass\n",
    )
    result = make_runner().invoke(main, ["check", "--no-cache", "test_types.py"])
    assert "TL001" not in result.stdout
    assert result.exit_code == 0, result.stdout
