"""The three front ends give the same findings: the CLI, flake8, pre-commit.

These run the real tools in subprocesses, not mocks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testlint.source import python_parses

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXIT_IN_HANDLER = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"


def fixture_inputs() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py"))


def run(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def cli_findings(files: list[Path]) -> set[tuple[str, int, int, str]]:
    result = run(
        [sys.executable, "-m", "testlint", "--output-format", "json", *map(str, files)], ROOT
    )
    assert result.returncode in (0, 1), result.stderr
    return {
        (
            os.path.relpath(d["filename"], ROOT),
            d["location"]["row"],
            d["location"]["column"],
            d["code"],
        )
        for d in json.loads(result.stdout)
    }


def flake8_findings(files: list[Path]) -> set[tuple[str, int, int, str]]:
    result = run(
        [
            sys.executable,
            "-m",
            "flake8",
            "--isolated",
            "--select",
            "TL",
            "--format",
            "%(path)s\t%(row)d\t%(col)d\t%(code)s",
            *(os.path.relpath(f, ROOT) for f in files),
        ],
        ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    found = set()
    for line in result.stdout.splitlines():
        path, row, col, code = line.split("\t")
        found.add((os.path.normpath(path), int(row), int(col), code))
    return found


def test_flake8_and_cli_report_the_same_findings_on_every_fixture() -> None:
    # flake8 runs no plugin on a file its Python cannot parse (`match` on 3.9).
    files = [f for f in fixture_inputs() if python_parses(f.read_bytes())]
    cli = cli_findings(files)
    assert len(cli) > 20, "the fixtures hold many findings"
    # TL003 (unused-noqa) is the command's only: flake8 owns noqa directives (see below).
    assert any(code == "TL003" for *_, code in cli)
    # TL7xx report configuration files, which flake8 never hands a plugin.
    python = {f for f in cli if f[3] != "TL003" and not f[3].startswith("TL7")}
    assert flake8_findings(files) == python


def test_flake8_leaves_noqa_directives_to_flake8(tmp_path: Path) -> None:
    """flake8 applies `# noqa` itself, reads a rule name as a bare `# noqa`, and
    has its own directive checkers: the plugin never reports TL003, even selected."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text(
        EXIT_IN_HANDLER.replace("sys.exit(1)", "sys.exit(1)  # noqa: TL101")
        + "RETRIES = 3  # noqa: TL101\nTIMEOUT = 1  # noqa: TL999\n"
    )
    cli = run(
        [sys.executable, "-m", "testlint", "--no-cache", "--output-format", "concise", "test_x.py"],
        tmp_path,
    )
    assert "test_x.py:7:14: TL003" in cli.stdout, cli.stdout + cli.stderr
    assert "test_x.py:8:14: TL003" in cli.stdout
    for selected in ("TL", "TL003"):
        flake8 = run(
            [sys.executable, "-m", "flake8", "--isolated", "--select", selected, "test_x.py"],
            tmp_path,
        )
        assert flake8.returncode == 0, flake8.stdout + flake8.stderr
        assert flake8.stdout == ""


def test_flake8_message_says_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text(EXIT_IN_HANDLER)
    result = run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TL", "test_x.py"], tmp_path
    )
    assert result.returncode == 1
    assert "test_x.py:6:5: TL101 `sys.exit()` at import time" in result.stdout
    assert "(fixable with `testlint --fix`)" in result.stdout


def test_flake8_reads_standard_input(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TL", "-"],
        tmp_path,
        stdin=EXIT_IN_HANDLER,
    )
    assert result.returncode == 1
    assert "stdin:6:5: TL101" in result.stdout


def test_flake8_reports_a_bad_testlint_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.testlint]\nselct = ["TL1"]\n')
    (tmp_path / "test_x.py").write_text(EXIT_IN_HANDLER)
    result = run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TL", "test_x.py"], tmp_path
    )
    assert result.returncode == 1
    assert "test_x.py:1:1: TL002 testlint configuration error:" in result.stdout
    assert "unknown key 'selct'" in result.stdout
    assert "Traceback" not in result.stderr


def test_flake8_selection_and_per_file_ignores_are_flake8s(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text(EXIT_IN_HANDLER)
    base = [sys.executable, "-m", "flake8", "--isolated", "test_x.py"]
    assert run([*base, "--select", "TL102"], tmp_path).stdout == ""
    assert (
        run([*base, "--select", "TL", "--per-file-ignores", "test_x.py:TL101"], tmp_path).stdout
        == ""
    )


CONFIGURED_PROJECT = {
    "pyproject.toml": (
        '[tool.testlint]\nserial-markers = ["serial"]\n'
        '[tool.pytest.ini_options]\naddopts = "-n auto"\n'
    ),
    "tests/test_pool.py": (
        "from concurrent.futures import ThreadPoolExecutor\n\n\n"
        "def test_pool():\n    with ThreadPoolExecutor(2) as pool:\n"
        "        assert list(pool.map(abs, [-1])) == [1]\n"
    ),
}


def test_flake8_and_cli_resolve_configuration_keys_alike(tmp_path: Path) -> None:
    # `serial-markers` set explicitly adopts the convention before any test uses
    # the marker: both front ends must see the key as set, not only its value.
    for name, text in CONFIGURED_PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    cli = run(
        [sys.executable, "-m", "testlint", "--no-cache", "--output-format", "concise", "tests"],
        tmp_path,
    )
    assert "tests/test_pool.py:5:10: TL201" in cli.stdout, cli.stdout + cli.stderr
    flake8 = run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TL", "tests"], tmp_path
    )
    assert "tests/test_pool.py:5:10: TL201" in flake8.stdout, flake8.stdout + flake8.stderr


# ------------------------------------------------------------------ pre-commit


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("git") is None:
        pytest.fail("git is required for the pre-commit tests")
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}


def staged_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "tests" / "test_x.py").write_text(EXIT_IN_HANDLER)
    (project / "helper.py").write_text("import sys\nsys.exit(0)\n")  # not a test module
    for command in (
        ["git", "init", "-q"],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "."],
    ):
        subprocess.run(command, cwd=project, check=True)
    return project


def try_repo(
    project: Path, hook: str | None, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` of this repository: `hook`, else every hook of the
    manifest, in the order of their ids. Each run installs a hook environment."""
    hooks = [hook] if hook else []
    return run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), *hooks, "--verbose"],
        project,
        env=env,
    )


def hook_reports(stdout: str) -> dict[str, str]:
    """Each hook's part of a verbose pre-commit run (its status line, then the
    `- hook id:` lines and its output), by hook id, in the order they ran."""
    lines = stdout.splitlines()
    starts = [i - 1 for i, line in enumerate(lines) if line.startswith("- hook id: ")]
    return {
        lines[start + 1][len("- hook id: ") :]: "\n".join(lines[start:end])
        for start, end in zip(starts, [*starts[1:], len(lines)])
    }


@pytest.mark.slow
def test_pre_commit_hooks_check_and_fix_staged_files(
    tmp_path: Path, pre_commit_home: dict[str, str]
) -> None:
    project = staged_project(tmp_path)
    # Every hook in one run (one hook environment to install): `testlint` checks
    # the staged files, then `testlint-fix` fixes them, then `testlint-project`
    # checks the whole project, already fixed.
    both = try_repo(project, None, pre_commit_home)
    assert both.returncode == 1, both.stdout + both.stderr
    reports = hook_reports(both.stdout)
    assert list(reports) == ["testlint", "testlint-fix", "testlint-project"], both.stdout
    assert reports["testlint-project"].splitlines()[0].endswith("Passed"), both.stdout
    checked = reports["testlint"]
    assert checked.splitlines()[0].endswith("Failed"), checked
    assert "- exit code: 1" in checked
    # The hook prints the default (`full`) format: the finding's header, then where.
    assert re.search(r"^TL101 \[\*\] .*\n +--> tests/test_x\.py:6:5$", checked, re.M), checked
    assert "helper.py" not in both.stdout.replace("helper.py ", "")  # staged, not a test
    fixed = reports["testlint-fix"]
    # pre-commit fails a hook that modified files
    assert fixed.splitlines()[0].endswith("Failed"), fixed
    assert "files were modified by this hook" in fixed
    content = (project / "tests" / "test_x.py").read_text()
    assert 'pytest.skip("could not import nope", allow_module_level=True)' in content
    subprocess.run(["git", "add", "."], cwd=project, check=True)
    again = try_repo(project, "testlint", pre_commit_home)
    assert again.returncode == 0, again.stdout


# ------------------------------------------------------------------ the project hook

PAYMENTS = 'def charge(total):\n    return {"charged": total}\n'
ORDERS = "from shop import payments\n\n\ndef checkout(total):\n    return payments.charge(total)\n"
ORDERS_BY_VALUE = (
    "from shop.payments import charge\n\n\ndef checkout(total):\n    return charge(total)\n"
)
TEST_ORDERS = (
    "from unittest import mock\n\nfrom shop import orders\n\n\n"
    "def test_checkout_charges_the_total():\n"
    '    with mock.patch("shop.payments.charge") as charge:\n'
    "        orders.checkout(3)\n"
    "    charge.assert_called_once()\n"
)


def project_hook() -> dict[str, Any]:
    from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]

    hooks: list[dict[str, Any]] = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    return next(hook for hook in hooks if hook["id"] == "testlint-project")


def test_the_project_hook_runs_for_every_file_the_project_model_reads() -> None:
    from testlint.cache import ENVIRONMENT_NAMES
    from testlint.dependencies import DEPENDENCY_FILES, LOCK_FILES, RUN_FILE_GLOBS, RUN_FILES
    from testlint.pytest_config import CONFIG_FILES

    hook = project_hook()
    assert (hook["pass_filenames"], hook["always_run"], hook["types"]) == (False, False, ["file"])
    assert hook["entry"] == "testlint check"
    files = re.compile(hook["files"])
    read = [
        *ENVIRONMENT_NAMES,
        *RUN_FILES,
        *(name for name, _ in CONFIG_FILES),
        *DEPENDENCY_FILES,
        *LOCK_FILES,
        *(glob.replace("*", "x") for glob in RUN_FILE_GLOBS),
        "requirements-dev.txt",
        "dev-requirements.txt",
        "requirements/test.txt",
        "src/shop/orders.py",
    ]
    for name in read:
        assert files.search(name), name
        assert files.search(f"server/{name}"), name
    for name in ("README.md", "docs/index.md", "logo.png", "setup.cfg.orig", "notes.txt"):
        assert not files.search(name), name


def commit_all(project: Path) -> None:
    for command in (
        ["git", "add", "."],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(command, cwd=project, check=True)


@pytest.mark.slow
def test_the_project_hook_reports_a_patch_a_source_edit_broke(
    tmp_path: Path, pre_commit_home: dict[str, str]
) -> None:
    """The commit edits only a source module: the per-file hook sees no test
    module, the project hook reports the patch that no longer takes effect in
    the test module the commit did not touch."""
    project = tmp_path / "project"
    for name, text in {
        "pytest.ini": "[pytest]\n",
        "shop/__init__.py": "",
        "shop/payments.py": PAYMENTS,
        "shop/orders.py": ORDERS,
        "tests/test_orders.py": TEST_ORDERS,
    }.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    commit_all(project)
    (project / "shop" / "orders.py").write_text(ORDERS_BY_VALUE, encoding="utf-8")
    subprocess.run(["git", "add", "shop/orders.py"], cwd=project, check=True)
    result = try_repo(project, None, pre_commit_home)
    reports = hook_reports(result.stdout)
    assert list(reports) == ["testlint", "testlint-fix", "testlint-project"], result.stdout
    assert reports["testlint"].splitlines()[0].endswith("Passed"), reports["testlint"]
    whole = reports["testlint-project"]
    assert whole.splitlines()[0].endswith("Failed"), whole
    assert "- exit code: 1" in whole
    assert "tests/test_orders.py:7:" in whole
    assert "TL401" in whole
    assert result.returncode == 1
