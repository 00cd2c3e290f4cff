from __future__ import annotations

import ast
import re
from collections.abc import Iterator

import libcst as cst

from testlint.api import (
    SUITE,
    Applicability,
    InFile,
    NodeFix,
    Rule,
    RuleContext,
    Scan,
    SourceFile,
)
from testlint.rules._asyncio import (
    ASYNCIO_MODE,
    async_functions,
    asyncio_mode,
    decorator_names,
    pytest_asyncio_at_least,
)
from testlint.rules._helpers import append_keyword, find_keyword, keyword_arg

SCOPES = ("function", "class", "module", "package", "session")
"""pytest's scopes, narrowest first."""
RUNNERS_SINCE = (1, 0)
"""pytest-asyncio 1.0: one loop per loop scope, requested by the fixture."""
LOOP_SCOPE_SINCE = (0, 24)
"""pytest-asyncio 0.24 added `loop_scope=` and `asyncio_default_fixture_loop_scope`,
and warns while the option is unset."""
FUNCTION_DEFAULT_IN = "2.0"
"""The release planned to default `asyncio_default_fixture_loop_scope` to
"function" (pytest-asyncio #924: a breaking change kept for the next major)."""
FIXTURE_SCOPE_SINCE = (1, 5)
FIXTURE_SCOPE = "fixture-scope"
"""pytest-asyncio 1.5 accepts `asyncio_default_fixture_loop_scope = fixture-scope`."""
SYNC_RUNNERS_SINCE = (1, 1)
"""From 1.1, a synchronous `@pytest_asyncio.fixture` also runs in a loop runner
(redis-py's fix c8771774; pytest-asyncio issue #1175)."""
OPTION = "asyncio_default_fixture_loop_scope"
ASYNCIO_FIXTURE = "pytest_asyncio.fixture"
PLAIN_FIXTURE = "pytest.fixture"
_WORD = r"(?<![\w.]){}(?!\w)"


class AsyncFixtureLoopScopeNarrower(Rule):
    """
    ## What it does
    Checks for async fixtures whose event loop scope is narrower than their own
    scope: `@pytest_asyncio.fixture(scope="session", loop_scope="function")`, or
    a `scope="module"` fixture without `loop_scope` where
    `asyncio_default_fixture_loop_scope = function`. From pytest-asyncio 1.1 a
    synchronous function under `@pytest_asyncio.fixture` runs in a loop runner
    too, and is checked the same way.

    The loop scope is the one pytest-asyncio 1.0 and later use: `loop_scope=`
    if given, else `asyncio_default_fixture_loop_scope` (its value, or the
    fixture's scope for `fixture-scope`, the value pytest-asyncio 1.5 added),
    else the fixture's scope. `-o asyncio_default_fixture_loop_scope=...` in
    `addopts` counts. In strict mode only `@pytest_asyncio.fixture` fixtures are
    run by pytest-asyncio; in auto mode plain `@pytest.fixture` async fixtures
    too.

    It stays silent unless the project runs pytest-asyncio 1.0 or later (0.24
    for the unset option below; a lock
    file's version, else the newest release the declared requirements admit,
    else the latest: see `--show-settings`), when a scope is not a literal,
    when the mode is set in code, and when nothing requests the fixture (no
    `autouse=True`, and its name appears nowhere else in the module or, for a
    conftest, in the test modules below it).

    It also reports a class-, module-, package- or session-scoped async fixture
    without `loop_scope` while `asyncio_default_fixture_loop_scope` is unset
    (pytest-asyncio 0.24 or later). Such a fixture runs in a loop of its own
    scope today, and pytest-asyncio warns at start-up
    (`PytestDeprecationWarning: The configuration option
    "asyncio_default_fixture_loop_scope" is unset. ... Future versions of
    pytest-asyncio will default the loop scope for asynchronous fixtures to
    "function" scope.`). That change is kept for pytest-asyncio 2.0
    (pytest-asyncio #924); from then on, tests using the fixture fail as below.
    Running pytest with `-o asyncio_default_fixture_loop_scope=function` shows it
    today. It stays silent when a CI or run file (workflow, tox, nox, make) names
    the option: CI may set it on pytest's command line.

    ## Why is this bad?
    pytest-asyncio runs an async fixture in the loop of its loop scope, which it
    provides as a fixture of that scope. A session-scoped fixture cannot request
    a function-scoped one, so every test that uses the fixture errors at setup
    (pytest 9.2, pytest-asyncio 1.5):

    ```
    ERROR at setup of test_orders
    ScopeMismatch: You tried to access the function scoped fixture
    _function_scoped_runner with a session scoped request object.
    ```

    ## Example
    ```python
    import pytest
    import pytest_asyncio


    @pytest_asyncio.fixture(scope="session", loop_scope="function")
    async def database():
        yield "connected"


    @pytest.mark.asyncio(loop_scope="session")
    async def test_orders(database):
        assert database == "connected"
    ```

    ## Use instead
    ```python
    import pytest
    import pytest_asyncio


    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def database():
        yield "connected"


    @pytest.mark.asyncio(loop_scope="session")
    async def test_orders(database):
        assert database == "connected"
    ```

    ## Fix safety
    For `@pytest_asyncio.fixture`, `loop_scope=` is set to the fixture's scope
    (added, or its value replaced). Where the option is unset this is **safe**:
    it is the loop scope the fixture has today, written down. Where the fixture
    runs in a narrower loop it is **unsafe**, because the fixture then runs in a
    loop that outlives each test, and a test running in a narrower loop that
    awaits objects the fixture made on its loop fails with "attached to a
    different loop": the tests using it may need the same `loop_scope`. There is
    no fix for `@pytest.fixture` (no `loop_scope` argument).

    ## References
    - [pytest-asyncio: `asyncio_default_fixture_loop_scope`](https://pytest-asyncio.readthedocs.io/en/latest/reference/configuration.html)
    - [pytest-asyncio: event loop scopes](https://pytest-asyncio.readthedocs.io/en/latest/concepts.html#asyncio-event-loops)
    - [pytest-asyncio #924: default the fixture loop scope to "function"](https://github.com/pytest-dev/pytest-asyncio/issues/924)
    """

    code = "TL305"
    name = "async-fixture-loop-scope-narrower"
    summary = "Async fixture whose event loop scope is narrower than its own scope"
    triggers = ("scope",)
    facts = (SUITE,)
    options = (ASYNCIO_MODE,)
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """An `async def` with a decorator that may be a fixture, taking `scope=`
        or `loop_scope=`, in a project running pytest-asyncio 1.0 or later."""
        scan = file.scan
        candidates = any(
            isinstance(decorator, ast.Call)
            and any(k.arg in ("scope", "loop_scope") for k in decorator.keywords)
            and decorator_names(scan, decorator) & {ASYNCIO_FIXTURE, PLAIN_FIXTURE, None}
            for function in async_functions(scan, import_time_only=True)
            for decorator in function.decorator_list
        ) or any(
            isinstance(decorator, ast.Call)
            and any(k.arg in ("scope", "loop_scope") for k in decorator.keywords)
            and decorator_names(scan, decorator) & {ASYNCIO_FIXTURE, None}
            for function in _sync_functions_near_fixture(scan)
            for decorator in function.decorator_list
        )
        return candidates and pytest_asyncio_at_least(file, LOOP_SCOPE_SINCE)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.context.function_depth:
            return
        for decorator in node.decorators:
            expression = decorator.decorator
            if not isinstance(expression, cst.Call):
                continue
            kind = self.context.imports.resolve(expression.func)
            if kind in (ASYNCIO_FIXTURE, PLAIN_FIXTURE):
                if node.asynchronous is not None or self._runs_sync(kind):
                    self._check(node, expression, kind)
                return

    def _runs_sync(self, kind: str | None) -> bool:
        """pytest-asyncio runs this synchronous fixture in a loop runner too."""
        return kind == ASYNCIO_FIXTURE and pytest_asyncio_at_least(self.context, SYNC_RUNNERS_SINCE)

    def _check(self, node: cst.FunctionDef, call: cst.Call, kind: str) -> None:
        scope = _literal(call, "scope", "function")
        if scope not in SCOPES or not _run_by_pytest_asyncio(self.context, kind):
            return
        given = find_keyword(call, "loop_scope") if kind == ASYNCIO_FIXTURE else None
        configured = None if given else _configured(self.context)
        if not given and configured is None:
            self._check_unset(node, call, kind, scope)
            return
        if not pytest_asyncio_at_least(self.context, RUNNERS_SINCE):
            return
        loop_scope = _literal(call, "loop_scope", None) if given else configured
        if loop_scope == FIXTURE_SCOPE:
            version = self.context.project.running_version(self.context.path, "pytest-asyncio")
            loop_scope = scope if version.at_least(FIXTURE_SCOPE_SINCE) else None
        if loop_scope not in SCOPES or SCOPES.index(loop_scope) >= SCOPES.index(scope):
            return
        if not _requested(self.context, node, call):
            return
        where = "`loop_scope`" if given else f"`{OPTION}`"
        self.report(
            node.name,
            f"{_what(node)} `{node.name.value}` is {scope}-scoped but runs in a "
            f'{loop_scope}-scoped loop ({where}): tests using it fail with "ScopeMismatch"',
            fix=self._fix(call, scope, Applicability.UNSAFE) if kind == ASYNCIO_FIXTURE else None,
        )

    def _check_unset(self, node: cst.FunctionDef, call: cst.Call, kind: str, scope: str) -> None:
        """The option is unset, so the fixture runs in a loop of its own scope
        today; pytest-asyncio 2.0 is to make that loop function-scoped."""
        if scope == "function" or not pytest_asyncio_at_least(self.context, LOOP_SCOPE_SINCE):
            return
        if not _requested(self.context, node, call) or _run_files_name_option(self.context):
            return
        self.report(
            node.name,
            f"{_what(node)} `{node.name.value}` is {scope}-scoped with no `loop_scope` while "
            f"`{OPTION}` is unset: when pytest-asyncio {FUNCTION_DEFAULT_IN} makes the "
            f'default "function", tests using it fail with "ScopeMismatch"',
            fix=self._fix(call, scope, Applicability.SAFE) if kind == ASYNCIO_FIXTURE else None,
        )

    def _fix(self, call: cst.Call, scope: str, applicability: Applicability) -> NodeFix:
        value = cst.SimpleString(f'"{scope}"')
        given = find_keyword(call, "loop_scope")
        if given is not None:
            changes: dict[cst.CSTNode, cst.CSTNode] = {given: given.with_changes(value=value)}
        else:
            changes = {call: append_keyword(call, keyword_arg("loop_scope", value))}
        return NodeFix(
            title=f'Set `loop_scope="{scope}"`',
            applicability=applicability,
            changes=changes,
        )


def _sync_functions_near_fixture(scan: Scan) -> Iterator[ast.FunctionDef]:
    """Synchronous functions outside function bodies on lines that name
    `fixture` or a name imported as it (a decorator's line)."""
    words = scan.words_for({"fixture"})
    for node in scan.import_time_nodes_near(words):
        if isinstance(node, ast.FunctionDef):
            yield node


def _literal(call: cst.Call, keyword: str, default: str | None) -> str | None:
    """A keyword's string value, `default` when absent, None when not a literal."""
    arg = find_keyword(call, keyword)
    if arg is None:
        return default
    if isinstance(arg.value, cst.SimpleString):
        value = arg.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _run_by_pytest_asyncio(context: RuleContext, kind: str) -> bool:
    """pytest-asyncio runs the fixture: `@pytest_asyncio.fixture` always, a plain
    `@pytest.fixture` in auto mode (the mode known from configuration)."""
    setup = asyncio_mode(context).setup
    if setup is None or setup.trio_mode or setup.anyio_auto:
        return False
    return kind == ASYNCIO_FIXTURE or setup.mode == "auto"


def _configured(context: InFile) -> str | None:
    """`asyncio_default_fixture_loop_scope` as pytest reads it for the file
    (`-o` in `addopts` first); None when unset."""
    return context.project.pytest_config(context.path.parent).ini_value(OPTION) or None


def _run_files_name_option(context: InFile) -> bool:
    """A CI or run file (workflow, tox, nox, make) names the option: CI may set it
    on pytest's command line, which testlint does not follow."""
    return any(OPTION in text for _, text in context.project.run_files_for(context.path))


def _what(node: cst.FunctionDef) -> str:
    return "Async fixture" if node.asynchronous is not None else "`pytest_asyncio` fixture"


def _requested(context: RuleContext, node: cst.FunctionDef, call: cst.Call) -> bool:
    """Something may request the fixture: `autouse=True`, or its name is a word
    elsewhere in the module or, for a conftest, in a test module below it."""
    autouse = find_keyword(call, "autouse")
    if autouse is not None and not (
        isinstance(autouse.value, cst.Name) and autouse.value.value == "False"
    ):
        return True
    name = _literal(call, "name", node.name.value) or node.name.value
    word = re.compile(_WORD.format(re.escape(name)))
    if len(word.findall(context.source)) > 1:
        return True
    if context.path.name != "conftest.py":
        return False
    here = context.path.resolve().parent
    project = context.project
    return any(
        word.search(project.suite_text(path))
        for path in project.suite_files
        if path.resolve() != context.path.resolve() and project.resolved(path).is_relative_to(here)
    )
