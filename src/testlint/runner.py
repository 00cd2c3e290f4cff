"""A whole run: settings and project once, then every file through the engine."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testlint import cache, record
from testlint.config_lint import check_config, config_files
from testlint.diagnostics import Applicability, Diagnostic
from testlint.engine import FileResult, Linter
from testlint.files import PathError, SourcePath, WriteError, discover, write_atomically
from testlint.locate import (
    DEFAULT_CACHE_DIRECTORY,
    ConfigError,
    ProjectError,
    common_root,
    find_config_file,
    find_project_root,
)
from testlint.project import Project
from testlint.record import CheckedFile
from testlint.registry import ALL_RULES, RULES
from testlint.rule import FileKind, Rule
from testlint.settings import Settings, load_settings
from testlint.source import decode
from testlint.workers import (
    INTERRUPTED,
    Progress,
    WorkersStopped,
    in_workers,
    with_deep_stack,
)


@dataclass(frozen=True)
class RunOptions:
    fix: bool = False
    unsafe_fixes: bool | None = None
    """None: as configured (`unsafe-fixes`)."""
    diff: bool = False
    with_edits: bool = False
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    config: Path | None = None
    isolated: bool = False
    force_exclude: bool = False
    """Apply `exclude` to files named on the command line too."""
    gating: bool = True
    cache: bool = False
    """Read and write the on-disk cache (the CLI turns it on; see `cache.py`)."""
    cache_dir: Path | None = None
    jobs: int | None = None
    """Worker processes (None: one per core, for runs with many files)."""
    progress: bool = False
    """Draw a progress bar on stderr (the CLI decides: a terminal, not --quiet)."""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("config", "cache_dir"):
            data[name] = None if data[name] is None else str(data[name])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunOptions:
        """Options saved by `to_json` (a replay's record). Raises on foreign data."""
        values = dict(data)
        for name in ("select", "extend_select", "ignore"):
            if values[name] is not None:
                values[name] = tuple(str(item) for item in values[name])
        for name in ("config", "cache_dir"):
            if values[name] is not None:
                values[name] = Path(values[name])
        return cls(**values)


@dataclass
class RunResult:
    settings: Settings
    files: list[FileResult] = field(default_factory=list)
    """Every file checked (a re-check, `run_changed`: those with findings, and the
    files checked again)."""
    errors: list[str] = field(default_factory=list)
    """Problems that make the exit code 2: unreadable paths, internal errors."""
    warnings: list[str] = field(default_factory=list)
    """Problems with a file that leave it unchanged (fix not written)."""
    diffs: list[str] = field(default_factory=list)
    project: Project | None = None
    cache_directory: Path | None = None
    """Where the cache was read and written (None: no cache)."""
    newest_input_ns: int = 0
    """The latest modification time of a file the cache hashed (0: none)."""
    checked: list[CheckedFile] | None = None
    """Every file checked, as a replay re-checking a few of them needs it (None:
    not known, e.g. without the cache)."""
    cache_scope: str = ""
    """What the cache's entries were made in (`cache.scope_digest`)."""
    start: str = ""
    """Where the configuration was looked up from: the paths' common root."""
    checked_files: int = 0
    """How many files the run checked (cached answers and a re-check's unchanged
    files included): what the summary says."""
    linked: list[Path] = field(default_factory=list)
    """Directories discovery entered through a symbolic link (`Selection.linked`)."""
    configs: list[FileResult] | None = None
    """The configuration files' results, for a re-check to reuse (None: not
    reusable: a fix was written or shown, or a configuration could not be read)."""

    @property
    def diagnostics(self) -> list[Diagnostic]:
        found = [d for result in self.files for d in result.diagnostics]
        return sorted(found, key=Diagnostic.sort_key)

    @property
    def fixes_applied(self) -> int:
        return sum(result.fixes_applied for result in self.files)


@dataclass
class Partial:
    """What checking one file adds to a run: what a worker sends back (a
    `RunResult` would carry the settings too, pickled again for every file)."""

    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)


def resolve_settings(
    paths: Sequence[Path], options: RunOptions, rules: Sequence[type[Rule]] = ALL_RULES
) -> tuple[Settings, Project]:
    start = common_root(paths) if paths else Path.cwd()
    if options.config is not None:
        if not options.config.is_file():
            raise ConfigError(f"{options.config}: no such configuration file")
        config_path: Path | None = options.config.resolve()
    elif options.isolated:
        config_path = None
    else:
        config_path = find_config_file(start)
    root = config_path.parent if config_path else find_project_root(start)
    settings = load_settings(config_path, rules, root)
    overrides: dict[str, object] = {}
    if options.select is not None:
        overrides["select"] = options.select
    if options.extend_select:
        overrides["extend_select"] = settings.extend_select + options.extend_select
    if options.ignore:
        overrides["ignore"] = settings.ignore + options.ignore
    if options.unsafe_fixes is not None:
        overrides["unsafe_fixes"] = options.unsafe_fixes
    settings = dataclasses.replace(settings, **overrides)  # type: ignore[arg-type]
    settings.enabled_codes(rules)  # selectors given on the command line are checked too
    return settings, Project(root)


def _fix_level(options: RunOptions, settings: Settings) -> Applicability | None:
    if not (options.fix or options.diff):
        return None
    return Applicability.UNSAFE if settings.unsafe_fixes else Applicability.SAFE


def unified_diff(path: Path, before: bytes, after: bytes) -> str:
    name = path.as_posix()
    import difflib  # here: only --diff needs it

    lines = difflib.unified_diff(
        decode(before).splitlines(keepends=True),
        decode(after).splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def run(paths: Sequence[Path], options: RunOptions) -> RunResult:
    """Check (and maybe fix) every file under `paths`. Raises ConfigError."""
    return with_deep_stack(lambda: _run(paths, options))


def _loops(path: Path) -> bool:
    """A path that cannot be resolved (Python < 3.13 raises RuntimeError on loops)."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return True
    return False


@dataclass
class Selection:
    """The files a check would lint, found as `run` finds them: discovery, `exclude`,
    pytest's collection rules, the linter of each file's configuration."""

    start: Path
    """Where the configuration was looked up from: the paths' common root."""
    resolvable: list[Path]
    """The paths named that can be resolved (a symbolic link loop cannot)."""
    settings: Settings
    project: Project
    linters: _Linters
    work: list[tuple[SourcePath, Linter]]
    errors: list[str] = field(default_factory=list)
    """Paths that cannot be read (exit code 2)."""
    warnings: list[str] = field(default_factory=list)
    linked: list[Path] = field(default_factory=list)
    """Directories entered through a symbolic link found in a walk: what a replay
    watches besides the project's own tree (`record.snapshot` does not follow links)."""


def select(paths: Sequence[Path], options: RunOptions) -> Selection:
    """The files `run(paths, options)` checks, each with its linter. Raises ConfigError."""
    # Paths that cannot even be resolved are reported by `discover`, but must not
    # take part in finding the configuration.
    resolvable = [path for path in paths if not _loops(path)]
    start = common_root(resolvable) if resolvable else Path.cwd()
    try:
        settings, project = resolve_settings([start], options)
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    linters = _Linters(options, Linter(RULES, settings, project, gating=options.gating))
    linked: list[Path] = []
    try:
        found = list(
            discover(
                list(paths),
                project,
                settings,
                linters.main.file_kinds,
                force_exclude=options.force_exclude,
                linked=linked,
            )
        )
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    # Every configuration is read before any file is touched: a broken one found
    # half-way through must not leave the files before it fixed (ConfigError, exit 2).
    try:
        chosen = [
            (item, linters.for_path(item.path)) if isinstance(item, SourcePath) else (item, None)
            for item in found
        ]
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    selection = Selection(start, resolvable, settings, project, linters, [], linked=linked)
    for item, _ in chosen:
        if isinstance(item, PathError):
            message = f"{item.path}: {item.message}"
            (selection.warnings if item.warning else selection.errors).append(message)
    selection.work = [
        (item, linter) for item, linter in chosen if isinstance(item, SourcePath) and linter
    ]
    if not selection.work and not selection.errors:
        patterns = " ".join(project.pytest_config(start).python_files)
        shown = " ".join(str(path) for path in paths)
        selection.warnings.append(
            f"no test modules or conftests found in {shown} (python_files: {patterns})"
        )
    return selection


def _run(paths: Sequence[Path], options: RunOptions) -> RunResult:
    selection = select(paths, options)
    project, linters, work = selection.project, selection.linters, selection.work
    result = RunResult(selection.settings, project=project, start=str(selection.start))
    result.linked = selection.linked
    result.errors.extend(selection.errors)
    result.warnings.extend(selection.warnings)
    # Where fixes may be written (resolving every named file costs, so only to write).
    fixing = options.fix and not options.diff
    roots = [_root(path) for path in selection.resolvable] if fixing else []
    result.checked_files = len(work)
    store = _open_cache(options, project, linters.main.settings)
    todo = [(i, lint, "") for i, lint in work] if store is None else store.split(work, options)
    if store is not None:
        result.files.extend(store.hits)
        result.cache_directory = store.run_cache.cache.directory
    _lint(todo, options, roots, result, store)
    checked = ((item.path, linter.project) for item, linter in work)
    result.configs = _check_configs(checked, linters, options, roots, result)
    if store is not None:
        seen = store.run_cache.cache.hasher.seen.values()
        result.newest_input_ns = max((int(entry[0]) for entry in seen), default=0)
        result.checked = store.checked(result)
        result.cache_scope = store.run_cache.cache.scope
    if store is not None and not INTERRUPTED.is_set():
        store.save(written=result.fixes_applied > 0 and not options.diff)
    return result


@dataclass(frozen=True)
class Recorded:
    """A recorded run, as `run_changed` starts from it (`rerun.rerun` reads it)."""

    start: Path
    """Where its configuration was looked up from (`RunResult.start`)."""
    options: RunOptions
    checked: Sequence[CheckedFile]
    scope: str
    """The cache scope its entries were made in."""
    facts: Mapping[str, Any]
    """The project's facts then (`Project.known_facts`)."""
    configs: Sequence[tuple[str, list[dict[str, Any]]]] | None
    """Each configuration file's findings (`cache.encode`d), as shown (None: check
    them again)."""
    requirements: Mapping[str, Any]
    """The requirements the run read (`Project.known_requirements`)."""

    @classmethod
    def of(cls, result: RunResult, options: RunOptions) -> Recorded | None:
        """What a re-check of this run needs (None: it cannot start from this run)."""
        if result.checked is None or result.project is None:
            return None
        facts = result.project.known_facts()
        configs = None
        if result.configs is not None:
            configs = [
                (str(found.path), [cache.encode(d) for d in found.diagnostics])
                for found in result.configs
            ]
        start, checked, scope = Path(result.start), result.checked, result.cache_scope
        requirements = result.project.known_requirements()
        return cls(start, options, checked, scope, facts, configs, requirements)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": str(self.start),
            "options": self.options.to_json(),
            "checked": list(self.checked),
            "scope": self.scope,
            "facts": dict(self.facts),
            "configs": None if self.configs is None else [list(c) for c in self.configs],
            "requirements": dict(self.requirements),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recorded:
        """A record's `to_json` part. Raises on foreign data."""
        checked = [CheckedFile(*facts) for facts in data["checked"]]
        options = RunOptions.from_json(data["options"])
        configs = data["configs"]
        if configs is not None:
            configs = [(str(name), list(found)) for name, found in configs]
        start, scope = Path(data["start"]), str(data["scope"])
        facts, requirements = data["facts"], data["requirements"]
        return cls(start, options, checked, scope, facts, configs, requirements)


def run_changed(recorded: Recorded, changed: set[str]) -> RunResult | None:
    """The recorded run again, with the files named in `changed` (absolute paths of
    test modules no other recorded result read) checked anew and the others'
    findings reused: what `run` would find when only those files changed
    (`record.find` makes sure they did). None when that cannot be known (a changed
    file is not `_alone`, or its suite tokens changed and another file read
    them): then `run` runs."""
    return with_deep_stack(lambda: _run_changed(recorded, changed))


def _run_changed(recorded: Recorded, changed: set[str]) -> RunResult | None:
    options, checked, facts = recorded.options, recorded.checked, recorded.facts
    try:
        settings, project = resolve_settings([recorded.start], options)
    except (ConfigError, ProjectError):
        return None
    project.recall(facts)
    project.recall_requirements(recorded.requirements)
    if str(project.root) not in facts:
        # Unchanged modules need not be parsed again to know whether they exit.
        directory = cache_directory(options, project, settings)
        exits = cache.Cache.known_exits(directory, project.root, recorded.scope)
        project.exit_lines.known.update(exits)
    linters = _Linters(options, Linter(RULES, settings, project, gating=options.gating))
    start, scope = str(recorded.start), recorded.scope
    result = RunResult(settings, project=project, start=start, cache_scope=scope)
    result.checked = now = []
    result.checked_files = len(checked)
    suite_readers = sum(1 for entry in checked if entry.reads_suite)
    same_tokens = True
    is_changed = record.among(changed)
    for entry in checked:
        name, kind, encoded, _, uses_suite, tokens = entry
        if not is_changed(name):
            if encoded:  # the output is made of findings: files without any add nothing
                path = Path(name)
                findings = [cache.decode(path, raw) for raw in encoded]
                result.files.append(FileResult(path, diagnostics=findings))
            now.append(entry)
            continue
        path = Path(name)
        if not _alone(path, FileKind(kind), project):
            return None
        item = SourcePath(path, FileKind(kind), explicit=True)
        try:
            linter = linters.for_path(path)
        except ProjectError:
            return None
        partial, tests_read, read = _lint_one(item, linter, options, ())
        if partial.errors or partial.warnings or len(partial.files) != 1 or read is None:
            return None
        if read[1] != tokens:
            if suite_readers > int(uses_suite):
                return None  # another file's result read the suite's facts this changed
            same_tokens = False
        found = partial.files[0]
        result.files.append(found)
        result.newest_input_ns = max(result.newest_input_ns, os.stat(path).st_mtime_ns)
        reads = sorted(os.path.realpath(p) for p in tests_read)
        again = [cache.encode(d) for d in found.diagnostics]
        now.append(CheckedFile(name, kind, again, reads, "suite" in found.facts, read[1]))
    if same_tokens and recorded.configs is not None:
        # The configuration rules read no test module but through the suite facts,
        # and no token of those changed: the configuration files' results stand.
        result.configs = [_recorded_config(name, found) for name, found in recorded.configs]
        result.files.extend(result.configs)
        return result
    checked_paths = [Path(entry[0]) for entry in checked]
    paths = ((path, linters.for_path(path).project) for path in checked_paths)
    result.configs = _check_configs(paths, linters, options, (), result)
    return result


def _recorded_config(name: str, encoded: list[dict[str, Any]]) -> FileResult:
    path = Path(name)
    return FileResult(path, diagnostics=[cache.decode(path, raw) for raw in encoded])


def _check_configs(
    checked: Iterable[tuple[Path, Project]],
    linters: _Linters,
    options: RunOptions,
    roots: Sequence[Path],
    result: RunResult,
) -> list[FileResult] | None:
    """The configuration files pytest reads for the checked files, checked whole
    on every full run (never cached: `config_lint.py`), fixed too. Returns their
    results, for a re-check of a few test modules to reuse (None: a fix was
    written or shown, or the files could not be found)."""
    try:
        configs = config_files((path.parent, project) for path, project in checked)
        linted = [(config, linters.for_path(config)) for config in configs]
    except ProjectError as exc:
        result.errors.append(str(exc))
        return None
    results: list[FileResult] | None = []
    for config, linter in linted:
        level = _fix_level(options, linter.settings)
        found = check_config(config, linter.settings, linter.project, level)
        if found is None:
            continue
        _show_from_here(found)
        result.files.append(found)
        if found.fixed is None:
            if results is not None:
                results.append(found)
            continue
        results = None
        if options.diff:
            result.diffs.append(unified_diff(found.path, found.original, found.fixed))
        elif not INTERRUPTED.is_set():
            _write_config(config, found, linter, [*roots, config.parent], result)
    return results


def _show_from_here(found: FileResult) -> None:
    """A configuration file is found resolved: its findings name it as discovery
    names the files checked, from the current directory when it is below it."""
    try:
        shown = found.path.relative_to(Path.cwd())
    except ValueError:
        return
    found.path = shown
    found.diagnostics = [dataclasses.replace(d, path=shown) for d in found.diagnostics]


def _write_config(
    config: Path, found: FileResult, linter: Linter, roots: Sequence[Path], result: RunResult
) -> None:
    assert found.fixed is not None
    try:
        _check_writable_location(config, roots)
        write_atomically(config, found.original, found.fixed)
    except WriteError as exc:
        result.warnings.append(f"{config}: {exc}")
        # Not written: what is reported is what the file still contains.
        found.fixes_applied = 0
        unfixed = check_config(config, linter.settings, linter.project)
        shown = found.path
        found.diagnostics = [
            dataclasses.replace(d, path=shown) for d in (unfixed.diagnostics if unfixed else [])
        ]


def _root(path: Path) -> Path:
    """What a path named on the command line lets testlint write under: the
    directory itself, or the directory holding a named file."""
    real = Path(os.path.realpath(path))
    return real if real.is_dir() else Path(os.path.realpath(path.parent))


def _check_writable_location(path: Path, roots: Sequence[Path]) -> None:
    """A symbolic link is written through only to a target inside the checked paths."""
    target = Path(os.path.realpath(path))
    if any(target == root or root in target.parents for root in roots):
        return
    raise WriteError(
        f"not written: it is a symbolic link to {target}, which is outside the checked paths"
    )


class _Linters:
    """One linter per `[tool.testlint]`: each file gets the configuration nearest
    to it, as in ruff (unless `--config` or `--isolated` names one for all)."""

    def __init__(self, options: RunOptions, main: Linter) -> None:
        self.options = options
        self.main = main
        self._by_config: dict[Path | None, Linter] = {main.settings.config_path: main}
        self._by_directory: dict[Path, Linter] = {}
        self._by_name: dict[Path, Linter] = {}
        self._config_files: dict[Path, Path | None] = {}

    def for_path(self, path: Path) -> Linter:
        if self.options.config is not None or self.options.isolated:
            return self.main
        known = self._by_name.get(path.parent)
        if known is not None:
            return known
        linter = self._for_directory(path.resolve().parent)
        self._by_name[path.parent] = linter
        return linter

    def _for_directory(self, directory: Path) -> Linter:
        linter = self._by_directory.get(directory)
        if linter is None:
            config = find_config_file(directory, self._config_files)
            linter = self._by_config.get(config)
            if linter is None:
                settings, project = resolve_settings([directory], self.options)
                linter = Linter(RULES, settings, project, gating=self.options.gating)
                self._by_config[config] = linter
            self._by_directory[directory] = linter
        return linter


def _check_one(
    linter: Linter,
    item: SourcePath,
    level: Applicability | None,
    options: RunOptions,
    result: Partial,
    roots: Sequence[Path],
) -> None:
    try:
        source = item.path.read_bytes()
    except IsADirectoryError:
        return
    except OSError as exc:
        result.errors.append(f"{item.path}: cannot read: {exc.strerror}")
        return
    try:
        checked_by = _check_despite_bugs(linter, item.path, source, item.kind, level, options)
    except ProjectError as exc:
        result.errors.append(str(exc))
        return
    result.errors.extend(f"{item.path}: {error}" for error in checked_by.errors)
    if checked_by.result is None:
        return
    checked, linter = checked_by.result, checked_by.linter
    result.files.append(checked)
    _tell(item.path, checked.errors, result.errors, result.warnings)
    if checked.fixed is None:
        return
    if options.diff:
        result.diffs.append(unified_diff(item.path, source, checked.fixed))
        return
    if INTERRUPTED.is_set():
        return
    try:
        _check_writable_location(item.path, roots)
        write_atomically(item.path, source, checked.fixed)
    except WriteError as exc:
        result.warnings.append(f"{item.path}: {exc}")
        # Not written: what is reported is what the file still contains.
        checked.fixes_applied = 0
        unfixed = linter.check(item.path, source, item.kind, with_edits=options.with_edits)
        checked.diagnostics = unfixed.diagnostics


BUG = "this is a testlint bug, please report it"
"""How every message of an internal error ends (the engine's too)."""
MAX_BROKEN_RULES = 3
"""Rules that may raise on one file before testlint gives up checking it."""


def internal_error(exc: BaseException, rule: type[Rule] | None = None) -> str:
    """An unexpected exception, told in one line: what, in which rule, where it was
    raised (for the bug report). Never a traceback: Python ends on one with exit 1,
    which means "problems found"."""
    where = ""
    frames = list(traceback.walk_tb(exc.__traceback__))
    if frames:
        frame, line = frames[-1]
        where = f" at {os.path.basename(frame.f_code.co_filename)}:{line}"
    culprit = f" in {rule.code}" if rule is not None else ""
    return f"internal error ({type(exc).__name__}: {exc}){culprit}{where}; {BUG}"


@dataclass
class _Checked:
    result: FileResult | None
    """None: no check of the file got through."""
    linter: Linter
    """The linter that made `result` (without the rules that raised)."""
    errors: list[str] = field(default_factory=list)


def _check_despite_bugs(
    linter: Linter,
    path: Path,
    source: bytes,
    kind: FileKind,
    level: Applicability | None,
    options: RunOptions,
) -> _Checked:
    """`linter.check`; when it raises (a bug), the error, and the file checked again
    without the rule that raised (without fixes, when no rule did): a bug in one
    rule must not hide the file's other findings. Raises ProjectError."""
    checked = _Checked(None, linter)
    for _ in range(MAX_BROKEN_RULES):
        try:
            checked.result = checked.linter.check(
                path, source, kind, fix=level, with_edits=options.with_edits
            )
            return checked
        except ProjectError:
            raise
        except Exception as exc:
            rule = _raised_in(exc)
            checked.errors.append(internal_error(exc, rule))
            if rule is not None:
                checked.linter = _without(checked.linter, rule)
            elif level is not None:
                level = None
            else:
                return checked
    return checked


def _raised_in(exc: BaseException) -> type[Rule] | None:
    """The rule (of `RULES`) whose method raised `exc`, innermost first, if any."""
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
        rule = owner if isinstance(owner, type) else type(owner)
        if rule in RULES:
            return rule
    return None


def _without(linter: Linter, rule: type[Rule]) -> Linter:
    ignore = (*linter.settings.ignore, rule.code)
    settings = dataclasses.replace(linter.settings, ignore=ignore)
    return Linter(RULES, settings, linter.project, gating=linter.gating)


def _tell(path: Path, messages: Sequence[str], errors: list[str], warnings: list[str]) -> None:
    """The engine's messages about a file: a bug of testlint's is an error (exit 2)."""
    for message in messages:
        (errors if message.endswith(BUG) else warnings).append(f"{path}: {message}")


def run_source(
    source: bytes, filename: Path | None, options: RunOptions
) -> tuple[RunResult, bytes]:
    """Check text from standard input; returns the (maybe fixed) source too."""
    return with_deep_stack(lambda: _run_source(source, filename, options))


def _run_source(
    source: bytes, filename: Path | None, options: RunOptions
) -> tuple[RunResult, bytes]:
    anchor = filename if filename is not None else Path.cwd() / "stdin.py"
    try:
        settings, project = resolve_settings([anchor.parent], options)
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    linter = Linter(RULES, settings, project, gating=options.gating)
    kind = project.file_kind(anchor) if filename is not None else FileKind.TEST
    display = filename if filename is not None else Path("-")
    level = _fix_level(options, settings)
    checked_by = _check_despite_bugs(linter, display, source, kind, level, options)
    result = RunResult(settings, checked_files=1)
    result.errors.extend(f"{display}: {error}" for error in checked_by.errors)
    checked = checked_by.result
    if checked is None:
        return result, source
    result.files.append(checked)
    _tell(display, checked.errors, result.errors, result.warnings)
    fixed = checked.fixed if checked.fixed is not None else source
    if options.diff and checked.fixed is not None:
        result.diffs.append(unified_diff(display, source, checked.fixed))
    return result, fixed


# ------------------------------------------------------------------ cache, workers, progress

Work = tuple[SourcePath, Linter, str]
PARALLEL_MIN_FILES = 24
"""Below this, starting workers costs more than it saves."""


def cache_directory(options: RunOptions, project: Project, settings: Settings) -> Path:
    directory = (
        options.cache_dir
        or (
            Path(os.environ["TESTLINT_CACHE_DIR"]) if os.environ.get("TESTLINT_CACHE_DIR") else None
        )
        or settings.cache_dir
        or project.root / DEFAULT_CACHE_DIRECTORY
    )
    return Path(os.path.realpath(directory))  # a symbolic link loop raises nothing here


def _open_cache(options: RunOptions, project: Project, settings: Settings) -> _Store | None:
    if not options.cache:
        return None
    store = cache.Cache.load(cache_directory(options, project, settings), project.root)
    store.enter(cache.scope_digest(cache.environment_digest(project, settings, store)))
    return _Store(cache.RunCache(store, project, options.with_edits))


class _Store:
    def __init__(self, run_cache: cache.RunCache) -> None:
        self.run_cache = run_cache
        self.hits: list[FileResult] = []
        self.keys: list[tuple[SourcePath, str]] = []

    def split(self, work: list[tuple[SourcePath, Linter]], options: RunOptions) -> list[Work]:
        """The work left once the cache answered. With no entry to find (a first
        run, a new scope), no file is read here: its key is made from what the
        worker read (`key_of_read`)."""
        if not self.run_cache.cache.entries:
            return [(item, linter, "") for item, linter in work]
        todo: list[Work] = []
        fixing = options.fix or options.diff
        for item, linter in work:
            key = self.run_cache.key(item.path, item.kind.value, linter)
            self.keys.append((item, key))
            hit = self.run_cache.lookup(key, item.path, fixing)
            if hit is None:
                todo.append((item, linter, key))
            else:
                self.hits.append(hit)
        return todo

    def key_of_read(self, item: SourcePath, linter: Linter, read: Read | None) -> str:
        """The entry key of a file the parent did not hash: from what the worker
        read ("" when it read nothing)."""
        if read is None:
            return ""
        content, _, stat = read
        if stat is None:
            return ""
        self.run_cache.cache.hasher.learn(item.path, stat, content)
        return self.run_cache.key(item.path, item.kind.value, linter)

    def checked(self, result: RunResult) -> list[CheckedFile] | None:
        """The checked files for a replay, or None if one of them has no entry."""
        if result.errors or result.warnings or result.fixes_applied:
            return None
        findings = {checked.path: checked.diagnostics for checked in result.files}
        facts: list[CheckedFile] = []
        for item, key in self.keys:
            ties = self.run_cache.ties(key, item.path)
            if ties is None or item.path not in findings:
                return None
            reads, uses_suite, tokens = ties
            encoded = [cache.encode(d) for d in findings[item.path]]
            facts.append(
                CheckedFile(str(item.path), item.kind.value, encoded, reads, uses_suite, tokens)
            )
        return facts

    def save(self, written: bool) -> None:
        # Files written by --fix changed what other entries were made against.
        if not written and self.run_cache.cache.changed():
            self.run_cache.cache.save()


def _alone(path: Path, kind: FileKind, project: Project) -> bool:
    """Whether a change to the file can change no other file's result except
    through its suite tokens (and the files that read it, which `CheckedFile` lists):
    a test module that no configuration, CI or conftest reading sees."""
    if kind is not FileKind.TEST:
        return False
    named = os.path.abspath(path)
    if os.path.realpath(path) != named:  # a link, or under one
        return False
    roots = {str(project.root), str(project.owner(path).root)}
    return not any(cache.in_environment(named, root) for root in roots)


def _lint(
    todo: list[Work],
    options: RunOptions,
    roots: Sequence[Path],
    result: RunResult,
    store: _Store | None,
) -> None:
    bar = Progress(len(todo), enabled=options.progress)
    jobs = _jobs(options, len(todo))
    if jobs <= 1:
        outcomes = _serially(todo, options, roots)
    elif options.jobs is None:
        outcomes = _serially_then_in_workers(todo, options, roots, jobs)
    else:
        outcomes = _in_workers(todo, options, roots, jobs)
    done: dict[int, Outcome] = {}
    keys: dict[int, str] = {}
    try:
        for number, outcome in outcomes:
            done[number] = outcome
            if store is not None:  # while the workers go on
                read = outcome[2]
                if read is not None:
                    store.run_cache.offered[read[0]] = read[1]
                item, linter, key = todo[number]
                keys[number] = key or store.key_of_read(item, linter, read)
            bar.advance()
    except WorkersStopped as stopped:
        # Never a success, nor "problems found": the files left are unknown.
        missing = len(todo) - len(done)
        lost = ", or their results were lost" if stopped.lost else ""
        result.errors.append(
            f"the run did not complete: {stopped}; "
            f"{missing} of {result.checked_files} files were not checked{lost}"
        )
        result.checked_files -= missing
    finally:
        bar.close()
    if store is not None:
        # Once every file is in: the suite's digest then reads no file again.
        for number in sorted(done):
            partial, tests_read, _ = done[number]
            if not todo[number][2]:  # `split` listed the others
                store.keys.append((todo[number][0], keys[number]))
            if keys[number] and len(partial.files) == 1 and not partial.errors:
                store.run_cache.record(keys[number], partial.files[0], tests_read)
    for number in sorted(done):  # in path order, however the workers finished
        partial = done[number][0]
        result.files.extend(partial.files)
        result.errors.extend(partial.errors)
        result.warnings.extend(partial.warnings)
        result.diffs.extend(partial.diffs)


def _jobs(options: RunOptions, files: int) -> int:
    if options.jobs is not None:
        wanted = options.jobs
    elif files < PARALLEL_MIN_FILES:
        return 1
    else:
        wanted = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
    # Workers are forked so that they share the project model already built; where
    # fork is not the platform's safe default (macOS, Windows), the run is serial.
    if sys.platform != "linux":
        return 1
    return max(1, min(wanted, files))


Read = tuple[str, str, "list[int] | None"]
"""What a worker read of a file, for the cache: the content hash and suite tokens
of the bytes it linted, and the file's stat taken before reading them (a file
changed in between has another stat by the next run, which hashes it again)."""
Outcome = tuple[Partial, frozenset[Path], "Read | None"]
"""A file's result, the test modules a cross-file question read, and what was
read (None without a cache)."""


def _serially(
    todo: list[Work],
    options: RunOptions,
    roots: Sequence[Path],
    numbers: Sequence[int] | None = None,
) -> Iterator[tuple[int, Outcome]]:
    for number in range(len(todo)) if numbers is None else numbers:
        if INTERRUPTED.is_set():
            return
        item, linter, _ = todo[number]
        yield number, _lint_one(item, linter, options, roots)


SERIAL_HEAD_SECONDS = 0.5
"""A run that may use workers (`--jobs` not given) lints files in this process
first, for up to this much CPU time, before starting any: a run that ends within
it starts none (their start and the project facts each would learn again cost
more CPU than the wall time they save), and the workers of a longer one inherit
what those files made the project model learn (the suite's markers, the project
modules a patch target names). How long the rest will take cannot be told from
the first files: a few libcst parses make most of a run's cost."""
MIN_FILES_FOR_WORKERS = 8
"""Fewer files left after the first ones are linted here too."""


def _serially_then_in_workers(
    todo: list[Work], options: RunOptions, roots: Sequence[Path], jobs: int
) -> Iterator[tuple[int, Outcome]]:
    """`_in_workers` for a run whose worker count was not given: first up to
    `SERIAL_HEAD_SECONDS` here, then workers for the rest."""
    started = time.thread_time()
    done: set[int] = set()
    for number, outcome in _serially(todo, options, roots):
        done.add(number)
        yield number, outcome
        if time.thread_time() - started >= SERIAL_HEAD_SECONDS:
            break
    rest = [n for n in range(len(todo)) if n not in done]
    if not rest or INTERRUPTED.is_set():
        return
    if len(rest) < MIN_FILES_FOR_WORKERS:
        yield from _serially(todo, options, roots, rest)
    else:
        yield from _in_workers(todo, options, roots, jobs, rest)


def _in_workers(
    todo: list[Work],
    options: RunOptions,
    roots: Sequence[Path],
    jobs: int,
    numbers: Sequence[int] | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """Lint `numbers` (default: every file) in `jobs` forked workers."""
    chosen = list(range(len(todo)) if numbers is None else numbers)
    linters = {id(linter): linter for _, linter, _ in todo}
    for linter in linters.values():  # the facts the workers would each build
        linter.prepare(item.path for item, other, _ in todo if other is linter)

    def lint(index: int) -> Outcome:
        item, linter, _ = todo[chosen[index]]
        return _lint_one(item, linter, options, roots)

    sizes = [_size(todo[number][0].path) for number in chosen]
    first = _likely_parsed([todo[number] for number in chosen])
    for index, outcome in in_workers(sizes, jobs, lint, first):
        yield chosen[index], outcome


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _lint_one(
    item: SourcePath, linter: Linter, options: RunOptions, roots: Sequence[Path]
) -> Outcome:
    tests_read = linter.project.tests_read
    tests_read.clear()
    partial = Partial()
    stat = cache.stat_signature(item.path) if options.cache else None  # before reading: `Read`
    _check_one(linter, item, _fix_level(options, linter.settings), options, partial, roots)
    read = None
    for checked in partial.files:
        if options.cache:  # keyed by what was read: the file may have changed since
            read = (
                hashlib.sha256(checked.original).hexdigest(),
                cache.suite_tokens(checked.original.decode("utf-8", "replace")),
                stat,
            )
        checked.original = b""  # not needed once checked; workers would send it back
    return partial, frozenset(tests_read), read


PRESCAN_FILES = 200
"""Runs of at most this many files read them in the parent first (`_likely_parsed`)."""
SELECTIVE = 0.25
"""A rule whose trigger words occur in at most this share of a run's files."""


def _likely_parsed(todo: list[Work]) -> frozenset[int]:
    """The files a libcst parse is likely for, to hand out first: those holding the
    trigger words of a selective rule (`SELECTIVE`). A parse costs ten times the
    gates, so in a run of a few dozen files one such file handed out last keeps
    one worker busy after the other is done (pytest's `testing/`: 16% of the wall
    time). Only for small runs (`PRESCAN_FILES`): in large ones, the parses spread
    over both workers anyway, and reading every file twice would cost more."""
    if len(todo) > PRESCAN_FILES:
        return frozenset()
    triggered: list[frozenset[str]] = []
    for item, linter, _ in todo:
        try:
            text = item.path.read_bytes().decode("utf-8", "replace")
        except OSError:
            text = ""
        triggered.append(linter.triggered(text))
    counts = Counter(code for codes in triggered for code in codes)
    selective = {code for code, count in counts.items() if count <= SELECTIVE * len(todo)}
    return frozenset(number for number, codes in enumerate(triggered) if codes & selective)
