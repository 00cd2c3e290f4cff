from __future__ import annotations

import ast

import libcst as cst

from testlint.api import Applicability, InFile, NodeFix, Rule, SourceFile
from testlint.rules._asyncio import (
    ASYNCIO_MARK,
    decorator_names,
    deprecations_hidden,
    pytest_asyncio_at_least,
)
from testlint.rules._helpers import find_keyword

LOOP_SCOPE_SINCE = (0, 24)
"""pytest-asyncio 0.24 added `loop_scope=` and deprecated `scope=`."""


class AsyncioMarkScopeArgument(Rule):
    """
    ## What it does
    Checks for `pytest.mark.asyncio(scope=...)` (through any alias of
    `pytest` or `mark`), wherever the mark is written: on a test, on a class, in
    a `pytestmark`, in `pytest.param(marks=...)`.

    It stays silent unless the project runs pytest-asyncio 0.24 or later (the
    release that added `loop_scope=`): a lock file's version (uv.lock,
    poetry.lock, pdm.lock, Pipfile.lock), else the newest release the declared
    requirements admit, else the latest release (see `--show-settings`). Below
    0.24, `scope=` is the only spelling and `loop_scope=` is silently ignored.
    Nor does it report where the pytest configuration hides the warning
    (`-p no:warnings` in `addopts`; `filterwarnings` with `ignore`,
    `ignore::DeprecationWarning` or `ignore::pytest.PytestDeprecationWarning`):
    nothing happens there today.

    ## Why is this bad?
    pytest-asyncio 0.24 renamed the argument: `scope=` still works but emits a
    deprecation warning for every test module that uses it (pytest 9.2,
    pytest-asyncio 1.5):

    ```
    PytestDeprecationWarning: The "scope" keyword argument to the asyncio marker
    has been deprecated. Please use the "loop_scope" argument instead.
    ```

    In a suite that turns warnings into errors (`filterwarnings = error`, or
    `-W error`), the module is not collected at all:
    `ERROR test_orders.py - pytest.PytestDeprecationWarning: The "scope"
    keyword ar...`. A deprecated argument is also removed in a later major
    release. A mark with both `scope=` and `loop_scope=` stops the collection
    of its module: `ERROR test_orders.py - Failed: test_orders.py::test_a: An
    asyncio pytest marker defines both "scope" and "loop_scope", but it should
    only use "loop_scope".`

    ## Example
    ```python
    import pytest


    @pytest.mark.asyncio(scope="module")
    async def test_orders():
        assert True
    ```

    ## Use instead
    ```python
    import pytest


    @pytest.mark.asyncio(loop_scope="module")
    async def test_orders():
        assert True
    ```

    ## Fix safety
    Renaming `scope=` to `loop_scope=` is **safe**: pytest-asyncio 0.24 and
    later read `loop_scope` exactly as they read `scope` (`loop_scope or scope`).
    A mark that already has `loop_scope=` is reported without a fix: which of
    the two the author meant cannot be told.

    ## References
    - [pytest-asyncio: `asyncio` mark and `loop_scope`](https://pytest-asyncio.readthedocs.io/en/latest/reference/markers/index.html)
    - [pytest-asyncio 0.24 changelog](https://pytest-asyncio.readthedocs.io/en/latest/reference/changelog.html)
    """

    code = "TL306"
    name = "asyncio-mark-scope-argument"
    summary = "`pytest.mark.asyncio(scope=...)`, deprecated since pytest-asyncio 0.24"
    triggers = ("scope",)
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A call that may be `pytest.mark.asyncio` takes `scope=`, in a project
        running pytest-asyncio 0.24 or later."""
        candidates = any(
            names & {ASYNCIO_MARK, None}
            for call in file.scan.calls_named({"asyncio"})
            if _takes_scope(call) and (names := decorator_names(file.scan, call))
        )
        return candidates and _applies(file)

    def visit_Call(self, node: cst.Call) -> None:
        scope = find_keyword(node, "scope")
        if scope is None or self.context.imports.resolve(node.func) != ASYNCIO_MARK:
            return
        if not _applies(self.context):
            return
        fix = None
        if find_keyword(node, "loop_scope") is None:
            fix = NodeFix(
                title="Use `loop_scope=`",
                applicability=Applicability.SAFE,
                changes={scope: scope.with_changes(keyword=cst.Name("loop_scope"))},
            )
        self.report(
            node,
            "`scope=` of `pytest.mark.asyncio` is deprecated since pytest-asyncio 0.24: "
            "use `loop_scope=`",
            fix=fix,
        )


def _applies(file: InFile) -> bool:
    return pytest_asyncio_at_least(file, LOOP_SCOPE_SINCE) and not deprecations_hidden(file)


def _takes_scope(call: ast.Call) -> bool:
    return any(keyword.arg == "scope" for keyword in call.keywords)
