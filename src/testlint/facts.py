"""Project facts a rule may read beyond its own file, declared by type.

A rule's result may depend on more than its file and the configuration: on the
text of the other test modules (which markers and plugins the suite uses), on the
project's modules (what a patch target names) or on which of them exit when
imported. A rule lists the facts it reads in `Rule.facts`; each `Fact` carries
both how it is built and how the cache digests it:

- `prepare(project)` builds it once per project, before the workers fork (each
  would otherwise build its own copy);
- `digest(project, digests)` is what a cached result made with it is keyed on:
  the cache reuses a file's result only while the digest of every fact its rules
  declared is the same, so a cache key cannot miss a fact a rule declares.

`Project` records which facts are read (`Project.fact_reads`); the fixture tests
run the engine with `check_facts=True`, which fails when the rules that ran on a
file read a fact none of them declared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from testlint.fingerprint import combine
from testlint.project import Project


class Digests(Protocol):
    """What the cache offers a fact's digest: digests of files, remembered by content."""

    def content(self, path: Path) -> str:
        """The digest of a file's bytes."""

    def suite_tokens(self, path: Path) -> str:
        """What the suite facts can read from one test module (`cache.suite_tokens`)."""

    def exit_line(self, name: str, path: Path) -> int | None:
        """The line where module `name` exits at import, or None."""


@dataclass(frozen=True, eq=False)
class Fact:
    """A kind of project fact. Compared by identity; `name` is how cache entries
    store its digest (never reused for another meaning)."""

    name: str
    doc: str
    digest: Callable[[Project, Digests], str]
    prepare: Callable[[Project], object] = lambda project: None

    def __repr__(self) -> str:
        return f"Fact({self.name})"


def _suite_digest(project: Project, digests: Digests) -> str:
    # A superset of the files the suite facts read; which of them pytest collects
    # is decided by configuration, which the cache keys on anyway.
    return combine(f"{p}={digests.suite_tokens(p)}" for p in project.test_named_files)


def _modules_digest(project: Project, digests: Digests) -> str:
    index = project.module_index
    return combine(f"{m}={digests.content(index.files[m])}" for m in sorted(index.code))


def _exiting_digest(project: Project, digests: Digests) -> str:
    """Which modules exit, and where: each module's answer is remembered by the
    cache by its content, so unchanged modules are not parsed again. The project
    keeps the answer too (`Project.learn_exiting_modules`)."""
    index = project.module_index
    found: dict[str, tuple[Path, int]] = {}
    for name in sorted(index.code):
        path = index.files[name]
        line = digests.exit_line(name, path)
        if line is not None:
            found[name] = (path, line)
    project.learn_exiting_modules(found)
    return combine(f"{name}={line}" for name, (_, line) in found.items())


def _prepare_exiting(project: Project) -> object:
    return project.exiting_modules


def _prepare_suite(project: Project) -> object:
    project.list_suite()
    return None


SUITE = Fact(
    "suite",
    "The text of every test module and conftest: the markers and plugins the suite uses.",
    _suite_digest,
    _prepare_suite,
)
MODULES = Fact(
    "modules",
    "Every project module that is not a test: what a patch target names.",
    _modules_digest,
)
EXITING = Fact(
    "exiting",
    "Which project modules exit (`sys.exit`, ...) when imported.",
    _exiting_digest,
    _prepare_exiting,
)
FACTS: dict[str, Fact] = {fact.name: fact for fact in (SUITE, MODULES, EXITING)}
"""Every fact by name (a name a cache entry holds that is not here: never equal)."""
