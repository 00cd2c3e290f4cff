"""What a ruff user expects of the output: the `full` format (source, underline, fix
preview, colour, wrapping), `concise`, the format's precedence (flag, environment,
configuration), JSON's fields, GitLab and JUnit, CI paths relative to the
repository, `-o`, `--show-fixes`, `--exit-non-zero-on-fix`; the `full` format
through a real pseudo-terminal and through a pipe; and replays that never print
what another terminal, format or file was given."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cli_runner import make_runner, write
from testlint import launcher, record, terminal
from testlint.cli import main
from testlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position
from testlint.docs import rule_page
from testlint.registry import ALL_RULES
from testlint.render import Source, Style, display_width, full

ROOT = Path(__file__).resolve().parents[1]
EXIT_MESSAGE = "`sys.exit()` at import time ends the whole pytest run, not just this module"
SAFE = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
SAFE_FIXED = (
    "import pytest\n\ntry:\n    import nope\nexcept ImportError:\n"
    '    pytest.skip("could not import nope", allow_module_level=True)\n'
)
UNSAFE = 'import sys\n\nif sys.platform == "win32":\n    sys.exit("POSIX only")\n'
UNFIXABLE = 'import os\nimport sys\n\nDEBUG = os.environ.get("DEBUG") or sys.exit(4)\n'
SGR = re.compile(r"\x1b\[[0-9;]*m")

# The `full` rendering of SAFE in tests/test_a.py, as ruff lays a finding out.
SAFE_FULL = f"""\
TL101 [*] {EXIT_MESSAGE}
 --> tests/test_a.py:6:5
  |
4 |     import nope
5 | except ImportError:
6 |     sys.exit(1)
  |     ^^^^^^^^^^^
  |
help: Replace with `pytest.skip(..., allow_module_level=True)`
  |
  - import sys
1 + import pytest
2 |
--------------------------------------------------------------------------------
5 | except ImportError:
  -     sys.exit(1)
6 +     pytest.skip("could not import nope", allow_module_level=True)
  |
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project (its own pytest config), the working directory, with no
    output variable from the environment running the tests."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", terminal.FORMAT_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    return make_runner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def finding(
    line: int,
    column: int,
    end: tuple[int, int],
    fix: Fix | None = None,
    message: str = EXIT_MESSAGE,
) -> Diagnostic:
    return Diagnostic(
        path=Path("tests/test_a.py"),
        code="TL101",
        name="module-level-exit",
        message=message,
        start=Position(line, column),
        end=Position(*end),
        fix_title=fix.title if fix else None,
        fix_applicability=fix.applicability if fix else None,
        fix=fix,
    )


def render(diagnostic: Diagnostic, text: str, style: Style | None = None) -> str:
    return full(diagnostic, "tests/test_a.py", Source(text), False, style or Style())


# ------------------------------------------------------------------ the full format


def test_full_is_the_default_and_shows_source_underline_help_and_fix_preview(
    project: Path,
) -> None:
    write(project, "tests/test_a.py", SAFE)
    result = invoke()
    assert result.exit_code == 1
    assert result.stdout == SAFE_FULL + "\n" + (
        "Checked 1 file, found 1 problem.\n[*] 1 fixable with `testlint --fix`.\n"
    )
    assert "\x1b" not in result.stdout, "no colour into a pipe"


def test_full_notes_an_unsafe_fix_and_shows_no_help_without_a_fix(project: Path) -> None:
    write(project, "tests/test_b.py", UNSAFE)
    write(project, "tests/test_c.py", UNFIXABLE)
    out = invoke().stdout
    unsafe, unfixable = out.split("\n\n")[:2]
    assert unsafe.splitlines()[0] == f"TL101 {EXIT_MESSAGE}", "unsafe: no [*]"
    assert "help: Replace with `pytest.skip(..., allow_module_level=True)`" in unsafe
    assert "3 + import pytest" in unsafe
    assert unsafe.endswith("note: This is an unsafe fix and may change runtime behavior")
    assert unfixable.splitlines() == [
        f"TL101 {EXIT_MESSAGE}",
        " --> tests/test_c.py:4:36",
        "  |",
        "2 | import sys",
        "3 |",
        '4 | DEBUG = os.environ.get("DEBUG") or sys.exit(4)',
        "  |                                    ^^^^^^^^^^^",
        "  |",
    ]


def test_text_is_concise_and_concise_is_the_one_line_format(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    concise = invoke("--output-format", "concise")
    assert concise.stdout.splitlines()[0] == f"tests/test_a.py:6:5: TL101 [*] {EXIT_MESSAGE}"
    text = invoke("--output-format", "text")
    assert (text.exit_code, text.stdout) == (concise.exit_code, concise.stdout)


def test_a_multi_line_span_is_drawn_from_its_first_to_its_last_character() -> None:
    text = "import sys\n\nsys.exit(\n    1,\n)\nx = 1\n"
    assert render(finding(3, 1, (5, 2)), text).splitlines()[1:] == [
        " --> tests/test_a.py:3:1",
        "  |",
        "1 |   import sys",
        "2 |",
        "3 | / sys.exit(",
        "4 | |     1,",
        "5 | | )",
        "  | |_^",
        "6 |   x = 1",
        "  |",
    ]
    # Starting after the line's indentation: a marker row points at the start.
    text = "x = 1\ny = foo(\n    1,\n)\n"
    assert render(finding(2, 5, (4, 2)), text).splitlines()[3:9] == [
        "1 |   x = 1",
        "2 |   y = foo(",
        "  |  _____^",
        "3 | |     1,",
        "4 | | )",
        "  | |_^",
    ]


def test_a_very_long_span_shows_its_ends_only() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(40))
    text = f"def test():\n{body}"
    rows = render(finding(1, 1, (41, 12)), text).splitlines()
    assert "   | | ..." in rows
    assert not any("x20 = 20" in row for row in rows)
    assert "41 | |     x39 = 39" in rows
    assert len(rows) < 20


def test_tabs_and_wide_characters_keep_the_underline_under_the_span() -> None:
    text = 'def f():\n\tx = "中文" or sys.exit(1)\n'
    column = text.splitlines()[1].index("sys") + 1
    rows = render(finding(2, column, (2, column + 11)), text).splitlines()
    line = next(row for row in rows if row.startswith("2 |"))
    carets = rows[rows.index(line) + 1]
    assert line == '2 |     x = "中文" or sys.exit(1)'
    # The carets start where `sys.exit(1)` starts on the terminal (wide
    # characters take two columns) and cover it.
    start = display_width(line[: line.index("sys.exit")])
    assert carets == "  |" + " " * (start - 3) + "^" * len("sys.exit(1)")


def test_control_characters_of_a_checked_file_never_reach_the_terminal() -> None:
    text = 'import sys\nX = "\x1b[2J\x1b]0;pwned\x07"\nsys.exit(1)\n'
    out = render(finding(3, 1, (3, 12)), text, Style(color=True))
    assert "\x1b[2J" not in out
    assert "\x1b]0" not in out
    assert "\x07" not in out
    assert "\ufffd[2J" in out


def test_a_long_line_is_cut_around_the_span() -> None:
    line = "x = " + "1 + " * 50_000 + "sys.exit(1)"
    column = line.index("sys.exit") + 1
    rows = render(finding(1, column, (1, column + 11)), line + "\n").splitlines()
    source = rows[3]
    assert len(source) < 500
    assert source.startswith("1 | \u2026")
    assert "sys.exit(1)" in source
    carets = rows[4]
    assert carets.index("^") == source.index("sys.exit(1)")


def test_the_preview_shows_the_fix_in_hunks_and_joins_close_changes() -> None:
    text = "".join(f"line {i}\n" for i in range(1, 21))
    far = Fix(
        "Change two lines",
        Applicability.SAFE,
        (
            Edit("LINE 2\n", Position(2, 1), Position(3, 1)),
            Edit("LINE 15\n", Position(15, 1), Position(16, 1)),
        ),
    )
    rows = render(finding(2, 1, (2, 7), far), text).splitlines()
    preview = rows[rows.index("help: Change two lines") + 1 :]
    assert preview == [
        "   |",
        "1  | line 1",
        "   - line 2",
        "2  + LINE 2",
        "3  | line 3",
        "-" * 80,
        "14 | line 14",
        "   - line 15",
        "15 + LINE 15",
        "16 | line 16",
        "   |",
    ]
    near = Fix(
        "Change two lines",
        Applicability.SAFE,
        (
            Edit("LINE 2\n", Position(2, 1), Position(3, 1)),
            Edit("", Position(4, 1), Position(5, 1)),  # removed
        ),
    )
    rows = render(finding(2, 1, (2, 7), near), text).splitlines()
    preview = rows[rows.index("help: Change two lines") + 1 :]
    assert "-" * 80 not in preview
    assert preview[1:-1] == [
        "1 | line 1",
        "  - line 2",
        "2 + LINE 2",
        "3 | line 3",
        "  - line 4",
        "4 | line 5",
    ]


def test_the_preview_of_a_fix_in_a_huge_file_is_quick() -> None:
    text = "import sys\n" + "0123456789abcdef\n" * 500_000 + "sys.exit(1)\n"
    fix = Fix(
        "Skip",
        Applicability.SAFE,
        (
            Edit("import pytest\n", Position(1, 1), Position(2, 1)),
            Edit(
                "pytest.skip(allow_module_level=True)\n", Position(500_002, 1), Position(500_003, 1)
            ),
        ),
    )
    started = time.monotonic()
    out = render(finding(500_002, 1, (500_002, 12), fix), text)
    assert time.monotonic() - started < 5
    assert "500002 + pytest.skip(allow_module_level=True)" in out


def test_long_messages_are_wrapped_to_the_terminal_width() -> None:
    message = "word " * 30 + "end"
    plain = render(finding(1, 1, (1, 3), message=message), "x()\n", Style(width=40))
    header = plain.split("\n -->")[0].splitlines()
    assert len(header) > 1
    assert all(len(line) <= 40 for line in header)
    assert " ".join(part.strip() for part in header) == "TL101 " + message.strip()
    assert header[1].startswith(" " * len("TL101 "))
    unwrapped = render(finding(1, 1, (1, 3), message=message), "x()\n", Style())
    assert unwrapped.splitlines()[0] == "TL101 " + message


def test_colour_paints_ruffs_parts_and_nothing_else() -> None:
    diagnostic = finding(6, 5, (6, 16))
    plain = render(diagnostic, SAFE)
    painted = render(diagnostic, SAFE, Style(color=True))
    assert SGR.sub("", painted) == plain
    assert painted.startswith("\x1b[1m\x1b[91mTL101\x1b[0m")  # the code: bold bright red
    assert "\x1b[1m\x1b[91m^^^^^^^^^^^\x1b[0m" in painted  # the underline


# ------------------------------------------------------------------ choosing the format


def test_the_format_comes_from_the_flag_then_the_environment_then_the_configuration(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "tests/test_a.py", SAFE)
    concise_line = f"tests/test_a.py:6:5: TL101 [*] {EXIT_MESSAGE}"
    write(project, "pyproject.toml", '[tool.testlint]\noutput-format = "concise"\n')
    assert invoke().stdout.splitlines()[0] == concise_line  # the configuration
    monkeypatch.setenv(terminal.FORMAT_VARIABLE, "json")
    assert json.loads(invoke().stdout)[0]["code"] == "TL101"  # the environment wins
    assert invoke("--output-format", "full").stdout.startswith("TL101 [*]")  # the flag wins
    monkeypatch.setenv(terminal.FORMAT_VARIABLE, "text")
    assert invoke().stdout.splitlines()[0] == concise_line
    monkeypatch.delenv(terminal.FORMAT_VARIABLE)
    write(project, "pyproject.toml", "[tool.testlint]\n")
    assert invoke().stdout.startswith("TL101 [*]")  # the default: full


@pytest.mark.parametrize("value", ["'fancy'", "3"])
def test_a_bad_configured_format_exits_2(project: Path, value: str) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "pyproject.toml", f"[tool.testlint]\noutput-format = {value}\n")
    result = invoke()
    assert result.exit_code == 2
    assert "'output-format'" in result.stderr
    assert "full, concise, json" in result.stderr


def test_a_bad_format_in_the_environment_exits_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "tests/test_a.py", SAFE)
    monkeypatch.setenv(terminal.FORMAT_VARIABLE, "fancy")
    result = invoke()
    assert result.exit_code == 2
    assert "fancy" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_help_names_the_formats_and_the_variable(project: Path) -> None:
    help_text = invoke("check", "--help").stdout
    for name in ("full", "concise", "gitlab", "junit", terminal.FORMAT_VARIABLE):
        assert name in help_text
    assert "--output-file" in help_text
    assert "--show-fixes" in help_text
    assert "--exit-non-zero-on-fix" in help_text


def test_top_level_help_points_at_the_check_options(project: Path) -> None:
    assert "testlint check --help" in invoke("--help").stdout


# ------------------------------------------------------------------ machine formats


def test_json_has_ruffs_name_url_and_severity(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    [item] = json.loads(invoke("--output-format", "json").stdout)
    assert item["name"] == "module-level-exit"
    assert item["severity"] == "error"
    assert item["url"] == "https://github.com/testlint/testlint/blob/main/docs/rules/TL101.md"
    assert set(item) == {
        "cell",
        "code",
        "end_location",
        "filename",
        "fix",
        "location",
        "message",
        "name",
        "noqa_row",
        "severity",
        "url",
    }


def test_every_rule_url_is_a_page_in_the_repository() -> None:
    prefix = "https://github.com/testlint/testlint/blob/main/"
    for rule in ALL_RULES:
        url = rule_page(rule.code)
        assert url.startswith(prefix)
        assert (ROOT / url[len(prefix) :]).is_file(), url


def test_gitlab_code_quality(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", "import sys\nsys.exit(1)\nsys.exit(1)\n")
    result = invoke("--output-format", "gitlab")
    assert result.exit_code == 1
    issues: list[dict[str, Any]] = json.loads(result.stdout)
    assert issues[0] == {
        "description": f"TL101: {EXIT_MESSAGE}",
        "check_name": "TL101",
        "fingerprint": issues[0]["fingerprint"],
        "severity": "major",
        "location": {"path": "tests/test_a.py", "lines": {"begin": 6, "end": 6}},
    }
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == 3, "the same message twice in a file: two fingerprints"
    # Stable: the same from another directory, and when the code above moves.
    write(project, "tests/test_a.py", "\n\n" + SAFE)
    os.chdir(project / "tests")
    again = json.loads(invoke("--output-format", "gitlab").stdout)
    assert [issue["fingerprint"] for issue in again] == fingerprints
    assert again[0]["location"] == {"path": "tests/test_a.py", "lines": {"begin": 8, "end": 8}}
    assert "Checked 2 files" in result.stderr


def test_junit(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNFIXABLE.replace("sys.exit(4)", "sys.exit(4) or exit()"))
    result = invoke("--output-format", "junit")
    assert result.exit_code == 1
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    suites = ElementTree.fromstring(result.stdout)
    assert (suites.tag, suites.get("tests"), suites.get("failures")) == ("testsuites", "3", "3")
    by_name = {suite.get("name"): suite for suite in suites}
    assert set(by_name) == {"tests/test_a.py", "tests/test_b.py"}
    assert by_name["tests/test_b.py"].get("failures") == "2"
    [case] = list(by_name["tests/test_a.py"])
    assert case.get("name") == "org.testlint.TL101"
    assert (case.get("line"), case.get("column")) == ("6", "5")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == EXIT_MESSAGE
    assert failure.text == f"line 6, col 5, {EXIT_MESSAGE}"
    write(project, "tests/test_a.py", "def test_ok():\n    pass\n")
    write(project, "tests/test_b.py", "def test_ok():\n    pass\n")
    clean = invoke("--output-format", "junit")
    assert clean.exit_code == 0
    [suite] = list(ElementTree.fromstring(clean.stdout))
    assert [case.get("name") for case in suite] == ["No errors found"]


def test_junit_escapes_what_xml_cannot_hold(project: Path) -> None:
    write(
        project,
        "tests/test_x.py",
        'from unittest import mock\n\n\ndef test_x():\n    mock.patch("a<b>&\\x01c.d")\n',
    )
    result = invoke("--output-format", "junit", "--select", "TL403")
    ElementTree.fromstring(result.stdout)  # well-formed, whatever the message holds


def test_ci_paths_are_relative_to_the_project_root_from_any_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "tests/unit/test_a b.py", SAFE)
    monkeypatch.chdir(project / "tests")
    github = invoke("--output-format", "github", ".").stdout
    assert github.startswith("::error file=tests/unit/test_a b.py,line=6,col=5,")
    document = json.loads(invoke("--output-format", "sarif", ".").stdout)
    [run] = document["runs"]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": project.resolve().as_uri() + "/"}}
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "tests/unit/test_a%20b.py", "uriBaseId": "%SRCROOT%"}
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["TL101"]["helpUri"] == rule_page("TL101")
    # Human formats stay relative to where the user is.
    assert invoke("--output-format", "concise", ".").stdout.startswith("unit/test_a b.py:6:5:")


def test_ci_paths_of_a_sub_project_are_relative_to_its_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A monorepo: GitHub and code scanning read paths from the repository's root.
    (tmp_path / ".git").mkdir()
    write(tmp_path, "services/shop/pyproject.toml", "[tool.testlint]\n")
    write(tmp_path, "services/shop/tests/test_a.py", SAFE)
    monkeypatch.chdir(tmp_path / "services/shop")
    github = invoke("--output-format", "github", "tests").stdout
    assert github.startswith("::error file=services/shop/tests/test_a.py,")
    [run] = json.loads(invoke("--output-format", "sarif", "tests").stdout)["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "services/shop/tests/test_a.py"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"


# ------------------------------------------------------------------ -o, --show-fixes, exit codes


@pytest.mark.parametrize("fmt", ["full", "json"])
def test_output_file_gets_the_output_and_stderr_the_summary(project: Path, fmt: str) -> None:
    write(project, "tests/test_a.py", SAFE)
    target = project / "reports" / "testlint.txt"  # its directory is made
    result = invoke("--output-format", fmt, "-o", str(target))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Checked 1 file, found 1 problem." in result.stderr
    written = target.read_text(encoding="utf-8")
    if fmt == "json":
        assert json.loads(written)[0]["code"] == "TL101"
    else:
        assert written == SAFE_FULL + "\n"
    assert "Checked 1 file" not in written


def test_an_output_file_that_cannot_be_written_exits_2(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    (project / "taken").write_text("", encoding="utf-8")
    result = invoke("--output-file", str(project / "taken" / "out.txt"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_fixes_lists_what_fix_fixed(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNSAFE)
    write(project, "tests/test_c.py", UNFIXABLE)
    result = invoke("--output-format", "concise", "--fix", "--unsafe-fixes", "--show-fixes")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"tests/test_c.py:4:36: TL101 {EXIT_MESSAGE}",
        "",
        "Fixed 2 problems:",
        "- tests/test_a.py:",
        "    1 \u00d7 TL101 (module-level-exit)",
        "- tests/test_b.py:",
        "    1 \u00d7 TL101 (module-level-exit)",
        "",
        "Fixed 2 problems (1 remaining).",
        "Checked 3 files, found 1 problem.",
    ]


def test_show_fixes_without_fix_lists_what_fix_would_fix(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNSAFE)
    out = invoke("--output-format", "concise", "--show-fixes").stdout.splitlines()
    assert out[2:6] == [
        "",
        "`testlint --fix` would fix 1 problem:",
        "- tests/test_a.py:",
        "    1 \u00d7 TL101 (module-level-exit)",
    ]
    assert "Fixed" not in "\n".join(out)
    plain = invoke("--output-format", "concise").stdout
    assert "would fix" not in plain


def test_show_fixes_cannot_be_used_with_diff(project: Path) -> None:
    result = invoke("--diff", "--show-fixes")
    assert result.exit_code == 2
    assert "--show-fixes" in result.stderr


def test_exit_non_zero_on_fix(project: Path) -> None:
    path = write(project, "tests/test_a.py", SAFE)
    assert invoke("--fix").exit_code == 0
    path.write_text(SAFE, encoding="utf-8")
    fixed = invoke("--fix", "--exit-non-zero-on-fix")
    assert fixed.exit_code == 1
    assert path.read_text(encoding="utf-8") == SAFE_FIXED
    assert fixed.stdout == "Fixed 1 problem (0 remaining).\n"
    assert invoke("--fix", "--exit-non-zero-on-fix").exit_code == 0, "nothing left to fix"
    path.write_text(SAFE, encoding="utf-8")
    assert invoke("--fix", "--exit-non-zero-on-fix", "--exit-zero").exit_code == 0


def test_stdin_in_full_shows_the_given_source(project: Path) -> None:
    write(project, "tests/test_x.py", "def test_ok():\n    pass\n")  # not what is checked
    result = invoke("-", "--stdin-filename", "tests/test_x.py", stdin=SAFE.encode())
    assert result.exit_code == 1
    assert "6 |     sys.exit(1)" in result.stdout
    assert " --> tests/test_x.py:6:5" in result.stdout
    fixed = invoke("-", "--stdin-filename", "tests/test_x.py", "--fix", stdin=UNFIXABLE.encode())
    assert fixed.stdout == UNFIXABLE
    assert '4 | DEBUG = os.environ.get("DEBUG") or sys.exit(4)' in fixed.stderr


def test_full_after_fix_shows_the_remaining_findings_in_the_fixed_file(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE + "DEBUG = 0 or sys.exit(4)\n")
    result = invoke("--fix")
    assert result.exit_code == 1
    # `import pytest` and a blank line were added above it.
    assert " --> tests/test_a.py:9:14" in result.stdout
    assert "9 | DEBUG = 0 or sys.exit(4)" in result.stdout


# ------------------------------------------------------------------ a real terminal


def run_in_terminal(
    args: list[str], cwd: Path, columns: int, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """`python -m testlint *args` with standard output on a pseudo-terminal of
    `columns` columns (standard error on a pipe); what it wrote, and its exit code."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "testlint", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env if env is not None else plain_environment(),
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    process.communicate(timeout=60)
    # The terminal's line discipline turns "\n" into "\r\n".
    return process.returncode, b"".join(chunks).decode().replace("\r\n", "\n")


def plain_environment(**extra: str) -> dict[str, str]:
    names = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "CLICOLOR_FORCE", terminal.FORMAT_VARIABLE)
    environ = {k: v for k, v in os.environ.items() if k not in names}
    environ["TERM"] = "xterm-256color"
    environ.update(extra)
    return environ


LONG_MESSAGE_PROJECT = {
    # TL403's message names the target twice: a long one makes a message to wrap.
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "src/shop/__init__.py": "",
    "src/shop/payments.py": "def charge():\n    pass\n",
    "tests/test_patch.py": (
        "from unittest import mock\n\n\ndef test_x():\n"
        '    with mock.patch("shop.payments.charge_with_a_rather_long_name_that_is_not_there"):\n'
        "        pass\n"
    ),
}


def test_full_on_a_terminal_is_coloured_and_wrapped_to_its_width(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    for name, text in LONG_MESSAGE_PROJECT.items():
        write(project, name, text)
    code, shown = run_in_terminal(["--no-cache", "tests"], project, columns=60)
    assert code == 1
    assert "\x1b[1m\x1b[91mTL101\x1b[0m" in shown
    plain = SGR.sub("", shown)
    assert "6 |     sys.exit(1)" in plain
    headers = [line for line in plain.splitlines() if not line.startswith(" ")]
    long_header = next(line for line in plain.splitlines() if line.startswith("TL403"))
    assert len(long_header) <= 60
    messages = [line for line in plain.splitlines() if line.startswith(("TL", "help:"))]
    assert all(len(line) <= 60 for line in messages), headers
    # The same run into a pipe: no colour, nothing wrapped.
    piped = subprocess.run(
        [sys.executable, "-m", "testlint", "--no-cache", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        env=plain_environment(COLUMNS="60"),
        check=False,
    )
    assert "\x1b" not in piped.stdout
    assert any(len(line) > 60 for line in piped.stdout.splitlines() if line.startswith("TL403"))
    assert SGR.sub("", shown).count("\n -->") == piped.stdout.count("\n -->")


def test_no_color_and_force_color(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    _, shown = run_in_terminal(
        ["--no-cache", "tests"], project, 80, plain_environment(NO_COLOR="1")
    )
    assert "\x1b[" not in shown
    _, both = run_in_terminal(
        ["--no-cache", "tests"], project, 80, plain_environment(NO_COLOR="1", FORCE_COLOR="1")
    )
    assert "\x1b[" not in both, "NO_COLOR wins, as in ruff"
    forced = subprocess.run(
        [sys.executable, "-m", "testlint", "--no-cache", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        env=plain_environment(FORCE_COLOR="1"),
        check=False,
    )
    assert "\x1b[1m\x1b[91mTL101\x1b[0m" in forced.stdout
    assert "[\x1b[36m*\x1b[0m] 1 fixable with `testlint --fix`." in forced.stdout  # the summary
    concise = subprocess.run(
        [sys.executable, "-m", "testlint", "--no-cache", "--output-format", "concise", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        env=plain_environment(FORCE_COLOR="1"),
        check=False,
    )
    assert concise.stdout.splitlines()[0] == (
        "\x1b[1mtests/test_a.py\x1b[0m\x1b[36m:\x1b[0m6\x1b[36m:\x1b[0m5\x1b[36m:\x1b[0m "
        f"\x1b[1m\x1b[31mTL101\x1b[0m [\x1b[36m*\x1b[0m] {EXIT_MESSAGE}"
    )
    # -o: never colour in a file, whatever the terminal.
    code, on_terminal = run_in_terminal(["--no-cache", "-o", "out.txt", "tests"], project, 80)
    assert code == 1
    assert on_terminal == ""
    assert "\x1b" not in (project / "out.txt").read_text(encoding="utf-8")


# ------------------------------------------------------------------ replays


def test_a_replay_into_a_pipe_never_prints_what_a_terminal_was_given(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    for name, text in LONG_MESSAGE_PROJECT.items():
        write(project, name, text)
    time.sleep(1.1)  # older than the racy window: the runs are recorded
    cache = project.parent / f"{project.name}-cache"
    args = ["--cache-dir", str(cache), "tests"]
    code, coloured = run_in_terminal(args, project, columns=60)
    assert code == 1
    assert "\x1b[" in coloured
    records = cache / "v1" / "replay"
    assert len(list(records.glob("*.json"))) == 1
    piped = subprocess.run(
        [sys.executable, "-m", "testlint", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=plain_environment(),
        check=False,
    )
    assert piped.returncode == 1
    assert "\x1b" not in piped.stdout
    assert len(list(records.glob("*.json"))) == 2, "a record of its own"
    # Another width: wrapped anew, not the 60-column output again.
    _, wide = run_in_terminal(args, project, columns=200)
    long_headers = [line for line in SGR.sub("", wide).splitlines() if line.startswith("TL403")]
    assert len(long_headers[0]) > 60
    assert len(list(records.glob("*.json"))) == 3
    # Each is replayed into its own terminal, as first printed.
    assert run_in_terminal(args, project, columns=60) == (code, coloured)
    assert len(list(records.glob("*.json"))) == 3


class Launched:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.linted = 0
        from testlint import cli

        real = cli.main

        def counting(*args: object, **kwargs: object) -> None:
            self.linted += 1
            real(*args, **kwargs)

        monkeypatch.setattr(cli, "main", counting)

    def __call__(self, *argv: str) -> tuple[int, str, bool]:
        before = self.linted
        with pytest.raises(SystemExit) as exited:
            launcher.main(list(argv))
        out, _ = self.capsys.readouterr()
        code = exited.value.code
        assert isinstance(code, int)
        return code, out, self.linted == before


@pytest.fixture
def launched(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Launched:
    monkeypatch.setattr(record, "RACY_NS", -(10**15))  # files just written are recorded
    return Launched(capsys, monkeypatch)


def test_the_format_from_the_environment_is_not_replayed_wrongly(
    project: Path, launched: Launched, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "tests/test_a.py", SAFE)
    first = launched("tests")
    assert launched("tests") == (first[0], first[1], True)
    monkeypatch.setenv(terminal.FORMAT_VARIABLE, "json")
    code, out, replayed = launched("tests")
    assert not replayed
    assert json.loads(out)[0]["code"] == "TL101"
    assert launched("tests") == (code, out, True)


def test_a_check_writing_a_file_is_never_replayed(project: Path, launched: Launched) -> None:
    write(project, "tests/test_a.py", SAFE)
    target = project.parent / f"{project.name}-report.json"
    for _ in range(2):
        code, _, replayed = launched("tests", "--output-format", "json", "-o", str(target))
        assert (code, replayed) == (1, False)
        assert json.loads(target.read_text(encoding="utf-8"))[0]["code"] == "TL101"
        target.unlink()


def test_a_recheck_of_the_full_format_shows_every_file_with_its_fix_preview(
    project: Path, launched: Launched
) -> None:
    """The default format shows fixes: the record keeps their edits, so that a few
    changed files are checked alone and the others' previews come from the record."""
    write(project, "tests/test_a.py", SAFE)
    write(project, "tests/test_b.py", UNFIXABLE)
    launched("tests")
    (project / "tests/test_b.py").write_text(UNFIXABLE + "\n", encoding="utf-8")
    code, out, replayed = launched("tests")
    assert (code, replayed) == (1, True), "checked alone, not linted in full"
    assert SAFE_FULL in out
    uncached = launched("tests", "--no-cache")
    assert (code, out) == uncached[:2]


def test_a_stream_that_cannot_encode_the_marks_gets_them_replaced(project: Path) -> None:
    write(project, "tests/test_a.py", SAFE)
    for _ in range(2):  # recorded, then replayed: both as printed
        time.sleep(1.1)
        result = subprocess.run(
            [sys.executable, "-m", "testlint", "--show-fixes", "tests"],
            cwd=project,
            capture_output=True,
            env=plain_environment(PYTHONIOENCODING="ascii"),
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert b"Traceback" not in result.stderr
        assert b"    1 ? TL101 (module-level-exit)" in result.stdout


class FakeTerminal(io.StringIO):
    """A stream that is a terminal, or not, of no known size."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def fileno(self) -> int:
        raise ValueError("no descriptor")


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),  # empty: not set (no-color.org)
        (False, {"FORCE_COLOR": "1"}, True),
        (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_when_there_is_colour(tty: bool, environ: dict[str, str], expected: bool) -> None:
    assert terminal.wants_color(FakeTerminal(tty), environ) is expected


def test_the_width_is_a_terminals_only() -> None:
    on_terminal = FakeTerminal(True)
    assert terminal.width_of(on_terminal, {"COLUMNS": "57"}) == 57
    assert terminal.width_of(on_terminal, {}) is None
    assert terminal.width_of(FakeTerminal(False), {"COLUMNS": "57"}) is None
    key = terminal.replay_key
    assert key(on_terminal, {"COLUMNS": "57"}) != key(on_terminal, {"COLUMNS": "58"})


# ------------------------------------------------------------------ SARIF URIs

URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
"""The characters RFC 3986 allows in a URI reference (`%` only as an escape)."""


def _sarif_uris(document: dict[str, Any]) -> list[str]:
    [run] = document["runs"]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    return [run["originalUriBaseIds"]["%SRCROOT%"]["uri"], *(loc["uri"] for loc in locations)]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names must be UTF-8")
def test_sarif_uris_are_percent_encoded_whatever_the_file_name(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Spaces, `#`, `%`, non-ASCII and bytes that are not UTF-8 (a traceback) in
    file names, inside the repository and outside it: every URI is valid and
    names the file."""
    inside = project / "tests" / "dir #1"
    inside.mkdir(parents=True)
    names = ["test_a%b é#.py", os.fsdecode(b"test_latin\xe9.py")]
    for name in names:
        (inside / name).write_text(SAFE, encoding="utf-8")
    outside = tmp_path_factory.mktemp("elsewhere") / "a b#c%"
    outside.mkdir()
    (outside / "test_out.py").write_text(SAFE, encoding="utf-8")
    result = invoke("--output-format", "sarif", "tests", str(outside / "test_out.py"))
    assert result.exit_code == 1, result.stderr
    uris = _sarif_uris(json.loads(result.stdout))
    assert all(URI.fullmatch(uri) for uri in uris), uris
    assert not any(re.search("%(?![0-9A-F]{2})", uri) for uri in uris), uris
    assert any(uri.endswith("tests/dir%20%231/test_a%25b%20%C3%A9%23.py") for uri in uris)
    assert any(uri.endswith("tests/dir%20%231/test_latin%E9.py") for uri in uris)
    assert any(uri.endswith("/a%20b%23c%25/test_out.py") for uri in uris)
