from __future__ import annotations

import ast

import libcst as cst

from testlint.api import MODULES, SUITE, InFile, Rule, RuleContext, SourceFile, is_docstring
from testlint.rules._asyncio import (
    EVENT_LOOP,
    EVENT_LOOP_REMOVED_IN,
    FIXTURE_DECORATORS,
    decorator_names,
    pytest_asyncio_at_least,
    sync_event_loop_users,
    written_before_one,
)
from testlint.rules._helpers import find_keyword


class EventLoopFixtureDefined(Rule):
    """
    ## What it does
    Checks for a fixture named `event_loop` defined in a test module or a
    conftest (`def event_loop` under `@pytest.fixture` or
    `@pytest_asyncio.fixture`, through any alias, or any fixture given
    `name="event_loop"`), when the project runs pytest-asyncio 1.0 or later (a
    lock file's version: uv.lock, poetry.lock, pdm.lock, Pipfile.lock; else the
    newest release the declared requirements admit; else the latest release:
    see `--show-settings`), and admits a release before 1.0: a suite written
    for the old fixture that now gets the new plugin. A project that moved on
    (a lock file pinning 1.0 or later, a requirement such as
    `pytest-asyncio>=1.0` or `==1.4.0`) keeps such a fixture on purpose, and is
    not reported; nor is a fixture that a synchronous function in the module,
    or for a conftest in the test modules below it, requests (it serves them,
    as any fixture would). Nor is a function-scoped one that only makes an
    ordinary loop (`asyncio.new_event_loop()`, `asyncio.get_event_loop()`, or a
    project function that calls nothing but those), hands it over and sets it
    current or closes it: pytest-asyncio 1.x gives every test such a loop
    anyway, so nothing is lost.

    ## Why is this bad?
    Before 1.0, pytest-asyncio ran every async test in the loop the `event_loop`
    fixture returned, so suites overrode it to get a custom loop (uvloop), a
    loop policy, debug mode, or one loop for a whole module or session. 1.0
    removed that fixture from pytest-asyncio, and a project's own `event_loop`
    became an ordinary fixture: async tests and fixtures run in pytest-asyncio's
    own loop, whatever it returns, without a warning. What it set up is lost:
    the test sees another loop (pytest 9.2, pytest-asyncio 1.5, with the
    `event_loop` of the Example in a conftest):

    ```
    E       assert False
    E        +  where False = get_debug()
    E        +    where get_debug = <_UnixSelectorEventLoop running=True closed=False
    debug=False>.get_debug
    ```

    and a test that still requests `event_loop` gets a loop that is not the
    one running it (futures and tasks made on it are "attached to a different
    loop"). Under pytest-asyncio 0.23 the same suite passes.

    For a loop shared by more tests, set `loop_scope` on the tests and fixtures
    (`@pytest.mark.asyncio(loop_scope="session")`,
    `@pytest_asyncio.fixture(loop_scope="session")`) or
    `asyncio_default_fixture_loop_scope` / `asyncio_default_test_loop_scope`;
    for a custom loop, implement the `pytest_asyncio_loop_factories` hook
    (pytest-asyncio 1.5; before, override the `event_loop_policy` fixture).

    ## Example
    ```python
    import asyncio

    import pytest


    @pytest.fixture
    def event_loop():
        loop = asyncio.new_event_loop()
        loop.set_debug(True)
        yield loop
        loop.close()


    @pytest.mark.asyncio
    async def test_debug():
        assert asyncio.get_running_loop().get_debug()
    ```

    ## Use instead
    ```python
    import asyncio

    import pytest


    @pytest.mark.asyncio
    async def test_debug():
        asyncio.get_running_loop().set_debug(True)
        assert asyncio.get_running_loop().get_debug()
    ```

    ## Fix safety
    There is no fix: what replaces the fixture (a loop scope, a loop factory,
    or nothing) depends on what it was for.

    ## References
    - [pytest-asyncio: migrating from 0.23](https://pytest-asyncio.readthedocs.io/en/latest/how-to-guides/migrate_from_0_23.html)
    - [pytest-asyncio: event loop scopes](https://pytest-asyncio.readthedocs.io/en/latest/concepts.html#asyncio-event-loops)
    """

    code = "TL304"
    name = "event-loop-fixture-defined"
    summary = "An `event_loop` fixture, which pytest-asyncio 1.0 and later never run tests in"
    triggers = ("event_loop",)
    facts = (SUITE, MODULES)

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A function named `event_loop`, or a decorator call naming one, with a
        decorator that may be a fixture, in a project running pytest-asyncio
        1.0 or later."""
        candidates = any(
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(
                (node.name == EVENT_LOOP or _named_event_loop(d))
                and decorator_names(file.scan, d) & {*FIXTURE_DECORATORS, None}
                for d in node.decorator_list
            )
            for node in file.scan.nodes_near([EVENT_LOOP])
        )
        return candidates and _applies(file)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.context.function_depth or not node.decorators:
            return
        for decorator in node.decorators:
            expression = decorator.decorator
            target = expression.func if isinstance(expression, cst.Call) else expression
            if self.context.imports.resolve(target) not in FIXTURE_DECORATORS:
                continue
            if _fixture_name(expression, node) != EVENT_LOOP:
                return
            if not _applies(self.context):
                return
            if _function_scoped(expression) and _only_makes_a_plain_loop(self.context, node):
                return  # pytest-asyncio's own loop for each test is the same loop
            self.report(
                node.name,
                "pytest-asyncio 1.0 and later never run tests in the loop of fixture "
                "`event_loop`: use `loop_scope` for a shared loop, "
                "`pytest_asyncio_loop_factories` for a custom one",
            )
            return


def _applies(file: InFile) -> bool:
    return (
        pytest_asyncio_at_least(file, EVENT_LOOP_REMOVED_IN)
        and written_before_one(file)
        and not sync_event_loop_users(file)
    )


def _named_event_loop(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Call) and any(
        k.arg == "name" and isinstance(k.value, ast.Constant) and k.value.value == EVENT_LOOP
        for k in decorator.keywords
    )


def _fixture_name(expression: cst.BaseExpression, node: cst.FunctionDef) -> str | None:
    """The name tests request the fixture by (None: a name testlint cannot read)."""
    if isinstance(expression, cst.Call):
        name = find_keyword(expression, "name")
        if name is not None:
            value = name.value
            if isinstance(value, cst.SimpleString):
                evaluated = value.evaluated_value
                return evaluated if isinstance(evaluated, str) else None
            return None
    return node.name.value


PLAIN_LOOPS = frozenset({"asyncio.new_event_loop", "asyncio.get_event_loop"})
"""What pytest-asyncio itself makes for each test."""


def _function_scoped(expression: cst.BaseExpression) -> bool:
    if not isinstance(expression, cst.Call):
        return True
    scope = find_keyword(expression, "scope")
    if scope is None:
        return True
    value = scope.value
    return isinstance(value, cst.SimpleString) and value.evaluated_value == "function"


def _only_makes_a_plain_loop(context: RuleContext, node: cst.FunctionDef) -> bool:
    """The fixture makes an ordinary loop, hands it over (`yield`/`return`) and
    may set it current or close it, nothing else: a function-scoped loop like
    this is what pytest-asyncio 1.x gives every test anyway, so nothing is lost
    (slack bolt-python's `test_request_verification.py`)."""
    if not isinstance(node.body, cst.IndentedBlock):
        return False
    lines = list(node.body.body)
    if lines and is_docstring(lines[0]):
        lines = lines[1:]
    statements: list[cst.BaseSmallStatement] = []
    for line in lines:
        if not isinstance(line, cst.SimpleStatementLine):
            return False
        statements.extend(line.body)
    if len(statements) == 1:  # `return asyncio.new_event_loop()`
        only = statements[0]
        return isinstance(only, cst.Return) and _is_plain_loop(context, only.value)
    first, *rest = statements
    if not (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and _is_plain_loop(context, first.value)
    ):
        return False
    loop = first.targets[0].target.value
    handed = False
    for statement in rest:
        if not handed and _hands_over(statement, loop):
            handed = True
        elif not _sets_or_closes(context, statement, loop):
            return False
    return handed


def _is_plain_loop(context: RuleContext, expression: cst.BaseExpression | None) -> bool:
    """`asyncio.new_event_loop()`, `asyncio.get_event_loop()`, or a call of a
    project function that reads nothing but asyncio and builtins (bolt-python's
    `tests.utils.get_event_loop`): not uvloop's, not a policy's."""
    if not isinstance(expression, cst.Call) or expression.args:
        return False
    qualified = context.imports.resolve(expression.func)
    if qualified is None:
        return False
    if qualified in PLAIN_LOOPS:
        return True
    module, _, function = qualified.rpartition(".")
    info = context.project.owner(context.path).module_index.get(module) if module else None
    if info is None or function not in info.top_level:
        return False
    imported = set()
    for read in info.reads_of(function):
        head = read.partition(".")[0]
        if head in info.by_value or head in info.module_aliases:
            imported.add(info.qualify(read))
        elif head in info.top_level:
            return False  # another function or value of the module: not followed
    # Locals and builtins aside, it reads asyncio's loop functions only.
    return bool(imported & PLAIN_LOOPS) and all(
        name == "asyncio" or name.startswith("asyncio.") for name in imported
    )


def _hands_over(statement: cst.BaseSmallStatement, loop: str) -> bool:
    """`yield loop` or `return loop`."""
    if isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Yield):
        value = statement.value.value
    elif isinstance(statement, cst.Return):
        value = statement.value
    else:
        return False
    return isinstance(value, cst.Name) and value.value == loop


def _sets_or_closes(context: RuleContext, statement: cst.BaseSmallStatement, loop: str) -> bool:
    """`loop.close()` or `asyncio.set_event_loop(loop)`."""
    if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Call):
        return False
    call = statement.value
    function = call.func
    if isinstance(function, cst.Attribute) and function.attr.value == "close":
        target = function.value
        return not call.args and isinstance(target, cst.Name) and target.value == loop
    return (
        context.imports.resolve(function) == "asyncio.set_event_loop"
        and len(call.args) == 1
        and isinstance(call.args[0].value, cst.Name)
        and call.args[0].value.value == loop
    )
