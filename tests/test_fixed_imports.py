"""Fixes keep the file's imports as ruff wants them: every fixture file that passes
`ruff check --select I,F401` before `--fix` (safe, then unsafe) passes it after.

ruff runs once over a copy of all fixtures, before and after fixing. Each fixture
project gets a `ruff.toml` (unless it has its own ruff configuration), so that ruff
takes it as the project root and finds its first-party packages (`src = [".", "src"]`)
where testlint does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testlint.locate import ROOT_MARKERS
from testlint.runner import RunOptions, run

FIXTURES = Path(__file__).parent / "fixtures"
RUFF = Path(sys.executable).with_name("ruff")
LEVELS = {"safe": RunOptions(fix=True), "unsafe": RunOptions(fix=True, unsafe_fixes=True)}


def _project_roots(tree: Path) -> list[Path]:
    """The rule directories and, inside them, every fixture project."""
    roots = []
    for code in sorted(p for p in tree.iterdir() if p.is_dir()):
        roots.append(code)
        roots.extend(
            sub
            for sub in sorted(p for p in code.iterdir() if p.is_dir())
            if any((sub / marker).exists() for marker in ROOT_MARKERS)
        )
    return roots


def _has_ruff_config(directory: Path) -> bool:
    pyproject = directory / "pyproject.toml"
    return (
        (directory / "ruff.toml").exists()
        or (directory / ".ruff.toml").exists()
        or (pyproject.is_file() and "[tool.ruff" in pyproject.read_text(encoding="utf-8"))
    )


def _ruff_failures(tree: Path) -> set[str]:
    """Files (relative to `tree`) with an I or F401 finding."""
    completed = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "I,F401", "--output-format", "json", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return {
        Path(finding["filename"]).resolve().relative_to(tree.resolve()).as_posix()
        for finding in json.loads(completed.stdout)
    }


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is a dev dependency")
def test_fixed_files_still_pass_ruff_import_checks(tmp_path: Path) -> None:
    (tmp_path / "ruff.toml").write_text("", encoding="utf-8")  # no user configuration
    for level in LEVELS:
        copy = tmp_path / level
        shutil.copytree(FIXTURES, copy, ignore=shutil.ignore_patterns("*.fixed.py"))
        for root in _project_roots(copy):
            if not _has_ruff_config(root):
                (root / "ruff.toml").write_text("", encoding="utf-8")
    before = _ruff_failures(tmp_path)
    changed: set[str] = set()
    for level, options in LEVELS.items():
        copy = tmp_path / level
        originals = {p: p.read_bytes() for p in copy.rglob("*.py")}
        for root in _project_roots(copy):
            # The files lying in the rule directory itself form one project, as in
            # test_fixtures.py; each sub-project is fixed from its own root.
            paths = [root] if root.parent != copy else sorted(root.glob("*.py"))
            run(paths, RunOptions(fix=options.fix, unsafe_fixes=options.unsafe_fixes))
        changed |= {
            p.relative_to(tmp_path).as_posix()
            for p, data in originals.items()
            if p.read_bytes() != data
        }
    after = _ruff_failures(tmp_path)
    checked = changed - before
    assert len(checked) >= 20, "the check means something only if many fixed files pass ruff"
    assert sorted(checked & after) == []
