from __future__ import annotations

import ast

import libcst as cst

from testlint.api import (
    Applicability,
    FileKind,
    NodeFix,
    Rule,
    SourceFile,
    admits_python_below,
)
from testlint.rules._helpers import module_reference
from testlint.rules._never import (
    class_body,
    import_time_classes,
    lineage,
    module_sets_test_attribute,
    sets_test_attribute,
    sets_test_attribute_ast,
)

PLAIN_TEST_CASES = frozenset({"unittest.TestCase", "unittest.case.TestCase"})
TEST_METHOD_PREFIX = "test"
"""unittest's `TestLoader.testMethodPrefix`: pytest collects a `TestCase`'s tests
by it, not by `python_functions`."""
RUNS_TESTS = frozenset(
    {"run", "debug", "__call__", "_callTestMethod", "__getattribute__", "__init_subclass__"}
)
"""Methods through which a class between the test and `TestCase` could run
coroutines itself."""
ISOLATED_SINCE = (3, 8)
KEEPS_A_COROUTINE = ("pytest.mark.", "unittest.mock.patch", "mock.patch")
"""Decorators that leave an `async def` a coroutine function: marks, and `patch`
(which wraps one in a coroutine function)."""


class AsyncTestInPlainTestCase(Rule):
    """
    ## What it does
    Checks for `async def test*` methods of a class based on a plain
    `unittest.TestCase` (directly, or through classes of the same file): not
    `unittest.IsolatedAsyncioTestCase`, and not through a base from another module
    (Django's `SimpleTestCase`, `asynctest.TestCase` and others run coroutines).

    Silent for methods under a decorator other than a pytest mark or `mock.patch`
    (`@async_test` and the like may run the coroutine)
    and classes (a decorator may wrap the methods), for a class between the test
    and `TestCase` that overrides how a test is called (`run`, `_callTestMethod`,
    ...) or sets a metaclass, and for classes or modules that set `__test__`.

    ## Why is this bad?
    `unittest.TestCase` calls the test method and ignores what it returns: for an
    `async def` that is a coroutine which is never awaited, so the test's body
    never runs. The test passes even if it holds `assert False`; all that shows is
    a `RuntimeWarning: coroutine '...' was never awaited` and, since Python 3.11,
    a `DeprecationWarning: It is deprecated to return a value that is not None
    from a test case` (an error under `-W error`). pytest runs such a class through
    unittest, and pytest-asyncio does not handle `TestCase` methods.

    ## Example
    ```python
    import unittest


    class TestClient(unittest.TestCase):
        async def test_fetch(self):
            self.assertEqual(await fetch(), 200)
    ```

    ## Use instead
    ```python
    import unittest


    class TestClient(unittest.IsolatedAsyncioTestCase):
        async def test_fetch(self):
            self.assertEqual(await fetch(), 200)
    ```

    ## Fix safety
    Basing the class on `unittest.IsolatedAsyncioTestCase` (Python 3.8+) is
    **unsafe**: its tests start running, and every test of the class then runs in
    its own event loop, which `setUp` and the synchronous tests did not expect. No
    fix is offered when `TestCase` is inherited through another class of the file
    (changing that base changes its other subclasses) or when the project supports
    a Python older than 3.8.

    ## References
    - [unittest: `IsolatedAsyncioTestCase`](https://docs.python.org/3/library/unittest.html#unittest.IsolatedAsyncioTestCase)
    - [CPython: deprecation of test methods returning a value](https://github.com/python/cpython/issues/85494)
    """

    code = "TL603"
    name = "async-test-in-plain-test-case"
    summary = "`async def` test on a plain `unittest.TestCase`, which never awaits it"
    triggers = ("async",)
    file_kinds = frozenset({FileKind.TEST})
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """An `async def test*` directly in a class body whose bases lead, through
        classes of the file, to an imported `unittest.TestCase`, in a test module
        that does not set `__test__` (the visit reports no other class)."""
        if file.path.name == "conftest.py" or sets_test_attribute_ast(file.scan.tree.body):
            return False
        classes: dict[str, list[ast.ClassDef]] = {}
        for node, _ in import_time_classes(file.scan):
            classes.setdefault(node.name, []).append(node)
        return any(
            any(_async_test(statement) for statement in node.body)
            and _may_reach_test_case(file, node, classes, set())
            for nodes in classes.values()
            for node in nodes
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None or not self._keeps_a_coroutine(node):
            return
        if not node.name.value.startswith(TEST_METHOD_PREFIX) or not self.context.classes:
            return
        if self.context.function_depth or not self.context.at_import_time:
            return
        cls = self.context.classes[-1]
        if not any(statement is node for statement in class_body(cls)):
            return
        if self.context.path.name == "conftest.py" or not self._plain_test_case(cls):
            return
        self.report(
            node.name,
            f"Async test `{node.name.value}` of `{cls.name.value}`, a plain "
            "`unittest.TestCase`, is never awaited: its body never runs",
            fix=self._fix(cls),
        )

    def _keeps_a_coroutine(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            expression = decorator.decorator
            target = expression.func if isinstance(expression, cst.Call) else expression
            qualified = self.context.imports.resolve(target) or ""
            if not qualified.startswith(KEEPS_A_COROUTINE):
                return False
        return True

    def _plain_test_case(self, cls: cst.ClassDef) -> bool:
        """`cls` reaches `unittest.TestCase` only through undecorated classes of this
        file that change nothing in how a test is called; nothing sets `__test__`."""
        if module_sets_test_attribute(self.context):
            return False
        family = lineage(self.context, cls)
        if family.keywords or family.defines(RUNS_TESTS):
            return False
        if any(c.decorators or sets_test_attribute(class_body(c)) for c in family.classes):
            return False
        outside = {base for base in family.outside if base != "builtins.object"}
        return bool(outside) and all(base in PLAIN_TEST_CASES for base in outside)

    def _fix(self, cls: cst.ClassDef) -> NodeFix | None:
        """`unittest.IsolatedAsyncioTestCase` for the class's own `TestCase` base."""
        owner = self.context.project.owner(self.context.path)
        if owner.requires_python is not None and admits_python_below(
            owner.requires_python, ISOLATED_SINCE
        ):
            return None
        bases = [
            arg
            for arg in cls.bases
            if self.context.imports.resolve(arg.value) in PLAIN_TEST_CASES and arg.keyword is None
        ]
        reference = module_reference(self.context, "unittest")
        if len(bases) != 1 or reference is None:
            return None
        name, imports = reference
        base = bases[0]
        isolated = cst.parse_expression(f"{name}.IsolatedAsyncioTestCase")
        return NodeFix(
            title="Base the class on `unittest.IsolatedAsyncioTestCase`",
            applicability=Applicability.UNSAFE,
            changes={base.value: isolated},
            imports=imports,
        )


def _may_reach_test_case(
    file: SourceFile, node: ast.ClassDef, classes: dict[str, list[ast.ClassDef]], seen: set[str]
) -> bool:
    """Some base of `node`, or of a class of the file it names as a base, is an
    imported `unittest.TestCase` (`lineage` in the visit needs one)."""
    for base in node.bases:
        if any(name in PLAIN_TEST_CASES for name in file.scan.qualified(base)):
            return True
        if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
            seen.add(base.id)
            if any(_may_reach_test_case(file, c, classes, seen) for c in classes[base.id]):
                return True
    return False


def _async_test(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.AsyncFunctionDef) and statement.name.startswith(
        TEST_METHOD_PREFIX
    )
