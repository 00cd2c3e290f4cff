"""What the mark rules (TL5xx) share: which decorators are marks and fixtures."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst

from testlint.rule import RuleContext
from testlint.rules._asyncio import FIXTURE_DECORATORS, decorator_names
from testlint.scan import Scan

MARK_PREFIX = "pytest.mark."


def decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    """What a decorator names: `pytest.mark.skipif` for `@pytest.mark.skipif(...)`."""
    expression = decorator.decorator
    return expression.func if isinstance(expression, cst.Call) else expression


def mark_name(context: RuleContext, decorator: cst.Decorator) -> str | None:
    """`skipif` for a decorator that resolves to `pytest.mark.skipif` (through any
    import: `from pytest import mark`, `import pytest as pt`), else None."""
    qualified = context.imports.resolve(decorator_target(decorator))
    if qualified is None or not qualified.startswith(MARK_PREFIX):
        return None
    name = qualified[len(MARK_PREFIX) :]
    return name if name.isidentifier() else None


def is_fixture_decorator(context: RuleContext, decorator: cst.Decorator) -> bool:
    return context.imports.resolve(decorator_target(decorator)) in FIXTURE_DECORATORS


# ---------------------------------------------------------------- the `ast` side


def may_be_mark(scan: Scan, decorator: ast.expr) -> bool:
    """A decorator that may resolve to `pytest.mark.<name>` (None: an import the
    gate cannot resolve)."""
    return any(
        name is None or name.startswith(MARK_PREFIX) for name in decorator_names(scan, decorator)
    )


def may_be_fixture(scan: Scan, decorator: ast.expr) -> bool:
    return any(
        name is None or name in FIXTURE_DECORATORS for name in decorator_names(scan, decorator)
    )


def fixtures_with_more_decorators(scan: Scan) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions with a decorator that may be a fixture's and at least one more."""
    words = {"fixture"} | {local for local, names in scan.aliases.items() if "fixture" in names}
    for node in scan.nodes_near(words):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and len(node.decorator_list) > 1
            and any(may_be_fixture(scan, d) for d in node.decorator_list)
        ):
            yield node
