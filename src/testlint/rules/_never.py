"""What the rules on tests that never run (TL6xx) share: which classes pytest
collects, what a class inherits from the classes of its own file, which names a
file uses, and which pytest a project pins.

A class's bases are followed only within its file: a base imported from
elsewhere may be anything (a `unittest.TestCase`, a class whose `setup_method`
calls `setup`), so the rules stay silent on classes that have one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from testlint.dependencies import Requirement, release
from testlint.import_time import import_time_statements, import_time_statements_ast
from testlint.memo import Key
from testlint.rule import InFile, RuleContext
from testlint.scan import Scan
from testlint.scan import parse as parse_ast

OBJECT = "builtins.object"
CONSTRUCTORS = frozenset({"__init__", "__new__"})

NAMES_USED: Key[frozenset[str]] = Key("names loaded or read as attributes")
SOURCE_NAMES_USED: Key[frozenset[str] | None] = Key("names the visited file uses")
MODULE_CLASSES: Key[dict[str, cst.ClassDef]] = Key("classes defined at import time")
MODULE_TEST_ATTRIBUTE: Key[bool] = Key("the module sets `__test__`")


# ---------------------------------------------------------------- the `ast` side


def names_used(scan: Scan) -> frozenset[str]:
    """Every name the file loads (`setup`) or reads as an attribute (`self.setup`):
    a function that one of them may name is called by the file's own code."""
    return scan.memo.get(NAMES_USED, lambda: used_names_in(scan.tree))


def used_names_in(tree: ast.AST) -> frozenset[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)  # `getattr(self, "setup")`
    return frozenset(found)


def file_uses(context: RuleContext, name: str) -> bool:
    """`names_used` for the file being visited (its `ast` parsed once; a file
    CPython cannot parse uses every name)."""

    def compute() -> frozenset[str] | None:
        tree = parse_ast(context.source)
        return None if tree is None else used_names_in(tree)

    used = context.memo.get(SOURCE_NAMES_USED, compute)
    return used is None or name in used


def import_time_classes(
    scan: Scan, within: Sequence[ast.ClassDef] = ()
) -> Iterator[tuple[ast.ClassDef, tuple[ast.ClassDef, ...]]]:
    """Every class defined at import time (not in a function nor under
    `if __name__ == "__main__":`), with the classes enclosing it, outermost first."""
    body = within[-1].body if within else scan.tree.body
    for statement in import_time_statements_ast(body):
        if isinstance(statement, ast.ClassDef):
            path = (*within, statement)
            yield statement, tuple(within)
            yield from import_time_classes(scan, path)


def sets_test_attribute_ast(body: Sequence[ast.stmt]) -> bool:
    """`__test__ = ...` among the statements: pytest's own switch for collection."""
    for statement in import_time_statements_ast(list(body)):
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == "__test__" for t in targets):
            return True
    return False


def defined_names_ast(body: Sequence[ast.stmt]) -> set[str]:
    """`defined_names` for an `ast` class body."""
    statements = import_time_statements_ast(list(body))
    return {name for statement in statements for name in _names_defined(statement)}


def _names_defined(statement: ast.stmt) -> Iterator[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield statement.name
    elif isinstance(statement, ast.Assign):
        yield from (t.id for t in statement.targets if isinstance(t, ast.Name))
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(
        statement.target, ast.Name
    ):
        yield statement.target.id


# ---------------------------------------------------------------- the libcst side


def sets_test_attribute(body: Sequence[cst.BaseStatement]) -> bool:
    """`sets_test_attribute_ast` for a libcst block."""
    for statement in import_time_statements(body):
        targets: list[cst.BaseExpression] = []
        if isinstance(statement, cst.Assign):
            targets = [t.target for t in statement.targets]
        elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)):
            targets = [statement.target]
        if any(isinstance(t, cst.Name) and t.value == "__test__" for t in targets):
            return True
    return False


def module_sets_test_attribute(context: RuleContext) -> bool:
    """A module-level `__test__` (False: pytest collects nothing from the module)."""
    return context.memo.get(MODULE_TEST_ATTRIBUTE, lambda: sets_test_attribute(context.module.body))


def class_body(cls: cst.ClassDef) -> Sequence[cst.BaseStatement]:
    body = cls.body
    return body.body if isinstance(body, cst.IndentedBlock) else ()


def defined_names(cls: cst.ClassDef) -> set[str]:
    """Names a class body defines with `def` or an assignment (its attributes)."""
    found: set[str] = set()
    for statement in import_time_statements(class_body(cls)):
        if isinstance(statement, cst.FunctionDef):
            found.add(statement.name.value)
        elif isinstance(statement, cst.Assign):
            found.update(
                t.target.value for t in statement.targets if isinstance(t.target, cst.Name)
            )
        elif isinstance(statement, (cst.AnnAssign, cst.AugAssign)) and isinstance(
            statement.target, cst.Name
        ):
            found.add(statement.target.value)
    return found


def module_classes(context: RuleContext) -> dict[str, cst.ClassDef]:
    """Classes defined at the module's top level at import time, by name (the last
    definition of a name wins, as at run time)."""

    def compute() -> dict[str, cst.ClassDef]:
        return {
            statement.name.value: statement
            for statement in import_time_statements(context.module.body)
            if isinstance(statement, cst.ClassDef)
        }

    return context.memo.get(MODULE_CLASSES, compute)


@dataclass(frozen=True)
class Lineage:
    """A class and the classes of its own file it inherits from."""

    classes: tuple[cst.ClassDef, ...]
    """The class first, then its in-file bases, depth first, each once."""
    outside: tuple[str | None, ...]
    """The bases defined elsewhere, qualified (`unittest.TestCase`,
    `builtins.object`); None for one that cannot be resolved."""
    keywords: bool
    """Some class in it passes keywords to its bases (`metaclass=`)."""

    @property
    def plain(self) -> bool:
        """Inherits from no class of another file but `object`, nor sets a metaclass."""
        return not self.keywords and all(base == OBJECT for base in self.outside)

    def defines(self, names: frozenset[str] | set[str]) -> bool:
        return any(defined_names(cls) & names for cls in self.classes)


def lineage(context: RuleContext, cls: cst.ClassDef) -> Lineage:
    classes: list[cst.ClassDef] = []
    outside: list[str | None] = []
    keywords = False
    in_file = module_classes(context)
    pending = [cls]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in classes):
            continue
        classes.append(current)
        for arg in current.bases:
            if arg.keyword is not None or arg.star:
                keywords = True
                continue
            base = arg.value
            if isinstance(base, cst.Name) and base.value in in_file:
                pending.append(in_file[base.value])
            else:
                outside.append(context.imports.resolve(base))
        keywords = keywords or bool(current.keywords)
    return Lineage(tuple(classes), tuple(outside), keywords)


def collects_classes(context: RuleContext, classes: Sequence[cst.ClassDef]) -> bool:
    """pytest collects each of `classes` (a class and the classes enclosing it,
    outermost first) by name (`python_classes`) from a test module, and none of
    them nor the module sets `__test__`."""
    if context.path.name == "conftest.py" or not context.at_import_time:
        return False
    config = context.project.pytest_config(context.path.parent)
    if not all(config.collects_class(cls.name.value) for cls in classes):
        return False
    if module_sets_test_attribute(context):
        return False
    return not any(sets_test_attribute(class_body(cls)) for cls in classes)


def required_positional(node: cst.FunctionDef, *, method: bool) -> int | None:
    """How many positional arguments a call must pass (after `self` for a method);
    None when it needs a keyword-only one."""
    if any(p.default is None for p in node.params.kwonly_params):
        return None
    params = [*node.params.posonly_params, *node.params.params]
    required = [p for p in params if p.default is None]
    return max(len(required) - (1 if method else 0), 0)


# ---------------------------------------------------------------- the project


def pytest_pinned_below(context: InFile, version: tuple[int, int]) -> bool:
    """The project runs a pytest older than `version`: a lock file pins one, or
    every declared requirement on pytest stops below it (`<8.1`, `==8.0.2`,
    `~=7.4`, `^7.0`). Asked of the file's own project, then of the checked one."""
    project = context.project
    owner = project.owner(context.path)
    for declaring in (owner,) if owner is project else (owner, project):
        locked = declaring.locked_versions.get("pytest")
        if locked is not None:
            return _trimmed(release(locked)) < version
        declared = declaring.requirement("pytest")
        if declared:
            return all(_stops_below(r, version) for r in declared)
    return False


_CLAUSE = re.compile(r"^\s*(===|==|~=|<=|<|\^|~)?\s*v?(\d+(?:\.\d+)*)(\.\*)?")


def _stops_below(requirement: Requirement, version: tuple[int, int]) -> bool:
    """Some clause of the specifier admits no release at or after `version`."""
    for clause in requirement.specifier.split(","):
        match = _CLAUSE.match(clause)
        if match is None or match.group(1) is None:
            continue
        operator, wildcard = match.group(1), match.group(3) is not None
        parts = tuple(int(p) for p in match.group(2).split("."))
        if operator in ("==", "===", "<=") and not wildcard:
            if _trimmed(parts) < version:  # the newest release it admits
                return True
        elif _trimmed(_first_excluded(operator, parts)) <= version:
            return True
    return False


def _first_excluded(operator: str, parts: tuple[int, ...]) -> tuple[int, ...]:
    """The first release a clause no longer admits (`<8.1`: 8.1, `~=7.4`: 8,
    `^7.0`: 8, `==8.0.*`: 8.1); a huge one when it has no upper bound."""
    if operator == "<":
        return parts
    if operator in ("==", "===", "<="):  # a wildcard: `==8.0.*`
        return (*parts[:-1], parts[-1] + 1)
    if operator == "~=" and len(parts) > 1:
        return (*parts[:-2], parts[-2] + 1)
    if operator == "^":
        first = next((i for i, p in enumerate(parts) if p), len(parts) - 1)
        return (*parts[:first], parts[first] + 1)
    if operator == "~":
        return (parts[0], parts[1] + 1) if len(parts) > 1 else (parts[0] + 1,)
    return (10**9,)


def _trimmed(parts: tuple[int, ...]) -> tuple[int, ...]:
    """Without trailing zeros: `8.1.0` is `8.1`."""
    end = len(parts)
    while end > 1 and parts[end - 1] == 0:
        end -= 1
    return parts[:end]
