"""Rendering diagnostics: text, json (ruff's field names), github, sarif."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testlint import __version__
from testlint.diagnostics import Applicability, Diagnostic, Edit, Fix
from testlint.docs import rule_help
from testlint.rule import Rule

if TYPE_CHECKING:
    from testlint.runner import RunOptions, RunResult

FORMATS = ("text", "json", "github", "sarif")
EXIT_CLEAN, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True)
class Shown:
    """How `check` prints its results (its output options)."""

    format: str = "text"
    statistics: bool = False
    exit_zero: bool = False
    quiet: bool = False


Say = Callable[[str, bool, bool], None]
"""Prints `text` (to stderr when the first flag is set; a newline after it when
the second is)."""


def report(
    result: RunResult, options: RunOptions, shown: Shown, say: Say, source_on_stdout: bool = False
) -> int:
    """Print a run's results; returns the exit code. `source_on_stdout`: the fixed
    source owns stdout (`--fix` on standard input, as in ruff)."""
    diagnostics = result.diagnostics
    unsafe = result.settings.unsafe_fixes
    fmt = shown.format

    def echo(text: str) -> None:
        say(text, source_on_stdout, True)

    if options.diff:
        for diff in result.diffs:
            say(diff, False, False)
    elif fmt == "json" and shown.statistics:
        echo(json_statistics(diagnostics, unsafe))
    elif fmt == "json":
        echo(json_output(diagnostics))
    elif fmt == "sarif":
        from testlint.registry import ALL_RULES

        echo(sarif(diagnostics, ALL_RULES, result.checked_files))
    elif fmt == "github":
        if diagnostics:
            echo(github(diagnostics))
    elif shown.statistics:
        if diagnostics:
            echo(statistics(diagnostics, unsafe))
    elif diagnostics:
        echo(text(diagnostics, unsafe))
    for warning in result.warnings:
        say(f"testlint: warning: {warning}", True, True)
    for error in result.errors:
        say(f"testlint: error: {error}", True, True)
    # With errors and nothing else to say, "All checks passed!" would be a lie.
    nothing_to_say = not diagnostics and not result.fixes_applied
    if not shown.quiet and not (result.errors and nothing_to_say):
        if options.diff:
            if fmt == "text":
                would = sum(f.fixes_applied for f in result.files)
                say(f"Would fix {would} problem{'s' if would != 1 else ''}.", True, True)
        else:
            line = summary(
                diagnostics, unsafe, result.fixes_applied, options.fix, result.checked_files
            )
            # Machine formats keep stdout parseable (json stays ruff's list); how
            # many files were checked still reaches whoever reads the run.
            say(line, source_on_stdout or fmt != "text", True)
    if result.errors:
        return EXIT_ERROR
    if shown.exit_zero:
        return EXIT_CLEAN
    if options.diff:
        return EXIT_PROBLEMS if result.diffs or diagnostics else EXIT_CLEAN
    return EXIT_PROBLEMS if diagnostics else EXIT_CLEAN


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it, as users typed it."""
    if str(path) == "-":
        return "-"
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _is_shown_fixable(diagnostic: Diagnostic, unsafe_fixes: bool) -> bool:
    if diagnostic.fix_applicability is None:
        return False
    return unsafe_fixes or diagnostic.fix_applicability is Applicability.SAFE


def text(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    lines = []
    for d in diagnostics:
        marker = " [*]" if _is_shown_fixable(d, unsafe_fixes) else ""
        where = f"{display_path(d.path)}:{d.start.line}:{d.start.column}"
        lines.append(f"{where}: {d.code}{marker} {d.message}")
    return "\n".join(lines)


def summary(
    diagnostics: Sequence[Diagnostic], unsafe_fixes: bool, fixed: int, fixing: bool, checked: int
) -> str:
    count = len(diagnostics)
    lines: list[str] = []
    if fixing and fixed:
        lines.append(f"Fixed {_plural(fixed, 'problem')} ({count} remaining).")
    elif checked == 0 and count == 0:
        return "No files checked."  # never "All checks passed!" for nothing
    elif count == 0:
        return f"All checks passed! Checked {_plural(checked, 'file')}."
    if count:
        lines.append(f"Checked {_plural(checked, 'file')}, found {_plural(count, 'problem')}.")
        safe = sum(1 for d in diagnostics if d.fix_applicability is Applicability.SAFE)
        unsafe = sum(1 for d in diagnostics if d.fix_applicability is Applicability.UNSAFE)
        if unsafe_fixes and safe + unsafe:
            lines.append(f"[*] {safe + unsafe} fixable with `testlint --fix --unsafe-fixes`.")
        else:
            if safe:
                lines.append(f"[*] {safe} fixable with `testlint --fix`.")
            if unsafe:
                lines.append(
                    f"{_plural(unsafe, 'hidden fix', 'hidden fixes')} can be enabled with "
                    "`--unsafe-fixes`."
                )
    return "\n".join(lines)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _counts(diagnostics: Sequence[Diagnostic]) -> list[tuple[tuple[str, str], int]]:
    counts = Counter((d.code, d.name) for d in diagnostics)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def json_statistics(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    """`--statistics --output-format json`: ruff's fields."""
    fixable = {d.code for d in diagnostics if _is_shown_fixable(d, unsafe_fixes)}
    rows = [
        {"code": code, "name": name, "count": count, "fixable": code in fixable}
        for (code, name), count in _counts(diagnostics)
    ]
    return json.dumps(rows, indent=2)


def statistics(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    fixable = {d.code for d in diagnostics if _is_shown_fixable(d, unsafe_fixes)}
    rows = []
    for (code, name), count in _counts(diagnostics):
        marker = "[*]" if code in fixable else "[ ]"
        rows.append(f"{count:>5}\t{code}\t{marker} {name}")
    return "\n".join(rows)


# -------------------------------------------------------------------- json


def _location(line: int, column: int) -> dict[str, int]:
    return {"row": line, "column": column}


def _edit(edit: Edit) -> dict[str, Any]:
    return {
        "content": edit.content,
        "location": _location(edit.start.line, edit.start.column),
        "end_location": _location(edit.end.line, edit.end.column),
    }


def _fix(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": fix.title,
        "edits": [_edit(edit) for edit in fix.edits],
    }


def json_output(diagnostics: Sequence[Diagnostic]) -> str:
    items = [
        {
            "cell": None,
            "code": d.code,
            "message": d.message,
            "filename": str(d.path.resolve()) if str(d.path) != "-" else "-",
            "location": _location(d.start.line, d.start.column),
            "end_location": _location(d.end.line, d.end.column),
            "fix": _fix(d.fix),
            "noqa_row": d.start.line,
            "url": None,
        }
        for d in diagnostics
    ]
    return json.dumps(items, indent=2, ensure_ascii=False)


# -------------------------------------------------------------------- github


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        properties = ",".join(
            [
                f"file={_escape_property(display_path(d.path))}",
                f"line={d.start.line}",
                f"col={d.start.column}",
                f"endLine={d.end.line}",
                f"endColumn={d.end.column}",
                f"title={_escape_property(d.code)}",
            ]
        )
        lines.append(f"::error {properties}::{_escape_data(d.message)}")
    return "\n".join(lines)


# -------------------------------------------------------------------- sarif

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif(
    diagnostics: Sequence[Diagnostic], rules: Sequence[type[Rule]], checked_files: int = 0
) -> str:
    results = []
    for d in diagnostics:
        results.append(
            {
                "ruleId": d.code,
                "level": "error",
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": Path(display_path(d.path)).as_posix()},
                            "region": {
                                "startLine": d.start.line,
                                "startColumn": d.start.column,
                                "endLine": d.end.line,
                                "endColumn": d.end.column,
                            },
                        }
                    }
                ],
            }
        )
    driver_rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "help": {"text": rule_help(rule), "markdown": rule_help(rule)},
            "defaultConfiguration": {"level": "error"},
        }
        for rule in rules
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "testlint",
                        "version": __version__,
                        "rules": driver_rules,
                    }
                },
                "results": results,
                # How many files the run checked: zero results from zero files is
                # not a clean suite.
                "properties": {"filesChecked": checked_files},
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
