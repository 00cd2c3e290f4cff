"""What is known about the project being checked, computed once per run.

`Project` answers, per directory or file: the pytest configuration that applies
(`pytest_config.py`), what the project declares (`dependencies.py`: so rules can
ask `project.uses("pytest-xdist")`), which files are test modules and conftests
and whether pytest collects them, the sub-project a file belongs to (`owner`), and
the facts rules read beyond their file (`facts.py`): the suite's files, the module
index (`index.py`), the modules that exit at import.

Nothing here imports or runs project code.
"""

from __future__ import annotations

import enum
import itertools
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from testlint.dependencies import (
    BEFORE_ONE,
    DEPENDENCY_FILES,
    RELEASES,
    Locked,
    Requirement,
    declared_requirements,
    declared_requires_python,
    generated_files,
    highest_admitted,
    locked_packages,
    lowest_admitted,
    normalize_name,
    pinned_before_strict_default,
    release,
    repository_root,
    run_files,
)
from testlint.imports import ImportStyle, read_import_style
from testlint.index import ExitLines, ModuleIndex, build_index, exiting_modules, source_roots
from testlint.locate import (
    BUILD_DIRECTORIES,
    NEVER_READ,
    ProjectError,
    is_virtualenv,
    resolve_once,
)
from testlint.memo import Key, Memo
from testlint.pytest_config import (
    CONFIG_FILES,
    DEFAULT_NORECURSEDIRS,
    DEFAULT_PYTEST_CONFIG,
    CollectIgnores,
    Ignore,
    PytestConfig,
    addopts_ignore_entries,
    configuration_names_in,
    names_matcher,
    python_files_match,
    read_collect_ignores,
)

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class NotRecursed:
    """`norecursedirs` keeps pytest out of a directory, so out of its files."""

    directory: Path
    """The directory (between the rootdir and the file) that a pattern matches."""
    pattern: str
    source: Path | None
    """The configuration file that sets `norecursedirs` (None: pytest's default)."""


Exclusion = Union[NotRecursed, Ignore]
"""Why pytest does not collect a file (`Project.exclusion`)."""
DirectoryRules = Union[NotRecursed, tuple[Ignore, ...]]
"""For the files of one directory: `norecursedirs` excludes them all, or the
ignores that may apply (none: every file is collected)."""


@dataclass(frozen=True)
class Evidence:
    """What a file says that decided an answer of the project model."""

    what: str
    """What it says: `pytest-asyncio >=0.23 declared`, `0.18.3 locked`."""
    path: Path | None = None
    """The file that says it (None: not a file)."""


@dataclass(frozen=True)
class PluginStatus:
    """Whether a plugin runs, and what says so (`Project.pytest_asyncio_status`)."""

    status: str
    evidence: tuple[Evidence, ...]
    """Empty: nothing declares or uses it."""


def _declared(requirement: Requirement) -> Evidence:
    specifier = f" {requirement.specifier}" if requirement.specifier else ""
    return Evidence(f"{requirement.name}{specifier} declared", requirement.source)


def _locked(name: str, locked: Locked) -> Evidence:
    return Evidence(f"{name} {locked.version} locked", locked.source)


@dataclass(frozen=True)
class AssumedVersion:
    """The version of a package testlint takes the suite to run
    (`Project.assumed_version`), and what says so."""

    text: str | None
    """`1.5.0`; None when the declared specifiers admit no release testlint knows
    (or cannot be read): rules that ask then stay silent."""
    how: str
    """ "locked" (a lock file pins it), "declared" (the newest release the declared
    specifiers admit) or "latest" (not declared: what an install brings)."""
    evidence: tuple[Evidence, ...]
    lowest: str | None = None
    """The oldest release the project admits: the locked one, the oldest that the
    declared specifiers admit, or the oldest testlint knows (None: not known)."""

    def admits_below(self, version: tuple[int, ...]) -> bool | None:
        """Whether the project admits a release older than `version`: it was
        written for one, unless a lock file or a bound says otherwise."""
        return None if self.lowest is None else release(self.lowest) < version

    def at_least(self, version: tuple[int, ...]) -> bool | None:
        """Whether it is `version` or later (None: not known)."""
        return None if self.text is None else release(self.text) >= version

    def below(self, version: tuple[int, ...]) -> bool | None:
        """Whether it is older than `version` (None: not known)."""
        return None if self.text is None else release(self.text) < version


class FileKind(enum.Enum):
    """What pytest makes of a Python file (decides which rules look at it)."""

    TEST = "test module"
    CONFTEST = "conftest"
    OTHER = "other module"


# ---------------------------------------------------------------- dependencies


# ---------------------------------------------------------------- collection


def is_relative_to(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` for messages, or whole when it lies elsewhere."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


# ---------------------------------------------------------------- async plugins

_P = TypeVar("_P")
_T = TypeVar("_T")

ASYNC_TEST_PLUGINS = ("pytest-aio", "pytest-tornasync", "pytest-sanic")
"""Plugins that run every coroutine test (and async fixture) themselves."""
SUITE_SKIPPED = NEVER_READ | BUILD_DIRECTORIES


# ---------------------------------------------------------------- the project


_MARK = re.compile(r"mark\.(\w+)")
_WORD = re.compile(r"\w")


ASYNCIO_MENTIONS = ("pytest_asyncio", "mark.asyncio")
"""Text that tells a test module uses pytest-asyncio (when dependencies do not say)."""


def marks_in_text(text: str) -> list[str]:
    """The `name` of every `mark.name` in `text` (not `trademark.x`): what
    `\\bmark\\.(\\w+)` finds, ten times faster (a leading `\\b` keeps the regex
    engine from searching for the literal first)."""
    names = []
    match = _MARK.search(text)
    while match is not None:
        start = match.start()
        if start and _WORD.match(text, start - 1):
            match = _MARK.search(text, start + 1)  # `amark.mark.x` holds `mark.x`
        else:
            names.append(match[1])
            match = _MARK.search(text, match.end())
    return names


_ASSUMED_VERSION: Key[AssumedVersion] = Key("the version of a package the suite runs")


@dataclass
class Project:
    """Facts about the project, shared by every rule in a run."""

    root: Path
    _configs: dict[Path, PytestConfig] = field(default_factory=dict, repr=False)
    _ignores: dict[Path, CollectIgnores] = field(default_factory=dict, repr=False)
    _owners: dict[Path, Project] = field(default_factory=dict, repr=False)
    _owners_by_name: dict[Path, Project] = field(default_factory=dict, repr=False)
    _configs_by_name: dict[Path, PytestConfig] = field(default_factory=dict, repr=False)
    _resolved_dirs: dict[str, str] = field(default_factory=dict, repr=False)
    _real_directories: dict[Path, Path] = field(default_factory=dict, repr=False)
    _test_names: dict[str, Callable[[str], bool]] = field(default_factory=dict, repr=False)
    _matchers: dict[tuple[str, ...], Callable[[str], bool]] = field(
        default_factory=dict, repr=False
    )
    _rules_by_name: dict[str, DirectoryRules] = field(default_factory=dict, repr=False)
    _collection_rules: dict[Path, DirectoryRules] = field(default_factory=dict, repr=False)
    _norecursed: dict[tuple[Path, Path, tuple[str, ...]], tuple[Path, str] | None] = field(
        default_factory=dict, repr=False
    )
    _ignores_above: dict[tuple[Path, Path], tuple[Ignore, ...]] = field(
        default_factory=dict, repr=False
    )
    _conftests: dict[Path, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _conftest_files: dict[Path, tuple[tuple[Path, str], ...]] = field(
        default_factory=dict, repr=False
    )
    _import_styles: dict[Path, ImportStyle] = field(default_factory=dict, repr=False)
    memo: Memo = field(default_factory=Memo, repr=False, compare=False)
    """Answers the rules derive from the project once (`memo.py`)."""
    _exiting_modules: dict[str, tuple[Path, int]] | None = field(
        default=None, repr=False, compare=False
    )

    # Shared with every sub-project (`owner`): one record per run.
    fact_reads: set[str] = field(default_factory=set, repr=False, compare=False)
    """Names of the facts (`facts.py`) read since the engine last cleared it."""
    tests_read: set[Path] = field(default_factory=set, repr=False, compare=False)
    """Test modules whose content a cross-file question read since the runner last
    cleared it: the file being linted depends on them (see `cache.py`)."""
    exit_lines: ExitLines = field(default_factory=ExitLines, repr=False, compare=False)
    """Where modules exit at import, by content (the cache fills `known`)."""
    """Room for later, lazily built models (e.g. a module index for cross-file rules)."""

    @cached_property
    def requirements(self) -> tuple[Requirement, ...]:
        return declared_requirements(self.root)

    @cached_property
    def generated_files(self) -> tuple[str, ...]:
        """Files the build writes at install time (setuptools_scm's `version_file`
        or `write_to`, hatch-vcs's `version-file`), as posix paths under the root:
        modules that exist when the tests run though not in the checkout."""
        return generated_files(self.root)

    def conftest_texts(self, directory: Path) -> tuple[str, ...]:
        """The text of every conftest.py from `directory` up to the root (cached)."""
        directory = self.real_directory(directory)
        cached = self._conftests.get(directory)
        if cached is None:
            cached = tuple(text for _, text in self.conftests(directory))
            self._conftests[directory] = cached
        return cached

    def conftests(self, directory: Path) -> tuple[tuple[Path, str], ...]:
        """Every conftest.py from `directory` up to the root, nearest first, with its
        text (cached; an empty or unreadable one is left out)."""
        directory = self.real_directory(directory)
        cached = self._conftest_files.get(directory)
        if cached is None:
            own = directory / "conftest.py"
            text = own.read_text(encoding="utf-8", errors="replace") if own.is_file() else ""
            above: tuple[tuple[Path, str], ...] = ()
            if (
                directory != self.root
                and directory.parent != directory
                and is_relative_to(directory, self.root)
            ):
                above = self.conftests(directory.parent)
            cached = (((own, text),) if text else ()) + above
            self._conftest_files[directory] = cached
        return cached

    def import_style(self, path: Path) -> ImportStyle:
        """How the project sorts imports for `path` (its ruff or isort configuration,
        looked for up to this project's root; first-party modules are those under
        the source roots of the file's own project): where a fix puts a new import."""
        directory = path.resolve().parent
        style = self._import_styles.get(directory)
        if style is None:
            roots = source_roots(self.owner(path).root)
            top = self.root.resolve()
            style = self._import_styles[directory] = read_import_style(directory, top, roots)
        return style

    def sub_project(self, root: Path) -> Project:
        """A project below this one, sharing this run's records of what was read."""
        return Project(
            root, fact_reads=self.fact_reads, tests_read=self.tests_read, exit_lines=self.exit_lines
        )

    def owner(self, path: Path) -> Project:
        """The project a file belongs to: the nearest directory above it that declares
        dependencies (a monorepo holds several), else this one."""
        fast = self._owners_by_name.get(path.parent)
        if fast is not None:
            return fast
        directory = path.resolve().parent
        cached = self._owners.get(directory)
        if cached is None:
            # Keyed by directory, and by sub-project root so that every directory of
            # one sub-project shares one Project (requirements, suite scan).
            cached = self
            probed: list[Path] = []  # directories that declare nothing: they share the answer
            for candidate in (directory, *directory.parents):
                if candidate == self.root:
                    break
                known = self._owners.get(candidate)
                if known is not None:
                    cached = known  # asked about before, for another file
                    break
                if any((candidate / name).is_file() for name in DEPENDENCY_FILES) or any(
                    candidate.glob("*requirements*.txt")
                ):
                    cached = self.sub_project(candidate)
                    self._owners[candidate] = cached
                    break
                probed.append(candidate)
            for candidate in probed:
                self._owners[candidate] = cached
        self._owners_by_name[path.parent] = cached  # as given: no resolving next time
        return cached

    @property
    def pytest_asyncio(self) -> str:
        """ "used", "unused", "legacy" (pinned before 0.19, when strict mode was not
        the default) or "other-plugin"
        (pytest-aio, pytest-tornasync, pytest-sanic run async tests themselves)."""
        return self.pytest_asyncio_status.status

    @cached_property
    def pytest_asyncio_status(self) -> PluginStatus:
        """`pytest_asyncio`, with what decided it."""
        for plugin in ASYNC_TEST_PLUGINS:
            for requirement in self.requirement(plugin):
                return PluginStatus("other-plugin", (_declared(requirement),))
        evidence = self.version_evidence("pytest-asyncio")
        locked = self.locked_packages.get("pytest-asyncio")
        if locked is not None:  # a lock file says which version really runs
            legacy = pinned_before_strict_default(f"=={locked.version}")
            return PluginStatus("legacy" if legacy else "used", evidence)
        declared = self.requirement("pytest-asyncio")
        if declared:
            if all(pinned_before_strict_default(r.specifier) for r in declared):
                return PluginStatus("legacy", evidence)
            return PluginStatus("used", evidence)
        aiohttp = self.requirement("pytest-aiohttp")
        aiohttp_locked = self.locked_packages.get("pytest-aiohttp")
        if (aiohttp or aiohttp_locked) and not self.old_aiohttp_plugin:
            # pytest-aiohttp 1.x is a pytest-asyncio plugin, and installs it
            return PluginStatus("used", self.version_evidence("pytest-aiohttp"))
        mention = self._suite_mention(ASYNCIO_MENTIONS)
        if mention is not None:
            return PluginStatus("used", (Evidence("not declared, but the suite uses it", mention),))
        return PluginStatus("unused", ())

    def version_evidence(self, name: str) -> tuple[Evidence, ...]:
        """What the project says of the version of `name` it runs: the version a
        lock file pins, else its declared requirements (none: not declared)."""
        wanted = normalize_name(name)
        locked = self.locked_packages.get(wanted)
        if locked is not None:
            return (_locked(wanted, locked),)
        return tuple(map(_declared, self.requirement(name)))

    def assumed_version(self, name: str) -> AssumedVersion:
        """The version of `name` (a package of `RELEASES`) the suite runs: the one
        a lock file pins, else the newest release that every declared requirement
        admits, else the latest release."""
        return self.memo.get(_ASSUMED_VERSION, lambda: self._assumed_version(name), name)

    def _assumed_version(self, name: str) -> AssumedVersion:
        wanted = normalize_name(name)
        evidence = self.version_evidence(wanted)
        locked = self.locked_packages.get(wanted)
        if locked is not None:
            return AssumedVersion(locked.version, "locked", evidence, locked.version)
        releases = RELEASES[wanted]
        declared = self.requirement(wanted)
        if declared:
            specifiers = [r.specifier for r in declared]
            highest = highest_admitted(specifiers, releases)
            lowest = lowest_admitted(specifiers, releases)
            return AssumedVersion(highest, "declared", evidence, lowest)
        return AssumedVersion(releases[-1], "latest", (), releases[0])

    def running_version(self, path: Path, name: str) -> AssumedVersion:
        """`assumed_version` for a file: asked of the project the file belongs to,
        else (when that one neither locks nor declares it) of the checked one."""
        owner = self.owner(path)
        assumed = owner.assumed_version(name)
        if assumed.how == "latest" and owner is not self:
            return self.assumed_version(name)
        return assumed

    @cached_property
    def locked_packages(self) -> dict[str, Locked]:
        """`locked_packages` of the root, read once (a lock file can be megabytes)."""
        return locked_packages(self.root)

    @cached_property
    def locked_versions(self) -> dict[str, str]:
        """The versions `locked_packages` pins."""
        return {name: locked.version for name, locked in self.locked_packages.items()}

    @cached_property
    def old_aiohttp_plugin(self) -> bool:
        """pytest-aiohttp before 1.0 is pinned: it loads aiohttp's own pytest plugin,
        which runs every `async def` test itself, marked or not (its async fixtures
        only for tests that request `loop`)."""
        locked = self.locked_versions.get("pytest-aiohttp")
        if locked is not None:
            return locked.startswith("0.")
        declared = self.requirement("pytest-aiohttp")
        return bool(declared) and all(BEFORE_ONE.search(r.specifier) for r in declared)

    def _suite_mention(self, words: tuple[str, ...]) -> Path | None:
        """The first test module or conftest under the root that contains one of
        `words` (read as text; only asked when dependencies do not say). The suite
        is the test-named files that pytest collects, in their order: only the
        files that hold a word are asked whether pytest collects them."""
        kind = partial(self._unless_unreadable, self.file_kind, left_out=FileKind.OTHER)
        for path in self.test_named_files:
            holds = any(word in self.suite_text(path) for word in words)
            if holds and kind(path) is not FileKind.OTHER:
                return path
        return None

    @property
    def suite_files(self) -> tuple[Path, ...]:
        """Every test module and conftest under the root, in sorted order (the
        "suite" fact)."""
        self.fact_reads.add("suite")
        return self._suite_files

    def list_suite(self) -> None:
        """Build `suite_files` now, without reading it for a rule: before the workers
        fork, so that each of them does not list and classify the suite again."""
        self._suite_files  # noqa: B018

    @cached_property
    def _suite_files(self) -> tuple[Path, ...]:
        kind = partial(self._unless_unreadable, self.file_kind, left_out=FileKind.OTHER)
        return tuple(p for p in self._python_files() if kind(p) is not FileKind.OTHER)

    @staticmethod
    def _unless_unreadable(question: Callable[[_P], _T], path: _P, left_out: _T) -> _T:
        """`question(path)` for a listing of the suite or of the project's modules, or
        `left_out` when the file's pytest configuration cannot be read. A project
        template's pyproject.toml below the root (`name = {{ cookiecutter.name }}`) is
        no TOML, and pytest run from the root never reads it: checking a file under it
        reports the broken file, but listing the files for every other must not."""
        try:
            return question(path)
        except ProjectError:
            return left_out

    @property
    def test_named_files(self) -> tuple[Path, ...]:
        """Every file named like a test module or conftest under the root: a
        superset of `suite_files`, cheaper to list (nothing is resolved)."""
        self.fact_reads.add("suite")
        return self._test_named_files

    @cached_property
    def _test_named_files(self) -> tuple[Path, ...]:
        named = partial(self._unless_unreadable, self.is_test_file, left_out=False)
        return tuple(p for p in self._python_files() if named(p))

    def _python_files(self) -> Iterator[Path]:
        """Regular `.py` files under the root (not FIFOs, symlink loops or broken
        links), skipping hidden, vendored and virtualenv directories; sorted, in
        `os.walk` order (symbolic links to directories are not followed)."""
        return _python_files_under(str(self.root))

    @staticmethod
    def suite_text(path: Path) -> str:
        """The text of a file of the suite ("" if unreadable). Not kept: callers
        cache the answer they derive, not the text."""
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    @property
    def module_index(self) -> ModuleIndex:
        """Every project module, read with `ast` (built on first use; the "modules"
        fact)."""
        self.fact_reads.add("modules")
        return self._module_index

    @cached_property
    def _module_index(self) -> ModuleIndex:
        # A file left out of the index is one it takes for a test.
        is_test = partial(self._unless_unreadable, self.is_test_path, left_out=True)
        return build_index(self.root, is_test, self.tests_read)

    @property
    def exiting_modules(self) -> dict[str, tuple[Path, int]]:
        """Project modules that exit at import time (the index lists them; only
        those that mention an exit are parsed; the "exiting" fact)."""
        self.fact_reads.add("exiting")
        found = self._exiting_modules
        if found is None:
            found = self._exiting_modules = exiting_modules(self._module_index, self.exit_lines)
        return found

    def learn_exiting_modules(self, found: dict[str, tuple[Path, int]]) -> None:
        """Take the exiting modules as the cache found them (unless already known)."""
        if self._exiting_modules is None:
            self._exiting_modules = found

    def known_facts(self) -> dict[str, dict[str, list[object]]]:
        """The exiting modules found in this run, by project root (sub-projects
        too): only the project's modules, configuration and layout decide them,
        never a test module's content. A replay that re-checks a few test modules
        starts from them (`recall`) instead of listing every module again."""
        facts: dict[str, dict[str, list[object]]] = {}
        for owner in (self, *self._owners.values()):
            if owner._exiting_modules is not None:
                exiting = owner._exiting_modules.items()
                facts[str(owner.root)] = {name: [str(p), line] for name, (p, line) in exiting}
        return facts

    def known_requirements(self) -> dict[str, dict[str, list[Any]]]:
        """The requirements declared in this run's dependency files, by project root,
        where the run read them: the files that declare them are never test modules.
        Each distinct requirement once (`table`), then their order by number
        (sentry-python's tox.ini declares 17,263, 1,131 of them distinct)."""
        known: dict[str, dict[str, list[Any]]] = {}
        for owner in (self, *self._owners.values()):
            found = owner.__dict__.get("requirements")  # the cached_property, if computed
            if found is None:
                continue
            numbers: dict[Requirement, int] = {}
            order = [numbers.setdefault(item, len(numbers)) for item in found]
            table = [[item.name, item.specifier, str(item.source)] for item in numbers]
            known[str(owner.root)] = {"table": table, "order": order}
        return known

    def recall_requirements(self, known: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
        """Take the requirements `known_requirements` gave, for a tree where only test
        modules that no other result read have changed since."""
        for root, found in known.items():
            # A few files declare them all: one Path each.
            sources = {str(f): Path(str(f)) for _, _, f in found["table"]}
            table = [Requirement(str(n), str(s), sources[str(f)]) for n, s, f in found["table"]]
            owner = self._owner_at(root)
            owner.__dict__["requirements"] = tuple(table[int(i)] for i in found["order"])

    def recall(self, facts: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
        """Take the facts `known_facts` gave, for a tree where only test modules
        that no other result read have changed since."""
        for root, exiting in facts.items():
            owner = self._owner_at(root)
            owner._exiting_modules = {
                str(name): (Path(str(where)), int(line)) for name, (where, line) in exiting.items()
            }

    def _owner_at(self, root: str) -> Project:
        """The project (this one, or a sub-project) whose root a record names."""
        if str(self.root) == root:
            return self
        owner = self._owners.get(Path(root))
        if owner is None:
            owner = self._owners[Path(root)] = self.sub_project(Path(root))
        return owner

    def is_test_file(self, path: Path) -> bool:
        """A conftest, or a module named as pytest's `python_files` name tests
        (collected or not: either way it is not code under test)."""
        return self.is_test_path(str(path))

    def is_test_path(self, path: str) -> bool:
        """`is_test_file` for a path as text (the module index asks of every file)."""
        return os.path.basename(path) == "conftest.py" or self._named_as_test(path)

    def _named_as_test(self, path: str) -> bool:
        """Whether `python_files` names `path` a test module; the patterns of each
        directory are compiled once (suites list thousands of files in a few)."""
        directory = os.path.dirname(path)
        matches = self._test_names.get(directory)
        if matches is None:
            patterns = self.pytest_config(Path(directory)).python_files
            matches = self._matchers.get(patterns)
            if matches is None:
                matches = self._matchers[patterns] = names_matcher(patterns)
            self._test_names[directory] = matches
        return matches(path)

    @cached_property
    def requires_python(self) -> str | None:
        return declared_requires_python(self.root)

    @cached_property
    def run_files(self) -> tuple[tuple[Path, str], ...]:
        """CI workflows, tox, nox and make files: how the suite is really run."""
        return run_files(self.root)

    @cached_property
    def repository_root(self) -> Path:
        return repository_root(self.root)

    @cached_property
    def repository_run_files(self) -> tuple[tuple[Path, str], ...]:
        """The repository's run files, when the project is a sub-project of it
        (none otherwise: `run_files` has them)."""
        if self.repository_root == self.root.resolve():
            return ()
        return run_files(self.repository_root)

    def run_files_for(self, path: Path) -> tuple[tuple[Path, str], ...]:
        """Every run file that may run the file at `path`: its own project's, its
        repository's, and the checked project's (once each)."""
        owner = self.owner(path)
        found = {*owner.run_files, *owner.repository_run_files, *self.run_files}
        return tuple(sorted(found))

    def requirement(self, name: str) -> tuple[Requirement, ...]:
        wanted = normalize_name(name)
        return tuple(r for r in self.requirements if r.name == wanted)

    def uses(self, name: str) -> bool:
        """Whether the project declares a dependency on `name` anywhere."""
        return bool(self.requirement(name))

    def pytest_config(self, directory: Path) -> PytestConfig:
        """The pytest configuration for files in `directory` (nearest config wins)."""
        known = self._configs_by_name.get(directory)
        if known is not None:
            return known
        given = directory
        directory = self.real_directory(directory)
        chain: list[Path] = []
        config: PytestConfig | None = None
        for current in itertools.chain((directory,), directory.parents):  # lazily
            cached = self._configs.get(current)
            if cached is not None:
                config = cached
                break
            chain.append(current)
            config = self._config_in(current)
            if config is not None:
                break
        result = config or DEFAULT_PYTEST_CONFIG
        for visited in chain:
            self._configs[visited] = result
        self._configs_by_name[given] = result  # as given: no resolving next time
        return result

    @staticmethod
    def _config_in(directory: Path) -> PytestConfig | None:
        present = configuration_names_in(directory)
        for name, loader in CONFIG_FILES:
            if name not in present:
                continue
            candidate = directory / name
            if candidate.is_file():
                config: PytestConfig | None = loader(candidate)
                if config is not None:
                    return config
        return None

    def file_kind(self, path: Path, named: Path | None = None) -> FileKind:
        """What pytest makes of `path` when run from the project's root: a test
        module, a conftest, or a file it never imports as either. `named`: the
        path given on the command line that `path` is (or is under): pytest applies
        `norecursedirs` only to the directories below a path it is given."""
        if path.suffix != ".py" or not self._collected_when_named(path, named):
            return FileKind.OTHER
        if path.name == "conftest.py":
            return FileKind.CONFTEST
        return FileKind.TEST if self._named_as_test(str(path)) else FileKind.OTHER

    def is_collected(self, path: Path) -> bool:
        """False when pytest's own configuration keeps it away from `path`:
        `norecursedirs` on a directory between the rootdir and the file,
        `--ignore`/`--ignore-glob` in `addopts`, or `collect_ignore`/
        `collect_ignore_glob` in a conftest above it (`exclusion` says which)."""
        return self.exclusion(path) is None

    def _collected_when_named(self, path: Path, named: Path | None) -> bool:
        exclusion = self.exclusion(path)
        # When the nearest directory a pattern matches is the named path or above
        # it, no directory pytest recurses into is left out.
        if (
            isinstance(exclusion, NotRecursed)
            and named is not None
            and is_relative_to(self.resolved(named), exclusion.directory)
        ):
            return self._ignored(path) is None
        return exclusion is None

    def _ignored(self, path: Path) -> Ignore | None:
        """The `--ignore`/`collect_ignore` entry that keeps pytest from `path`, with
        `norecursedirs` left aside."""
        path = self.resolved(path)
        config = self.pytest_config(path.parent)
        rootdir = config.rootdir or self.root
        if not is_relative_to(path.parent, rootdir):
            return None
        rules = addopts_ignore_entries(config, rootdir) + self._ignores_up(path.parent, rootdir)
        return next((ignore for ignore in rules if ignore.matches(path)), None)

    def exclusion(self, path: Path) -> Exclusion | None:
        """What keeps pytest from collecting `path` (see `is_collected`), or None."""
        # The rules of a file's directory, looked up by the name given when the file
        # is not a link (a link is judged where it leads).
        directory = os.path.dirname(str(path))
        link = os.path.islink(path)
        rules = None if link else self._rules_by_name.get(directory)
        if isinstance(rules, NotRecursed):
            return rules
        if rules == ():
            return None
        path = self.resolved(path)
        if rules is None:
            rules = self._collection_rules.get(path.parent)
            if rules is None:
                rules = self._directory_rules(path.parent)
                self._collection_rules[path.parent] = rules
            if not link:
                self._rules_by_name[directory] = rules
        if isinstance(rules, NotRecursed):
            return rules
        return next((ignore for ignore in rules if ignore.matches(path)), None)

    def real_directory(self, directory: Path) -> Path:
        """`directory.resolve()`, once per directory for the run (the questions about
        conftests and configuration are asked for every file of a directory)."""
        real = self._real_directories.get(directory)
        if real is None:
            real = Path(resolve_once(directory, self._resolved_dirs))
            self._real_directories[directory] = real
        return real

    def resolved(self, path: Path) -> Path:
        """`path.resolve()`, resolving each directory once (see `resolve_once`)."""
        return Path(resolve_once(path, self._resolved_dirs))

    def _directory_rules(self, directory: Path) -> DirectoryRules:
        """For the files of one (resolved) directory: `norecursedirs` excludes the
        directory, or the ignores that may apply (none: all collected)."""
        config = self.pytest_config(directory)
        rootdir = config.rootdir or self.root
        if not is_relative_to(directory, rootdir):
            return ()
        patterns = config.get_list("norecursedirs")
        norecurse = tuple(patterns) if patterns is not None else DEFAULT_NORECURSEDIRS
        excluded = self._not_recursed(directory, rootdir, norecurse)
        if excluded is not None:
            source = config.path if patterns is not None else None
            return NotRecursed(*excluded, source)
        return addopts_ignore_entries(config, rootdir) + self._ignores_up(directory, rootdir)

    def _not_recursed(
        self, directory: Path, rootdir: Path, norecurse: tuple[str, ...]
    ) -> tuple[Path, str] | None:
        """The nearest directory from `directory` up to `rootdir` (excluded) that a
        `norecursedirs` pattern matches, with the pattern. Each directory is matched
        once per run: a suite's directories share their parents."""
        key = (directory, rootdir, norecurse)
        if key not in self._norecursed:
            found: tuple[Path, str] | None = None
            if directory != rootdir and is_relative_to(directory, rootdir):
                pattern = next((p for p in norecurse if python_files_match(p, directory)), None)
                if pattern is not None:
                    found = (directory, pattern)
                elif directory.parent != directory:
                    found = self._not_recursed(directory.parent, rootdir, norecurse)
            self._norecursed[key] = found
        return self._norecursed[key]

    def _ignores_up(self, directory: Path, rootdir: Path) -> tuple[Ignore, ...]:
        """The `collect_ignore` entries of the conftests in `directory` and its parents
        up to `rootdir` (`directory` is inside it), nearest first."""
        key = (directory, rootdir)
        found = self._ignores_above.get(key)
        if found is None:
            found = self.collect_ignores(directory)
            if directory != rootdir and directory.parent != directory:
                found += self._ignores_up(directory.parent, rootdir)
            self._ignores_above[key] = found
        return found

    def unevaluated_collect_ignores(self, directory: Path) -> tuple[tuple[Path, int, str], ...]:
        """(conftest, line, code) of the `collect_ignore` additions testlint cannot
        evaluate, in the conftests whose `collect_ignore` applies to the files of
        `directory` (those `exclusion` reads)."""
        return tuple(
            (conftest, *entry)
            for conftest, read in self._conftests_above(directory)
            for entry in read.unevaluated
        )

    def ignored_on_this_python(self, path: Path) -> Ignore | None:
        """The `collect_ignore` entry of a conftest above `path`, added under a
        `sys.version_info` condition that holds on the Python running testlint,
        that keeps pytest on this Python from `path` (never applied to discovery:
        CI runs other Pythons; see `CollectIgnores.on_this_python`)."""
        path = self.resolved(path)
        ignores = (i for _, read in self._conftests_above(path.parent) for i in read.on_this_python)
        return next((ignore for ignore in ignores if ignore.matches(path)), None)

    def _conftests_above(self, directory: Path) -> Iterator[tuple[Path, CollectIgnores]]:
        """Each conftest whose `collect_ignore` applies to the files of `directory`
        (from it up to the rootdir, nearest first), with what it adds."""
        directory = self.real_directory(directory)
        rootdir = self.pytest_config(directory).rootdir or self.root
        if not is_relative_to(directory, rootdir):
            return
        for current in _up_to(directory, rootdir):
            yield current / "conftest.py", self._conftest_ignores(current)

    def collect_ignores(self, directory: Path) -> tuple[Ignore, ...]:
        """The `collect_ignore` entries of the conftest in `directory` (cached)."""
        return self._conftest_ignores(directory).entries

    def _conftest_ignores(self, directory: Path) -> CollectIgnores:
        cached = self._ignores.get(directory)
        if cached is None:
            cached = self._ignores[directory] = read_collect_ignores(directory / "conftest.py")
        return cached


def _up_to(directory: Path, rootdir: Path) -> Iterator[Path]:
    """`directory`, then its parents up to `rootdir` (or the first outside it)."""
    for current in itertools.chain((directory,), directory.parents):  # lazily
        yield current
        if current == rootdir or not is_relative_to(current, rootdir):
            break


def _python_files_under(directory: str) -> Iterator[Path]:
    """`Project._python_files`: one `scandir` per directory, no `stat` or `Path`
    for files rejected by name."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        try:
            if entry.is_dir():
                if (
                    not entry.name.startswith(".")
                    and entry.name not in SUITE_SKIPPED
                    and not entry.is_symlink()
                    and not is_virtualenv(entry.path)
                ):
                    subdirectories.append(entry.path)
            elif entry.name.endswith(".py") and entry.is_file():
                yield Path(entry.path)
        except OSError:
            continue
    for subdirectory in subdirectories:
        yield from _python_files_under(subdirectory)
