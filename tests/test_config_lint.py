"""The rules on configuration files (TL7xx), through `config_lint`: each fixture
project's configuration file against the `# error: TL701` marks written in it and
its goldens (`pyproject.fixed.toml`, `pyproject.unsafe.fixed.toml`), the way a
check finds and fixes the file, and what real pytest makes of it."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import run_process
from linting import FIXTURES
from test_fixtures import actual, expected
from testlint import config_lint
from testlint.config_lint import CONFIG_NAMES, check_config, config_files
from testlint.diagnostics import Applicability
from testlint.docs import project_files, rule_help
from testlint.engine import FileResult
from testlint.project import Project
from testlint.registry import ALL_RULES, CONFIG_RULES
from testlint.rules._config import ConfigRule
from testlint.settings import Settings, load_settings
from testlint.toml_text import ScanError, loads

CONFIGS = sorted(
    path
    for path in FIXTURES.glob("TL7*/*/*.toml")
    if path.name in CONFIG_NAMES or path.name == "pytest.toml"
)
LEVELS = (Applicability.SAFE, Applicability.UNSAFE)


def config_id(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


def golden(path: Path, level: Applicability) -> Path | None:
    """The file after `--fix` (`.fixed.toml`), or with `--unsafe-fixes`
    (`.unsafe.fixed.toml`, else the safe one): None when nothing is fixed."""
    names = [f"{path.stem}.fixed.toml"]
    if level is Applicability.UNSAFE:
        names.insert(0, f"{path.stem}.unsafe.fixed.toml")
    return next((path.with_name(n) for n in names if path.with_name(n).is_file()), None)


def check(path: Path, level: Applicability | None = None) -> FileResult:
    """`path` checked as a check over its directory checks it: not at all when
    pytest reads another file there (`pytest.ini` first)."""
    project = Project(path.parent)
    if config_files([(path.parent, project)]) != [path.resolve()]:
        return FileResult(path)
    result = check_config(path, Settings(base=path.parent), project, level)
    assert result is not None
    return result


def run_testlint(*args: str, cwd: Path) -> tuple[int, str]:
    done = run_process(*args, cwd=cwd)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


@pytest.mark.parametrize("rule", CONFIG_RULES, ids=lambda rule: rule.code)
def test_every_kind_of_fixture_is_there(rule: type[ConfigRule]) -> None:
    configs = [path for path in CONFIGS if path.relative_to(FIXTURES).parts[0] == rule.code]
    marked = [rule.code in {code for _, code in expected(path)} for path in configs]
    assert any(marked), f"{rule.code} has no true positive"
    assert not all(marked), f"{rule.code} has no negative file"


@pytest.mark.parametrize("path", CONFIGS, ids=config_id)
def test_diagnostics_match_inline_expectations(path: Path) -> None:
    assert actual(check(path).diagnostics) == expected(path)


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level.value)
@pytest.mark.parametrize("path", CONFIGS, ids=config_id)
def test_fix_matches_golden_parses_and_converges(
    path: Path, level: Applicability, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(path.parent, project)
    copy = project / path.name
    result = check(copy, level)
    wanted = golden(path, level)
    if wanted is None:
        assert result.fixed is None
        return
    assert result.fixed is not None
    fixed = result.fixed.decode()
    assert fixed == wanted.read_text(encoding="utf-8")
    loads(fixed)  # a fixed file always parses
    copy.write_text(fixed, encoding="utf-8")
    assert check(copy, level).fixed is None  # fixing again changes nothing
    # Only the lines of fixed diagnostics changed.
    fixed_lines = {
        line
        for d in check(path).diagnostics
        if d.fix_lines and d.fix_applicability in _allowed(level)
        for line in range(d.fix_lines[0], d.fix_lines[1] + 1)
    }
    before = path.read_text(encoding="utf-8").splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=fixed.splitlines())
    for tag, start, end, _, _ in matcher.get_opcodes():
        if tag != "equal":
            assert set(range(start + 1, end + 1)) <= fixed_lines, (tag, start, end)


def _allowed(level: Applicability) -> set[Applicability]:
    return {Applicability.SAFE} if level is Applicability.SAFE else set(Applicability)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = []\n", "tool.pytest.ini_options"),
        ("pyproject.toml", '[tool.pytest]\naddopts = ["-ra"]\n', "tool.pytest"),
        # Both: pytest below 9 reads `ini_options` (pytest 9 refuses the file,
        # TL701's finding), even an empty one, as `pytest_config` does.
        (
            "pyproject.toml",
            "[tool.pytest]\nx = 1\n[tool.pytest.ini_options]\n",
            "tool.pytest.ini_options",
        ),
        ("pytest.toml", "[pytest]\naddopts = []\n", "pytest"),
        ("pyproject.toml", "[project]\nname = 'x'\n", None),
    ],
)
def test_config_rules_read_the_table_pytest_config_reads(
    name: str, text: str, where: str | None
) -> None:
    from testlint.rules._config import options_table

    found = options_table(Path(name), loads(text))
    assert (".".join(found[0]) if found else None) == where


def test_positions_are_the_key_and_the_item() -> None:
    found = check(FIXTURES / "TL701" / "spaced_items" / "pyproject.toml").diagnostics
    assert [(d.start.line, d.start.column, d.end.column) for d in found] == [
        (8, 5, 24),
        (9, 5, 14),
        (10, 5, 12),
    ]
    assert found[0].message == (
        "`addopts` item `--ignore setup.py` is one argument, not several: "
        'pytest stops with "file or directory not found"'
    )


def test_a_multi_line_string_becomes_a_list(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.pytest]\nmarkers = """\n    slow: a slow test\n    db: touches the database\n"""\n'
        "filterwarnings = '''\n  error\n  ignore:.*\\.deprecated:DeprecationWarning\n'''\n"
    )
    result = check(config, Applicability.SAFE)
    assert result.fixed is not None
    assert result.fixed.decode() == (
        '[tool.pytest]\nmarkers = ["slow: a slow test", "db: touches the database"]\n'
        "filterwarnings = [\"error\", 'ignore:.*\\.deprecated:DeprecationWarning']\n"
    )


def test_noqa_on_the_key_line_silences_an_item_on_another_line(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.pytest]\naddopts = [  # noqa: TL701\n    "--tb short",\n]\n')
    assert check(config).diagnostics == []
    config.write_text('[tool.pytest]\naddopts = [  # noqa: TL101\n    "--tb short",\n]\n')
    assert [d.start.line for d in check(config).diagnostics] == [3]


def test_per_file_ignores_and_select_apply(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest]\naddopts = "-ra"\n\n[tool.testlint]\n'
        'per-file-ignores = {"pyproject.toml" = ["TL701", "TL702"]}\n'
    )
    settings = load_settings(tmp_path / "pyproject.toml", ALL_RULES, tmp_path)
    assert check_config(tmp_path / "pyproject.toml", settings, Project(tmp_path)) is None


def test_text_the_scanner_cannot_place_is_reported_at_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The scanner agreed with tomllib on all 961 TOML files of the ecosystem
    suites; should it ever fail, the finding stays, at 1:1, without a fix.)"""
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.pytest]\naddopts = "-ra"\n')

    def fails(text: str) -> None:
        raise ScanError("no")

    monkeypatch.setattr(config_lint, "scan", fails)
    result = check(config, Applicability.SAFE)
    assert result.fixed is None
    assert [(d.start.line, d.start.column, d.fixable) for d in result.diagnostics] == [
        (1, 1, False)
    ]


def test_a_fix_that_would_change_anything_else_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fix is kept only if the fixed file parses to the same document with just
    its own value changed."""
    config = tmp_path / "pyproject.toml"
    config.write_text('[project]\nname = "shop"\n\n[tool.pytest]\naddopts = "-ra"\n')
    applied = config_lint._applied
    monkeypatch.setattr(
        config_lint, "_applied", lambda text, fix: applied(text, fix).replace("shop", "shoe")
    )
    result = check(config, Applicability.SAFE)
    assert result.fixed is None
    assert [d.fixable for d in result.diagnostics] == [True]


def test_an_item_shlex_cannot_split_gets_no_fix(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.pytest]\naddopts = ["--deselect \'a b"]\n')
    result = check(config, Applicability.SAFE)
    assert result.fixed is None
    assert [d.fixable for d in result.diagnostics] == [False]


def test_a_check_reports_fixes_and_diffs_the_config_of_the_checked_files(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "TL701" / "native_wrong_types", project)
    (project / "pyproject.fixed.toml").unlink()
    code, output = run_testlint(
        "check", "--no-cache", "--output-format", "concise", ".", cwd=project
    )
    assert code == 1
    assert "pyproject.toml:7:1: TL701 [*] `addopts` must be a list of strings" in output
    code, output = run_testlint("check", "--no-cache", "--diff", ".", cwd=project)
    assert "--- a/pyproject.toml" in output
    assert '+addopts = ["-ra", "--strict-markers"]  # error: TL701' in output
    code, output = run_testlint("check", "--no-cache", "--fix", ".", cwd=project)
    assert code == 0, output
    assert (project / "pyproject.toml").read_text() == (
        FIXTURES / "TL701" / "native_wrong_types" / "pyproject.fixed.toml"
    ).read_text()


def test_a_cached_check_sees_a_config_edit(tmp_path: Path) -> None:
    """Configuration findings are never cached: a replay or cached run cannot go stale."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "TL701" / "valid", project)
    code, output = run_testlint("check", "--output-format", "concise", ".", cwd=project)
    assert code == 0, output
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('minversion = "9.0"', "minversion = 9.0"))
    code, output = run_testlint("check", "--output-format", "concise", ".", cwd=project)
    assert code == 1
    assert "pyproject.toml:7:1: TL701" in output


def pytest_in(project: Path) -> subprocess.CompletedProcess[str]:
    """pytest run in the project; `-n 0` after its `addopts` (which it still parses)
    keeps pytest-xdist from starting workers: the run is what is judged, not xdist."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


PYTEST_9 = pytest.mark.skipif(
    int(pytest.__version__.split(".")[0]) < 9,
    reason="pytest 9 reads [tool.pytest]; it needs Python 3.10 or later",
)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        pytest.param(
            "native_wrong_types",
            "config option 'addopts' expects a list for type 'args', got str",
            marks=PYTEST_9,
        ),
        pytest.param(
            "both_tables", "Cannot use both [tool.pytest] (native TOML types)", marks=PYTEST_9
        ),
        ("spaced_items", "argument -x/--exitfirst: ignored explicit argument ' -v'"),
        pytest.param(
            "pytest_toml",
            "config option 'addopts' expects a list for type 'args', got str",
            marks=PYTEST_9,
        ),
    ],
)
def test_pytest_9_stops_and_the_fix_mends_it(name: str, says: str, tmp_path: Path) -> None:
    project = tmp_path / name
    shutil.copytree(FIXTURES / "TL701" / name, project)
    before = pytest_in(project)
    assert before.returncode == 4, before.stdout + before.stderr
    assert says in before.stdout + before.stderr
    if name == "both_tables":
        return  # no fix: which table is meant is the author's call
    run_testlint("check", "--no-cache", "--fix", ".", cwd=project)
    after = pytest_in(project)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "1 passed" in after.stdout


def test_select_and_ignore_name_the_rule(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "TL701" / "native_wrong_types", project)
    code, output = run_testlint(
        "check", "--no-cache", "--select", "TL701", "--output-format", "concise", ".", cwd=project
    )
    assert code == 1, output
    assert output.count(": TL701 ") == 3
    code, output = run_testlint("check", "--no-cache", "--ignore", "TL701", ".", cwd=project)
    assert code == 0, output
    assert "TL701" not in output


def test_a_re_check_of_changed_test_modules_keeps_the_config_findings(tmp_path: Path) -> None:
    """A run that re-checks only the test modules edited since the recorded run
    (`runner.run_changed`) prints the configuration's findings as a full run does."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "TL701" / "spaced_items", project)
    (project / "pyproject.fixed.toml").unlink()
    args = ("check", "--output-format", "concise", ".")
    code, first = run_testlint(*args, cwd=project)
    assert code == 1
    assert first.count(": TL701 ") == 3
    test = project / "test_checkout.py"
    test.write_text(test.read_text() + "\n\ndef test_refund():\n    assert True\n")
    code, again = run_testlint(*args, cwd=project)
    assert (code, again) == (1, first)
    code, uncached = run_testlint(
        "check", "--no-cache", "--output-format", "concise", ".", cwd=project
    )
    assert again == uncached


@pytest.mark.parametrize("rule", CONFIG_RULES, ids=lambda rule: rule.code)
def test_doc_examples_are_real(rule: type[ConfigRule], tmp_path: Path) -> None:
    """The docs' Example is reported; its 'Use instead' is not."""
    docs = rule_help(rule)
    for section, wanted in (("Example", True), ("Use instead", False)):
        root = tmp_path / section.replace(" ", "_")
        root.mkdir()
        for name, text in project_files(docs, section).items():
            (root / name).write_text(text)
        found = check(root / "pyproject.toml").diagnostics
        assert bool(found) is wanted, (section, found)


@pytest.mark.parametrize(
    ("filters", "cmdline", "action"),
    [
        (["error"], [], "error"),
        (["error", "ignore::DeprecationWarning"], [], "ignore"),
        (["ignore::DeprecationWarning", "error"], [], "error"),
        (["error", "default::pytest.PytestDeprecationWarning"], [], "default"),
        (["error", "ignore::ResourceWarning"], [], "error"),
        (["error", "ignore:the CONFIGURATION option"], [], "ignore"),  # a regex, any case
        (["error", "ignore:other message"], [], "error"),
        (["error", "ignore:::pytest_asyncio"], [], "ignore"),  # a module prefix matches
        (["ignore::DeprecationWarning"], ["error"], "error"),  # -W after filterwarnings
        (["error"], ["ignore:::pytest_asyncio"], "error"),  # -W: the whole module name
        (["error"], ["ignore:::pytest_asyncio.plugin"], "ignore"),
        (["e"], [], "error"),  # Python takes an action's prefix
        (["all"], [], "always"),
        ([], [], None),
        (["error", "ignore::NoSuchClass"], [], None),  # pytest refuses it: cannot tell
        (["error", "ignore:(:"], [], None),  # a broken regex
        (["error:::mod:12"], [], None),  # a line number
        (["error", "bogus"], [], None),  # no such action
    ],
)
def test_the_warning_filters_are_read_as_pytest_reads_them(
    filters: list[str], cmdline: list[str], action: str | None
) -> None:
    from testlint.rules.tl702_loop_scope_warning_as_error import _deciding_filter

    found = _deciding_filter(filters, cmdline)
    assert (found.action if found else None) == action
