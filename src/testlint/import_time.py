"""What runs when pytest imports a module: one place for the rule, over both trees.

pytest imports every test module and conftest to collect it. Code runs at import
time when it is outside function and lambda bodies, and not under
`if __name__ == "__main__":` (which is False then). Compound statements are entered:
`if`/`else`, `try` (body, handlers, `else`, `finally`), `with`, `for`, `while`,
`match`. (Class bodies run too: the tracker and the scan enter them; the statement
walks below list a module's own statements.)

testlint reads files with two parsers, so the rule is written twice, side by side:
for libcst (the rules' visit, `rule.Tracker` and the import table) and for CPython's
`ast` (the module index and the gates). `tests/test_index.py` keeps the two main
guard predicates equal. Each walk says where it differs, and why:

- `import_time_statements` (libcst) enters main guards: the import table binds every
  name a module-level import may bind, so that nothing is resolved wrongly.
- `import_time_statements_ast` skips main guards and `if TYPE_CHECKING:` blocks
  (their imports never run): what the module index says a module does at import.
- The gates' `Scan` (`scan.py`) takes everything outside function bodies, main
  guards included: a superset, so a gate never hides a finding.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

import libcst as cst

from testlint.scan import dotted as _dotted


def is_main_guard(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` in either order, alone or as one side of `and`."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return is_main_guard(test.left) or is_main_guard(test.right)
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if isinstance(s, cst.SimpleString)]
    return len(names) == 1 and len(strings) == 1 and strings[0].evaluated_value == "__main__"


def import_time_statements_ast(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, descending into `if`/`try`/`with` blocks (but not
    `if __name__ == "__main__":`, function or class bodies)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            if is_main_guard_ast(statement.test) or is_type_checking(statement.test):
                yield from import_time_statements_ast(statement.orelse)
                continue
            yield from import_time_statements_ast(statement.body)
            yield from import_time_statements_ast(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from import_time_statements_ast(block)
            for handler in statement.handlers:
                yield from import_time_statements_ast(handler.body)
        elif isinstance(statement, (ast.With, ast.For, ast.While)):
            yield from import_time_statements_ast(statement.body)


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` (its imports never run)."""
    return _dotted(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def is_main_guard_ast(test: ast.expr) -> bool:
    """`__name__ == "__main__"` in either order, alone or as one side of `and`: the
    `ast` twin of `is_main_guard` (a test keeps the two equal)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(is_main_guard_ast(value) for value in test.values)
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = (test.left, test.comparators[0])
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    strings = [s for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
    return len(names) == 1 and len(strings) == 1 and strings[0].value == "__main__"


def import_time_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.CSTNode]:
    """Statements (small and compound) that run at import time, in source order."""
    for statement in body:
        yield statement
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
            continue
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        yield from _nested_import_time(statement)


def _nested_import_time(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    blocks: list[cst.BaseSuite] = []
    if isinstance(
        statement, (cst.If, cst.Else, cst.Try, cst.TryStar, cst.With, cst.For, cst.While)
    ):
        blocks.append(statement.body)
    if isinstance(statement, (cst.If, cst.For, cst.While, cst.Try, cst.TryStar)):
        orelse = statement.orelse
        if isinstance(orelse, cst.If):
            yield orelse
            yield from _nested_import_time(orelse)
        elif orelse is not None:
            blocks.append(orelse.body)
    if isinstance(statement, (cst.Try, cst.TryStar)):
        blocks.extend(handler.body for handler in statement.handlers)
        if statement.finalbody is not None:
            blocks.append(statement.finalbody.body)
    if isinstance(statement, cst.Match):
        blocks.extend(case.body for case in statement.cases)
    for block in blocks:
        if isinstance(block, cst.IndentedBlock):
            yield from import_time_statements(block.body)
        else:
            yield from block.body
