"""What the mark rules (TL5xx) share: which decorators are marks and fixtures."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from testlint.memo import Key
from testlint.project import Project
from testlint.rule import InFile, RuleContext
from testlint.rules._asyncio import FIXTURE_DECORATORS, decorator_names
from testlint.rules._xdist import registered_markers
from testlint.scan import Scan

MARK_PREFIX = "pytest.mark."


def decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    """What a decorator names: `pytest.mark.skipif` for `@pytest.mark.skipif(...)`."""
    expression = decorator.decorator
    return expression.func if isinstance(expression, cst.Call) else expression


def mark_name(context: RuleContext, decorator: cst.Decorator) -> str | None:
    """`skipif` for a decorator that resolves to `pytest.mark.skipif` (through any
    import: `from pytest import mark`, `import pytest as pt`), else None."""
    qualified = context.imports.resolve(decorator_target(decorator))
    if qualified is None or not qualified.startswith(MARK_PREFIX):
        return None
    name = qualified[len(MARK_PREFIX) :]
    return name if name.isidentifier() else None


def is_fixture_decorator(context: RuleContext, decorator: cst.Decorator) -> bool:
    return context.imports.resolve(decorator_target(decorator)) in FIXTURE_DECORATORS


# ---------------------------------------------------------------- the `ast` side


def may_be_mark(scan: Scan, decorator: ast.expr) -> bool:
    """A decorator that may resolve to `pytest.mark.<name>` (None: an import the
    gate cannot resolve)."""
    return any(
        name is None or name.startswith(MARK_PREFIX) for name in decorator_names(scan, decorator)
    )


def may_be_fixture(scan: Scan, decorator: ast.expr) -> bool:
    return any(
        name is None or name in FIXTURE_DECORATORS for name in decorator_names(scan, decorator)
    )


def fixtures_with_more_decorators(scan: Scan) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions with a decorator that may be a fixture's and at least one more."""
    words = scan.words_for({"fixture"})
    for node in scan.nodes_near(words):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and len(node.decorator_list) > 1
            and any(may_be_fixture(scan, d) for d in node.decorator_list)
        ):
            yield node


# ---------------------------------------------------------------- known marks

PYTEST_MARKS = frozenset(
    {"filterwarnings", "parametrize", "skip", "skipif", "tryfirst", "trylast"}
    | {"usefixtures", "xfail"}
)
"""The marks pytest itself registers (`pytest --markers`)."""

PLUGIN_MARKS: dict[str, frozenset[str]] = {
    name: frozenset(marks.split())
    for name, marks in {
        "anyio": "anyio",
        "flaky": "flaky",
        "hypothesis": "hypothesis",
        "pytest-asyncio": "asyncio",
        "pytest-aiohttp": "asyncio",
        "pytest-anyio": "anyio",
        "pytest-benchmark": "benchmark",
        "pytest-codspeed": "benchmark",
        "pytest-console-scripts": "script_launch_mode",
        "pytest-cov": "no_cover",
        "pytest-datafiles": "datafiles",
        "pytest-dependency": "dependency",
        "pytest-django": "django_db urls ignore_template_errors",
        "pytest-fail-slow": "fail_slow",
        "pytest-forked": "forked",
        "pytest-freezegun": "freeze_time",
        "pytest-freezer": "freeze_time",
        "pytest-httpx": "httpx_mock",
        "pytest-memray": "limit_memory limit_leaks",
        "pytest-mpl": "mpl_image_compare",
        "pytest-order": "order",
        "pytest-ordering": "run first second third last second_to_last",
        "pytest-playwright": "browser_context_args only_browser skip_browser",
        "pytest-qt": "qt_no_exception_capture qt_log_level_fail qt_log_ignore",
        "pytest-recording": "vcr block_network default_cassette allowed_hosts",
        "pytest-remotedata": "remote_data internet_off",
        "pytest-repeat": "repeat",
        "pytest-rerunfailures": "flaky",
        "pytest-retry": "flaky",
        "pytest-run-parallel": "parallel_threads thread_unsafe iterations",
        "pytest-skip-slow": "slow",
        "pytest-socket": "disable_socket enable_socket allow_hosts",
        "pytest-timeout": "timeout",
        "pytest-tornado": "gen_test",
        "pytest-trio": "trio",
        "pytest-vcr": "vcr",
        "pytest-xdist": "xdist_group",
        "respx": "respx",
    }.items()
}
"""Plugins by their distribution name, with the marks they register."""

QUIET_PLUGINS = frozenset(
    {
        "pytest",
        "pytest-check",
        "pytest-clarity",
        "pytest-custom-exit-code",
        "pytest-datadir",
        "pytest-dotenv",
        "pytest-env",
        "pytest-factoryboy",
        "pytest-github-actions-annotate-failures",
        "pytest-html",
        "pytest-httpbin",
        "pytest-httpserver",
        "pytest-icdiff",
        "pytest-instafail",
        "pytest-lazy-fixture",
        "pytest-lazy-fixtures",
        "pytest-localserver",
        "pytest-metadata",
        "pytest-mock",
        "pytest-pretty",
        "pytest-randomly",
        "pytest-regressions",
        "pytest-reportlog",
        "pytest-rich",
        "pytest-snapshot",
        "pytest-split",
        "pytest-subtests",
        "pytest-sugar",
        "pytest-unordered",
        "pytest-watch",
        "syrupy",
    }
)
"""Plugins known to register no mark."""


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions
    and swaps of neighbours (`parmaetrize`) each count one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def misspelling_of(name: str, known: frozenset[str], builtin: frozenset[str]) -> str | None:
    """The mark of `known` that `name` (not one of them) looks like a slip of the
    keyboard for: one edit away (two for a pytest mark of 8 letters or more), or
    the same but for case or underscores. Names with a digit (`py2`, `py3`),
    names under four letters and marks of the project under five (`slow`,
    `flow`) are different words, not slips."""
    if name in known or len(name) < 4 or any(c.isdigit() for c in name):
        return None
    folded = name.lower().replace("_", "")
    best: tuple[int, str] | None = None
    for mark in sorted(known):
        shortest = 4 if mark in builtin else 5  # `slow` and `flow` are two words
        if len(mark) < shortest or any(c.isdigit() for c in mark):
            continue
        if mark.lower().replace("_", "") == folded:
            return mark
        allowed = 2 if mark in builtin and len(mark) >= 8 else 1
        if abs(len(mark) - len(name)) > allowed:
            continue
        distance = edit_distance(name.lower(), mark.lower())
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, mark)
    return best[1] if best else None


# ---------------------------------------------------------------- the project


@dataclass(frozen=True)
class PluginMarks:
    """The marks the plugins a project declares register."""

    declared: frozenset[str]
    """Marks of the declared plugins testlint knows."""
    unknown: bool
    """Some plugin may register marks testlint does not know: a declared
    `pytest-*` distribution outside its tables, or the project is a plugin
    itself (a `pytest11` entry point)."""


PLUGIN_MARKS_OF: Key[PluginMarks] = Key("marks of the declared plugins")
ALL_PLUGIN_MARKS = frozenset().union(*PLUGIN_MARKS.values())
_PLUGIN_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def plugin_marks(project: Project) -> PluginMarks:
    return project.memo.get(PLUGIN_MARKS_OF, lambda: _plugin_marks(project))


def _plugin_marks(project: Project) -> PluginMarks:
    declared: set[str] = set()
    unknown = False
    for requirement in project.requirements:
        name = requirement.name
        if name in PLUGIN_MARKS:
            declared |= PLUGIN_MARKS[name]
        elif name.startswith("pytest-") and name not in QUIET_PLUGINS:
            unknown = True
    for file in _PLUGIN_FILES:
        path = project.root / file
        if path.is_file() and "pytest11" in path.read_text(encoding="utf-8", errors="replace"):
            unknown = True
    return PluginMarks(frozenset(declared), unknown)


def misspelt_mark(file: InFile, name: str, *, own: str) -> str | None:
    """The known mark `pytest.mark.<name>` was meant to be, when `name` is not one
    and nothing in the project says it is meant as it is; else None. `own`: the
    file's text when it is a conftest (its registrations count)."""
    if name in PYTEST_MARKS or name in ALL_PLUGIN_MARKS or name.startswith("_"):
        return None
    known = file.memo.get(MARK_TARGETS, lambda: _mark_targets(file, own), own)
    if name in known.registered:
        return None
    meant = misspelling_of(name, known.targets, PYTEST_MARKS)
    if meant is None or _named_elsewhere(file, name, own):
        return None
    return meant


@dataclass(frozen=True)
class MarkTargets:
    registered: frozenset[str]
    """The marks registered for the file (as far as testlint can read them)."""
    targets: frozenset[str]
    """The marks a slip is compared with: pytest's own, and the registered ones
    and those of the declared plugins when no unknown plugin may register more."""


MARK_TARGETS: Key[MarkTargets] = Key("the marks a mark name is compared with (per own text)")


def _mark_targets(file: InFile, own: str) -> MarkTargets:
    project = file.project
    registered = registered_markers(file, own)
    owner = project.owner(file.path)
    plugins = [plugin_marks(p) for p in ((owner,) if owner is project else (owner, project))]
    addopts = project.pytest_config(file.path.parent).addopts
    if registered is None or any(p.unknown for p in plugins) or _loads(addopts):
        return MarkTargets(registered or frozenset(), PYTEST_MARKS)
    declared = frozenset().union(*(p.declared for p in plugins))
    return MarkTargets(registered, PYTEST_MARKS | registered | declared)


def _loads(addopts: tuple[str, ...]) -> bool:
    """`-p plugin` in `addopts` (not `-p no:...`): a plugin testlint cannot read."""
    text = " ".join(addopts)
    return any(not p.startswith("no:") for p in re.findall(r"-p\s*=?\s*(\S+)", text))


def _named_elsewhere(file: InFile, name: str, own: str) -> bool:
    """`name` is a word in a conftest in scope, the pytest configuration or a run
    file (a hook reading it, a `-m name` selection), or a quoted string in the
    file itself: someone means it as it is."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    project = file.project
    config = project.pytest_config(file.path.parent)
    texts = [
        *project.conftest_texts(file.path.parent),
        own,
        " ".join(config.addopts),
        *config.get_lines("markers"),
        *(text for _, text in project.run_files),
        *(text for _, text in project.repository_run_files),
    ]
    if any(word.search(text) for text in texts):
        return True
    return re.search(rf"[\"']{re.escape(name)}[\"']", file.source) is not None
