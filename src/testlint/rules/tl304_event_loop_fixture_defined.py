from __future__ import annotations

import ast

import libcst as cst

from testlint.api import SUITE, InFile, Rule, SourceFile
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
    as any fixture would).

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
    facts = (SUITE,)

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
