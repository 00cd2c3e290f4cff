"""The engine for configuration files: the rules on them (TL7xx), `# noqa`, fixes.

A check reads the pytest configuration of every file it checks; the file that
configuration comes from is checked too, whole, on every run (it is one small
file, and never cached: a cached result could not go stale). Findings are placed
on the key or list item in the file. A `# noqa` comment on that line (or on the
line of the key whose value holds it) and `per-file-ignores` apply. Fixes are text
edits, each kept only if the fixed file parses to the same document with just the
value the fix names changed; the rule is run again after each, until none is left.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from testlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position
from testlint.engine import FileResult
from testlint.noqa import directive, suppresses
from testlint.project import Project
from testlint.registry import ALL_RULES, CONFIG_RULES
from testlint.rules._config import ConfigFinding, ConfigFix, ConfigRule
from testlint.settings import Settings
from testlint.toml_text import Document, ScanError, Span, loads, scan

MAX_FIX_ITERATIONS = 20
CONFIG_NAMES = frozenset({"pyproject.toml", "pytest.toml", ".pytest.toml"})
"""The configuration files the rules read (INI files hold nothing they check)."""


def config_files(directories: Iterable[tuple[Path, Project]]) -> list[Path]:
    """The configuration files pytest reads for files in these directories, once each."""
    found: dict[Path, None] = {}
    for directory, project in directories:
        path = project.pytest_config(directory).path
        if path is not None and path.name in CONFIG_NAMES:
            found[path] = None
    return sorted(found)


def check_config(
    path: Path, settings: Settings, project: Project, level: Applicability | None = None
) -> FileResult | None:
    """The findings in one configuration file, and its fixed text (`level`: the
    fixes allowed, None: none). None when no rule on configuration runs on it or
    it cannot be read as TOML (the project model then reports the error)."""
    rules = _enabled(path, settings)
    if not rules:
        return None
    try:
        original = path.read_bytes()
        text = original.decode("utf-8")
        data = loads(text)
    except (OSError, ValueError):  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return None
    result = FileResult(path, original=original)
    if level is None:
        document, data = _read(text, data)
    else:
        text, document, data = _fix(path, text, data, rules, project, level, result)
        if result.fixes_applied:
            result.fixed = text.encode("utf-8")
    for rule, finding in _findings(path, document, data, rules, project):
        result.diagnostics.append(_diagnostic(path, rule, finding, document))
    return result


def _enabled(path: Path, settings: Settings) -> list[type[ConfigRule]]:
    enabled = settings.enabled_codes(ALL_RULES)
    ignored = settings.ignored_codes(path, ALL_RULES)
    return [rule for rule in CONFIG_RULES if rule.code in enabled and rule.code not in ignored]


def _read(text: str, data: dict[str, Any]) -> tuple[Document, dict[str, Any]]:
    """The text's document (`data`: what `tomllib` made of it), with positions only
    when they agree with `tomllib` (else findings are placed at the file's start,
    and have no fix)."""
    try:
        document = scan(text)
    except ScanError:
        return Document(text), data
    return (document if document.agrees(data) else Document(text)), data


def _findings(
    path: Path,
    document: Document,
    data: Mapping[str, Any],
    rules: list[type[ConfigRule]],
    project: Project,
) -> list[tuple[type[ConfigRule], ConfigFinding]]:
    found: list[tuple[type[ConfigRule], ConfigFinding]] = []
    for rule in rules:
        for finding in rule.check_config(path, document, data, project):
            if not _suppressed(document, finding, rule):
                found.append((rule, finding))
    return found


def _suppressed(document: Document, finding: ConfigFinding, rule: type[ConfigRule]) -> bool:
    """A `# noqa` on the finding's line, or on its key's line (for a list item)."""
    lines = {document.position(finding.span.start)[0]}
    for entry in document.entries:
        if entry.value.start <= finding.span.start < entry.value.end:
            lines.add(document.position(entry.key.start)[0])
    for line in lines:
        found = directive(document.comments.get(line, ""))
        if found is None:
            continue
        if not found.codes or any(suppresses(c, rule.code, rule.name) for c in found.codes):
            return True
    return False


def _fix(
    path: Path,
    text: str,
    data: dict[str, Any],
    rules: list[type[ConfigRule]],
    project: Project,
    level: Applicability,
    result: FileResult,
) -> tuple[str, Document, dict[str, Any]]:
    """The text with the allowed fixes applied, one at a time, and its document
    and data (each text is parsed once)."""
    allowed = {Applicability.SAFE} if level is Applicability.SAFE else set(Applicability)
    refused: set[tuple[tuple[str, ...], str, int]] = set()
    for _ in range(MAX_FIX_ITERATIONS):
        document, data = _read(text, data)
        candidates = [
            (rule, finding.fix)
            for rule, finding in _findings(path, document, data, rules, project)
            if finding.fix is not None
            and finding.fix.applicability in allowed
            and _identity(finding.fix) not in refused
        ]
        if not candidates:
            return text, document, data
        rule, fix = candidates[0]
        fixed = _applied(text, fix)
        parsed = _parsed_if_only_fixed(fixed, data, fix)
        if parsed is not None:
            text, data = fixed, parsed
            result.fixes_applied += 1
            result.fixed_rules.append((rule.code, rule.name))
        else:
            refused.add(_identity(fix))
    return (text, *_read(text, data))


def _identity(fix: ConfigFix) -> tuple[tuple[str, ...], str, int]:
    return fix.key, fix.title, fix.edits[0].span.start


def _applied(text: str, fix: ConfigFix) -> str:
    for edit in sorted(fix.edits, key=lambda e: e.span.start, reverse=True):
        text = text[: edit.span.start] + edit.content + text[edit.span.end :]
    return text


def _parsed_if_only_fixed(
    fixed: str, data: Mapping[str, Any], fix: ConfigFix
) -> dict[str, Any] | None:
    """What the fixed text parses to, when that is `data` with only `fix.value` at
    `fix.key` (else None: the fix is refused)."""
    try:
        parsed = loads(fixed)
    except ValueError:
        return None
    wanted = copy.deepcopy(dict(data))
    table = wanted
    for part in fix.key[:-1]:
        if not isinstance(table.get(part), dict):
            return None
        table = table[part]
    table[fix.key[-1]] = fix.value
    return parsed if parsed == wanted else None


def _diagnostic(
    path: Path, rule: type[ConfigRule], finding: ConfigFinding, document: Document
) -> Diagnostic:
    start, end = _position(document, finding.span.start), _position(document, finding.span.end)
    fix = finding.fix
    if fix is None:
        return Diagnostic(path, rule.code, rule.name, finding.message, start, end)
    edits = tuple(
        Edit(e.content, _position(document, e.span.start), _position(document, e.span.end))
        for e in fix.edits
    )
    lines = (min(e.start.line for e in edits), max(e.end.line for e in edits))
    return Diagnostic(
        path,
        rule.code,
        rule.name,
        finding.message,
        start,
        end,
        fix_title=fix.title,
        fix_applicability=fix.applicability,
        fix=Fix(fix.title, fix.applicability, edits),
        fix_lines=lines,
    )


def _position(document: Document, offset: int) -> Position:
    line, column = document.position(offset)
    return Position(line, column)


__all__ = ["CONFIG_NAMES", "Span", "check_config", "config_files"]
