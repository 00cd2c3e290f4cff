"""End to end on the bundled example project, with the real pytest and the real CLI.

`examples/` is a small shop (a package under `src/`, its tests, a Makefile running them
under xdist) with one mistake of each family. README command 1 runs
`testlint examples/` and `testlint --diff --unsafe-fixes examples/` on it; these tests
run the same commands on a copy laid out as in a clone, so that the paths printed are
the ones a user sees.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

# One finding of each family, where it starts.
FINDINGS = {
    "TL101": "examples/tests/test_storefront.py:9:5",
    "TL201": "examples/tests/test_reports.py:17:10",
    "TL301": "examples/tests/test_inventory.py:7:11",
    "TL401": "examples/tests/test_orders.py:9:21",
}
FINDING = re.compile(r"^(TL\d{3})(?: \[\*\])? .*\n +--> (\S+:\d+:\d+)$", re.M)
"""A finding in the default (`full`) format: its header, then where it starts."""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The payment gateway the example's real `charge` calls must not be configured.
    env = {k: v for k, v in os.environ.items() if k != "SHOP_GATEWAY_URL"}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def run_testlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "testlint", *args], cwd)


def pytest_in(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Its own basetemp: with the shared one, the inner pytest ends by deleting
    # other sessions' old temporary directories, which took seconds on a busy machine.
    basetemp = f"--basetemp={project.parent / 'basetemp'}"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", basetemp]
    return run([*command, *args], project)


def copy_examples(into: Path) -> Path:
    """A copy of `examples/` at `into/examples`, beside the repository's
    pyproject.toml (whose `[tool.testlint]` makes `into` the project root, as in a
    clone); returns `into`."""
    shutil.copytree(ROOT / "examples", into / "examples")
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")
    return into


def sources(top: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(top)): p.read_bytes()
        for p in sorted(top.rglob("*"))
        if p.is_file() and ".testlint_cache" not in p.parts
    }


# pytest-asyncio is not installed where testlint's own tests run: the example's
# async module (TL301) cannot run here, so the runs of the example suite leave it out.
WITHOUT_ASYNC = "--ignore=tests/test_inventory.py"


def test_command_1_reports_one_finding_of_each_family(tmp_path: Path) -> None:
    here = copy_examples(tmp_path)
    found = run_testlint("examples/", cwd=here)
    assert found.returncode == 1, found.stdout + found.stderr
    reported = FINDING.findall(found.stdout)
    assert sorted(reported) == sorted(FINDINGS.items())
    assert sorted(code[:3] for code in FINDINGS) == ["TL1", "TL2", "TL3", "TL4"]
    assert "Checked 5 files, found 4 problems." in found.stdout


def test_command_1_diff_applies_cleanly_and_equals_the_fix(tmp_path: Path) -> None:
    here = copy_examples(tmp_path / "diffed")
    before = sources(here)
    diff = run_testlint("--diff", "--unsafe-fixes", "examples/", cwd=here)
    assert diff.returncode == 1, diff.stderr
    assert "Would fix 4 problems." in diff.stderr
    assert sources(here) == before, "--diff must not write"
    changed = re.findall(r"^\+\+\+ b/(\S+)$", diff.stdout, re.M)
    assert sorted(changed) == sorted(where.split(":")[0] for where in FINDINGS.values())
    # Every family's fix is in it.
    assert "+import pytest_asyncio" in diff.stdout
    assert "+@pytest_asyncio.fixture" in diff.stdout
    assert "+@pytest.mark.parallel_unsafe" in diff.stdout
    assert '+    with mock.patch("shop.orders.charge") as charge:' in diff.stdout
    assert (
        '+    pytest.skip("Playwright not available: pip install playwright", '
        "allow_module_level=True)" in diff.stdout
    )

    patch = tmp_path / "fixes.diff"
    patch.write_text(diff.stdout, encoding="utf-8")
    applied = run(["git", "apply", "--verbose", str(patch)], here)
    assert applied.returncode == 0, applied.stderr

    fixed = copy_examples(tmp_path / "fixed")
    result = run_testlint("--fix", "--unsafe-fixes", "examples/", cwd=fixed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 4 problems (0 remaining)." in result.stdout
    assert sources(here) == sources(fixed)
    for name, text in sources(fixed).items():
        if name.endswith(".py"):
            ast.parse(text, filename=name)
    again = run_testlint("examples/", cwd=fixed)
    assert again.returncode == 0, again.stdout
    assert "All checks passed!" in again.stdout


def test_readme_shows_the_real_output_of_command_1(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n\$ testlint (.*?examples/)\n(.*?)```", readme, re.S)
    assert block is not None, "the README's first screen shows `testlint ... examples/`"
    found = run_testlint(*block.group(1).split(), cwd=copy_examples(tmp_path))
    assert block.group(2) == found.stdout


def test_the_fixes_mend_real_pytest_failures(tmp_path: Path) -> None:
    """TL101 stops the real pytest run; with it fixed, TL401's test calls the real
    payment gateway and fails; with every fix, the suite passes."""
    project = copy_examples(tmp_path) / "examples"
    before = pytest_in(project)
    # One module exiting at import ends the whole run: pytest's internal-error exit.
    assert before.returncode == 3
    assert "INTERNALERROR> SystemExit" in before.stdout
    assert " passed" not in before.stdout

    # With the collection killer fixed alone, the run starts, and the patch that
    # cannot take effect lets the real payment gateway be called.
    collection = run_testlint("--fix", "--select", "TL1", ".", cwd=project)
    assert "Fixed 1 problem (" in collection.stdout, collection.stdout + collection.stderr
    midway = pytest_in(project, WITHOUT_ASYNC)
    assert midway.returncode == 1, midway.stdout
    assert "FAILED tests/test_orders.py::test_checkout_charges_the_cart_total" in midway.stdout
    assert "KeyError: 'SHOP_GATEWAY_URL'" in midway.stdout
    assert "1 failed, 3 passed, 1 skipped" in midway.stdout

    fixed = run_testlint("--fix", "--unsafe-fixes", ".", cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Fixed 3 problems (0 remaining)." in fixed.stdout
    after = pytest_in(project, WITHOUT_ASYNC)
    assert after.returncode == 0, after.stdout
    # test_storefront.py is skipped (playwright is not installed here); the rest runs.
    assert "4 passed, 1 skipped" in after.stdout
    again = run_testlint("--fix", "--unsafe-fixes", ".", cwd=project)
    assert again.returncode == 0
    assert "All checks passed!" in again.stdout


def test_module_entry_point_works() -> None:
    result = run([sys.executable, "-m", "testlint", "--version"], ROOT)
    assert result.returncode == 0
    assert result.stdout.startswith("testlint, version ")
