from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from testlint.api import Applicability, NodeFix, Rule, RuleContext, SourceFile
from testlint.rules._marks import (
    fixtures_with_more_decorators,
    is_fixture_decorator,
    mark_name,
    may_be_mark,
)
from testlint.rules._never import pytest_pinned_below

USEFIXTURES = "usefixtures"
PYTEST_REFUSES = (9, 0)


class MarkOnFixture(Rule):
    """
    ## What it does
    Checks for a pytest mark applied to a fixture: `@pytest.mark.<name>`
    (any mark, through any import of `pytest` or `mark`) stacked with
    `@pytest.fixture` or `@pytest_asyncio.fixture`, above or below it, with
    only marks in between. Reported on each such mark, in test modules and
    conftests, on fixtures defined when the module is imported (not in a
    function body). The message names pytest 9's error unless the project
    pins pytest below 9 (a lock file, or every requirement on it).

    ## Why is this bad?
    pytest never applied marks to fixtures: a `skipif` on a fixture skips
    nothing, a `usefixtures` requests nothing, a `parametrize` parametrizes
    nothing. pytest 8 only warns ("PytestRemovedIn9Warning: Marks applied to
    fixtures have no effect"); pytest 9 refuses them when it imports the
    module:

    ```
    E   Failed: Marks cannot be applied to fixtures.
    E   See docs: https://docs.pytest.org/en/stable/deprecations.html#applying-a-mark-to-a-fixture-function
    ```

    In a test module that is a collection error ("Interrupted: 1 error during
    collection"); in the root conftest it is a raw traceback and no test runs.

    ## Example
    ```python
    import sys

    import pytest


    @pytest.mark.skipif(sys.platform == "win32", reason="no fork")
    @pytest.fixture
    def forked_server():
        return "server"


    def test_server(forked_server):
        assert forked_server
    ```

    ## Use instead
    ```python
    import sys

    import pytest


    @pytest.fixture
    def forked_server():
        return "server"


    @pytest.mark.skipif(sys.platform == "win32", reason="no fork")
    def test_server(forked_server):
        assert forked_server
    ```

    ## Fix safety
    Removing the mark is **safe**: it never had an effect, so the tests run
    as they did (and pytest 9 can import the module). Where the mark was meant
    to act (a `skipif`), move it to the tests by hand.

    A `usefixtures("db")` on a fixture is replaced by a `db` parameter of
    the fixture. That fix is **unsafe**: the requested fixtures now run
    before this one, which is what the author meant but not what happened so
    far.

    ## References
    - [pytest: applying a mark to a fixture function (removed in 9.0)](https://docs.pytest.org/en/stable/deprecations.html#applying-a-mark-to-a-fixture-function)
    - [pytest: `usefixtures`](https://docs.pytest.org/en/stable/how-to/fixtures.html#use-fixtures-in-classes-and-modules-with-usefixtures)
    """

    code = "TL501"
    name = "mark-on-fixture"
    summary = "Mark applied to a fixture, which pytest ignores and pytest 9 refuses"
    triggers = ("fixture",)
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A function decorated with what may be a fixture decorator and what may
        be a mark. Every way to name `pytest.mark` spells `mark` (an import, an
        attribute): without it, the file is not parsed at all."""
        if "mark" not in file.source:
            return False
        scan = file.scan
        return any(
            any(may_be_mark(scan, d) for d in function.decorator_list)
            for function in fixtures_with_more_decorators(scan)
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # A fixture defined in a function body is made when it runs: in pytest's own
        # tests, under `pytest.raises` to check the error.
        if len(node.decorators) < 2 or not self.context.at_import_time:
            return
        for decorator, mark in _marks_on_fixture(self, node.decorators):
            self.report(
                decorator.decorator,
                f"Mark `{mark}` on fixture `{node.name.value}` has no effect, "
                + _consequence(self.context),
                fix=self._fix(node, decorator, mark),
            )

    def _fix(self, node: cst.FunctionDef, decorator: cst.Decorator, mark: str) -> NodeFix | None:
        if mark != USEFIXTURES:
            return NodeFix(
                title=f"Remove `@pytest.mark.{mark}`",
                applicability=Applicability.SAFE,
                changes={decorator: cst.RemoveFromParent()},
            )
        names = _requested(decorator)
        params = _with_parameters(node.params, names) if names else None
        if names is None or params is None:
            return None
        listed = ", ".join(f"`{name}`" for name in names)
        return NodeFix(
            title=f"Request {listed} as parameters of the fixture",
            applicability=Applicability.UNSAFE,
            changes={decorator: cst.RemoveFromParent(), node.params: params},
        )


def _consequence(context: RuleContext) -> str:
    if pytest_pinned_below(context, PYTEST_REFUSES):
        return "and pytest 9 refuses marks on fixtures"
    return 'and pytest 9 refuses to import the module ("Marks cannot be applied to fixtures")'


def _marks_on_fixture(
    rule: MarkOnFixture, decorators: Sequence[cst.Decorator]
) -> list[tuple[cst.Decorator, str]]:
    """The marks applied straight to a fixture: next to its decorator, or with
    only marks between them (a mark above another decorator may be on whatever
    that returns)."""
    context = rule.context
    marks = [mark_name(context, d) for d in decorators]
    fixtures = [i for i, d in enumerate(decorators) if is_fixture_decorator(context, d)]
    if len(fixtures) != 1:
        return []
    found: list[tuple[cst.Decorator, str]] = []
    for step in (-1, 1):
        index = fixtures[0] + step
        while 0 <= index < len(decorators) and (mark := marks[index]) is not None:
            found.append((decorators[index], mark))
            index += step
    return sorted(found, key=lambda pair: decorators.index(pair[0]))


def _requested(decorator: cst.Decorator) -> list[str] | None:
    """The fixture names of `@pytest.mark.usefixtures("a", "b")`, all literal."""
    call = decorator.decorator
    if not isinstance(call, cst.Call) or not call.args:
        return None
    names: list[str] = []
    for arg in call.args:
        value = arg.value
        evaluated = value.evaluated_value if isinstance(value, cst.SimpleString) else None
        if arg.keyword is not None or arg.star or not isinstance(evaluated, str):
            return None
        if not evaluated.isidentifier():
            return None
        names.append(evaluated)
    return names


def _with_parameters(params: cst.Parameters, names: list[str]) -> cst.Parameters | None:
    """`params` with `names` added last, those it lacks; None where that needs a
    rearrangement (`*args`, keyword-only parameters, defaults, a trailing comma)."""
    plain = list(params.params)
    if (
        params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.kwonly_params
        or params.star_kwarg is not None
        or any(p.default is not None for p in plain)
        or (plain and plain[-1].comma is not cst.MaybeSentinel.DEFAULT)
    ):
        return None
    taken = {p.name.value for p in (*params.posonly_params, *plain)}
    new = [cst.Param(cst.Name(name)) for name in dict.fromkeys(names) if name not in taken]
    return params.with_changes(params=[*plain, *new])
