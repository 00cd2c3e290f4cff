from __future__ import annotations

import libcst as cst

from testlint.api import SUITE, Applicability, NodeFix, Rule, SourceFile
from testlint.rules._asyncio import (
    ASYNCIO_MARK,
    ASYNCIO_MODE,
    FIXTURE_DECORATORS,
    OTHER_PLUGIN_MARKS,
    async_functions,
    functions_in_based_classes,
    mark_names,
    marked_by_collection_hook,
    marks_in_scope,
    module_marks_surely,
    strict_pytest_asyncio,
    surely_one_of,
)
from testlint.rules._helpers import module_reference

SKIP_MARK = "pytest.mark.skip"
SETTLED_BY = frozenset({ASYNCIO_MARK, *OTHER_PLUGIN_MARKS, *FIXTURE_DECORATORS})
"""A test's own decorator that means this rule never reports it."""
MODULE_SETTLED_BY = frozenset({ASYNCIO_MARK, *OTHER_PLUGIN_MARKS, SKIP_MARK})
"""A mark in the module's `pytestmark` that means this rule reports none of its tests."""
# Decorators that leave a test a pytest test function.
KNOWN_DECORATOR_PREFIXES = ("pytest.mark.", "unittest.mock.patch", "mock.patch")


class AsyncTestWithoutAsyncioMark(Rule):
    """
    ## What it does
    Checks for `async def` tests — module-level functions and methods of test
    classes, named as pytest collects them (`python_functions`,
    `python_classes`; by default `test*` and `Test*`) — with no
    `pytest.mark.asyncio` on the function, its class (decorator or
    `pytestmark`), or the module's `pytestmark` (a mark or a list of marks),
    when the project runs pytest-asyncio in *strict* mode.

    Tests marked `skip` never run either way and are not reported. Tests owned by
    another plugin are not reported: `pytest.mark.anyio` or
    `pytest.mark.trio` in scope, a test requesting the `anyio_backend` fixture (an
    autouse one in a conftest above counts for every test),
    `trio_mode = true`, `anyio_mode = auto`, a project declaring pytest-aio,
    pytest-sanic or pytest-tornasync, the old `aiohttp.pytest_plugin`, or a conftest
    hook (`pytest_pyfunc_call`, `pytest_runtest_call`) that runs coroutine tests
    itself, as falcon's does, or a collection hook (`pytest_pycollect_makeitem`,
    `pytest_collection_modifyitems`, `pytest_itemcollected`) that applies the
    asyncio mark in code, as kopf's does, or pytest-aiohttp pinned before 1.0
    (it loads aiohttp's own plugin, which runs every coroutine test). Nor are
    tests that may not be pytest's: methods of a class with base classes (unittest's
    `IsolatedAsyncioTestCase` runs them itself), and functions under a decorator
    other than a pytest mark or `mock.patch` (it may replace the function). The
    mode and the "does this project use pytest-asyncio" question are answered as
    for TL301, except that old pytest-asyncio versions are reported too: they
    skipped unmarked async tests as well.

    ## Why is this bad?
    In strict mode pytest-asyncio only runs async tests that carry its mark. The
    others never run their body: pytest 9 fails them ("async def functions are
    not natively supported"), older versions skipped them with only a warning,
    so a suite could stay green while testing nothing.

    ## Example
    ```python
    async def test_fetch():
        assert await fetch() == 200
    ```

    ## Use instead
    ```python
    import pytest


    @pytest.mark.asyncio
    async def test_fetch():
        assert await fetch() == 200
    ```

    ## Fix safety
    Adding `@pytest.mark.asyncio` above the test's decorators (with `import pytest`
    when missing) is **safe**: it is what makes pytest-asyncio run the test at
    all.

    ## References
    - [pytest-asyncio: strict mode](https://pytest-asyncio.readthedocs.io/en/latest/concepts.html#strict-mode)
    """

    code = "TL302"
    name = "async-test-without-asyncio-mark"
    summary = "`async def` test with no `pytest.mark.asyncio` under pytest-asyncio strict mode"
    triggers = ("async",)
    facts = (SUITE,)
    options = (ASYNCIO_MODE,)
    fixable = "always"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """pytest-asyncio runs the file in strict mode (decided from its text and the
        project), and an `async def` outside function bodies, named as pytest collects
        tests and not in a class with a base, is settled neither by its own
        decorators (an asyncio, anyio or trio mark, a fixture decorator) nor by the
        module's `pytestmark`; and no conftest
        hook marks tests in code, nor does aiohttp's old plugin run them (the project
        questions in the order the visit asks them)."""
        if file.path.name == "conftest.py":
            return False  # pytest collects no tests from a conftest
        if module_marks_surely(file.scan, MODULE_SETTLED_BY):
            return False
        config = file.project.pytest_config(file.path.parent)
        based = functions_in_based_classes(file.scan.tree)
        candidates = any(
            config.collects_function(function.name)
            and not surely_one_of(file.scan, function.decorator_list, SETTLED_BY)
            and id(function) not in based  # the visit leaves those to their bases
            for function in async_functions(file.scan, import_time_only=True)
        )
        return (
            candidates
            and strict_pytest_asyncio(file, legacy_counts=True)
            and not marked_by_collection_hook(file)
            and not file.project.owner(file.path).old_aiohttp_plugin
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or self.context.function_depth:
            return
        if not self._is_collected_test(node):
            return
        marks = marks_in_scope(self.context, node)
        if ASYNCIO_MARK in marks or marks & OTHER_PLUGIN_MARKS or marks & FIXTURE_DECORATORS:
            return
        if SKIP_MARK in marks:
            return  # never runs, marked or not (`skipif` may run: not judged)
        params = [p.name.value for p in (*node.params.params, *node.params.kwonly_params)]
        if "anyio_backend" in params or not self._plain_pytest_test(node, marks):
            return
        if not strict_pytest_asyncio(self.context, legacy_counts=True):
            return
        if marked_by_collection_hook(self.context):
            return
        if self.context.project.owner(self.context.path).old_aiohttp_plugin:
            return  # aiohttp's own plugin runs unmarked coroutine tests
        self.report(
            node.name,
            f"Async test `{node.name.value}` has no `pytest.mark.asyncio`: in strict mode "
            "pytest-asyncio never runs it",
            fix=self._fix(node),
        )

    def _plain_pytest_test(self, node: cst.FunctionDef, marks: set[str]) -> bool:
        """Only tests pytest itself collects and runs: no decorator that may replace
        the function (`@tree.command()` turns it into another object), no class
        base that may hand it to unittest (`IsolatedAsyncioTestCase`)."""
        decorators = mark_names(self.context, [d.decorator for d in node.decorators])
        if len(decorators) != len(node.decorators):
            return False  # a decorator we cannot resolve
        if not all(name.startswith(KNOWN_DECORATOR_PREFIXES) for name in decorators):
            return False
        return all(
            all(self.context.imports.resolve(base.value) == "builtins.object" for base in cls.bases)
            for cls in self.context.classes
        )

    def _is_collected_test(self, node: cst.FunctionDef) -> bool:
        if self.context.path.name == "conftest.py":
            return False  # pytest collects no tests from a conftest (ariadne's `test_*` sources)
        config = self.context.project.pytest_config(self.context.path.parent)
        if not config.collects_function(node.name.value):
            return False
        return all(config.collects_class(c.name.value) for c in self.context.classes)

    def _fix(self, node: cst.FunctionDef) -> NodeFix | None:
        reference = module_reference(self.context, "pytest")
        if reference is None:
            return None
        name, imports = reference
        mark = cst.Decorator(cst.parse_expression(f"{name}.mark.asyncio"))
        return NodeFix(
            title="Add `@pytest.mark.asyncio`",
            applicability=Applicability.SAFE,
            changes={node: node.with_changes(decorators=[mark, *node.decorators])},
            imports=imports,
        )
