"""The rule scaffold (`python -m testlint.dev new-rule`), run on a copy of the repository.

The copy holds what the scaffold reads and writes (`src/`, `docs/`, `README.md`,
`pyproject.toml`); the new rule is then imported from the copy's `src` in a
subprocess, and the generated files are checked with ruff and the layer rule.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_fixtures import expected
from testlint.dev import main

ROOT = Path(__file__).resolve().parent.parent
MODULE = Path("src/testlint/rules/tl105_pytest_main_at_import.py")
REGISTRY = Path("src/testlint/registry.py")
FIXTURES = Path("tests/fixtures/TL105")
Done = subprocess.CompletedProcess[str]


def run(*args: str, cwd: Path) -> Done:
    """`python *args` in `cwd`, importing testlint from the copy's `src`."""
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def imports(path: Path) -> set[str]:
    """Every module the file imports, anywhere (`from a import b` counts `a` and `a.b`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src", root / "src", ignore=ignore)
    shutil.copytree(ROOT / "docs", root / "docs")
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    (root / "tests" / "fixtures").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def scaffolded(copy: Path) -> Done:
    args = ["new-rule", "TL105", "pytest-main-at-import", "--root", str(copy)]
    done = run("-m", "testlint.dev", *args, cwd=copy)
    assert done.returncode == 0, done.stderr
    return done


def test_prints_what_it_created_and_changed(copy: Path, scaffolded: Done) -> None:
    out = scaffolded.stdout
    created = [
        MODULE,
        FIXTURES / "pytest.ini",
        FIXTURES / "test_positive.py",
        FIXTURES / "test_negative.py",
        Path("docs/rules/TL105.md"),
    ]
    for path in [*created, REGISTRY, Path("README.md")]:
        assert f"  {path.as_posix()}\n" in out
        assert (copy / path).is_file()
    assert "next steps" in out
    assert "| [TL105](docs/rules/TL105.md) | `pytest-main-at-import` |" in (
        copy / "README.md"
    ).read_text(encoding="utf-8")


def test_the_registry_imports_the_rule_in_code_order(copy: Path, scaffolded: Done) -> None:
    listed = run("-m", "testlint", "rules", cwd=copy)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert "TL105  pytest-main-at-import" in listed.stdout
    codes = [row.split()[0] for row in rows]
    assert codes == sorted(codes)
    registry = ast.parse((copy / REGISTRY).read_text(encoding="utf-8"))
    exported = next(
        node.value
        for node in registry.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__"
    )
    assert "PytestMainAtImport" in ast.literal_eval(exported)


def test_the_rule_is_written_against_the_api(copy: Path, scaffolded: Done) -> None:
    own = {name for name in imports(copy / MODULE) if name.startswith("testlint")}
    assert own == {"testlint.api", "testlint.api.Rule"}


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is a dev dependency")
def test_generated_code_passes_ruff(copy: Path, scaffolded: Done) -> None:
    files = [str(MODULE), str(REGISTRY)]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        done = run("-m", "ruff", *command, *files, cwd=copy)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_positive_fixture_is_marked_and_the_negative_is_not(
    copy: Path, scaffolded: Done
) -> None:
    # The marker is real, so the rule's fixture test fails until the rule reports it.
    assert {code for _, code in expected(copy / FIXTURES / "test_positive.py")} == {"TL105"}
    assert expected(copy / FIXTURES / "test_negative.py") == set()


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        ("TL105", "other-name", "code TL105 is taken by `pytest-main-at-import`"),
        ("TL102", "other-name", "code TL102 is taken by `skip-without-allow-module-level`"),
        ("TL106", "pytest-main-at-import", "name 'pytest-main-at-import' is taken by TL105"),
        ("TL15", "other-name", "is not `TL` and three digits"),
        ("TX105", "other-name", "is not `TL` and three digits"),
        ("TL1050", "other-name", "is not `TL` and three digits"),
        ("TL005", "other-name", "the family digit must be 1-7"),
        ("TL805", "other-name", "the family digit must be 1-7"),
        ("TL106", "Other_Name", "is not kebab-case"),
        ("TL106", "other--name", "is not kebab-case"),
    ],
)
def test_refuses_with_exit_2_and_writes_nothing(
    copy: Path, scaffolded: Done, code: str, name: str, message: str
) -> None:
    before = snapshot(copy)
    result = CliRunner().invoke(main, ["new-rule", code, name, "--root", str(copy)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert snapshot(copy) == before


def test_refuses_a_code_whose_files_exist(copy: Path, scaffolded: Done) -> None:
    stale = copy / "docs" / "rules" / "TL107.md"
    stale.write_text("# left over\n", encoding="utf-8")
    try:
        before = snapshot(copy)
        result = CliRunner().invoke(main, ["new-rule", "TL107", "other-name", "--root", str(copy)])
        assert result.exit_code == 2
        assert "docs/rules/TL107.md already exists" in result.output
        assert snapshot(copy) == before
    finally:
        stale.unlink()


def test_nothing_imports_the_scaffold() -> None:
    """`testlint.dev` is a front for developers: no other module may depend on it."""
    package = ROOT / "src" / "testlint"
    importers = [
        path.name
        for path in package.rglob("*.py")
        if path.name != "dev.py" and "testlint.dev" in imports(path)
    ]
    assert importers == []
