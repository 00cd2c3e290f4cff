"""`testlint check --show-settings PATH` and `--show-files`: what decides a check.

Every fact printed here comes from the function the rules and the run use for it
(`Project`, `pytest_config`, `rules/_asyncio.py`, `rules/_xdist.py`, `Settings`,
`runner.select`), never from a second reading that could disagree with them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testlint.engine import Linter
from testlint.files import skips_directory, unusable
from testlint.locate import ConfigError, ProjectError
from testlint.project import AssumedVersion, Evidence, NotRecursed
from testlint.pytest_config import DEFAULT_PYTHON_FILES, Ignore
from testlint.registry import ALL_RULES
from testlint.rule import SourceFile
from testlint.rules._asyncio import CODE_KEY, OPTION_KEY, asyncio_mode
from testlint.rules._xdist import (
    SERIAL_MARKERS,
    XdistEvidence,
    invocations,
    marker_adoption,
    parse_invocation,
    registered_markers,
    selecting,
    suite_markers,
    suite_scope,
    xdist_disabled,
    xdist_evidence,
)
from testlint.runner import RunOptions, cache_directory, select
from testlint.settings import OptionValue, Settings
from testlint.source import SourceError, decode
from testlint.workers import with_deep_stack

LABEL_WIDTH = 23


@dataclass
class Shown:
    """What `--show-files` prints: one file a line; problems go to stderr."""

    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def show_files(paths: Sequence[Path], options: RunOptions) -> Shown:
    """The files `testlint check PATHS` would check, as it names them. Raises
    ConfigError."""
    selection = with_deep_stack(lambda: select(paths, options))
    return Shown(
        [str(item.path) for item, _ in selection.work], selection.errors, selection.warnings
    )


def show_settings(path: Path, options: RunOptions) -> str:
    """Everything that decides what `testlint check` does for `path` (a file, or a
    directory: then for the files directly in it). Raises ConfigError, also for a
    path that cannot be read."""
    problem = unusable(path)
    if problem is not None:
        raise ConfigError(f"{problem.path}: {problem.message}")
    return with_deep_stack(lambda: _show_settings(path, options))


def _show_settings(path: Path, options: RunOptions) -> str:
    is_directory = path.is_dir()
    # What the facts are asked of: the file, or a file directly in the directory.
    probe = path / "conftest.py" if is_directory else path
    try:
        selection = select([path], options)
        linter = selection.linters.for_path(probe)
        text = "" if is_directory else _text(path)
        file = SourceFile(probe, text, linter.project, linter.settings)
        sections = [
            ("Project", list(_project(path, file, is_directory))),
            ("Collection", list(_collection(path, file, linter, is_directory))),
            ("pytest-asyncio", list(_asyncio(file))),
            ("pytest-xdist", list(_xdist(file))),
            ("testlint", list(_testlint(path, file, linter, options, is_directory))),
        ]
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    what = f"files in {path}" if is_directory else str(path)
    out = [f"Settings for {what}"]
    for title, rows in sections:
        out.extend(["", title])
        for label, values in rows:
            out.append(f"  {label:<{LABEL_WIDTH}} {values[0]}".rstrip())
            out.extend(f"  {'':<{LABEL_WIDTH}} {value}" for value in values[1:])
    return "\n".join(out)


Row = tuple[str, list[str]]


def _text(path: Path) -> str:
    try:
        return decode(path.read_bytes())
    except (OSError, SourceError):
        return ""  # the facts below read configuration, not the file


def _shown(path: Path | None) -> str:
    """A file as this command names it: relative to the working directory when
    it lies below it, else absolute."""
    if path is None:
        return "(none)"
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return absolute.as_posix()


def _evidence(evidence: Evidence | XdistEvidence) -> str:
    """`file:line: what it says`."""
    if evidence.path is None:
        return evidence.what
    line = getattr(evidence, "line", 0)
    where = f"{_shown(evidence.path)}:{line}" if line else _shown(evidence.path)
    return f"{where}: {evidence.what}"


# ------------------------------------------------------------------ sections


def _project(path: Path, file: SourceFile, is_directory: bool) -> Iterator[Row]:
    project = file.project
    yield "project root", [str(project.root)]
    owner = project.owner(file.path)
    if owner is not project:
        yield "sub-project", [f"{_shown(owner.root)} (it declares its own dependencies)"]
    config = project.pytest_config(file.path.parent)
    if config.path is None:
        yield "pytest configuration", ["none found: pytest's defaults"]
        yield "rootdir", [f"{_shown(project.root)} (no configuration file: the project root)"]
    else:
        yield "pytest configuration", [_shown(config.path)]
        yield "rootdir", [f"{_shown(config.rootdir)} (the configuration file's directory)"]
    if not is_directory:
        yield "file", [project.file_kind(path).value]


def _collection(path: Path, file: SourceFile, linter: Linter, is_directory: bool) -> Iterator[Row]:
    project, settings = file.project, file.settings
    config = project.pytest_config(file.path.parent)
    patterns = " ".join(config.python_files)
    if config.get_list("python_files"):
        yield "python_files", [f"{patterns} (`python_files` in {_shown(config.path)})"]
    else:
        yield "python_files", [f"{' '.join(DEFAULT_PYTHON_FILES)} (pytest's default)"]
    exclusion = project.exclusion(file.path)
    if exclusion is not None:
        yield "collected by pytest", [f"no: {_exclusion(exclusion)}"]
    elif is_directory or path.name == "conftest.py" or project.is_test_file(path):
        yield "collected by pytest", ["yes"]
    else:
        yield "collected by pytest", [f"no: `python_files` does not name it ({patterns})"]
    if is_directory and skips_directory(path.resolve(), project, settings):
        yield "checked", ["no: testlint does not enter this directory when its parent is checked"]
    pattern = settings.excluded_by(file.path if not is_directory else path)
    if pattern is not None:
        where = _shown(settings.config_path)
        yield (
            "excluded",
            [
                f'yes: `exclude` pattern "{pattern}" ({where}): skipped when a directory is',
                "checked; checked when named, unless --force-exclude",
            ],
        )
    unevaluated = project.unevaluated_collect_ignores(file.path.parent)
    yield (
        "collect_ignore not read",
        [f"{_shown(conftest)}:{line}: {code}" for conftest, line, code in unevaluated]
        or ["(none)"],
    )


def _exclusion(exclusion: NotRecursed | Ignore) -> str:
    if isinstance(exclusion, NotRecursed):
        source = _shown(exclusion.source) if exclusion.source else "pytest's default"
        directory = _shown(exclusion.directory)
        return (
            f'`norecursedirs` pattern "{exclusion.pattern}" ({source}) matches {directory}/'
            ", unless pytest is given it or a path inside it"
        )
    where = _shown(exclusion.source)
    if exclusion.key.startswith("--"):
        return f"`{exclusion.key}={exclusion.written}` in `addopts` ({where})"
    return f'`{exclusion.key}` entry "{exclusion.written}" in {where}'


def _asyncio(file: SourceFile) -> Iterator[Row]:
    project = file.project
    mode = asyncio_mode(file)
    if mode.key == CODE_KEY:
        source = f"`{CODE_KEY} = ...` in {_shown(mode.where)}"
    elif mode.key == OPTION_KEY:
        source = f"`{OPTION_KEY}` in {_shown(mode.where)}"
    elif mode.key == "--asyncio-mode":
        source = f"`--asyncio-mode` in `addopts` ({_shown(mode.where)})"
    elif mode.key:
        source = f"`{mode.key}` in {_shown(mode.where)}"
    else:
        source = "pytest-asyncio's default"
    yield "mode", [f"{mode.mode} ({source})"]
    setup = mode.setup
    if setup is not None and setup.trio_mode:
        yield "trio_mode", ["true: pytest-trio runs every async test and fixture"]
    if setup is not None and setup.anyio_auto:
        yield "anyio_mode", ["auto: anyio runs every async test"]
    owner = project.owner(file.path)
    status = owner.pytest_asyncio_status
    yield (
        "pytest-asyncio",
        [
            {
                "used": "runs",
                "legacy": "runs, pinned before 0.19 (no strict mode by default)",
                "unused": "not declared, and no test module or conftest uses it",
                "other-plugin": "another plugin runs async tests",
            }[status.status],
            *map(_evidence, status.evidence),
        ],
    )
    yield "pytest-asyncio version", [_version(project.running_version(file.path, "pytest-asyncio"))]
    pytest = owner.version_evidence("pytest")
    yield (
        "pytest",
        [
            *(map(_evidence, pytest) if pytest else ["not declared"]),
            "(testlint reads the configuration as pytest 9 does)",
        ],
    )
    yield "pytest version", [_version(project.running_version(file.path, "pytest"))]


def _version(assumed: AssumedVersion) -> str:
    """The version the rules take a package to run, and why (`running_version`)."""
    if assumed.text is None:
        return "unknown: the declared requirements admit no release testlint knows"
    if assumed.how == "locked":
        where = ", ".join(_shown(e.path) for e in assumed.evidence if e.path)
        return f"{assumed.text} (locked in {where})"
    if assumed.how == "declared":
        return f"{assumed.text} (the newest release the declared requirements admit)"
    return f"{assumed.text} (not declared: the latest release)"


def _xdist(file: SourceFile) -> Iterator[Row]:
    project, settings = file.project, file.settings
    evidence = list(xdist_evidence(file))
    if xdist_disabled(file):
        config = project.pytest_config(file.path.parent).path
        yield "runs xdist", [f"no: `-p no:xdist` in `addopts` ({_shown(config)})"]
    elif evidence:
        yield "runs xdist", ["yes", *(_evidence(e) for e in evidence)]
    else:
        yield (
            "runs xdist",
            [
                "no: no `-n`/`--dist` in `addopts` or in a command running pytest,",
                "and pytest-xdist is not declared",
            ],
        )
    markers = settings.option(SERIAL_MARKERS)
    origin = _option_origin(settings, SERIAL_MARKERS.key)
    yield "serial markers", [f"{', '.join(markers)} ({origin})"]
    adoption = marker_adoption(file)
    adopted = []
    for marker in markers:
        reason = adoption.get(marker)
        if reason is None:
            adopted.append(f"{marker}: not adopted (not registered, not used in the suite)")
            continue
        where = _shown(reason.where)
        adopted.append(
            {
                "serial-markers": f"{marker}: `serial-markers` is set ({where})",
                "markers": f"{marker}: registered in `markers` ({where})",
                "conftest": f"{marker}: registered by {where}",
                "used": f"{marker}: used in {where}",
            }[reason.how]
        )
    yield "adopted", adopted
    yield "acted on by", list(_acting(file, markers)) or ["(nothing)"]
    registered = registered_markers(file)
    if registered is None:
        yield "registered markers", ["unknown: a conftest loads plugins (`pytest_plugins`)"]
    else:
        yield "registered markers", [", ".join(sorted(registered)) or "(none)"]


def _acting(file: SourceFile, markers: Sequence[str]) -> Iterator[str]:
    """Conftest hooks that name a marker, plugins named after it, and the `-m`
    selections of the commands running pytest that name it."""
    project = file.project
    scope = suite_scope(file)
    suite = suite_markers(scope, tuple(markers))
    owner = project.owner(file.path)
    for marker in markers:
        conftest = suite.handled_by.get(marker)
        if conftest is not None:
            group = " and maps it to `xdist_group`" if marker in suite.mapped_to_group else ""
            yield f"{marker}: a hook in {_shown(conftest)} names it{group}"
        for requirement in owner.requirements:
            if marker in requirement.name:
                yield f"{marker}: the plugin {requirement.name} (declared)"
    if suite.late_mapping is not None:
        where = _shown(suite.late_mapping)
        yield f"(too late: {where} maps to `xdist_group` without `tryfirst=True`)"
    for run in invocations(file):
        numbered = list(zip(run.numbers or (0,) * len(run.lines), run.lines))
        for expression in selecting(run, markers):
            number = next(
                (
                    n
                    for n, line in numbered
                    if expression in parse_invocation("", line).mark_expressions
                ),
                0,
            )
            where = _shown(run.path) if run.path is not None else run.source
            yield (
                f'`-m "{expression}"` ({where}:{number})'
                if number
                else (f'`-m "{expression}"` ({where})')
            )


def _testlint(
    path: Path, file: SourceFile, linter: Linter, options: RunOptions, is_directory: bool
) -> Iterator[Row]:
    settings, project = file.settings, file.project
    if options.isolated:
        yield "configuration", ["none (--isolated): defaults"]
    elif settings.config_path is None:
        yield "configuration", ["none found: defaults"]
    else:
        given = " (--config)" if options.config is not None else ""
        yield "configuration", [f"{_shown(settings.config_path)} ([tool.testlint]){given}"]
    yield "select", [_values(settings.select, _origin(settings, "select", options.select))]
    for key, cli in (("extend-select", options.extend_select), ("ignore", options.ignore)):
        values = settings.extend_select if key == "extend-select" else settings.ignore
        yield key, [_values(values, _origin(settings, key, cli or None, adds=True))]
    enabled = settings.enabled_codes(ALL_RULES)
    yield (
        "enabled rules",
        [
            f"{' '.join(r.code for r in ALL_RULES if r.code in enabled)} "
            f"({len(enabled)} of {len(ALL_RULES)})"
        ],
    )
    ignores = settings.per_file_ignores_for(file.path)
    yield (
        "per-file-ignores",
        [f'"{glob}" = {", ".join(selectors)}' for glob, selectors in ignores] or ["(none apply)"],
    )
    if not is_directory:
        kind = project.file_kind(path)
        codes = linter.codes_for(path, kind)
        yield "rules for this file", [f"{' '.join(codes) or '(none)'} (as a {kind.value})"]
    yield "exclude", [_values(settings.exclude, _origin(settings, "exclude", None))]
    unsafe_cli = None if options.unsafe_fixes is None else (options.unsafe_fixes,)
    yield (
        "unsafe-fixes",
        [f"{_toml(settings.unsafe_fixes)} ({_origin(settings, 'unsafe-fixes', unsafe_cli)})"],
    )
    directory = cache_directory(options, project, settings)
    if options.cache_dir is not None:
        cache_origin = "command line"
    elif os.environ.get("TESTLINT_CACHE_DIR"):
        cache_origin = "TESTLINT_CACHE_DIR"
    else:
        cache_origin = _origin(settings, "cache-dir", None)
    yield "cache-dir", [f"{directory} ({cache_origin})"]
    readers: dict[str, list[str]] = {}
    for rule in ALL_RULES:
        for option in rule.options:
            readers.setdefault(option.key, []).append(rule.code)
    for rule in ALL_RULES:
        for option in rule.options:
            if readers.get(option.key) is None:
                continue  # shown with the first rule that reads it
            value = _toml(settings.option(option))
            origin = _option_origin(settings, option.key)
            read_by = ", ".join(readers.pop(option.key))
            yield option.key, [f"{value} ({origin}; read by {read_by})"]


def _origin(
    settings: Settings, key: str, cli: Sequence[object] | None, *, adds: bool = False
) -> str:
    """Where a value of `[tool.testlint]` comes from: the command line (which
    replaces it, or for `adds` adds to it), the configuration file, or the default."""
    in_file = key in settings.configured
    where = settings.config_path.name if settings.config_path is not None else ""
    if cli is not None and in_file and adds:
        return f"{where} and the command line"
    if cli is not None:
        return "command line"
    return where if in_file else "default"


def _option_origin(settings: Settings, key: str) -> str:
    configured = key in settings.explicit_options and settings.config_path is not None
    return settings.config_path.name if configured and settings.config_path else "default"


def _values(values: Sequence[str], origin: str) -> str:
    return f"{', '.join(values) or '(none)'} ({origin})"


def _toml(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return json.dumps(value)
