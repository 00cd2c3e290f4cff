from __future__ import annotations

import functools
from typing import Any

import libcst as cst

from testlint.api import SUITE, Applicability, NodeFix, Rule, SourceFile
from testlint.rules._asyncio import (
    ASYNCIO_MARK,
    ASYNCIO_MODE,
    all_tests_run_by_anyio,
    async_functions,
    consumers_run_by_anyio,
    decorator_names,
    marks_in_scope,
    strict_pytest_asyncio,
)
from testlint.rules._helpers import find_keyword, module_reference


class AsyncFixtureWithPlainDecorator(Rule):
    """
    ## What it does
    Checks for `async def` fixtures — coroutines or async generators — decorated
    with `@pytest.fixture` (through any alias: `from pytest import fixture`,
    `import pytest as pt`) in test modules and conftests, when the project runs
    pytest-asyncio in *strict* mode.

    The mode comes from the pytest configuration that applies to the file
    (`asyncio_mode`, or `--asyncio-mode` in `addopts`), or from the
    `asyncio-mode` key of `[tool.testlint]`; pytest-asyncio's default is strict.
    Nothing is reported in auto mode, when pytest-trio runs every test
    (`trio_mode = true`), when anyio does (`anyio_mode = auto`, or an autouse
    `anyio_backend` fixture in a conftest above), for fixtures in modules marked
    `anyio` or `trio` or whose every test is, for fixtures whose every consumer
    (the tests requesting them, directly or through other fixtures, in the module
    or below the conftest) is marked `anyio`/`trio` or requests `anyio_backend`
    (those plugins run the async fixtures of their tests; pytest-trio outside
    trio mode runs only `trio` tests' fixtures), when the project does not use
    pytest-asyncio (not declared and never imported or used as a mark in the
    suite), when it pins pytest-asyncio (a lock file first: uv.lock, poetry.lock,
    pdm.lock, Pipfile.lock; then the declared requirements) below 0.19 (before strict was the
    default: 0.17 and 0.18 ran plain async fixtures in "legacy" mode), when a
    conftest or the module sets `asyncio_mode` in code to anything but a literal
    `"strict"` (which counts as strict whatever the file says; otherwise the mode
    cannot be known: set `asyncio-mode` in `[tool.testlint]`), uses the old
    `aiohttp.pytest_plugin`, or declares a plugin that runs async fixtures itself
    (pytest-aio, pytest-sanic, pytest-tornasync).

    ## Why is this bad?
    In strict mode pytest-asyncio only handles fixtures it was told about. A plain
    `@pytest.fixture` on an `async def` is not awaited: the test receives a
    coroutine or an `async_generator` object instead of the value
    (`TypeError: ... not 'async_generator'`, `'async_generator' object has no
    attribute ...`). pytest 9 makes it an error at setup; older pytest passes the
    raw object on silently.

    ## Example
    ```python
    import pytest


    @pytest.fixture
    async def client():
        yield "connected"


    @pytest.mark.asyncio
    async def test_client(client):
        assert client == "connected"
    ```

    ## Use instead
    ```python
    import pytest
    import pytest_asyncio


    @pytest_asyncio.fixture
    async def client():
        yield "connected"


    @pytest.mark.asyncio
    async def test_client(client):
        assert client == "connected"
    ```

    ## Fix safety
    The decorator becomes `@pytest_asyncio.fixture` with the same arguments
    (`scope`, `params`, `ids`, `autouse`, `name`) and comments, and
    `import pytest_asyncio` is added when missing (an import only the decorator
    used, such as `from pytest import fixture`, is removed): **safe**, because it
    is the only way the fixture can work in strict mode. An async fixture that also
    carries `@pytest.mark.asyncio` is not reported: marks on fixtures are a
    different error.

    ## References
    - [pytest-asyncio: modes](https://pytest-asyncio.readthedocs.io/en/latest/concepts.html#test-discovery-modes)
    - [pytest-asyncio: async fixtures](https://pytest-asyncio.readthedocs.io/en/latest/reference/decorators/index.html)
    """

    code = "TL301"
    name = "async-fixture-with-plain-decorator"
    summary = "`async def` fixture with a plain `@pytest.fixture` under pytest-asyncio strict mode"
    triggers = ("async",)
    facts = (SUITE,)
    options = (ASYNCIO_MODE,)
    fixable = "always"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """An `async def` has a decorator that may be `pytest.fixture`, and
        pytest-asyncio runs the file in strict mode (decided from its text and the
        project, only for a file with such a fixture, as in the visit). A name
        resolves to `pytest.fixture` only through an import or binding that spells
        `fixture`: without the word, the file is left alone unparsed (most async test
        modules of a suite use fixtures from a conftest)."""
        if "fixture" not in file.source:
            return False
        candidates = any(
            names & {"pytest.fixture", None}
            for function in async_functions(file.scan, import_time_only=False)
            for decorator in function.decorator_list
            if (names := decorator_names(file.scan, decorator))
        )
        return candidates and strict_pytest_asyncio(file, legacy_counts=False)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or not node.decorators:
            return
        resolve = self.context.imports.resolve
        fixture: cst.Decorator | None = None
        for decorator in node.decorators:
            expression = decorator.decorator
            target = expression.func if isinstance(expression, cst.Call) else expression
            qualified = resolve(target)
            if qualified == ASYNCIO_MARK:
                return  # a mark on a fixture is a different problem
            if qualified == "pytest.fixture":
                fixture = decorator
        if fixture is None or not strict_pytest_asyncio(self.context, legacy_counts=False):
            return
        if marks_in_scope(self.context, node) & {"pytest.mark.anyio", "pytest.mark.trio"}:
            return
        if all_tests_run_by_anyio(self.context) or consumers_run_by_anyio(
            self.context, _requested_as(node, fixture)
        ):
            return  # its only users are tests anyio or pytest-trio runs, which run it too
        kind = "async generator" if _has_yield(node.body) else "coroutine"
        self.report(
            node.name,
            f"Async fixture `{node.name.value}` uses `@pytest.fixture`: in pytest-asyncio "
            f"strict mode tests receive the un-awaited {kind} object",
            fix=self._fix(fixture),
        )

    def _fix(self, decorator: cst.Decorator) -> NodeFix | None:
        reference = module_reference(self.context, "pytest_asyncio")
        if reference is None:
            return None
        name, imports = reference
        new_target = cst.Attribute(cst.Name(name), cst.Name("fixture"))
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            replacement: cst.BaseExpression = expression.with_changes(func=new_target)
        else:
            replacement = new_target
        return NodeFix(
            title="Use `@pytest_asyncio.fixture`",
            applicability=Applicability.SAFE,
            changes={decorator: decorator.with_changes(decorator=replacement)},
            imports=imports,
        )


def _requested_as(function: cst.FunctionDef, decorator: cst.Decorator) -> str:
    """The name tests request the fixture by: `@pytest.fixture(name="db")` or its own."""
    expression = decorator.decorator
    if isinstance(expression, cst.Call):
        name = find_keyword(expression, "name")
        if name is not None and isinstance(name.value, cst.SimpleString):
            value = name.value.evaluated_value
            if isinstance(value, str):
                return value
    return function.name.value


def _has_yield(body: cst.BaseSuite) -> bool:
    """A `yield` anywhere in the body (what `libcst.matchers.findall` found; that
    module alone took half of testlint's start-up time to import)."""
    finder = _yield_finder()()
    body.visit(finder)
    return bool(finder.found)


@functools.cache
def _yield_finder() -> type[Any]:
    """The visitor class, made on first use: libcst is imported only when a file
    is parsed (`replay.defer_import`), so no class may subclass it at import."""

    class YieldFinder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found = False

        def visit_Yield(self, node: cst.Yield) -> bool:
            self.found = True
            return False

    return YieldFinder
