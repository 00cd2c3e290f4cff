"""What TL201-TL204 share: does the project run pytest-xdist, which serial
markers has it adopted, how is xdist invoked, and which marks make a test serial.

Everything here is read from configuration and text (pytest config, conftests,
CI workflows, tox/nox/make files), never by running anything. Answers about the
whole suite are computed once per project and kept in `Project.memo`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from testlint.memo import Key
from testlint.project import Project, display_path, is_relative_to, marks_in_text
from testlint.rule import FileKind, InFile, Option, RuleContext
from testlint.rules._asyncio import mark_names, pytestmark_values
from testlint.scan import Scan, terminal
from testlint.settings import Settings

SERIAL_MARKERS = Option(
    key="serial-markers",
    default=("parallel_unsafe", "serial"),
    doc=(
        'markers that mean "run this test on one xdist worker"; the project has the '
        "convention when one is registered, used in the suite, or this key is set"
    ),
)
PARALLEL_CONSTRUCTORS = Option(
    key="parallel-constructors",
    default=(
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "multiprocessing.Pool",
        "multiprocessing.Process",
        "multiprocessing.pool.Pool",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
    ),
    doc=(
        "calls that start parallel work in a test (TL201); `threading.Thread` counts "
        "where tests marked serial start one, or list it here (setting this key makes "
        "it the whole list)"
    ),
)
LEARNABLE_CONSTRUCTORS = ("threading.Thread",)
"""Not parallel work by default (most threads in tests are harmless), but counted in
a project whose tests marked serial start them: the project says they matter."""
XDIST_GROUP = "xdist_group"

RUNS_XDIST: Key[bool] = Key("the project runs xdist")
MODULE_IS_SERIAL: Key[bool] = Key("the module's pytestmark is serial")
ADOPTED_MARKERS: Key[tuple[str, ...]] = Key("serial markers the project adopted")
SUITE_MARKERS: Key[SuiteMarkers] = Key("what the suite does with the markers (per markers)")
MARKED_PARALLEL_WORK: Key[frozenset[str]] = Key("constructors in marked tests (per marker)")
SUITE_SCOPE: Key[Project] = Key("the project of a nested pytest rootdir (per rootdir)")
RUN_FILE_INVOCATIONS: Key[tuple[Invocation, ...]] = Key("pytest runs in run files (per root)")

# `-n 4`, `-nauto`, `--numprocesses=auto`, `"-n", "auto"` (nox), `--dist loadgroup`.
_SEP = r"(?:\s*=\s*|[\s\"',]+)"
_NUMPROCESSES = re.compile(r"(?:^|[\s\"'\[,(])(?:-n|--numprocesses)" + _SEP + r"?[\"']?(\w+)")
_DIST = re.compile(r"(?:^|[\s\"'\[,(])--dist" + _SEP + r"[\"']?(\w+)")
_SHORT_DIST = re.compile(r"(?:^|[\s\"'\[,(])-d(?:$|[\s\"',)\]])")
_MARK_EXPRESSION = re.compile(
    r"(?:^|[\s\"'\[,(])-m[\"']?(?:\s*=\s*|[\s,]+)(\"[^\"]*\"|'[^']*'|[^\s\"',)\]]+)"
)
_NO_XDIST = re.compile(r"-p" + _SEP + r"?[\"']?no:xdist")
_REGISTRATION = re.compile(
    r"addinivalue_line\(\s*[\"']markers[\"']\s*,\s*[rbuf]*[\"']{1,3}\s*(\w+)"
)


@dataclass(frozen=True)
class Invocation:
    """How pytest is run, from `addopts` or one run file (CI workflow, tox...)."""

    source: str
    numprocesses: bool
    dist: tuple[str, ...]
    mark_expressions: tuple[str, ...]
    lines: tuple[str, ...] = ()
    """The command lines it was read from."""
    numbers: tuple[int, ...] = ()
    """Where each of `lines` starts in its run file (1-based; empty for `addopts`)."""
    path: Path | None = None
    """The run file (None for `addopts`)."""

    def xdist_lines(self) -> tuple[tuple[int, str], ...]:
        """(line number, command line) of each line that runs xdist (`-n`, `--dist`)."""
        numbered = zip(self.numbers or (0,) * len(self.lines), self.lines)
        return tuple(
            (number, line)
            for number, line in numbered
            if (run := parse_invocation(self.source, line)).numprocesses or run.dist
        )


def parse_invocation(
    source: str, text: str, numbers: tuple[int, ...] = (), path: Path | None = None
) -> Invocation:
    """xdist options in command-line text (only lines that run pytest, for
    run files: `-n` means other things to `head` and `sort`). `numbers`: where
    each line of `text` starts in `path`, its file."""
    return Invocation(
        path=path,
        source=source,
        numprocesses=any(n != "0" for n in _NUMPROCESSES.findall(text)),
        dist=tuple(_DIST.findall(text)) + (("load",) if _SHORT_DIST.search(text) else ()),
        mark_expressions=tuple(m.strip("\"'") for m in _MARK_EXPRESSION.findall(text)),
        lines=tuple(text.splitlines()),
        numbers=numbers,
    )


def pytest_lines(text: str) -> str:
    """The command lines of a run file that invoke pytest (continuations joined).
    In a CI workflow, a line run in a step's `working-directory: X` reads
    `cd X && ...`, so that it names the directory it runs in."""
    return "\n".join(line for _, line in numbered_pytest_lines(text))


_CONTINUED = re.compile(r"\\\r?\n\Z")


def numbered_pytest_lines(text: str) -> list[tuple[int, str]]:
    """`pytest_lines`, each with the number of the line it starts on."""
    pieces = _with_working_directories(text).splitlines(keepends=True)
    found: list[tuple[int, str]] = []
    index = 0
    while index < len(pieces):
        start, line = index, pieces[index]
        index += 1
        while (continued := _CONTINUED.search(line)) is not None:
            line = line[: continued.start()] + " "
            if index < len(pieces):
                line += pieces[index]
                index += 1
        line = next(iter(line.splitlines()), "")
        if "pytest" in line or "py.test" in line:
            found.append((start + 1, _without_launcher(line)))
    return found


_LAUNCHER = re.compile(r"(?<![\w.-])(?:mpirun|mpiexec|srun)(?![\w.-])")
_PYTEST_WORD = re.compile(r"(?<![\w.-])(?:py\.test|pytest)(?![\w-])")


def _without_launcher(line: str) -> str:
    """The line without an MPI launcher and its options in front of pytest:
    `mpirun -n 2 -- pytest` runs two pytest processes, not xdist (optuna)."""
    command = _PYTEST_WORD.search(line)
    if command is None:
        return line
    launcher = _LAUNCHER.search(line, 0, command.start())
    if launcher is None:
        return line
    return line[: launcher.start()] + line[command.start() :]


_STEP = re.compile(r"^(\s*)- ")
_WORKING_DIRECTORY = re.compile(r"^\s*-?\s*working-directory:\s*[\"']?([^\"'#\s]+)")


def _with_working_directories(text: str) -> str:
    """Each line of a step (a `- ` item) that sets `working-directory:`, prefixed
    with `cd X && `. Text without the key is returned as it is."""
    if "working-directory:" not in text:
        return text
    lines = text.splitlines()
    directories: list[str | None] = [None] * len(lines)
    starts = [(n, len(m.group(1))) for n, line in enumerate(lines) if (m := _STEP.match(line))]
    for position, (start, indent) in enumerate(starts):
        end = next((s for s, deeper in starts[position + 1 :] if deeper <= indent), len(lines))
        found = (_WORKING_DIRECTORY.match(line) for line in lines[start:end])
        directory = next((m.group(1) for m in found if m is not None), None)
        if directory is not None:
            directories[start:end] = [directory] * (end - start)
    return "\n".join(
        f"cd {directory.removeprefix('./')} && {line}" if directory else line
        for line, directory in zip(lines, directories)
    )


def addopts_text(context: InFile) -> str:
    config = context.project.pytest_config(context.path.parent)
    return " ".join(config.addopts)


def runs_xdist(context: InFile) -> bool:
    """The project runs its tests under pytest-xdist: `-n`/`--dist` in `addopts` or
    in a CI/tox/nox/make command running pytest, or pytest-xdist among its declared
    dependencies (`-p no:xdist` in `addopts` turns it off)."""
    return context.memo.get(RUNS_XDIST, lambda: next(xdist_evidence(context), None) is not None)


def xdist_disabled(context: InFile) -> bool:
    """`-p no:xdist` in `addopts`: xdist is off, whatever else says."""
    return _NO_XDIST.search(addopts_text(context)) is not None


@dataclass(frozen=True)
class XdistEvidence:
    """One reason to think the suite runs under pytest-xdist."""

    what: str
    """What says so: the `addopts` value, the requirement, the command line."""
    path: Path | None
    """The file that says it."""
    line: int = 0
    """The line of `path` (0: not known)."""


def xdist_evidence(context: InFile) -> Iterator[XdistEvidence]:
    """Why `runs_xdist` answers yes, in the order it asks: `-n`/`--dist` in
    `addopts`, pytest-xdist declared by the file's project or the checked one, a
    run file's command line with `-n`/`--dist`. Nothing when `-p no:xdist`."""
    if xdist_disabled(context):
        return
    project = context.project
    addopts = addopts_text(context)
    invocation = parse_invocation("addopts", addopts)
    if invocation.numprocesses or invocation.dist:
        config = project.pytest_config(context.path.parent).path
        yield XdistEvidence(f"addopts = {addopts}", config)
    owner = project.owner(context.path)
    for declaring in (owner,) if owner is project else (owner, project):
        for requirement in declaring.requirement("pytest-xdist"):
            what = f"{requirement.name} {requirement.specifier}".strip()
            yield XdistEvidence(f"{what} declared", requirement.source)
    for run in invocations(context)[1:]:
        if run.numprocesses or run.dist:
            lines = run.xdist_lines() or tuple(zip(run.numbers or (0,), run.lines[:1]))
            for number, line in lines:
                yield XdistEvidence(line.strip(), run.path, number)


def is_serial_mark(qualified: str, markers: Iterable[str]) -> bool:
    """A mark that puts a test on one worker: a serial marker or `xdist_group`.
    Matched on the last name, so `from tests.marks import serial` and a
    module-level `serial = pytest.mark.serial` count too."""
    last = qualified.rsplit(".", 1)[-1]
    return last == XDIST_GROUP or last in markers


def serial_marks_on(context: RuleContext, expressions: Sequence[cst.BaseExpression]) -> bool:
    markers = configured_markers(context)
    for expression in expressions:
        target = expression.func if isinstance(expression, cst.Call) else expression
        names = mark_names(context, [target])
        dotted = next(iter(names), None)
        if dotted is None and isinstance(target, (cst.Name, cst.Attribute)):
            dotted = target.value if isinstance(target, cst.Name) else target.attr.value
        if dotted is not None and is_serial_mark(dotted, markers):
            return True
    return False


def class_is_serial(context: RuleContext, cls: cst.ClassDef) -> bool:
    expressions = [d.decorator for d in cls.decorators]
    if isinstance(cls.body, cst.IndentedBlock):
        expressions.extend(pytestmark_values(cls.body.body))
    return serial_marks_on(context, expressions)


def module_is_serial(context: RuleContext) -> bool:
    return context.memo.get(
        MODULE_IS_SERIAL,
        lambda: serial_marks_on(context, list(pytestmark_values(context.module.body))),
    )


def marker_triggers(settings: Settings) -> tuple[str, ...]:
    """Gating words for the marker rules: the configured marker names and
    `xdist_group` (a file without any cannot use one)."""
    return (*settings.option(SERIAL_MARKERS), XDIST_GROUP)


def marker_attribute_in(scan: Scan, settings: Settings) -> bool:
    """The `ast` gate of the marker rules: an attribute named like a serial marker
    or `xdist_group` (every `pytest.mark.X` is one)."""
    return bool(marker_attributes(scan, marker_triggers(settings)))


def marker_attributes(scan: Scan, names: Iterable[str]) -> set[str]:
    """Which of `names` the file uses as an attribute name (`mark.serial`)."""
    wanted = set(names)
    return {
        node.attr
        for node in scan.nodes_near(wanted)
        if isinstance(node, ast.Attribute) and node.attr in wanted
    }


def configured_markers(context: InFile) -> tuple[str, ...]:
    return context.settings.option(SERIAL_MARKERS)


@dataclass
class SuiteMarkers:
    """How a project's suite uses its serial markers (one scan per project)."""

    used: set[str] = field(default_factory=set)
    """Serial markers used as `mark.<name>` anywhere in the suite."""
    registered_in_conftest: set[str] = field(default_factory=set)
    first_use: Path | None = None
    """The first test module (path order) using a serial marker or `xdist_group`."""
    xdist_group_in_tests: bool = False
    handled: set[str] = field(default_factory=set)
    """Markers a conftest names as an exact string (a hook acts on them)."""
    mapped_to_group: set[str] = field(default_factory=set)
    """... in a conftest whose code uses `xdist_group`."""
    late_mapping: Path | None = None
    """An initial conftest mapping markers to `xdist_group` in
    `pytest_collection_modifyitems` without `tryfirst=True`: xdist's own hook
    has already read the groups by then."""
    used_in: dict[str, Path] = field(default_factory=dict)
    """The first file (path order) using each marker of `used`."""
    registered_by: dict[str, Path] = field(default_factory=dict)
    """The first conftest registering each marker of `registered_in_conftest`."""
    handled_by: dict[str, Path] = field(default_factory=dict)
    """The first conftest naming each marker of `handled`."""


@dataclass
class ConftestFacts:
    strings: set[str] = field(default_factory=set)
    reorder_only: set[str] = field(default_factory=set)
    """Strings that appear only in functions that reorder the collected items and
    do nothing else with them (a hook that sorts serial tests last serialises
    nothing)."""
    registrations: set[str] = field(default_factory=set)
    uses_group: bool = False
    late_group_hook: bool = False


def conftest_facts(text: str) -> ConftestFacts:
    """What a conftest's code (not its comments or docstrings) says about marks."""
    facts = ConftestFacts()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return facts
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            facts.strings.add(node.value)
        elif isinstance(node, ast.Attribute) and node.attr == XDIST_GROUP:
            facts.uses_group = True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "addinivalue_line"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "markers"
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name = re.split(r"[(:\s]", node.args[1].value.strip(), maxsplit=1)[0]
            facts.registrations.add(name)
        elif isinstance(node, ast.FunctionDef) and node.name == "pytest_collection_modifyitems":
            maps = any(
                isinstance(inner, ast.Attribute) and inner.attr == XDIST_GROUP
                for inner in ast.walk(node)
            )
            facts.late_group_hook = maps and not _tryfirst(node.decorator_list)
    facts.uses_group |= XDIST_GROUP in facts.strings
    facts.reorder_only = _reorder_only_strings(tree)
    return facts


_ACTS = re.compile(r"add_marker|xdist_group|skip|deselect|\.remove\(|\.pop\(|lock|Lock")
_REORDERS = re.compile(r"\.sort\(|sorted\(|\.reverse\(")


def _reorder_only_strings(tree: ast.Module) -> set[str]:
    """Strings used only inside functions that sort the items and nothing more."""
    inside: set[str] = set()
    elsewhere: set[str] = set()
    for statement in tree.body:
        strings = {
            n.value
            for n in ast.walk(statement)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        function = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        code = ast.unparse(statement) if function else ""
        if code and _REORDERS.search(code) and not _ACTS.search(code):
            inside |= strings
        else:
            elsewhere |= strings
    return inside - elsewhere


def _tryfirst(decorators: list[ast.expr]) -> bool:
    return any(
        isinstance(d, ast.Call)
        and any(
            k.arg in ("tryfirst", "hookwrapper", "wrapper")
            and isinstance(k.value, ast.Constant)
            and k.value.value is True
            for k in d.keywords
        )
        for d in decorators
    )


def suite_markers(project: Project, markers: tuple[str, ...]) -> SuiteMarkers:
    return project.memo.get(SUITE_MARKERS, lambda: _suite_markers(project, markers), markers)


def _suite_markers(project: Project, markers: tuple[str, ...]) -> SuiteMarkers:
    found = SuiteMarkers()
    wanted = set(markers)
    root = project.root.resolve()
    for path in sorted(project.suite_files, key=lambda p: p.as_posix()):
        rootdir = project.pytest_config(path.parent).rootdir
        if (
            rootdir is not None
            and rootdir.resolve() != root
            and is_relative_to(rootdir.resolve(), root)
        ):
            continue  # a nested suite with its own pytest configuration
        text = project.suite_text(path)
        if path.name == "conftest.py":
            facts = conftest_facts(text)
            registered = facts.registrations & wanted
            found.registered_in_conftest |= registered
            handled = wanted & (facts.strings - facts.reorder_only)
            found.handled |= handled
            if facts.uses_group:
                found.mapped_to_group |= handled
            if handled and facts.late_group_hook and _is_initial(project, path):
                found.late_mapping = found.late_mapping or path
            used = set(marks_in_text(text)) & wanted
            found.used |= used
            for names, first in (
                (registered, found.registered_by),
                (handled, found.handled_by),
                (used, found.used_in),
            ):
                for name in names:
                    first.setdefault(name, path)
            continue
        if "mark" not in text:
            continue
        used = set(marks_in_text(text)) & (wanted | {XDIST_GROUP})
        found.used |= used & wanted
        for name in used & wanted:
            found.used_in.setdefault(name, path)
        if used and found.first_use is None:
            found.first_use = path
        found.xdist_group_in_tests |= XDIST_GROUP in used
    return found


PARALLEL_WORDS = re.compile(r"thread|process|pool|parallel|concurren|fork|executor", re.I)
"""A serial marker's registered description that speaks of parallel work."""


def covers_parallel_work(context: InFile, marker: str, constructor: str) -> bool:
    """Whether the project's `marker` convention is about parallel work like
    `constructor` (qualified): `serial-markers` or `parallel-constructors` set
    explicitly, a description that says so (`parallel_unsafe: uses a thread
    pool`), or a test the suite already marks that starts the same kind of work.
    A `serial` marker registered for shared external resources is not."""
    settings = context.settings
    if settings.is_explicit(SERIAL_MARKERS) or settings.is_explicit(PARALLEL_CONSTRUCTORS):
        return True
    config = context.project.pytest_config(context.path.parent)
    for line in config.get_lines("markers"):
        name, _, description = line.partition(":")
        if name.split("(", 1)[0].strip() == marker and PARALLEL_WORDS.search(description):
            return True
    if constructor in LEARNABLE_CONSTRUCTORS:
        return constructor in learned_constructors(suite_scope(context), marker)
    names = context.settings.option(PARALLEL_CONSTRUCTORS)
    last_names = tuple(n.rsplit(".", 1)[-1] for n in names)
    examples = marked_parallel_work(suite_scope(context), marker, last_names)
    return constructor.rsplit(".", 1)[-1] in examples


def learned_constructors(project: Project, marker: str) -> frozenset[str]:
    """The learnable constructors that tests marked with `marker` start."""
    last_names = tuple(name.rsplit(".", 1)[-1] for name in LEARNABLE_CONSTRUCTORS)
    started = marked_parallel_work(project, marker, last_names)
    return frozenset(n for n in LEARNABLE_CONSTRUCTORS if n.rsplit(".", 1)[-1] in started)


def marked_parallel_work(project: Project, marker: str, constructors: tuple[str, ...]) -> set[str]:
    """Last names of `constructors` called in tests (functions, classes, modules)
    the suite marks with `marker`; one scan per project."""
    found = project.memo.get(
        MARKED_PARALLEL_WORK,
        lambda: _marked_parallel_work(project, marker, constructors),
        (marker, constructors),
    )
    return set(found)


def _marked_parallel_work(
    project: Project, marker: str, constructors: tuple[str, ...]
) -> frozenset[str]:
    found: set[str] = set()
    wanted = set(constructors)
    for path in project.suite_files:
        text = project.suite_text(path)
        if f"mark.{marker}" not in text or not any(name in text for name in wanted):
            continue
        found |= _marked_calls(text, marker, wanted)
    return frozenset(found)


def _marked_calls(text: str, marker: str, wanted: set[str]) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    mark = f"mark.{marker}"
    module_marked = any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        and mark in ast.unparse(node.value)
        for node in tree.body
    )
    scopes: list[ast.AST] = [tree] if module_marked else []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and any(
            mark in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            scopes.append(node)
    # Module-level helpers that start the work count where a marked test calls them.
    helpers = {
        node.name: _calls(node, wanted)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    found: set[str] = set()
    for scope in scopes:
        found |= _calls(scope, wanted)
        for helper in _calls(scope, set(helpers)):
            found |= helpers[helper]
    return found


def _calls(scope: ast.AST, names: set[str]) -> set[str]:
    """Which of `names` are called (by their last name) inside `scope`."""
    found = set()
    for call in ast.walk(scope):
        if isinstance(call, ast.Call):
            name = terminal(call.func)
            if name in names:
                found.add(name)
    return found


def _is_initial(project: Project, conftest: Path) -> bool:
    """A conftest pytest loads before plugins start (at the rootdir, or in a
    `testpaths` directory, or `tests`/`test` right under the rootdir)."""
    config = project.pytest_config(conftest.parent)
    rootdir = (config.rootdir or project.root).resolve()
    directory = conftest.parent.resolve()
    if directory == rootdir:
        return True
    testpaths = config.get_list("testpaths") or ("tests", "test")
    return any(directory == (rootdir / p).resolve() for p in testpaths)


def suite_scope(context: InFile) -> Project:
    """The files one pytest run sees together: everything under the rootdir of
    the file's pytest configuration (a conftest hook there acts on all of them),
    not just the nearest sub-project that declares dependencies."""
    config = context.project.pytest_config(context.path.parent)
    rootdir = config.rootdir
    if rootdir is None or rootdir.resolve() == context.project.root.resolve():
        return context.project
    root = rootdir.resolve()
    return context.project.memo.get(SUITE_SCOPE, lambda: context.project.sub_project(root), root)


def adopted_markers(context: InFile) -> tuple[str, ...]:
    """The serial markers this project has adopted, in `serial-markers` order:
    registered in pytest `markers` or by a conftest, used in the suite, or all
    of them when `serial-markers` is set explicitly."""
    markers = configured_markers(context)
    if context.settings.is_explicit(SERIAL_MARKERS):
        return markers
    return context.memo.get(ADOPTED_MARKERS, lambda: tuple(marker_adoption(context)))


@dataclass(frozen=True)
class Adoption:
    """Why the project has adopted a serial marker (`marker_adoption`)."""

    how: str
    """ "serial-markers" (set explicitly), "markers" (registered in the pytest
    configuration), "conftest" (registered by a conftest), "used" (in the suite)."""
    where: Path | None
    """The file that says so."""


def marker_adoption(context: InFile) -> dict[str, Adoption]:
    """The adopted serial markers (`adopted_markers`), in `serial-markers` order,
    each with the first reason found."""
    markers = configured_markers(context)
    if context.settings.is_explicit(SERIAL_MARKERS):
        return {m: Adoption("serial-markers", context.settings.config_path) for m in markers}
    config = context.project.pytest_config(context.path.parent)
    suite = suite_markers(suite_scope(context), markers)
    found: dict[str, Adoption] = {}
    for marker in markers:
        if marker in config.markers:
            found[marker] = Adoption("markers", config.path)
        elif marker in suite.registered_in_conftest:
            found[marker] = Adoption("conftest", suite.registered_by.get(marker))
        elif marker in suite.used:
            found[marker] = Adoption("used", suite.used_in.get(marker))
    return found


def registered_markers(context: InFile, own: str = "") -> frozenset[str] | None:
    """Markers registered for this file: pytest `markers` plus conftest
    `addinivalue_line("markers", ...)` calls in its directory and above, and in
    `own` (the file's text, when it is a conftest). None when a conftest loads
    plugins (`pytest_plugins`), which may register more."""
    texts = context.project.conftest_texts(context.path.parent)
    if any("pytest_plugins" in text for text in texts):
        return None
    config = context.project.pytest_config(context.path.parent)
    names = set(config.markers)
    for text in (*texts, own):
        names.update(_REGISTRATION.findall(text))
    return frozenset(names)


def unregistered(context: RuleContext, marker: str) -> bool:
    """`marker` is not registered for this file (TL203), and no plugin the project
    depends on is named after it (it may register it)."""
    own = context.source if context.kind is FileKind.CONFTEST else ""
    return _unregistered(context, marker, own)


def may_be_unregistered(file: InFile, marker: str) -> bool:
    """`unregistered` for a gate, which does not know whether the file is a
    conftest: its own registrations are left out (a superset)."""
    return _unregistered(file, marker, "")


def _unregistered(context: InFile, marker: str, own: str) -> bool:
    registered = registered_markers(context, own)
    if registered is None or marker in registered:
        return False
    owner = context.project.owner(context.path)
    return not any(marker in requirement.name for requirement in owner.requirements)


def strict_markers(context: RuleContext) -> bool:
    """Unregistered marks are a collection error: `--strict-markers`/`--strict`, or
    pytest 9's `strict = true`."""
    config = context.project.pytest_config(context.path.parent)
    if any(opt in ("--strict-markers", "--strict") for opt in config.addopts):
        return True
    return any(
        str(config.values.get(key, "")).strip().lower() in ("true", "1", "yes")
        for key in ("strict", "strict_markers")
    )


def xdist_selections(context: RuleContext) -> list[str | None] | None:
    """For every command line that runs pytest with `-n` (from the run files that
    `invocations` reads), the `-m` expression it selects tests with (None: all).
    None when xdist may run every test: `-n` in `addopts`, or no such line known
    (xdist only declared as a dependency)."""
    if parse_invocation("addopts", addopts_text(context)).numprocesses:
        return None
    selections: list[str | None] = []
    for invocation in invocations(context)[1:]:
        for line in invocation.lines:
            run = parse_invocation(invocation.source, line)
            if run.numprocesses:
                selections.append(run.mark_expressions[-1] if run.mark_expressions else None)
    return selections or None


_MARK_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z_][\w.-]*)")


def selected_by(expression: str, marks: set[str]) -> bool:
    """Whether pytest's `-m expression` (`not slow and (db or net)`) selects a test
    with `marks` (last names). One testlint cannot read selects everything."""
    tokens: list[str] = []
    text = expression.strip()
    position = 0
    while position < len(text):
        match = _MARK_TOKEN.match(text, position)
        if match is None:
            return True
        tokens.append(match.group(1))
        position = match.end()
    parser = _MarkExpression(tokens, marks)
    try:
        value = parser.either()
    except IndexError:
        return True
    return value if parser.position == len(tokens) else True


class _MarkExpression:
    """`or` of `and`s of `not`s of marks and parenthesised expressions."""

    def __init__(self, tokens: list[str], marks: set[str]) -> None:
        self.tokens = tokens
        self.marks = marks
        self.position = 0

    def _take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _next_is(self, word: str) -> bool:
        return self.position < len(self.tokens) and self.tokens[self.position] == word

    def either(self) -> bool:
        value = self.both()
        while self._next_is("or"):
            self._take()
            value = self.both() or value
        return value

    def both(self) -> bool:
        value = self.negated()
        while self._next_is("and"):
            self._take()
            value = self.negated() and value
        return value

    def negated(self) -> bool:
        if self._next_is("not"):
            self._take()
            return not self.negated()
        token = self._take()
        if token == "(":
            value = self.either()
            if self._take() != ")":
                raise IndexError("unbalanced")
            return value
        if token in (")", "and", "or"):
            raise IndexError("unexpected")
        return token in self.marks


def invocations(context: InFile) -> tuple[Invocation, ...]:
    """`addopts`, then every run file that invokes pytest on this file's suite:
    those beside its pytest configuration, and those of the checked project's
    root when they name the suite's directory (`cd pkg && pytest -n 4`)."""
    scope = suite_scope(context)
    found = [parse_invocation("`addopts`", addopts_text(context))]
    found.extend(_run_file_invocations(scope, scope.root, ""))
    suite_root = scope.root.resolve()
    # The checked project's root, and the repository's (CI workflows live there
    # when the suite is one sub-project: `working-directory: server`).
    project = context.project
    for root in dict.fromkeys((project.root.resolve(), project.repository_root)):
        if suite_root != root and is_relative_to(suite_root, root):
            relative = suite_root.relative_to(root).as_posix()
            found.extend(_run_file_invocations(project, root, relative))
    return tuple(found)


def _run_file_invocations(project: Project, root: Path, naming: str) -> tuple[Invocation, ...]:
    return project.memo.get(
        RUN_FILE_INVOCATIONS,
        lambda: _read_run_file_invocations(project, root, naming),
        (root, naming),
    )


def _read_run_file_invocations(project: Project, root: Path, naming: str) -> tuple[Invocation, ...]:
    found = []
    texts = project.run_files if root == project.root.resolve() else project.repository_run_files
    for path, text in texts:
        numbered = numbered_pytest_lines(text)
        if naming:
            names_suite = re.compile(rf"(?<![\w/.-]){re.escape(naming)}(?![\w.-])")
            numbered = [(n, line) for n, line in numbered if names_suite.search(line)]
        lines = "\n".join(line for _, line in numbered)
        if lines:
            numbers = tuple(n for n, _ in numbered)
            found.append(parse_invocation(display_path(path, root), lines, numbers, path))
    return tuple(found)


GET_CONTEXT = "multiprocessing.get_context"


def start_method(call: cst.Call) -> str:
    """The start method of a `get_context(...)` call: "fork", "spawn", ...,
    "default" for `get_context()`/`get_context(None)`, "unknown" if not literal."""
    if not call.args:
        return "default"
    value = call.args[0].value
    if isinstance(value, cst.SimpleString):
        evaluated = value.evaluated_value
        if isinstance(evaluated, str):
            return evaluated
    if isinstance(value, cst.Name) and value.value == "None":
        return "default"
    return "unknown"


class Contexts:
    """`multiprocessing.get_context(...)` results in one file: calls, and names
    bound to them (`ctx = mp.get_context("spawn")`), with their start method."""

    def __init__(self, context: RuleContext) -> None:
        self.context = context
        self.names: dict[str, str] = {}

    def is_get_context(self, expression: cst.BaseExpression) -> bool:
        return (
            isinstance(expression, cst.Call)
            and self.context.imports.resolve(expression.func) == GET_CONTEXT
        )

    def record(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Call) and self.is_get_context(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.names[target.target.value] = start_method(node.value)

    def method(self, expression: cst.BaseExpression) -> str | None:
        """The start method of the context `expression` names; None when it is
        not known to be a context at all."""
        if isinstance(expression, cst.Call) and self.is_get_context(expression):
            return start_method(expression)
        if isinstance(expression, cst.Name):
            return self.names.get(expression.value)
        return None


def marker_problem(
    context: RuleContext,
    suite: SuiteMarkers,
    markers: tuple[str, ...],
    also_used: frozenset[str] = frozenset(),
) -> str | None:
    """Why the suite's serial markers serialise nothing under its xdist setup, or
    None. `also_used`: markers to judge as if the suite used them already (what
    TL201's fix would add)."""
    runs = invocations(context)
    if not any(run.numprocesses or run.dist for run in runs):
        return None  # xdist only declared: how (and whether) it runs is unknown
    owner = context.project.owner(context.path)
    used = [m for m in markers if m in suite.used or m in also_used]
    if any(_selects(run, used) for run in runs):
        return None  # `-m "not serial"`: the marker is honoured by selection
    unhandled = [
        m
        for m in used
        if m not in suite.handled and not any(m in r.name for r in owner.requirements)
    ]
    if unhandled:
        marker = unhandled[0]
        return (
            f"Marker `{marker}` serialises nothing: no conftest hook acts on it and no "
            f"`-m` expression selects it, so its tests still run in parallel under xdist"
        )
    grouped = [m for m in used if m in suite.mapped_to_group]
    if not grouped and not suite.xdist_group_in_tests:
        return None
    if grouped and suite.late_mapping is not None:
        where = display_path(suite.late_mapping, suite_scope(context).root)
        return (
            f"Marker `{grouped[0]}` has no effect: {where} maps it to `xdist_group` in "
            "`pytest_collection_modifyitems` without `@pytest.hookimpl(tryfirst=True)`, "
            "after pytest-xdist has already read the groups"
        )
    what = f"marker `{grouped[0]}` (mapped to `xdist_group`)" if grouped else "`xdist_group`"
    modes = [(mode, run.source) for run in runs for mode in run.dist]
    if any(mode == "loadgroup" for mode, _ in modes):
        return None
    addopts = [(mode, source) for mode, source in modes if source == runs[0].source]
    chosen = addopts or modes
    if chosen:
        mode, source = chosen[0]
        how = f"`--dist {mode}` (in {source})"
    elif any(run.numprocesses for run in runs):
        source = next(run.source for run in runs if run.numprocesses)
        how = f"`-n` without `--dist` (in {source}), which means `--dist load`"
    else:
        return None
    return (
        f"{what[0].upper()}{what[1:]} has no effect: the suite runs with {how}, and "
        "pytest-xdist honours `xdist_group` only under `--dist loadgroup`"
    )


def _selects(run: Invocation, markers: list[str]) -> bool:
    return bool(selecting(run, markers))


def selecting(run: Invocation, markers: Sequence[str]) -> tuple[str, ...]:
    """The `-m` expressions of `run` that name one of `markers` (`-m "not serial"`
    honours the marker by selection)."""
    return tuple(
        expression
        for expression in run.mark_expressions
        if any(re.search(rf"\b{re.escape(marker)}\b", expression) for marker in markers)
    )
