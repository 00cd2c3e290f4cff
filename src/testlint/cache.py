"""The on-disk cache: a file whose inputs have not changed is not linted again.

An entry is keyed on everything a file's result depends on:

- the file's content (its SHA-256; `os.stat` only decides whether to re-hash);
- testlint (its version and source files), libcst and Python (the `ast` gate),
  the settings, the file's kind and path;
- the project's *environment*: every conftest and every configuration, dependency
  and CI file testlint reads (root files, `requirements/`, CI workflows, scripts,
  the files `project.run_files` reads, config files anywhere in the suite, the
  requirements files an `-r`/`-c` reaches wherever they are, and pytest's
  configuration files above the root, found or not: `environment_files`), and
  the names the source roots hold (where the import a fix adds goes);
- the project facts the file's rules declare (`Rule.facts`), each by the digest
  the fact itself defines (`facts.py`), plus the test modules whose content a
  cross-file question read. A fact is digested only when a cached entry needs it,
  and each entry stores the digests it was made with.

Results are cached for checking only; `--fix` and `--diff` use an entry only when
it holds no finding. An entry keeps the text edits of its findings' fixes when the
run that made it computed them (for the `full` format's fix preview, JSON and
SARIF); a run that shows them uses an entry only when it holds them. The cache
lives in `.testlint_cache/` under the project root (`cache-dir` in
`[tool.testlint]`, `--cache-dir`, or `TESTLINT_CACHE_DIR`), holds its own
`.gitignore`, and is written atomically: a broken or foreign file, or a finding,
stat or value in it of another shape, is ignored, never trusted. A stat taken
within `fingerprint.RACY_NS` of the run's start is not remembered.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from testlint.dependencies import (
    DEPENDENCY_FILES,
    LOCK_FILES,
    RUN_FILE_GLOBS,
    RUN_FILES,
    repository_root,
    requirement_files,
    run_file_paths,
)
from testlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Position
from testlint.engine import FileResult
from testlint.facts import FACTS
from testlint.files import skips_directory
from testlint.fingerprint import RACY_NS, code_fingerprint, combine, write_json_atomically
from testlint.index import source_roots
from testlint.locate import (
    DEFAULT_CACHE_DIRECTORY,
    ENVIRONMENT_DIRECTORIES,
    NEVER_READ,
    ProjectError,
    is_virtualenv,
)
from testlint.memo import Key
from testlint.project import ASYNCIO_MENTIONS, marks_in_text
from testlint.pytest_config import CONFIG_FILE_NAMES

if TYPE_CHECKING:
    from testlint.engine import Linter
    from testlint.project import Project
    from testlint.settings import Settings

FORMAT = 1
ENVIRONMENT_NAMES = frozenset(
    {
        *CONFIG_FILE_NAMES,
        "setup.py",
        "ruff.toml",  # how a fix sorts the import it adds (`imports.read_import_style`)
        ".ruff.toml",
        "noxfile.py",
        "conftest.py",
        "Makefile",
        "justfile",
        ".pre-commit-config.yaml",
        ".gitlab-ci.yml",
        "Pipfile",
        "environment.yml",
        *LOCK_FILES,  # which pytest-asyncio version runs (TL301/TL302)
    }
)


def suite_tokens(text: str) -> str:
    """What the suite facts can read from one test module's text: a superset of
    what `suite_markers` and `Project.pytest_asyncio` look for (marker names,
    plugins)."""
    found = {f"mark.{name}" for name in marks_in_text(text)}
    # As `Project.pytest_asyncio` looks for them: as text, `xmark.asyncio` too.
    found.update(word for word in ASYNCIO_MENTIONS if word in text)
    return " ".join(sorted(found))


def is_environment_file(name: str) -> bool:
    return name in ENVIRONMENT_NAMES or (name.endswith(".txt") and "requirements" in name)


_RUN_FILE_NAMES = re.compile(
    "|".join(fnmatch.translate(glob.rpartition("/")[2]) for glob in RUN_FILE_GLOBS)
)


def in_environment(path: str, root: str) -> bool:
    """Whether `environment_digest(root)` may read the file at absolute `path` (an
    over-estimate: run-file globs are matched on the file name only; but a
    requirements file included by name, `-r base.in`, is not known here)."""
    name = os.path.basename(path)
    if is_environment_file(name) or name in RUN_FILES or _RUN_FILE_NAMES.match(name):
        return True
    prefix = root.rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return False
    within = path[len(prefix) :].replace(os.sep, "/")
    return any(within.startswith(f"{sub}/") for sub in ENVIRONMENT_DIRECTORIES)


def stat_signature(path: Path) -> list[int] | None:
    """What `Hasher` keeps of a file's stat: re-read when any of it changes. The
    change time first: an edit that restores the size and modification time
    (`cp -p`, `touch -r`) still moves it, and it is when the file last changed."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_ctime_ns, found.st_mtime_ns, found.st_size, found.st_ino]


class Hasher:
    """Content hashes, re-read only when a file's stat changed (like git's index).

    Files are keyed by absolute path (the suite listing and the files named on the
    command line reach the same file by different paths) and stat'ed once a run:
    a run that writes fixes does not save the cache (see `runner._Store.save`). A
    stat too recent to vouch for the content (`fingerprint.RACY_NS`) is used for
    this run only, never remembered."""

    def __init__(self, known: Mapping[str, Any], started_ns: int | None = None) -> None:
        self.known = dict(known)
        self.seen: dict[str, list[Any]] = {}
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        """Before any stat was taken: what `racy` compares stats with."""
        try:
            self._cwd = os.getcwd()
        except OSError:  # the working directory was removed: paths stay as given
            self._cwd = ""

    def digest(self, path: Path) -> str:
        key = os.path.join(self._cwd, path)
        entry = self.seen.get(key)
        if entry is not None:
            return str(entry[-1])
        signature = stat_signature(path)
        if signature is None:
            return "missing"
        known: Any = self.known.get(key)
        if _vouches(known, signature):
            self.seen[key] = known
            return str(known[-1])
        try:
            data = path.read_bytes()
        except OSError:
            return "unreadable"
        return self.remember(key, signature, data)

    def learn(self, path: Path, signature: list[Any], digest: str) -> None:
        """Take a digest made elsewhere (a worker) of `path`'s bytes, read after
        its stat was `signature`."""
        self.seen[os.path.join(self._cwd, path)] = [*signature, digest]

    def remember(self, key: str, signature: list[Any], data: bytes) -> str:
        value = hashlib.sha256(data).hexdigest()
        self.seen[key] = [*signature, value]
        return value

    def racy(self, signature: list[Any]) -> bool:
        """Whether a stat taken this run is too recent to vouch for the content: a
        write in the same clock tick after the file was read could leave it as is."""
        changed_ns: int = max(signature[0], signature[1])
        return changed_ns >= self.started_ns - RACY_NS

    def memo(self) -> dict[str, list[Any]]:
        """What to remember: the stats known before, updated by this run's, and
        without this run's racy ones (the next run hashes those files again)."""
        found = {**self.known, **self.seen}
        for key, entry in self.seen.items():
            if self.racy(entry):
                del found[key]
        return found


def _vouches(entry: Any, signature: list[int]) -> bool:
    """Whether a remembered `[*signature, digest]` (read from the cache file, so
    of any shape) holds the digest of a file whose stat is now `signature`."""
    return (
        isinstance(entry, list)
        and len(entry) == len(signature) + 1
        and entry[:-1] == signature
        and isinstance(entry[-1], str)
    )


@dataclass
class Entry:
    diagnostics: list[dict[str, Any]]
    """`encode`d findings, as read: `decode` checks each."""
    groups: dict[str, str]
    """Group name -> digest it was made with; "tests:<path>" for a test module read."""


T = TypeVar("T")


def _typed(value: object, kind: type[T]) -> T:
    """`value`, which the cache file says is a `kind`. Raises TypeError."""
    if not isinstance(value, kind):
        raise TypeError(f"not a {kind.__name__}")
    return value


def _entry(raw: object) -> Entry:
    entry = _typed(raw, dict)
    return Entry(_typed(entry["d"], list), _typed(entry["g"], dict))


def _values(raw: object, wanted: Callable[[object], bool]) -> dict[str, Any]:
    """The items of a mapping read from the cache file whose value is `wanted`."""
    return {key: value for key, value in _typed(raw, dict).items() if wanted(value)}


@dataclass
class Cache:
    """One file per project root: the entries, the scope they were made in, and
    the stat memo of content hashes."""

    directory: Path
    root: Path
    scope: str = ""
    """Digest of what every entry shares (version, Python, environment files)."""
    entries: dict[str, Entry] = field(default_factory=dict)
    hasher: Hasher = field(default_factory=lambda: Hasher({}))
    fresh: dict[str, Entry] = field(default_factory=dict)
    """Entries used or made by this run: what `save` writes."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Content hash of a test module -> what the suite facts read from it."""
    tokens_used: dict[str, str] = field(default_factory=dict)
    exits: dict[str, int | None] = field(default_factory=dict)
    """Content hash of a project module -> the line of its exit at import."""
    exits_used: dict[str, int | None] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return self.directory / f"v{FORMAT}" / f"{combine([str(self.root)])[:32]}.json"

    @classmethod
    def load(cls, directory: Path, root: Path) -> Cache:
        """The cache of `root` in `directory`; an empty one when there is none, or
        when it is not one this version wrote (broken, foreign, not a file): a bad
        cache is as good as none, and the next save replaces it."""
        cache = cls(directory, root)
        try:
            raw = json.loads(cache.file.read_text(encoding="utf-8"))
            read = cls(
                directory,
                root,
                scope=_typed(raw["scope"], str),
                entries={k: _entry(v) for k, v in _typed(raw["entries"], dict).items()},
                hasher=Hasher(_typed(raw["stats"], dict), cache.hasher.started_ns),
                tokens=_values(raw["tokens"], lambda v: isinstance(v, str)),
                exits=_values(raw["exits"], lambda v: v is None or type(v) is int),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return cache  # (a symbolic link loop is an OSError, deep JSON a RecursionError)
        return read

    @classmethod
    def known_exits(cls, directory: Path, root: Path, scope: str) -> dict[str, int | None]:
        """The exit lines remembered by content hash, if made in `scope`."""
        cache = cls.load(directory, root)
        return cache.exits if cache.scope == scope else {}

    def enter(self, scope: str) -> None:
        """Keep the entries only if they were made in the same scope."""
        if scope != self.scope:
            # Another testlint (or Python): what it derived from file contents too.
            self.entries, self.tokens, self.exits = {}, {}, {}
        self.scope = scope

    def changed(self) -> bool:
        """Whether this run has anything new to remember (a warm run writes nothing)."""
        known, memo = self.hasher.known, self.hasher.memo()
        return (
            any(self.entries.get(k) is not entry for k, entry in self.fresh.items())
            or len(memo) != len(known)
            or any(known.get(k) != v for k, v in memo.items())
            or any(self.tokens.get(k) != v for k, v in self.tokens_used.items())
            or any(k not in self.exits or self.exits[k] != v for k, v in self.exits_used.items())
        )

    def _merged(self) -> dict[str, Any]:
        """What to write: this run's entries, and the earlier ones for files this run
        did not lint (a pre-commit run over a few files must not forget the rest)."""
        linted = {key.split("|", 1)[0] for key in self.fresh}
        kept = {k: e for k, e in self.entries.items() if k.split("|", 1)[0] not in linted}
        entries = {**kept, **self.fresh}
        tokens = {**self.tokens, **self.tokens_used}
        exits = {**self.exits, **self.exits_used}
        if len(tokens) > 2 * len(self.tokens_used) + 1000:  # old versions of files
            tokens = dict(self.tokens_used)
        if len(exits) > 2 * len(self.exits_used) + 1000:
            exits = dict(self.exits_used)
        return {
            "scope": self.scope,
            "entries": {k: {"d": e.diagnostics, "g": e.groups} for k, e in entries.items()},
            "stats": self.hasher.memo(),
            "tokens": tokens,
            "exits": exits,
        }

    def save(self) -> None:
        """Write entries used or made by this run, atomically (a concurrent run
        wins or loses whole)."""
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by testlint: a cache, never committed.\n*\n")
            write_json_atomically(self.file, self._merged())
        except OSError:
            pass  # a read-only checkout still lints; it just does not remember


def scope_digest(environment: str) -> str:
    """What every entry shares: the testlint that made it (its version and source
    files, libcst, Python: as a replay is keyed) and the environment files."""
    return combine([code_fingerprint(), environment])


def encode(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "start": [diagnostic.start.line, diagnostic.start.column],
        "end": [diagnostic.end.line, diagnostic.end.column],
        "fix_title": diagnostic.fix_title,
        "fix": diagnostic.fix_applicability.value if diagnostic.fix_applicability else None,
        "fix_lines": list(diagnostic.fix_lines) if diagnostic.fix_lines else None,
        **({"edits": _encode_edits(diagnostic.fix)} if diagnostic.fix is not None else {}),
    }


def _encode_edits(fix: Fix) -> list[list[Any]]:
    """A fix's text edits (`Diagnostic.fix`), kept so that a run whose output shows
    them (the `full` format's preview, JSON, SARIF) reuses the entry."""
    return [
        [edit.content, edit.start.line, edit.start.column, edit.end.line, edit.end.column]
        for edit in fix.edits
    ]


def _decode_fix(raw: dict[str, Any], title: str | None) -> Fix | None:
    edits = raw.get("edits")
    if edits is None or title is None or not raw["fix"]:
        return None
    return Fix(
        title,
        Applicability(raw["fix"]),
        tuple(Edit(content, Position(a, b), Position(c, d)) for content, a, b, c, d in edits),
    )


_APPLICABILITIES = frozenset(applicability.value for applicability in Applicability)


def _ints(value: object, count: int) -> bool:
    return isinstance(value, list) and len(value) == count and all(type(v) is int for v in value)


def _well_formed(raw: object) -> bool:
    """Whether a finding read from a cache file (or a run record) is as `encode`
    made it: anything else is input no run may trust."""
    if not isinstance(raw, dict):
        return False
    title, fix, lines = raw.get("fix_title", 0), raw.get("fix", 0), raw.get("fix_lines", 0)
    edits = raw.get("edits", [])
    return (
        isinstance(raw.get("code"), str)
        and isinstance(raw.get("name"), str)
        and isinstance(raw.get("message"), str)
        and _ints(raw.get("start"), 2)
        and _ints(raw.get("end"), 2)
        and (title is None or isinstance(title, str))
        and (fix is None or fix in _APPLICABILITIES)
        and (lines is None or _ints(lines, 2))
        and isinstance(edits, list)
        and all(
            isinstance(edit, list) and len(edit) == 5 and isinstance(edit[0], str) for edit in edits
        )
        and all(_ints(edit[1:], 4) for edit in edits)
    )


def decode(path: Path, raw: dict[str, Any]) -> Diagnostic:
    """The finding `encode` gave `raw`. Raises ValueError when `raw` is not one."""
    if not _well_formed(raw):
        raise ValueError(f"not a finding testlint stored: {str(raw)[:80]}")
    lines = raw["fix_lines"]
    return Diagnostic(
        path=path,
        code=raw["code"],
        name=raw["name"],
        message=raw["message"],
        start=Position(*raw["start"]),
        end=Position(*raw["end"]),
        fix_title=raw["fix_title"],
        fix_applicability=Applicability(raw["fix"]) if raw["fix"] else None,
        fix_lines=(lines[0], lines[1]) if lines else None,
        fix=_decode_fix(raw, raw["fix_title"]),
    )


class RunCache:
    """The cache as one run uses it: which files need linting, and what to remember."""

    def __init__(self, cache: Cache, project: Project, with_edits: bool) -> None:
        self.cache = cache
        self.project = project
        self.with_edits = with_edits
        project.exit_lines.known.update(cache.exits)
        self.hits: list[FileResult] = []
        self._groups: dict[str, str] = {}
        self._settings: dict[int, str] = {}
        self.offered: dict[str, str] = {}
        """Content hash -> suite tokens, from the workers that read the file."""

    def _settings_digest(self, linter: Linter) -> str:
        found = self._settings.get(id(linter))
        if found is None:
            found = combine([repr(linter.settings), repr(linter.gating)])
            self._settings[id(linter)] = found
        return found

    def key(self, path: Path, kind: str, linter: Linter) -> str:
        # Not hashed again: joining is cheaper, and the parts are already short.
        content = self.cache.hasher.digest(path)
        return f"{path}|{kind}|{self._settings_digest(linter)[:16]}|{content}"

    def lookup(self, key: str, path: Path, fixing: bool) -> FileResult | None:
        entry = self.cache.entries.get(key)
        if entry is None:
            return None
        try:
            found = [decode(path, d) for d in entry.diagnostics]
        except ValueError:
            return None  # a broken entry: as if absent (this run's result replaces it)
        if fixing and any(d["fix"] for d in entry.diagnostics):
            return None  # the fix must be applied
        if self.with_edits and any(d["fix"] and "edits" not in d for d in entry.diagnostics):
            return None  # its edits must be computed
        if any(self.group(name, path) != digest for name, digest in entry.groups.items()):
            return None
        self.cache.fresh[key] = entry
        return FileResult(path, diagnostics=found)

    def record(self, key: str, result: FileResult, tests_read: Iterable[Path]) -> None:
        """Remember a result made from the file as it is on disk now."""
        if result.errors or result.fixed is not None:
            return
        owner = self.project.owner(result.path)
        groups = {name: self._group(name, owner) for name in sorted(result.facts)}
        groups.update({f"file:{p}": self.cache.hasher.digest(p) for p in sorted(tests_read)})
        self.cache.fresh[key] = Entry([encode(d) for d in result.diagnostics], groups)

    def ties(self, key: str, path: Path) -> tuple[list[str], bool, str | None] | None:
        """What ties a checked file's entry to other files, for a replay that
        re-checks a few changed files (`runner.run_changed`): the test modules its
        result read (resolved), whether it read the suite's facts, and the file's
        suite tokens (None: not known). None when the file has no entry."""
        entry = self.cache.fresh.get(key)
        if entry is None:
            return None
        reads = sorted(os.path.realpath(name[5:]) for name in entry.groups if name[:5] == "file:")
        content = self.cache.hasher.digest(path)
        tokens = self.cache.tokens_used.get(content)
        if tokens is None:
            tokens = self.offered.get(content, self.cache.tokens.get(content))
        return reads, "suite" in entry.groups, tokens

    def group(self, name: str, path: Path) -> str:
        """The current digest of a group of project facts, for the file's project."""
        if name.startswith("file:"):
            return self.cache.hasher.digest(Path(name[5:]))
        return self._group(name, self.project.owner(path))

    def _group(self, name: str, owner: Project) -> str:
        key = f"{name}:{owner.root}"
        found = self._groups.get(key)
        if found is None:
            found = self._compute(name, owner)
            self._groups[key] = found
        return found

    # What a fact's digest reads through (`facts.Digests`).

    def content(self, path: Path) -> str:
        return self.cache.hasher.digest(path)

    def suite_tokens(self, path: Path) -> str:
        """What the suite facts (markers in use, pytest-asyncio in use) can read from
        one test module: editing a test without touching those changes nothing
        for the other files."""
        content = self.cache.hasher.digest(path)
        found = self.cache.tokens.get(content)
        if found is None:
            found = self.offered.get(content)
        if found is None:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            found = suite_tokens(text)
        self.cache.tokens_used[content] = found
        return found

    def exit_line(self, name: str, path: Path) -> int | None:
        """Where a module exits at import, remembered by its content hash (unchanged
        modules are not parsed again)."""
        content = self.cache.hasher.digest(path)
        if content in self.cache.exits:
            line = self.cache.exits[content]
        else:
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            line = self.project.exit_lines.line_of(name, path, data)
        self.cache.exits_used[content] = line
        return line

    def _compute(self, name: str, owner: Project) -> str:
        fact = FACTS.get(name)
        if fact is None:
            return "unknown"  # a fact this version does not know: never equal to an old one
        return fact.digest(owner, self)


ENVIRONMENT: Key[tuple[Path, ...]] = Key("environment files")


def environment_files(project: Project, settings: Settings) -> tuple[Path, ...]:
    """Every file of the project's environment (`_environment_files`), listed once
    a run: the cache keys on them, and a replay watches those outside the root."""
    enters = discovery_enters(project, settings)
    return project.memo.get(ENVIRONMENT, lambda: _environment_files(project.root, enters))


def discovery_enters(project: Project, settings: Settings) -> Callable[[Path], bool]:
    """Whether discovery walks a directory (`files.skips_directory`), asked of
    directories it may never reach: a broken configuration there is reported by
    discovery where it does walk, never by the readers that only watch."""

    def enters(directory: Path) -> bool:
        try:
            return not skips_directory(directory, project, settings)
        except ProjectError:
            return False

    return enters


def outside_root(project: Project, settings: Settings) -> list[str]:
    """The environment files outside the project's root, which a replay's snapshot
    of the root's tree does not hold (`record.snapshot`)."""
    root = str(project.root).rstrip(os.sep) + os.sep
    return [
        str(path) for path in environment_files(project, settings) if not str(path).startswith(root)
    ]


def environment_digest(project: Project, settings: Settings, cache: Cache) -> str:
    """The digest of every environment file's content ("missing" for one looked
    for but absent: creating it changes the digest), and of the module names the
    source roots hold (but the cache's own directory)."""
    files = environment_files(project, settings)
    contents = [f"{path}={cache.hasher.digest(path)}" for path in files]
    return combine([*contents, *_module_names(project.root, str(cache.directory))])


def _module_names(root: Path, cache_directory: str) -> Iterator[str]:
    """The names in each source root that may name a module (a directory, a `.py`
    or `.pyi` file): whether the import a fix adds is first party
    (`imports.ImportStyle.section`) and where it goes."""
    for source in source_roots(root):
        try:
            with os.scandir(source) as listing:
                names = sorted(
                    entry.name
                    for entry in listing
                    if entry.path != cache_directory and _may_name_module(entry)
                )
        except OSError:
            continue
        yield f"{source}{os.sep}:{' '.join(names)}"


def _may_name_module(entry: os.DirEntry[str]) -> bool:
    if entry.name.startswith(".") or entry.name in SKIPPED:
        return False
    try:
        return entry.name.endswith((".py", ".pyi")) or entry.is_dir()
    except OSError:
        return False


def _environment_files(root: Path, discovery_enters: Callable[[Path], bool]) -> tuple[Path, ...]:
    """Every configuration, dependency, CI and conftest file under the root (in the
    directories discovery walks too), the files `project.run_files` reads, the
    requirements files they include (wherever they are), and the pytest
    configuration files above the root (found or not); sorted, each once."""
    found: set[Path] = set()
    for name in os.listdir(root) if root.is_dir() else ():
        if is_environment_file(name) and os.path.isfile(root / name):
            found.add(root / name)
    # How the suite is run: CI scripts outside the directories below, too.
    found.update(root / name for name in RUN_FILES if os.path.isfile(root / name))
    for pattern in RUN_FILE_GLOBS:
        found.update(root.glob(pattern))
    # A sub-project's suite is also run by the repository's CI files (TL2xx read them).
    repository = repository_root(root)
    if repository != root.resolve():
        found.update(run_file_paths(repository))
    for sub in ENVIRONMENT_DIRECTORIES:
        for current, _, filenames in os.walk(root / sub):
            found.update(Path(current, filename) for filename in filenames)
    # pytest looks for its configuration above the project too.
    found.update(directory / name for directory in root.parents for name in CONFIG_FILE_NAMES)
    for current, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if _entered(os.path.join(current, d), discovery_enters)]
        here = Path(current)
        if here != root:
            found.update(here / name for name in filenames if is_environment_file(name))
        if here == root or _declares_dependencies(filenames):  # a project (`Project.owner`)
            found.update(requirement_files(here))
    return tuple(sorted(found))


def _entered(directory: str, discovery_enters: Callable[[Path], bool]) -> bool:
    """Whether the environment's walk enters `directory`: where every reader of the
    tree goes, and where discovery goes (a hidden directory `norecursedirs` allows)."""
    name = os.path.basename(directory)
    if name in SKIPPED or is_virtualenv(directory):
        return False
    return not name.startswith(".") or discovery_enters(Path(directory))


def _declares_dependencies(filenames: Iterable[str]) -> bool:
    return any(
        name in DEPENDENCY_FILES or (name.endswith(".txt") and "requirements" in name)
        for name in filenames
    )


SKIPPED = NEVER_READ | {"venv", DEFAULT_CACHE_DIRECTORY}
