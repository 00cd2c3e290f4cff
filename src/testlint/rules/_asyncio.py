"""What TL301 and TL302 share: the mode, plugin ownership, and marks in scope."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from testlint.import_time import import_time_statements_ast
from testlint.memo import Key
from testlint.names import CANONICAL_PREFIXES
from testlint.project import Project
from testlint.pytest_config import AsyncioSetup, asyncio_setup
from testlint.rule import InFile, Option, RuleContext
from testlint.scan import Scan, statements_in

ASYNCIO_MODE = Option(
    key="asyncio-mode",
    default="",
    doc=(
        'pytest-asyncio\'s mode, "strict" or "auto", for projects that set it outside '
        "the pytest configuration files (CI command line, conftest code); empty: read "
        "`asyncio_mode` and `--asyncio-mode` from the configuration, default strict"
    ),
    choices=("", "strict", "auto"),
)
ASYNCIO_MARK = "pytest.mark.asyncio"
OTHER_PLUGIN_MARKS = frozenset({"pytest.mark.anyio", "pytest.mark.trio"})
FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
"""Decorators that make a function a fixture (as `mark_names` resolves them)."""


def async_functions(scan: Scan, *, import_time_only: bool) -> Iterator[ast.AsyncFunctionDef]:
    """`async def`s of the file (only those outside function bodies, if asked)."""
    near = scan.import_time_nodes_near if import_time_only else scan.nodes_near
    for node in near(["async"]):
        if isinstance(node, ast.AsyncFunctionDef):
            yield node


def functions_in_based_classes(tree: ast.Module) -> set[int]:
    """The ids of the functions defined in the body of a class that has a base
    other than `object` (or in a class nested in one), outside function bodies:
    TL302 leaves their tests to whatever runs them (unittest's
    `IsolatedAsyncioTestCase`, a base class's marks)."""
    found: set[int] = set()
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, based = stack.pop()
        for child in statements_in(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if based:
                    found.add(id(child))
            elif isinstance(child, ast.ClassDef):
                plain = all(isinstance(b, ast.Name) and b.id == "object" for b in child.bases)
                stack.append((child, based or not plain))
            else:
                stack.append((child, based))
    return found


def decorator_names(scan: Scan, decorator: ast.expr) -> set[str | None]:
    """What a decorator may resolve to, as the rules' import table would name it
    (None: an import the gate cannot resolve; empty: not an imported name)."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return {_canonical(name) for name in scan.qualified(target)}


def surely_one_of(scan: Scan, decorators: Iterable[ast.expr], names: frozenset[str]) -> bool:
    """Some decorator resolves to one of `names` however its imports are read."""
    for decorator in decorators:
        found = decorator_names(scan, decorator)
        if found and all(name in names for name in found):
            return True
    return False


def _canonical(name: str | None) -> str | None:
    if name is None:
        return None
    for prefix, canonical in CANONICAL_PREFIXES:
        if name.startswith(prefix):
            return canonical + name[len(prefix) :]
    return name


# Text in a conftest (or the module) that means testlint cannot know who runs async
# tests: the mode set in code, or the old aiohttp plugin, which runs them itself.
UNKNOWABLE = ("asyncio_mode", "aiohttp.pytest_plugin")


STRICT_PYTEST_ASYNCIO: Key[bool] = Key("strict pytest-asyncio (per legacy_counts)")
MARKED_BY_COLLECTION_HOOK: Key[bool] = Key("marked by a collection hook")
ALL_TESTS_RUN_BY_ANYIO: Key[bool] = Key("all tests run by anyio")
CONSUMERS_RUN_BY_ANYIO: Key[bool] = Key("consumers run by anyio (per file and fixture)")
RESOLVED_SUITE_FILES: Key[tuple[Path, ...]] = Key("the suite's files, resolved")
REQUESTS: Key[tuple[tuple[str, _Requester], ...]] = Key("fixture requests (per file)")


def strict_pytest_asyncio(context: InFile, *, legacy_counts: bool) -> bool:
    """pytest-asyncio runs this file in strict mode and no other plugin takes over.
    `legacy_counts`: a project pinned before 0.19 (no strict default) is reported too.
    The same for every function of a file: computed once per file."""
    return context.memo.get(
        STRICT_PYTEST_ASYNCIO, lambda: _strict_pytest_asyncio(context, legacy_counts), legacy_counts
    )


@dataclass(frozen=True)
class AsyncioMode:
    """pytest-asyncio's mode for a file, and where it is set."""

    mode: str
    """ "strict", "auto", ... (the modes set in code, when they differ)."""
    key: str
    """What sets it: `asyncio_mode`, `--asyncio-mode` (in `addopts`), the
    `asyncio-mode` option of testlint, `config.option.asyncio_mode` (conftest
    code); empty: pytest-asyncio's default."""
    where: Path | None
    """The file that sets it (None: the default, or the option's default)."""
    setup: AsyncioSetup | None
    """The setup under that mode; None when code sets a mode other than strict
    (the strict-mode rules then report nothing)."""


CODE_KEY = "config.option.asyncio_mode"
OPTION_KEY = f"[tool.testlint] {ASYNCIO_MODE.key}"


def asyncio_mode(context: InFile) -> AsyncioMode:
    """The mode pytest-asyncio runs the file in: testlint's `asyncio-mode`, else
    `config.option.asyncio_mode = "..."` in a conftest above the file (or the file
    itself), else the pytest configuration (`--asyncio-mode` in `addopts`, then
    `asyncio_mode`), else strict."""
    path, project = context.path, context.project
    config = project.pytest_config(path.parent)
    override = context.settings.option(ASYNCIO_MODE)
    if override:
        setup = asyncio_setup(config, override)
        return AsyncioMode(setup.mode, OPTION_KEY, context.settings.config_path, setup)
    files = (*project.conftests(path.parent), (path, context.source))
    in_code = [(mode, where) for where, text in files for mode in _MODE_IN_CODE.findall(text)]
    modes = sorted({mode for mode, _ in in_code})
    if modes == ["strict"]:  # `config.option.asyncio_mode = "strict"` wins over the file
        return AsyncioMode("strict", CODE_KEY, in_code[0][1], asyncio_setup(config, "strict"))
    if modes:  # set to another mode in code
        return AsyncioMode(", ".join(modes), CODE_KEY, in_code[0][1], None)
    setup = asyncio_setup(config)
    return AsyncioMode(setup.mode, setup.mode_key, config.path if setup.mode_key else None, setup)


def _strict_pytest_asyncio(context: InFile, legacy_counts: bool) -> bool:
    path, project = context.path, context.project
    mode = asyncio_mode(context)
    setup = mode.setup
    if setup is None:
        return False  # set to another mode in code
    if setup.mode != "strict" or setup.trio_mode or setup.anyio_auto:
        return False
    texts = (*project.conftest_texts(path.parent), context.source)
    if mode.key not in (OPTION_KEY, CODE_KEY) and any(
        word in text for text in texts for word in UNKNOWABLE
    ):
        return False
    if any(_AUTOUSE_ANYIO_BACKEND.search(text) for text in texts if "anyio_backend" in text):
        return False  # every test requests it: anyio runs them all, and their fixtures
    if any(_RUNS_COROUTINES.search(text) for text in texts if "iscoroutine" in text):
        return False  # a conftest hook runs coroutine tests itself (falcon's runs_sync)
    status = project.owner(path).pytest_asyncio
    return status == "used" or (legacy_counts and status == "legacy")


def module_marks_surely(scan: Scan, names: frozenset[str]) -> bool:
    """The module's top-level `pytestmark` surely holds one of the marks `names`
    (`pytestmark = pytest.mark.asyncio`, or a list or tuple holding it): every test
    of the module has it (`marks_in_scope` reads the same assignments, and more)."""
    return surely_one_of(scan, _pytestmark(scan.tree.body), names)


_MODE_IN_CODE = re.compile(r"option\.asyncio_mode\s*=\s*[\"'](\w+)[\"']")
"""`config.option.asyncio_mode = "strict"` in a conftest: the mode, set in code."""
_RUNS_COROUTINES = re.compile(r"def\s+pytest_(?:pyfunc_call|runtest_call)\b")
"""With `iscoroutine...` in the same conftest: a hook that runs async tests itself."""
_COLLECTION_HOOK = re.compile(
    r"def\s+pytest_(?:pycollect_makeitem|collection_modifyitems|itemcollected)\b"
)
_ASYNCIO_MARK_IN_CODE = re.compile(r"mark\.asyncio\b|add_marker\(\s*[\"']asyncio[\"']")


def marked_by_collection_hook(context: InFile) -> bool:
    """A conftest above the file has a collection hook and applies the asyncio mark
    in code (kopf's `pytest_pycollect_makeitem` marks every coroutine test): which
    tests it marks is not knowable statically, so an unmarked test may be marked."""
    return context.memo.get(MARKED_BY_COLLECTION_HOOK, lambda: _marked_by_collection_hook(context))


def _marked_by_collection_hook(context: InFile) -> bool:
    return any(
        bool(_COLLECTION_HOOK.search(text) and _ASYNCIO_MARK_IN_CODE.search(text))
        for text in context.project.conftest_texts(context.path.parent)
        if "asyncio" in text
    )


_AUTOUSE_ANYIO_BACKEND = re.compile(
    r"autouse\s*=\s*True[^\n]*\n(?:[ \t]*(?:@|#)[^\n]*\n)*"
    r"[ \t]*(?:async[ \t]+)?def[ \t]+anyio_backend\b"
)
"""An autouse `anyio_backend` fixture (logfire's conftest): anyio's plugin then runs
every async test and wraps every async fixture, marked or not."""


def all_tests_run_by_anyio(context: RuleContext) -> bool:
    """Every test function of the module is marked `anyio`/`trio` or requests
    `anyio_backend` (ormar): a fixture of the module is only used by them."""
    return context.memo.get(ALL_TESTS_RUN_BY_ANYIO, lambda: _all_tests_run_by_anyio(context.source))


def _all_tests_run_by_anyio(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return False
    tests = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test")
    ]
    return bool(tests) and all(_run_by_anyio(test) for test in tests)


def _run_by_anyio(test: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if any(arg.arg == "anyio_backend" for arg in test.args.args):
        return True
    return _marked_by_anyio(test.decorator_list)


def consumers_run_by_anyio(context: RuleContext, fixture: str) -> bool:
    """Every test that requests `fixture` (directly or through other fixtures) is
    run by anyio or pytest-trio: marked `anyio`/`trio` (itself, its class or the
    module's `pytestmark`) or requesting `anyio_backend`. Those plugins run the
    async fixtures of the tests they run, whatever their decorator (pytest-trio
    does so outside trio mode too, but only for `trio` tests). The tests looked at
    are the module's own, or for a conftest every test module below it. False when
    no test requests it."""
    return context.project.memo.get(
        CONSUMERS_RUN_BY_ANYIO,
        lambda: _consumers_run_by_anyio(context, fixture),
        (context.path, fixture),
    )


@dataclass(frozen=True)
class _Requester:
    name: str
    is_test: bool
    run_by_anyio: bool


def _consumers_run_by_anyio(context: RuleContext, fixture: str) -> bool:
    here = context.path.resolve()
    in_conftest = here.name == "conftest.py"
    if in_conftest:
        paths = [p for p in _resolved_suite_files(context.project) if p.is_relative_to(here.parent)]
    else:
        paths = [here]
    texts = {
        path: context.source if path == here else context.project.suite_text(path) for path in paths
    }
    requesters: dict[str, list[tuple[Path, _Requester]]] = {}
    read: set[Path] = set()
    verdicts: list[bool] = []
    # A fixture is seen by the tests of its module, or below its conftest: the
    # same name elsewhere is another fixture (elasticsearch's _async and _sync).
    pending = [(fixture, here)]
    seen: set[tuple[str, Path]] = set()
    while pending:
        name, defined_in = pending.pop()
        if (name, defined_in) in seen:
            continue
        seen.add((name, defined_in))
        for path, text in texts.items():
            if path not in read and name in text:
                read.add(path)
                own = text if path == here else None  # may differ from the disk's
                for requested, requester in _requests(context.project, path, text, own):
                    requesters.setdefault(requested, []).append((path, requester))
        for path, requester in requesters.get(name, ()):
            if not _sees(path, defined_in):
                continue
            if requester.is_test:
                verdicts.append(requester.run_by_anyio)
            else:
                pending.append((requester.name, path))  # its users are the consumers
    return bool(verdicts) and all(verdicts)


def _resolved_suite_files(project: Project) -> tuple[Path, ...]:
    return project.memo.get(
        RESOLVED_SUITE_FILES, lambda: tuple(map(project.resolved, project.suite_files))
    )


def _requests(
    project: Project, path: Path, source: str, own: str | None
) -> tuple[tuple[str, _Requester], ...]:
    """`_requesters` of a module, once per file (each fixture of a conftest asks):
    keyed by its path, and by its text only for the file being linted (`own`),
    whose text may not be the disk's; other texts are not kept."""
    return project.memo.get(REQUESTS, lambda: tuple(_requesters(source)), (path, own))


def _sees(path: Path, defined_in: Path) -> bool:
    """Whether a function in `path` can request a fixture defined in `defined_in`."""
    if defined_in.name == "conftest.py":
        return path.is_relative_to(defined_in.parent)
    return path == defined_in


def _requesters(source: str) -> Iterator[tuple[str, _Requester]]:
    """(requested fixture name, the function requesting it) for every function."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return
    module_marked = _marked_by_anyio(_pytestmark(tree.body))
    for node in import_time_statements_ast(tree.body):
        if isinstance(node, ast.ClassDef):
            class_marked = module_marked or _marked_by_anyio(
                [*node.decorator_list, *_pytestmark(node.body)]
            )
            functions = [n for n in node.body if isinstance(n, _FUNCTIONS)]
            yield from _function_requests(functions, class_marked)
        elif isinstance(node, _FUNCTIONS):
            yield from _function_requests([node], module_marked)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _function_requests(
    functions: Sequence[ast.FunctionDef | ast.AsyncFunctionDef], marked: bool
) -> Iterator[tuple[str, _Requester]]:
    for function in functions:
        params = [a.arg for a in (*function.args.args, *function.args.kwonlyargs)]
        is_test = function.name.startswith("test")
        by_anyio = marked or _run_by_anyio(function)
        requester = _Requester(_fixture_name(function), is_test, by_anyio)
        for param in params:
            yield param, requester


def _fixture_name(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The name tests request a fixture by: `@pytest.fixture(name="db")` or its own."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return function.name


def _pytestmark(body: Sequence[ast.stmt]) -> list[ast.expr]:
    """The marks a `pytestmark = ...` assignment in `body` applies."""
    marks: list[ast.expr] = []
    for statement in body:
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets
        ):
            value = statement.value
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            call = statement.value  # `pytestmark.extend([...])`, `.append(...)`
            if ast.unparse(call.func) in ("pytestmark.extend", "pytestmark.append") and call.args:
                value = call.args[0]
        if value is not None:
            marks.extend(value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value])
    return marks


def _marked_by_anyio(marks: Sequence[ast.expr]) -> bool:
    for mark in marks:
        target = mark.func if isinstance(mark, ast.Call) else mark
        if ast.unparse(target).endswith(("mark.anyio", "mark.trio")):
            return True
    return False


def mark_names(context: RuleContext, expressions: Sequence[cst.BaseExpression]) -> set[str]:
    """Qualified names of marks: `pytest.mark.asyncio` for `@pytest.mark.asyncio`,
    `@mark.asyncio(loop_scope="module")` after `from pytest import mark`, ..."""
    names = set()
    for expression in expressions:
        target = expression.func if isinstance(expression, cst.Call) else expression
        qualified = context.imports.resolve(target)
        if qualified is not None:
            names.add(qualified)
    return names


def pytestmark_values(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseExpression]:
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            value: cst.BaseExpression | None = None
            if (
                isinstance(small, cst.Assign)
                and any(
                    isinstance(t.target, cst.Name) and t.target.value == "pytestmark"
                    for t in small.targets
                )
            ) or (
                isinstance(small, cst.AnnAssign)
                and isinstance(small.target, cst.Name)
                and small.target.value == "pytestmark"
            ):
                value = small.value
            if value is None:
                value = _pytestmark_extension(small)
            if value is None:
                continue
            if isinstance(value, (cst.List, cst.Tuple)):
                yield from (element.value for element in value.elements)
            else:
                yield value


def _pytestmark_extension(small: cst.BaseSmallStatement) -> cst.BaseExpression | None:
    """The marks `pytestmark.extend([...])`, `pytestmark.append(...)` or
    `pytestmark += [...]` add (fakeredis builds its list so)."""
    if isinstance(small, cst.AugAssign):
        target = small.target
        if isinstance(target, cst.Name) and target.value == "pytestmark":
            return small.value
        return None
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return None
    func = small.value.func
    if (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == "pytestmark"
        and func.attr.value in ("extend", "append")
        and len(small.value.args) == 1
    ):
        return small.value.args[0].value
    return None


def marks_in_scope(context: RuleContext, function: cst.FunctionDef) -> set[str]:
    """Marks on the function, its enclosing classes (decorators and `pytestmark`)
    and the module's `pytestmark`."""
    expressions = [d.decorator for d in function.decorators]
    for cls in context.classes:
        expressions.extend(d.decorator for d in cls.decorators)
        if isinstance(cls.body, cst.IndentedBlock):
            expressions.extend(pytestmark_values(cls.body.body))
    expressions.extend(pytestmark_values(context.module.body))
    return mark_names(context, expressions)


def pytest_asyncio_at_least(context: InFile, version: tuple[int, ...]) -> bool:
    """pytest-asyncio runs the file's project (declared, locked or used by the
    suite; not pinned before 0.19, not left to another plugin), in `version` or
    later: a lock file's version, else the newest release the declared
    specifiers admit, else the latest (`Project.running_version`). False when
    the version cannot be told."""
    project = context.project
    if project.owner(context.path).pytest_asyncio != "used":
        return False
    return project.running_version(context.path, "pytest-asyncio").at_least(version) is True


EVENT_LOOP = "event_loop"
EVENT_LOOP_REMOVED_IN = (1, 0)
"""pytest-asyncio 1.0 removed the `event_loop` fixture."""
_DEFINES_EVENT_LOOP = re.compile(
    r"\bdef\s+event_loop\s*\(|name\s*=\s*[\"']event_loop[\"']|^[ \t]*event_loop\s*=|"
    r"\bpytest_plugins\b",
    re.MULTILINE,
)
"""Text that may give the suite an `event_loop` fixture of its own (a definition,
a fixture renamed so, an assignment), or load plugins that may define one."""
EVENT_LOOP_DEFINED: Key[bool] = Key("an `event_loop` fixture may be defined (per file)")


def event_loop_may_be_defined(context: InFile) -> bool:
    """The file or a conftest above it may define an `event_loop` fixture, or
    loads plugins (`pytest_plugins`) that may: then tests requesting it get it."""
    return context.memo.get(EVENT_LOOP_DEFINED, lambda: _event_loop_may_be_defined(context))


def _event_loop_may_be_defined(context: InFile) -> bool:
    texts = (*context.project.conftest_texts(context.path.parent), context.source)
    return any(
        _DEFINES_EVENT_LOOP.search(text)
        for text in texts
        if "event_loop" in text or "pytest_plugins" in text
    )


_HIDING_FILTERS = frozenset(
    {
        "ignore",
        "ignore::DeprecationWarning",
        "ignore::PytestDeprecationWarning",
        "ignore::pytest.PytestDeprecationWarning",
    }
)
"""`filterwarnings` entries that hide pytest-asyncio's deprecation warnings."""


def deprecations_hidden(context: InFile) -> bool:
    """The pytest configuration of the file never shows a deprecation warning:
    `-p no:warnings` in `addopts`, or `filterwarnings` ignores them all."""
    config = context.project.pytest_config(context.path.parent)
    options = list(config.addopts)
    plugins = [b for a, b in zip(options, options[1:]) if a == "-p"]
    plugins += [option[2:] for option in options if option.startswith("-p") and option != "-p"]
    if "no:warnings" in plugins:
        return True
    filters = config.get_lines("filterwarnings")
    return any(entry.replace(" ", "") in _HIDING_FILTERS for entry in filters)


_SYNC_REQUEST = re.compile(r"(?<!async )\bdef\s+\w+\s*\(([^)]*)\)")
_EVENT_LOOP_WORD = re.compile(r"(?<![\w.])event_loop(?!\w)")
SYNC_EVENT_LOOP_USERS: Key[bool] = Key("a synchronous function requests `event_loop`")


def written_before_one(context: InFile) -> bool:
    """The project admits a pytest-asyncio before 1.0 (no lock file or bound
    says 1.0 or later): its suite may be written for the `event_loop` fixture."""
    version = context.project.running_version(context.path, "pytest-asyncio")
    return version.admits_below(EVENT_LOOP_REMOVED_IN) is True


def sync_event_loop_users(context: InFile) -> bool:
    """A synchronous function in the file, or for a conftest in the suite files
    below it, takes an `event_loop` parameter: a fixture of that name serves
    it, whatever pytest-asyncio does."""
    return context.memo.get(SYNC_EVENT_LOOP_USERS, lambda: _sync_event_loop_users(context))


def _sync_event_loop_users(context: InFile) -> bool:
    texts = [context.source]
    if context.path.name == "conftest.py":
        here = context.path.resolve()
        project = context.project
        texts += [
            project.suite_text(path)
            for path in _resolved_suite_files(project)
            if path != here and path.is_relative_to(here.parent)
        ]
    return any(
        _EVENT_LOOP_WORD.search(match.group(1))
        for text in texts
        if "event_loop" in text
        for match in _SYNC_REQUEST.finditer(text)
    )
