from __future__ import annotations

import ast
import functools
from typing import Any

import libcst as cst

from testlint.api import Applicability, NodeFix, Rule, SourceFile, is_docstring
from testlint.rules._asyncio import (
    EVENT_LOOP,
    EVENT_LOOP_REMOVED_IN,
    FIXTURE_DECORATORS,
    event_loop_may_be_defined,
    pytest_asyncio_at_least,
)
from testlint.rules._helpers import module_reference

NOT_THE_RUNNING_LOOP = frozenset({"run_until_complete", "run_forever", "close", "stop"})
"""Loop methods an async function cannot call on the loop running it: a body that
calls them on `event_loop` wanted another loop, and is not fixed."""
MESSAGE = (
    "`event_loop` is requested but pytest-asyncio 1.0 removed that fixture: "
    "\"fixture 'event_loop' not found\""
)


class EventLoopFixtureRequested(Rule):
    """
    ## What it does
    Checks for requests of the `event_loop` fixture in test modules and
    conftests: a parameter of a test or of a fixture (`@pytest.fixture`,
    `@pytest_asyncio.fixture`, through any alias),
    `request.getfixturevalue("event_loop")` and
    `@pytest.mark.usefixtures("event_loop")`.

    It stays silent unless the project runs pytest-asyncio 1.0 or later (a lock
    file's version: uv.lock, poetry.lock, pdm.lock, Pipfile.lock; else the
    newest release the declared requirements admit; else the latest release:
    see `--show-settings`), and when the file or a conftest above it may give
    the suite an `event_loop` fixture of its own (a `def event_loop`, a fixture
    named `"event_loop"`, an assignment to `event_loop`) or loads plugins
    (`pytest_plugins`). A parameter with a default value, or of a function that
    is neither a test nor a fixture, is not a fixture request.

    ## Why is this bad?
    pytest-asyncio 1.0 removed the `event_loop` fixture. Every test that
    requests it, directly or through a fixture, errors at setup (pytest 9.2,
    pytest-asyncio 1.5):

    ```
    ERROR at setup of test_orders
    file tests/test_orders.py, line 6
    E       fixture 'event_loop' not found
    ```

    (`request.getfixturevalue("event_loop")` fails the test with the same
    text.)

    ## Example
    ```python
    import pytest


    @pytest.mark.asyncio
    async def test_orders(event_loop):
        future = event_loop.create_future()
        event_loop.call_soon(future.set_result, 3)
        assert await future == 3
    ```

    ## Use instead
    ```python
    import asyncio

    import pytest


    @pytest.mark.asyncio
    async def test_orders():
        event_loop = asyncio.get_running_loop()
        future = event_loop.create_future()
        event_loop.call_soon(future.set_result, 3)
        assert await future == 3
    ```

    ## Fix safety
    For an `async def` test or fixture, the parameter is dropped and
    `event_loop = asyncio.get_running_loop()` becomes the first statement of
    the body (`import asyncio` is added when missing): **safe**, because under
    pytest-asyncio before 1.0 the `event_loop` an async function received was
    the loop running it, which is what `asyncio.get_running_loop()` returns.
    There is no fix when the body calls `run_until_complete`, `run_forever`,
    `close` or `stop` on it (it wanted another loop than the running one), for
    synchronous functions (no loop runs them: use `asyncio.run`, or make the
    test async), or for the other requests.

    ## References
    - [pytest-asyncio 1.0 changelog: the `event_loop` fixture is removed](https://pytest-asyncio.readthedocs.io/en/latest/reference/changelog.html)
    - [pytest-asyncio: migrating from 0.23](https://pytest-asyncio.readthedocs.io/en/latest/how-to-guides/migrate_from_0_23.html)
    """

    code = "TL303"
    name = "event-loop-fixture-requested"
    summary = "The `event_loop` fixture, removed in pytest-asyncio 1.0, is requested"
    triggers = ("event_loop",)
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A function with an `event_loop` parameter, or the string
        `"event_loop"`, in a project running pytest-asyncio 1.0 or later where
        nothing may define the fixture."""
        candidates = any(
            (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _requests(node.args))
            or (isinstance(node, ast.Constant) and node.value == EVENT_LOOP)
            for node in file.scan.nodes_near([EVENT_LOOP])
        )
        return candidates and _applies(file)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        param = _requested(node.params)
        if param is None or self.context.function_depth or not _applies(self.context):
            return
        fixture = any(
            self.context.imports.resolve(_target(d.decorator)) in FIXTURE_DECORATORS
            for d in node.decorators
        )
        config = self.context.project.pytest_config(self.context.path.parent)
        if not fixture and not config.collects_function(node.name.value):
            return
        fix = self._fix(node, param) if node.asynchronous is not None else None
        self.report(param.name, MESSAGE, fix=fix)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        getter = isinstance(func, cst.Attribute) and func.attr.value == "getfixturevalue"
        uses = self.context.imports.resolve(func) == "pytest.mark.usefixtures"
        if not (getter or uses) or not _applies(self.context):
            return
        for arg in node.args if uses else node.args[:1]:
            if arg.keyword is None and _is_event_loop(arg.value):
                self.report(node, MESSAGE)
                return

    def _fix(self, node: cst.FunctionDef, param: cst.Param) -> NodeFix | None:
        body = node.body
        if not isinstance(body, cst.IndentedBlock) or _wants_another_loop(body):
            return None
        if not any(p is param for p in node.params.params):
            return None  # keyword- or positional-only: `*`, `/` would be left alone
        reference = module_reference(self.context, "asyncio")
        if reference is None:
            return None
        name, imports = reference
        binding = cst.parse_statement(f"{EVENT_LOOP} = {name}.get_running_loop()\n")
        statements = list(body.body)
        at = 1 if statements and is_docstring(statements[0]) else 0
        statements.insert(at, binding)
        return NodeFix(
            title="Use `asyncio.get_running_loop()`",
            applicability=Applicability.SAFE,
            changes={
                node.params: _without(node.params, param),
                body: body.with_changes(body=statements),
            },
            imports=imports,
        )


def _applies(file: Any) -> bool:
    return pytest_asyncio_at_least(file, EVENT_LOOP_REMOVED_IN) and not event_loop_may_be_defined(
        file
    )


def _target(expression: cst.BaseExpression) -> cst.BaseExpression:
    return expression.func if isinstance(expression, cst.Call) else expression


def _requests(args: ast.arguments) -> bool:
    """`event_loop` is a parameter pytest fills with a fixture (no default)."""
    positional = [*args.posonlyargs, *args.args]
    undefaulted = positional[: len(positional) - len(args.defaults)]
    kwonly = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    return any(a.arg == EVENT_LOOP for a in (*undefaulted, *kwonly))


def _requested(params: cst.Parameters) -> cst.Param | None:
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == EVENT_LOOP and param.default is None:
            return param
    return None


def _is_event_loop(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.SimpleString) and value.evaluated_value == EVENT_LOOP


def _without(params: cst.Parameters, param: cst.Param) -> cst.Parameters:
    """`params` without `param` (one of `params.params`); the comma after the new
    last one is the one the removed last one had (no `def f(a, )`)."""
    kept = [p for p in params.params if p is not param]
    if kept and params.params[-1] is param:
        kept[-1] = kept[-1].with_changes(comma=param.comma)
    return params.with_changes(params=kept)


def _wants_another_loop(body: cst.BaseSuite) -> bool:
    finder = _call_finder()()
    body.visit(finder)
    return bool(finder.found)


@functools.cache
def _call_finder() -> type[Any]:
    """The visitor class, made on first use (libcst is imported only when a file
    is parsed: no class may subclass it at import)."""

    class CallFinder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found = False

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if (
                isinstance(node.value, cst.Name)
                and node.value.value == EVENT_LOOP
                and node.attr.value in NOT_THE_RUNNING_LOOP
            ):
                self.found = True

    return CallFinder
