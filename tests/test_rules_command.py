"""`testlint rules --output-format json` and `testlint explain --all`: the same
rule documentation as `testlint rules` and `testlint explain RULE`."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result

from cli_runner import make_runner
from testlint.cli import main
from testlint.registry import ALL_RULES

ROOT = Path(__file__).parent.parent


def invoke(*args: str) -> Result:
    return make_runner().invoke(main, list(args), catch_exceptions=False)


def test_rules_as_json() -> None:
    result = invoke("rules", "--output-format", "json")
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    assert [entry["code"] for entry in entries] == [rule.code for rule in ALL_RULES]
    text_rows = invoke("rules").stdout.splitlines()[1:]
    for entry, rule, row in zip(entries, ALL_RULES, text_rows):
        assert set(entry) == {"code", "name", "summary", "fixable", "url", "enabled_by_default"}
        assert (entry["name"], entry["summary"], entry["fixable"]) == (
            rule.name,
            rule.summary,
            rule.fixable,
        )
        assert row.split()[:2] == [entry["code"], entry["name"]]
        # The page `python -m testlint.docs` writes, as the README's table links it.
        assert (ROOT / entry["url"]).read_text(encoding="utf-8") == invoke(
            "explain", rule.code
        ).stdout
        assert entry["enabled_by_default"] is True  # the default selection is `TL`


def test_explain_all_is_every_rule_separated_by_a_blank_line() -> None:
    result = invoke("explain", "--all")
    assert result.exit_code == 0
    each = [invoke("explain", rule.code).stdout for rule in ALL_RULES]
    assert result.stdout == "\n".join(each) + "\n"
    assert result.stdout.count("\n# TL") == len(ALL_RULES) - 1


def test_explain_needs_a_rule_or_all() -> None:
    neither = invoke("explain")
    both = invoke("explain", "--all", "TL101")
    assert neither.exit_code == both.exit_code == 2
    assert "give a RULE" in neither.stderr
    assert "not both" in both.stderr
