from __future__ import annotations

import ast

import libcst as cst

from testlint.api import Applicability, FileKind, NodeFix, Rule, SourceFile
from testlint.rules._never import (
    CONSTRUCTORS,
    class_body,
    collects_classes,
    file_uses,
    import_time_classes,
    lineage,
    module_classes,
    module_sets_test_attribute,
    names_used,
    pytest_pinned_below,
    required_positional,
    sets_test_attribute_ast,
)

NOSE_REMOVED_IN = (8, 1)
METHOD_NAMES = {"setup": "setup_method", "teardown": "teardown_method"}
MODULE_NAMES = {"setup": "setup_module", "teardown": "teardown_module"}
MODULE_TAKES_PRECEDENCE = {
    "setup": frozenset({"setup_module", "setUpModule"}),
    "teardown": frozenset({"teardown_module", "tearDownModule"}),
}
"""What pytest 8.0 called instead of a module-level `setup`/`teardown`, when present."""


class NoseStyleSetupTeardown(Rule):
    """
    ## What it does
    Checks for nose-style setup and teardown functions in test modules: a
    `setup(self)`/`teardown(self)` method of a test class pytest collects, and a
    module-level `setup()`/`teardown()`.

    It stays silent on what pytest never called anyway: fixtures (any decorated
    function), a class or module that also defines the pytest name
    (`setup_method`, `setup_module`, `setUpModule`), classes pytest does not
    collect (named otherwise than `python_classes`, `__test__` set, an
    `__init__`, in a conftest, under `if __name__ == "__main__":`), classes with
    a base from another file (a `unittest.TestCase`, whose `setUp` unittest calls,
    or a base whose `setup_method` calls `setup`), and functions the file calls
    itself (`self.setup()`). Nor does it report projects that pin pytest below 8.1
    (a lock file, or every declared requirement: `pytest<8.1`, `pytest==8.0.2`).

    ## Why is this bad?
    pytest 7.x called these nose-style functions around each test (with a
    deprecation warning since 7.2), and 8.0 still called them (a method's
    "PytestRemovedIn8Warning: Support for nose tests is deprecated and will be
    removed in a future release" is an error there unless filtered). pytest 8.1
    removed nose support and calls them no more, without a word: the tests run
    without their setup, so they fail on state that is missing ("AttributeError:
    'TestCart' object has no attribute 'cart'"), or pass without cleaning up after
    themselves.

    ## Example
    ```python
    class TestCart:
        def setup(self):
            self.cart = []

        def test_empty(self):
            assert self.cart == []
    ```

    ## Use instead
    ```python
    class TestCart:
        def setup_method(self):
            self.cart = []

        def test_empty(self):
            assert self.cart == []
    ```

    ## Fix safety
    Renaming to pytest's own name (`setup_method`/`teardown_method` in a class,
    `setup_module`/`teardown_module` in a module) is **safe**: it only happens
    when nothing in the file calls the function by its old name, and it makes
    pytest call it as pytest 8.0 did. (A caller in another module, such as a
    subclass calling `super().setup()`, is not seen.)

    ## References
    - [pytest: support for tests written for nose (removed in 8.1)](https://docs.pytest.org/en/stable/deprecations.html#support-for-tests-written-for-nose)
    - [pytest: xunit-style setup](https://docs.pytest.org/en/stable/how-to/xunit_setup.html)
    """

    code = "TL601"
    name = "nose-style-setup-teardown"
    summary = "Nose-style `setup`/`teardown`, which pytest no longer calls since 8.1"
    triggers = ("setup", "teardown")
    file_kinds = frozenset({FileKind.TEST})
    fixable = "always"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """An undecorated `setup`/`teardown` in a class named as pytest collects
        test classes or at module level, not called by the file itself, in a
        project that does not pin pytest below 8.1."""
        if file.path.name == "conftest.py" or sets_test_attribute_ast(file.scan.tree.body):
            return False
        wanted = set(METHOD_NAMES)
        config = file.project.pytest_config(file.path.parent)
        candidates = {
            *_undecorated_defs(file.scan.tree.body, wanted),
            *(
                name
                for node, enclosing in import_time_classes(file.scan)
                if all(config.collects_class(c.name) for c in (*enclosing, node))
                for name in _undecorated_defs(node.body, wanted)
            ),
        }
        # Walking every name of the file costs more than finding the candidates.
        if not candidates or not candidates - names_used(file.scan):
            return False
        return not pytest_pinned_below(file, NOSE_REMOVED_IN)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        if name not in METHOD_NAMES or node.decorators or node.asynchronous is not None:
            return
        if self.context.function_depth or not self.context.at_import_time:
            return
        if self.context.classes:
            renamed = self._method_renamed(node)
        else:
            renamed = self._module_function_renamed(node)
        if renamed is None or file_uses(self.context, name):
            return
        if pytest_pinned_below(self.context, NOSE_REMOVED_IN):
            return
        where = "method" if self.context.classes else "module-level function"
        self.report(
            node.name,
            f"Nose-style {where} `{name}` is never called by pytest 8.1 and later: "
            f"rename it `{renamed}`",
            fix=NodeFix(
                title=f"Rename to `{renamed}`",
                applicability=Applicability.SAFE,
                changes={node.name: node.name.with_changes(value=renamed)},
            ),
        )

    def _method_renamed(self, node: cst.FunctionDef) -> str | None:
        """`setup_method` for a `setup` that pytest 8.0 called: the class is
        collected, inherits from this file's classes only, and none of them
        defines the pytest name or a constructor."""
        cls = self.context.classes[-1]
        if not any(s is node for s in class_body(cls)):
            return None  # under an `if` in the class body: the gate does not look there
        if not collects_classes(self.context, self.context.classes):
            return None
        family = lineage(self.context, cls)
        renamed = METHOD_NAMES[node.name.value]
        if not family.plain or family.defines(CONSTRUCTORS | {renamed}):
            return None
        if required_positional(node, method=True) not in (0, 1):
            return None  # pytest 8.0 passed the test method, or nothing
        return renamed

    def _module_function_renamed(self, node: cst.FunctionDef) -> str | None:
        """`setup_module` for a module-level `setup` pytest 8.0 called: the module
        defines no `setup_module`/`setUpModule`, and it takes no argument."""
        if not any(s is node for s in self.context.module.body):
            return None  # under an `if`: the gate does not look there
        if module_sets_test_attribute(self.context):
            return None
        name = node.name.value
        defined = {
            statement.name.value
            for statement in self.context.module.body
            if isinstance(statement, cst.FunctionDef)
        }
        if defined & MODULE_TAKES_PRECEDENCE[name] or name in module_classes(self.context):
            return None
        if required_positional(node, method=False) != 0:
            return None
        return MODULE_NAMES[name]


def _undecorated_defs(body: list[ast.stmt], wanted: set[str]) -> list[str]:
    return [
        statement.name
        for statement in body
        if isinstance(statement, ast.FunctionDef)
        and statement.name in wanted
        and not statement.decorator_list
    ]
