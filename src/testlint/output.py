"""Rendering a run's results in ruff's formats: `full` (the default), `concise`
(`text`), `json`, `github`, `gitlab`, `junit` and `sarif`; the summary; the list of
fixes (`--show-fixes`); the exit code.

The machine formats name files relative to the repository root (`anchor_root`),
not to the working directory, so that CI attaches them wherever testlint ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testlint import __version__
from testlint.dependencies import repository_root
from testlint.diagnostics import Applicability, Diagnostic, Edit, Fix
from testlint.docs import REPOSITORY_URL, rule_help, rule_page
from testlint.render import BOLD, CYAN, GREEN, RED, Source, Style, is_shown_fixable, visible
from testlint.render import full as full_finding
from testlint.rule import Rule
from testlint.source import SourceError, decode
from testlint.terminal import (
    ALIASES,
    DEFAULT_FORMAT,
    HUMAN_FORMATS,
    OUTPUT_FORMATS,
    canonical_format,
)

if TYPE_CHECKING:
    from testlint.runner import RunOptions, RunResult

FORMATS = (*OUTPUT_FORMATS, *ALIASES)
"""Every name `--output-format` accepts (`text` is `concise`)."""
EXIT_CLEAN, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2
SEVERITY = "error"
"""Every finding's severity (JSON, JUnit), as ruff says of every violation."""


@dataclass(frozen=True)
class Shown:
    """How `check` prints its results (its output options, the format resolved)."""

    format: str = DEFAULT_FORMAT
    statistics: bool = False
    exit_zero: bool = False
    quiet: bool = False
    show_fixes: bool = False
    exit_non_zero_on_fix: bool = False
    color: bool = False
    """Paint the human formats (a terminal, `FORCE_COLOR`; never with `NO_COLOR`)."""
    width: int | None = None
    """The terminal's width, to wrap long messages to (None: never wrap)."""
    to_file: bool = False
    """The output goes to a file (`-o`): the summary goes to standard error."""


def resolve_format(given: str | None, configured: str | None) -> str:
    """The format: `--output-format` or `TESTLINT_OUTPUT_FORMAT` (click resolves
    those two), else `output-format` in the configuration, else `full`."""
    return canonical_format(given or configured or DEFAULT_FORMAT)


Say = Callable[[str, bool, bool], None]
"""Prints `text` (to stderr when the first flag is set; a newline after it when
the second is)."""


def report(
    result: RunResult,
    options: RunOptions,
    shown: Shown,
    say: Say,
    source_on_stdout: bool = False,
    sources: Mapping[Path, str] | None = None,
) -> int:
    """Print a run's results; returns the exit code. `source_on_stdout`: the fixed
    source owns stdout (`--fix` on standard input, as in ruff). `sources`: the
    text of files not on disk (standard input), by path."""
    diagnostics = result.diagnostics
    unsafe = result.settings.unsafe_fixes
    fmt = canonical_format(shown.format)
    human = fmt in HUMAN_FORMATS
    style = Style(shown.color, shown.width)

    def echo(text: str) -> None:
        say(text, source_on_stdout and not shown.to_file, True)

    if options.diff:
        for diff in result.diffs:
            say(diff, False, False)
    elif fmt == "json" and shown.statistics:
        echo(json_statistics(diagnostics, unsafe))
    elif fmt == "json":
        echo(json_output(diagnostics))
    elif fmt == "sarif":
        from testlint.registry import ALL_RULES

        echo(sarif(diagnostics, ALL_RULES, result.checked_files, anchor_root(result)))
    elif fmt == "github":
        if diagnostics:
            echo(github(diagnostics, anchor_root(result)))
    elif fmt == "gitlab":
        echo(gitlab(diagnostics, anchor_root(result)))
    elif fmt == "junit":
        echo(junit(diagnostics, anchor_root(result)))
    elif shown.statistics:
        if diagnostics:
            echo(statistics(diagnostics, unsafe))
    elif diagnostics and fmt == "full":
        echo(full(diagnostics, unsafe, style, sources or {}))
    elif diagnostics:
        echo(concise(diagnostics, unsafe, style))
    if shown.show_fixes and human and not options.diff:
        listed = fixes_listing(result, options.fix, unsafe)
        if listed:
            echo(listed)
    for warning in result.warnings:
        say(f"testlint: warning: {warning}", True, True)
    for error in result.errors:
        say(f"testlint: error: {error}", True, True)
    # With errors and nothing else to say, "All checks passed!" would be a lie.
    nothing_to_say = not diagnostics and not result.fixes_applied
    # Machine formats keep stdout parseable (json stays ruff's list), and so does a
    # file (`-o`); how many files were checked still reaches whoever reads the run.
    summary_to_stderr = source_on_stdout or not human or shown.to_file
    if not shown.quiet and not (result.errors and nothing_to_say):
        if options.diff:
            if human:
                would = sum(f.fixes_applied for f in result.files)
                say(f"Would fix {would} problem{'s' if would != 1 else ''}.", True, True)
        else:
            line = summary(
                diagnostics, unsafe, result.fixes_applied, options.fix, result.checked_files
            )
            painted = Style(shown.color and not summary_to_stderr)
            say(paint_summary(line, painted), summary_to_stderr, True)
    if result.errors:
        return EXIT_ERROR
    if shown.exit_zero:
        return EXIT_CLEAN
    if options.diff:
        return EXIT_PROBLEMS if result.diffs or diagnostics else EXIT_CLEAN
    if diagnostics:
        return EXIT_PROBLEMS
    if shown.exit_non_zero_on_fix and options.fix and result.fixes_applied:
        return EXIT_PROBLEMS
    return EXIT_CLEAN


def anchor_root(result: RunResult) -> Path:
    """What the machine formats name files relative to: the repository holding the
    project (the nearest `.git` above its root), else the project root. CI reads
    paths from the repository's root, wherever testlint was started."""
    return repository_root(Path(os.path.realpath(result.settings.base)))


def root_relative(path: Path, root: Path) -> str | None:
    """`path` relative to `root`, `/`-separated; None when it is outside."""
    absolute = Path(os.path.abspath(path))
    for candidate in (absolute, Path(os.path.realpath(absolute))):
        try:
            return candidate.relative_to(root).as_posix()
        except ValueError:
            continue
    return None


def anchored(path: Path, root: Path) -> str:
    """`root_relative`, or the absolute path of a file outside the root."""
    if str(path) == "-":
        return "-"
    found = root_relative(path, root)
    return found if found is not None else Path(os.path.abspath(path)).as_posix()


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it, as users typed it."""
    if str(path) == "-":
        return "-"
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def concise(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool, style: Style) -> str:
    """One line per finding: `path:line:col: CODE [*] message` (ruff's `concise`)."""
    lines = []
    colon = style.paint(":", CYAN)
    for d in diagnostics:
        marker = " [" + style.paint("*", CYAN) + "]" if is_shown_fixable(d, unsafe_fixes) else ""
        where = colon.join(
            [
                style.paint(visible(display_path(d.path)), BOLD),
                str(d.start.line),
                str(d.start.column),
            ]
        )
        code = style.paint(d.code, BOLD, RED)
        lines.append(f"{where}{colon} {code}{marker} {visible(d.message)}")
    return "\n".join(lines)


class SourceTexts:
    """The text of each reported file, read once (`full` shows its lines)."""

    def __init__(self, given: Mapping[Path, str]) -> None:
        self._sources: dict[Path, Source | None] = {
            path: Source(text) for path, text in given.items()
        }

    def __call__(self, path: Path) -> Source | None:
        if path not in self._sources:
            text = _read_text(path)
            self._sources[path] = Source(text) if text is not None else None
        return self._sources[path]


def _read_text(path: Path) -> str | None:
    """A checked file's text as the engine read it; None for what is not a regular
    file (a FIFO would never answer) or cannot be read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    try:
        return decode(data)
    except SourceError:  # TL001 says why; show what can be shown
        return data.decode("utf-8", "replace")


def full(
    diagnostics: Sequence[Diagnostic],
    unsafe_fixes: bool,
    style: Style,
    sources: Mapping[Path, str],
) -> str:
    """ruff's `full` format: each finding with its source and its fix's preview,
    a blank line after each."""
    texts = SourceTexts(sources)
    blocks = [
        full_finding(d, visible(display_path(d.path)), texts(d.path), unsafe_fixes, style)
        for d in diagnostics
    ]
    return "\n\n".join(blocks) + "\n"


def fixes_listing(result: RunResult, fixing: bool, unsafe_fixes: bool) -> str:
    """`--show-fixes`: the fixes applied by `--fix`, per file and rule (ruff's
    listing); without `--fix`, those it would apply."""
    by_file: dict[str, Counter[tuple[str, str]]] = {}
    if fixing:
        for file in result.files:
            if file.fixes_applied and file.fixed_rules:
                counts = by_file.setdefault(display_path(file.path), Counter())
                counts.update(file.fixed_rules)
        count = sum(sum(counts.values()) for counts in by_file.values())
        title = f"Fixed {_plural(count, 'problem')}:"
    else:
        for d in result.diagnostics:
            if is_shown_fixable(d, unsafe_fixes):
                by_file.setdefault(display_path(d.path), Counter())[(d.code, d.name)] += 1
        count = sum(sum(counts.values()) for counts in by_file.values())
        command = "testlint --fix --unsafe-fixes" if unsafe_fixes else "testlint --fix"
        title = f"`{command}` would fix {_plural(count, 'problem')}:"
    if not by_file:
        return ""
    lines = ["", title]
    for path in sorted(by_file):
        lines.append(f"- {visible(path)}:")
        for (code, name), times in sorted(by_file[path].items(), key=lambda i: (-i[1], i[0])):
            lines.append(f"    {times} \u00d7 {code} ({name})")
    return "\n".join([*lines, ""])


def paint_summary(line: str, style: Style) -> str:
    """The summary as ruff paints it: the `[*]` mark cyan, a clean run green."""
    if not style.color:
        return line
    if line.startswith("All checks passed!"):
        return style.paint("All checks passed!", BOLD, GREEN) + line[len("All checks passed!") :]
    return line.replace("[*]", "[" + style.paint("*", CYAN) + "]")


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
    fixable = {d.code for d in diagnostics if is_shown_fixable(d, unsafe_fixes)}
    rows = [
        {"code": code, "name": name, "count": count, "fixable": code in fixable}
        for (code, name), count in _counts(diagnostics)
    ]
    return json.dumps(rows, indent=2)


def statistics(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    fixable = {d.code for d in diagnostics if is_shown_fixable(d, unsafe_fixes)}
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
    """ruff's JSON fields, in ruff's (alphabetical) order."""
    filenames: dict[Path, str] = {}  # resolved once per file, not per finding

    def filename(path: Path) -> str:
        if path not in filenames:
            filenames[path] = str(path.resolve()) if str(path) != "-" else "-"
        return filenames[path]

    items = [
        {
            "cell": None,
            "code": d.code,
            "end_location": _location(d.end.line, d.end.column),
            "filename": filename(d.path),
            "fix": _fix(d.fix),
            "location": _location(d.start.line, d.start.column),
            "message": d.message,
            "name": d.name,
            "noqa_row": d.start.line,
            "severity": SEVERITY,
            "url": rule_page(d.code),
        }
        for d in diagnostics
    ]
    return json.dumps(items, indent=2, ensure_ascii=False)


# -------------------------------------------------------------------- github


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic], root: Path) -> str:
    """GitHub Actions annotations; `file` relative to the repository root, where
    GitHub looks for it."""
    lines = []
    for d in diagnostics:
        properties = ",".join(
            [
                f"file={_escape_property(anchored(d.path, root))}",
                f"line={d.start.line}",
                f"col={d.start.column}",
                f"endLine={d.end.line}",
                f"endColumn={d.end.column}",
                f"title={_escape_property(d.code)}",
            ]
        )
        lines.append(f"::error {properties}::{_escape_data(d.message)}")
    return "\n".join(lines)


# -------------------------------------------------------------------- gitlab

GITLAB_SEVERITY = "major"
"""As ruff reports every violation to GitLab."""


def gitlab(diagnostics: Sequence[Diagnostic], root: Path) -> str:
    """GitLab Code Quality (a Code Climate subset). The fingerprint leaves out line
    numbers, so that a finding keeps it when code above it moves; the same message
    twice in a file is told apart by its rank."""
    seen: Counter[tuple[str, str, str]] = Counter()
    issues = []
    for d in diagnostics:
        path = anchored(d.path, root)
        same = (path, d.code, d.message)
        rank = seen[same]
        seen[same] += 1
        digest = hashlib.sha256("\0".join([*same, str(rank)]).encode("utf-8")).hexdigest()
        issues.append(
            {
                "description": f"{d.code}: {d.message}",
                "check_name": d.code,
                "fingerprint": digest[:32],
                "severity": GITLAB_SEVERITY,
                "location": {"path": path, "lines": {"begin": d.start.line, "end": d.end.line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False)


# -------------------------------------------------------------------- junit


def _xml(value: str, quote: bool = False) -> str:
    """Text for XML 1.0: escaped, and without the control characters it forbids."""
    value = "".join(char if char in "\t\n\r" or ord(char) >= 0x20 else "\ufffd" for char in value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace('"', "&quot;") if quote else value


def junit(diagnostics: Sequence[Diagnostic], root: Path) -> str:
    """JUnit XML as ruff writes it: a test suite per file, a failed test case per
    finding (a passing one, "No errors found", for a clean run)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    count = len(diagnostics)
    lines.append(
        f'<testsuites name="testlint" tests="{max(count, 1)}" skipped="0" '
        f'failures="{count}" errors="0">'
    )
    if not diagnostics:
        lines += [
            '    <testsuite name="testlint" tests="1" skipped="0" errors="0" failures="0" '
            'package="org.testlint">',
            '        <testcase name="No errors found" classname="testlint"/>',
            "    </testsuite>",
        ]
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(anchored(d.path, root), []).append(d)
    for path, found in by_file.items():
        name = _xml(path, quote=True)
        classname = _xml(path[:-3] if path.endswith(".py") else path, quote=True)
        lines.append(
            f'    <testsuite name="{name}" tests="{len(found)}" skipped="0" errors="0" '
            f'failures="{len(found)}" package="org.testlint">'
        )
        for d in found:
            where = f"line {d.start.line}, col {d.start.column}"
            lines += [
                f'        <testcase name="org.testlint.{d.code}" classname="{classname}" '
                f'line="{d.start.line}" column="{d.start.column}">',
                "            <properties>",
                f'                <property name="severity" value="{SEVERITY}"/>',
                "            </properties>",
                f'            <failure message="{_xml(d.message, quote=True)}">'
                f"{where}, {_xml(d.message)}</failure>",
                "        </testcase>",
            ]
        lines.append("    </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines)


# -------------------------------------------------------------------- sarif

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _artifact(path: Path, root: Path) -> dict[str, str]:
    """A file's SARIF location: a percent-encoded URI relative to `%SRCROOT%` (the
    repository root: code scanning resolves it against the checkout), or an
    absolute file URI for a file outside it."""
    if str(path) == "-":
        return {"uri": "-"}
    relative = root_relative(path, root)
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    # The file name's bytes, as `as_uri` quotes them: a name that is not UTF-8 too.
    return {"uri": urllib.parse.quote(os.fsencode(relative), safe="/"), "uriBaseId": SRCROOT}


def _directory_uri(root: Path) -> str:
    uri = root.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif(
    diagnostics: Sequence[Diagnostic],
    rules: Sequence[type[Rule]],
    checked_files: int = 0,
    root: Path | None = None,
) -> str:
    root = Path(os.path.realpath(root if root is not None else Path.cwd()))
    artifacts: dict[Path, dict[str, str]] = {}  # found once per file, not per finding
    results = []
    for d in diagnostics:
        if d.path not in artifacts:
            artifacts[d.path] = _artifact(d.path, root)
        results.append(
            {
                "ruleId": d.code,
                "level": "error",
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": artifacts[d.path],
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
            "helpUri": rule_page(rule.code),
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
                        "informationUri": REPOSITORY_URL,
                        "rules": driver_rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(root)}},
                "results": results,
                # How many files the run checked: zero results from zero files is
                # not a clean suite.
                "properties": {"filesChecked": checked_files},
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
