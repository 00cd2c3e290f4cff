from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

import libcst as cst

from testlint.api import (
    Applicability,
    FileKind,
    NodeFix,
    Rule,
    RuleContext,
    Scan,
    SourceFile,
    is_docstring,
)
from testlint.rules._never import (
    CONSTRUCTORS,
    OBJECT,
    class_body,
    collects_classes,
    defined_names,
    defined_names_ast,
    import_time_classes,
    lineage,
    sets_test_attribute_ast,
)

DATACLASS_DECORATORS = frozenset(
    {
        "dataclasses.dataclass",
        "pydantic.dataclasses.dataclass",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.mutable",
        "attr.frozen",
        "attr.dataclass",
        "attrs.define",
        "attrs.mutable",
        "attrs.frozen",
    }
)
"""Class decorators that write an `__init__` (unless given `init=False`)."""
DATACLASS_WORDS = frozenset(name.rsplit(".", 1)[-1] for name in DATACLASS_DECORATORS)
BUILTIN_CLASSES = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and name != "object"
)
"""Builtin bases other than `object`: each has its own `__init__` or `__new__`."""
IMMUTABLE_BUILTINS = frozenset(
    {"int", "float", "complex", "str", "bytes", "tuple", "frozenset", "bool"}
)
"""Builtins whose constructor is `__new__` (their `__init__` is `object`'s)."""
COLLECTION_WARNING_IGNORED = ("PytestCollectionWarning", "cannot collect")


@dataclass(frozen=True)
class Constructor:
    """The constructor pytest finds on a class (`__init__` or `__new__`), and
    where it comes from."""

    method: str
    origin: str = ""
    """The class it is inherited from ("": the class's own)."""
    dataclass: bool = False
    """Written by a dataclass or attrs decorator."""

    @property
    def reason(self) -> str:
        kind = f"a `{self.method}` constructor"
        if self.origin:
            return f"it inherits {kind} from `{self.origin}`"
        return f"it is a dataclass, with {kind}" if self.dataclass else f"it has {kind}"


class UncollectableTestClass(Rule):
    """
    ## What it does
    Checks for classes pytest would collect as test classes (named as
    `python_classes` says, by default `Test*`, in a test module) that have a
    constructor: an `__init__` or `__new__` of their own or inherited from a class
    of the same file, a builtin base (`Exception`, `dict`), or a dataclass or
    attrs decorator.

    A class with test methods (named as `python_functions` says) is reported
    because its tests never run. A helper class without any (`TestData`,
    `TestError(Exception)`) is reported because pytest warns about it on every
    run, and the warning fails the run under `-W error`; it is not reported when
    `filterwarnings` ignores `PytestCollectionWarning`.

    Silent for classes pytest does not collect anyway (`__test__` set in the class
    or module, another name, a conftest, under `if __name__ == "__main__":`), for
    classes with a base from another module (a `unittest.TestCase` is collected
    by unittest's rules, whatever its `__init__`), a metaclass, or a class
    decorator other than a pytest mark or a dataclass.

    ## Why is this bad?
    pytest collects a test class by instantiating it with no arguments, so it skips
    any class with a constructor: "PytestCollectionWarning: cannot collect test
    class 'TestOrder' because it has a __init__ constructor". The run goes on and
    exits 0: the class's tests never run, and nothing fails.

    ## Example
    ```python
    class TestOrder:
        def __init__(self):
            self.items = []

        def test_empty(self):
            assert self.items == []
    ```

    ## Use instead
    ```python
    class TestOrder:
        def setup_method(self):
            self.items = []

        def test_empty(self):
            assert self.items == []
    ```

    ## Fix safety
    A helper class without test methods gets `__test__ = False` as the first
    statement of its body: **safe**, as it only tells pytest not to try collecting
    a class it could not collect. A class with test methods has no fix: whether
    its constructor's work belongs in `setup_method`, a fixture or nowhere is the
    author's call.

    ## References
    - [pytest: conventions for test discovery](https://docs.pytest.org/en/stable/explanation/goodpractices.html#conventions-for-python-test-discovery)
    - [pytest: `__test__`](https://docs.pytest.org/en/stable/example/pythoncollection.html#customizing-test-collection)
    """

    code = "TL602"
    name = "uncollectable-test-class"
    summary = "Test class with a constructor, which pytest cannot collect"
    triggers = ("class",)
    file_kinds = frozenset({FileKind.TEST})
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A class named as pytest collects test classes whose own body, bases or
        in-file ancestors may give it a constructor."""
        if file.path.name == "conftest.py" or sets_test_attribute_ast(file.scan.tree.body):
            return False
        config = file.project.pytest_config(file.path.parent)
        found = list(import_time_classes(file.scan))
        classes = {node.name: node for node, _ in found}
        return any(
            all(config.collects_class(c.name) for c in (*enclosing, node))
            and _may_have_constructor(node, classes, file.scan, set())
            for node, enclosing in found
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        enclosing = [*self.context.classes, node]
        if not collects_classes(self.context, enclosing):
            return
        constructor = _constructor(self.context, node)
        if constructor is None:
            return
        tests = self._tests(node)
        name = node.name.value
        problem = f"pytest cannot collect test class `{name}` because {constructor.reason}"
        if tests:
            never = f"its {len(tests)} tests never run" if len(tests) > 1 else "its test never runs"
            self.report(node.name, f"{problem}: {never}")
        elif not self._collection_warning_ignored():
            self.report(
                node.name,
                f"{problem}: it warns on every run (an error under `-W error`)",
                fix=_not_a_test(node),
            )

    def _tests(self, node: cst.ClassDef) -> list[str]:
        config = self.context.project.pytest_config(self.context.path.parent)
        return [
            statement.name.value
            for cls in lineage(self.context, node).classes
            for statement in class_body(cls)
            if isinstance(statement, cst.FunctionDef)
            and config.collects_function(statement.name.value)
        ]

    def _collection_warning_ignored(self) -> bool:
        config = self.context.project.pytest_config(self.context.path.parent)
        return any(
            line.startswith("ignore") and any(word in line for word in COLLECTION_WARNING_IGNORED)
            for line in config.get_lines("filterwarnings")
        )


def _constructor(context: RuleContext, node: cst.ClassDef) -> Constructor | None:
    """The constructor pytest finds on the class, when certain (None: none, or a
    base, metaclass or decorator that cannot be read)."""
    family = lineage(context, node)
    if family.keywords or any(base is None for base in family.outside):
        return None
    builtin = [base for base in family.outside if base is not None and base != OBJECT]
    if any(not base.startswith("builtins.") for base in builtin):
        return None
    for cls in family.classes:
        decorators = [_decorator_name(context, d.decorator) for d in cls.decorators]
        if any(name is None for name in decorators):
            return None
    for cls in family.classes:
        found = _own_constructor(context, cls)
        if found is not None:
            origin = "" if cls is node else cls.name.value
            return Constructor(found.method, origin, found.dataclass)
    if builtin:
        base = builtin[0].removeprefix("builtins.")
        return Constructor("__new__" if base in IMMUTABLE_BUILTINS else "__init__", base)
    return None


def _own_constructor(context: RuleContext, cls: cst.ClassDef) -> Constructor | None:
    defined = defined_names(cls)
    for method in ("__init__", "__new__"):  # pytest looks at `__init__` first
        if method in defined:
            return Constructor(method)
    for decorator in cls.decorators:
        if _writes_init(context, decorator.decorator):
            return Constructor("__init__", dataclass=True)
    return None


def _decorator_name(context: RuleContext, decorator: cst.BaseExpression) -> str | None:
    """A decorator this rule can read: a pytest mark or a dataclass decorator."""
    target = decorator.func if isinstance(decorator, cst.Call) else decorator
    qualified = context.imports.resolve(target)
    if qualified is None:
        return None
    if qualified.startswith("pytest.mark.") or qualified in DATACLASS_DECORATORS:
        return qualified
    return None


def _writes_init(context: RuleContext, decorator: cst.BaseExpression) -> bool:
    target = decorator.func if isinstance(decorator, cst.Call) else decorator
    if context.imports.resolve(target) not in DATACLASS_DECORATORS:
        return False
    if isinstance(decorator, cst.Call):
        for arg in decorator.args:
            if arg.keyword is not None and arg.keyword.value == "init":
                return not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
    return True


def _not_a_test(node: cst.ClassDef) -> NodeFix | None:
    """`__test__ = False` first in the class body (after its docstring)."""
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    statements = list(body.body)
    at = 1 if statements and is_docstring(statements[0]) else 0
    line = cst.parse_statement("__test__ = False\n")
    statements.insert(at, line)
    return NodeFix(
        title="Set `__test__ = False`",
        applicability=Applicability.SAFE,
        changes={body: body.with_changes(body=statements)},
    )


def _may_have_constructor(
    node: ast.ClassDef, classes: dict[str, ast.ClassDef], scan: Scan, seen: set[str]
) -> bool:
    """The `ast` superset of `_constructor`: a constructor or a dataclass-like
    decorator in the class or an in-file ancestor, or a builtin base."""
    if node.name in seen:
        return False
    seen.add(node.name)
    if defined_names_ast(node.body) & CONSTRUCTORS:
        return True
    if any(_terminal(d) in DATACLASS_WORDS for d in node.decorator_list):
        return True
    for base in node.bases:
        if not isinstance(base, ast.Name):
            continue
        if base.id in classes and _may_have_constructor(classes[base.id], classes, scan, seen):
            return True
        if base.id in BUILTIN_CLASSES and base.id not in scan.import_bound:
            return True
    return False


def _terminal(decorator: ast.expr) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return None
