"""Every file under tests/fixtures/ is checked against the expectations written in it.

- `# error: TL101` on a line: a diagnostic with that code starts on that line; no
  other diagnostic may appear anywhere in the file.
- `name.fixed.py`: the file after `--fix` (safe fixes); required whenever a safe
  fix exists. `name.unsafe.fixed.py`: after `--fix --unsafe-fixes`; required
  whenever an unsafe fix exists.
- For every fix: the output parses, fixing again changes nothing, and only the
  lines of fixed diagnostics changed (plus `import` lines added, imports the fix
  left unused removed, and blank lines between import sections).
- Gating (skipping the parse when no rule's trigger text occurs) never loses a finding.

Each file is linted once per distinct (source, fix level, gating), in its fixture
project (`linting.py`); the tests share the results and must not mutate them.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import libcst as cst
import pytest

from linting import FIXTURES, lint
from testlint.diagnostics import Applicability, Diagnostic
from testlint.registry import RULES, UnusedNoqa
from testlint.rule import Rule
from testlint.source import python_parses

MARKER = re.compile(r"#\s*error:\s*(TL\d{3}(?:\s*,\s*TL\d{3})*)")
GOLDEN_SUFFIXES = {Applicability.SAFE: ".fixed.py", Applicability.UNSAFE: ".unsafe.fixed.py"}


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".fixed.py"))


def fixture_id(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


FILES = pytest.mark.parametrize("path", fixture_files(), ids=fixture_id)


def expected(path: Path) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = MARKER.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group(1).split(","))
    return found


def actual(diagnostics: list[Diagnostic]) -> set[tuple[int, str]]:
    return {(d.start.line, d.code) for d in diagnostics}


def golden(path: Path, level: Applicability) -> Path:
    return path.with_name(path.name[: -len(".py")] + GOLDEN_SUFFIXES[level])


def fixable_at(diagnostics: list[Diagnostic], level: Applicability) -> list[Diagnostic]:
    allowed = {Applicability.SAFE} if level is Applicability.SAFE else set(Applicability)
    return [d for d in diagnostics if d.fix_applicability in allowed]


def test_every_rule_has_positive_and_negative_fixtures() -> None:
    checked: list[type[Rule]] = [*RULES, UnusedNoqa]
    for rule in checked:
        files = [p for p in fixture_files() if p.relative_to(FIXTURES).parts[0] == rule.code]
        codes = [{code for _, code in expected(p)} for p in files]
        assert any(rule.code in c for c in codes), f"{rule.code} has no true positive"
        assert any(rule.code not in c for c in codes), f"{rule.code} has no negative file"


@FILES
def test_diagnostics_match_inline_expectations(path: Path) -> None:
    result = lint(path)
    assert actual(result.diagnostics) == expected(path)


@FILES
def test_gating_never_loses_a_finding(path: Path) -> None:
    gated = lint(path, gating=True).diagnostics
    full = lint(path, gating=False).diagnostics
    assert [d for d in gated if d.code != "TL001"] == [d for d in full if d.code != "TL001"]


@FILES
@pytest.mark.parametrize("level", list(Applicability), ids=lambda a: a.value)
def test_fix_matches_golden(path: Path, level: Applicability) -> None:
    original = path.read_bytes()
    diagnostics = lint(path).diagnostics
    result = lint(path, fix=level)
    assert original == path.read_bytes(), "linting must never write the file"
    if not fixable_at(diagnostics, level):
        assert result.fixed is None
        assert not golden(path, level).exists(), "golden exists but nothing is fixable"
        return
    has_unsafe = any(d.fix_applicability is Applicability.UNSAFE for d in diagnostics)
    # With only safe fixes, --unsafe-fixes must give exactly the safe golden.
    expected_path = golden(path, level if has_unsafe else Applicability.SAFE)
    assert expected_path.exists(), f"missing golden {expected_path.name}"
    assert result.errors == []
    assert result.fixed is not None
    assert result.fixed.decode("utf-8") == expected_path.read_text(encoding="utf-8")


@FILES
@pytest.mark.parametrize("level", list(Applicability), ids=lambda a: a.value)
def test_fix_is_valid_idempotent_and_targeted(path: Path, level: Applicability) -> None:
    before = lint(path)
    fixable = fixable_at(before.diagnostics, level)
    result = lint(path, fix=level)
    if not fixable:
        assert result.fixed is None
        return
    assert result.fixed is not None
    fixed = result.fixed
    cst.parse_module(fixed)
    if python_parses(path.read_bytes()):  # e.g. `match` is not Python 3.9
        ast.parse(fixed)
    again = lint(path, source=fixed, fix=level)
    assert again.fixed is None, "a second --fix changed the file again"
    assert fixable_at(again.diagnostics, level) == []
    allowed_lines: set[int] = set()
    for d in fixable:
        allowed_lines.update(range(d.start.line, d.end.line + 1))
        assert d.fix_lines is not None
        allowed_lines.update(range(d.fix_lines[0], d.fix_lines[1] + 1))
    old = path.read_text(encoding="utf-8").splitlines()
    new = fixed.decode("utf-8").splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # pure insertion: next to or inside a fixed statement, or imports
            inside = bool({i1, i1 + 1} & allowed_lines)
            assert inside or all(_added_import(line) for line in new[j1:j2]), new[j1:j2]
            continue
        changed = set(range(i1 + 1, i2 + 1))
        # Elsewhere only imports the fix left unused go (with their blank lines),
        # and only imports it needs come.
        outside = [old[n - 1] for n in sorted(changed - allowed_lines)]
        assert all(_import_line(line) for line in outside), f"lines {outside} changed"
        if outside:
            assert all(_added_import(line) for line in new[j1:j2]), new[j1:j2]


def _import_line(line: str) -> bool:
    return not line.strip() or re.match(r"(import|from) ", line) is not None


def _added_import(line: str) -> bool:
    return not line.strip() or line.startswith("import ")


def test_a_patch_message_quotes_the_import_as_written() -> None:
    # `from inventory.clock import utcnow as now`: the suggested target is `now`,
    # so the quoted import must show the alias.
    path = FIXTURES / "TL401/inventory_flat/tests/test_restock.py"
    messages = [d.message for d in lint(path.resolve()).diagnostics if d.code == "TL401"]
    assert any("(`from inventory.clock import utcnow as now`)" in m for m in messages), messages
