"""The rule set is consistent: registered, unique, documented, and the docs are current."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import testlint.registry
import testlint.rules
from testlint.diagnostics import Applicability
from testlint.docs import code_blocks, project_files, readme_with_table, rule_help, rule_markdown
from testlint.engine import Linter
from testlint.project import Project
from testlint.registry import ALL_RULES, ENGINE_RULES, RULES
from testlint.rule import FileKind, Rule
from testlint.settings import Settings

ROOT = Path(__file__).parent.parent
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")


def rule_modules() -> list[str]:
    return [
        m.name for m in pkgutil.iter_modules(testlint.rules.__path__) if m.name.startswith("tl")
    ]


def test_every_rule_module_is_registered_once() -> None:
    registered = {rule.__module__.rsplit(".", 1)[1] for rule in ALL_RULES}
    assert registered == set(rule_modules())
    for name in rule_modules():
        module = importlib.import_module(f"testlint.rules.{name}")
        defined = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, Rule)
            and value.__module__ == module.__name__
        ]
        assert len(defined) == 1, f"{name} must define exactly one rule"


def test_codes_and_names_are_unique_and_well_formed() -> None:
    codes = [rule.code for rule in ALL_RULES]
    names = [rule.name for rule in ALL_RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    for rule in ALL_RULES:
        assert re.fullmatch(r"TL\d{3}", rule.code)
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", rule.name)
        module = rule.__module__.rsplit(".", 1)[1]
        assert module == f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
        assert rule.fixable in ("always", "sometimes", "none")
        assert not rule.summary.endswith(".")


def test_engine_rules_are_the_tl0xx_family() -> None:
    assert all(code.startswith("TL0") for code in ENGINE_RULES)
    assert all(not rule.code.startswith("TL0") for rule in RULES)
    assert all(rule.triggers for rule in RULES), "a visitor rule needs trigger text for gating"


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_docs_have_every_section(rule: type[Rule]) -> None:
    text = rule_help(rule)
    for section in SECTIONS:
        assert f"## {section}" in text, f"{rule.code} docs lack '{section}'"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_examples_are_real(rule: type[Rule], tmp_path: Path) -> None:
    """The docs' Example must trigger the rule; its 'Use instead' must not. Blocks
    headed by a file name (`# pytest.ini`) are written into the example project;
    'Use instead' starts from the Example's project files."""
    docs = rule_help(rule)
    bad, good = code_blocks(docs, "Example"), code_blocks(docs, "Use instead")
    assert bad
    assert good
    example_files = project_files(docs, "Example")
    for blocks, files, expect in (
        (bad, example_files, True),
        (good, {**example_files, **project_files(docs, "Use instead")}, False),
    ):
        root = tmp_path / ("bad" if expect else "good")
        root.mkdir()
        (root / "pytest.ini").write_text("[pytest]\n")
        # A project that uses pytest-asyncio, so that the async rules apply.
        (root / "pyproject.toml").write_text('[project]\ndependencies = ["pytest-asyncio"]\n')
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        linter = Linter(RULES, Settings(base=root), Project(root))
        for block in blocks:
            path = root / "test_example.py"
            path.write_text(block)
            result = linter.check(path, block.encode(), FileKind.TEST)
            codes = {d.code for d in result.diagnostics}
            assert (rule.code in codes) is expect, (rule.code, block, result.diagnostics)


def test_tl101_example_fix_gives_use_instead(tmp_path: Path) -> None:
    """The documented fix is the one the code applies."""
    rule = testlint.registry.ModuleLevelExit
    docs = rule_help(rule)
    linter = Linter(RULES, Settings(base=tmp_path), Project(tmp_path))
    fixed = linter.check(
        tmp_path / "test_x.py",
        code_blocks(docs, "Example")[0].encode(),
        FileKind.TEST,
        fix=Applicability.SAFE,
    ).fixed
    assert fixed is not None
    assert fixed.decode() == code_blocks(docs, "Use instead")[0]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.code)
def test_generated_rule_docs_are_current(rule: type[Rule]) -> None:
    path = ROOT / "docs" / "rules" / f"{rule.code}.md"
    assert path.read_text(encoding="utf-8") == rule_markdown(rule), (
        "stale: run `python -m testlint.docs`"
    )


def test_no_stale_rule_docs() -> None:
    documented = {p.stem for p in (ROOT / "docs" / "rules").glob("*.md")}
    assert documented == {rule.code for rule in ALL_RULES}


def test_readme_rule_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_table(readme, ALL_RULES), "stale: run `python -m testlint.docs`"
    for rule in ALL_RULES:
        assert rule.code in readme


def test_readme_documents_every_config_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    keys = ["select", "extend-select", "ignore", "per-file-ignores", "exclude", "unsafe-fixes"]
    keys += [option.key for rule in ALL_RULES for option in rule.options]
    for key in keys:
        assert f"| `{key}` |" in readme, f"config key {key} is not in the README table"


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quickstart, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_quickstart_commands_and_ci_runs_both() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for command in commands:
        # CI appends `|| fail ...` so that a failed step cannot pass unnoticed.
        assert any(line.startswith(command + " ||") for line in ci_lines), (
            f"CI does not run the README command: {command}"
        )


def test_pre_commit_hooks_use_existing_options() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    from click.testing import CliRunner

    from testlint.cli import main

    help_text = CliRunner().invoke(main, ["check", "--help"]).output
    for option in re.findall(r"--[a-z-]+", hooks):
        assert option in help_text
    assert "id: testlint\n" in hooks
    assert "id: testlint-fix\n" in hooks
