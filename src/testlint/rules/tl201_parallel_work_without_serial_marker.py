from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from testlint.api import (
    SUITE,
    Applicability,
    FileKind,
    NodeFix,
    Rule,
    RuleContext,
    Settings,
    SourceFile,
)
from testlint.rules._asyncio import FIXTURE_DECORATORS, mark_names, pytestmark_values
from testlint.rules._helpers import find_keyword, module_reference
from testlint.rules._xdist import (
    LEARNABLE_CONSTRUCTORS,
    PARALLEL_CONSTRUCTORS,
    SERIAL_MARKERS,
    Contexts,
    adopted_markers,
    class_is_serial,
    configured_markers,
    covers_parallel_work,
    learned_constructors,
    marker_problem,
    module_is_serial,
    runs_xdist,
    serial_marks_on,
    suite_markers,
    suite_scope,
    unregistered,
)

UNITTEST_BASES = frozenset({"unittest.TestCase", "unittest.IsolatedAsyncioTestCase"})


@dataclass(eq=False)
class Function:
    """A module-level function or a method of a module-level class."""

    node: cst.FunctionDef
    cls: cst.ClassDef | None
    kind: str
    """"test", "fixture" or "helper" (any other function or method)."""
    serial: bool
    requests: set[str] = field(default_factory=set)
    """Fixture names it asks for: parameters and `usefixtures`."""
    fixture_name: str = ""
    autouse: bool = False
    calls: set[str] = field(default_factory=set)
    """Bare names it calls (`helper()`): module-level helpers."""
    work: tuple[cst.Call, str] | None = None
    """The first parallel-work call in it, and its constructor's name."""


class ParallelWorkWithoutSerialMarker(Rule):
    """
    ## What it does
    Checks for tests that start parallel work — a `ThreadPoolExecutor`,
    `ProcessPoolExecutor`, `multiprocessing.Pool`, `Process` or `ThreadPool`,
    directly or through a `get_context(...)`, under any import alias — without
    the project's serial marker, in projects that run pytest-xdist **and** have
    adopted a serial-marker convention (a marker from `serial-markers` is
    registered, used in the suite, or the key is set) that covers parallel work:
    the marker's registered description speaks of threads, processes, pools or
    parallelism, a test the suite already marks starts the same kind of work
    (itself or through a helper of its module), or `serial-markers` or
    `parallel-constructors` is set explicitly. A `serial` marker kept for shared
    external state does not make every thread pool a finding. A plain
    `threading.Thread` counts where the suite already marks a test that starts
    one (the project says threads matter), or when `parallel-constructors`
    lists it.

    The work may be in the test itself, in any method of its `Test*` class, in a
    fixture of the same module that the test requests, or in a module-level
    helper of the same file that the test calls. A test is serial when it, its
    class (decorator or `pytestmark`) or the module's `pytestmark` carries a
    serial marker or `pytest.mark.xdist_group`.

    Projects without xdist, or that never adopted the convention, are not
    checked: threads inside a worker are fine in general, the convention is the
    project's own decision. Nor are annotations, `isinstance` checks, executors
    created by the library under test, fixtures in conftests, or code at module
    level.

    ## Why is this bad?
    The project marks tests that start their own threads or processes so that
    they run on one worker. An unmarked one runs beside the other workers'
    tests; the nested parallelism oversubscribes the machine and has crashed
    workers ("node down: Not properly terminated") in a few percent of CI runs.

    ## Example
    ```ini
    # pytest.ini
    [pytest]
    addopts = -n auto
    markers =
        parallel_unsafe: starts its own threads; run on one xdist worker
    ```

    ```python
    from concurrent.futures import ThreadPoolExecutor


    def test_parallel_downloads():
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(len, ["a", "bb"])) == [1, 2]
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    import pytest


    @pytest.mark.parallel_unsafe
    def test_parallel_downloads():
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(len, ["a", "bb"])) == [1, 2]
    ```

    ## Fix safety
    Adding the first adopted serial marker to the enclosing `Test*` class, else
    to the test (with `import pytest` when missing) is **safe**: it only changes
    which worker runs the test, which is what the project's convention asks.
    There is no fix while the marker is not registered (TL203) or serialises
    nothing under the project's xdist setup (TL204): adding it would leave the
    next run a finding, so the message says what to set up first.

    ## Options
    - `serial-markers`
    - `parallel-constructors`

    ## References
    - [pytest-xdist: running tests in groups (`xdist_group`)](https://pytest-xdist.readthedocs.io/en/stable/distribution.html)
    - [pytest-xdist #916: threads inside workers](https://github.com/pytest-dev/pytest-xdist/issues/916)
    """

    code = "TL201"
    name = "parallel-work-without-serial-marker"
    summary = "Test starts threads or processes without the project's serial marker under xdist"
    triggers = ("Executor", "Pool", "Process")
    facts = (SUITE,)
    file_kinds = frozenset({FileKind.TEST})
    options = (SERIAL_MARKERS, PARALLEL_CONSTRUCTORS)
    fixable = "always"

    @classmethod
    def triggers_for(cls, settings: Settings) -> tuple[str, ...]:
        names = settings.option(PARALLEL_CONSTRUCTORS)
        if not settings.is_explicit(PARALLEL_CONSTRUCTORS):
            names = (*names, *LEARNABLE_CONSTRUCTORS)  # they may count in this project
        return cls.triggers + tuple(name.rsplit(".", 1)[-1] for name in names)

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """The file calls a parallel constructor, and the suite runs under xdist with
        an adopted serial marker (asked in the order the visit asks it: the project
        facts only for a file with parallel work)."""
        names = {name.rsplit(".", 1)[-1] for name in cls.triggers_for(file.settings)}
        if not file.scan.calls_named(names):
            return False
        return runs_xdist(file) and bool(adopted_markers(file))

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._functions: list[Function] = []
        self._current: Function | None = None
        self._contexts = Contexts(context)
        self._constructors = frozenset(self.context.settings.option(PARALLEL_CONSTRUCTORS))

    @cached_property
    def _learned(self) -> frozenset[str]:
        """Learnable constructors (plain `threading.Thread`) that tests the project
        already marks with its serial marker start: they count in this project.
        Explicit `parallel-constructors` is the whole list."""
        if self.context.settings.is_explicit(PARALLEL_CONSTRUCTORS):
            return frozenset()
        markers = adopted_markers(self.context)
        if not markers:
            return frozenset()
        return learned_constructors(suite_scope(self.context), markers[0])

    # -- the visit records; leave_Module decides

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.context.function_depth:
            return
        classes = self.context.classes
        function = self._describe(node, classes[0] if classes else None)
        self._functions.append(function)
        self._current = function

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if self._current is not None and self._current.node is original_node:
            self._current = None

    def visit_Assign(self, node: cst.Assign) -> None:
        self._contexts.record(node)

    def visit_Call(self, node: cst.Call) -> None:
        current = self._current
        if current is None or self.context.main_guard_depth:
            return
        if isinstance(node.func, cst.Name):
            current.calls.add(node.func.value)
        if current.work is None:
            constructor = self._constructor(node)
            if constructor is not None:
                current.work = (node, constructor)

    def leave_Module(self, original_node: cst.Module) -> None:
        if not any(f.work for f in self._functions):
            return
        if not runs_xdist(self.context):
            return
        markers = adopted_markers(self.context)
        if not markers:
            return
        for function in self._functions:
            if function.work is not None and covers_parallel_work(
                self.context, markers[0], function.work[1]
            ):
                self._check(function, markers[0])

    # -- deciding

    def _check(self, function: Function, marker: str) -> None:
        assert function.work is not None
        call, constructor = function.work
        short = constructor.rsplit(".", 1)[-1]
        name = function.node.name.value
        if function.kind == "test" and function.cls is None:
            if function.serial:
                return
            message = f"Test `{name}` starts parallel work (`{short}`) but has no serial marker"
            targets: list[Function] = [function]
        elif function.cls is not None:
            if not self._is_test_class(function.cls):
                return
            tests = [f for f in self._functions if f.cls is function.cls and f.kind == "test"]
            if function.kind == "test":
                tests = [function]
            if all(t.serial for t in tests):
                return
            cls = function.cls.name.value
            message = (
                f"`{cls}.{name}` starts parallel work (`{short}`) "
                f"but class `{cls}` has no serial marker"
            )
            targets = [function]
        else:
            targets = [t for t in self._dependents(function) if not t.serial]
            if not targets:
                return
            what = "Fixture" if function.kind == "fixture" else "Helper"
            names = ", ".join(sorted({self._display(t) for t in targets}))
            message = (
                f"{what} `{name}` starts parallel work (`{short}`) "
                f"for tests with no serial marker ({names})"
            )
        blocker = self._fix_blocker(marker)
        self.report(
            call,
            f"{message}; under pytest-xdist they run beside other tests: "
            f"add `@pytest.mark.{marker}`{blocker}",
            fix=None if blocker else self._fix(targets, marker),
        )

    def _fix_blocker(self, marker: str) -> str:
        """Why adding `marker` now would leave a finding the next run reports (TL203,
        TL204), as a note for the message; "" when the fix is sound. The fix is
        then not offered: `--fix` must never create a finding."""
        if unregistered(self.context, marker):
            return f"; note: `{marker}` is not registered yet (TL203): register it first"
        markers = configured_markers(self.context)
        suite = suite_markers(suite_scope(self.context), markers)
        if marker_problem(self.context, suite, markers, frozenset({marker})) is not None:
            return f"; note: `{marker}` serialises nothing under this xdist setup yet (TL204)"
        return ""

    def _dependents(self, function: Function) -> list[Function]:
        """Tests of this module that reach `function`: requesting a fixture
        (directly, through other fixtures, or autouse), or calling a helper
        (directly or through other helpers, fixtures included)."""
        fixtures = {f.fixture_name: f for f in self._functions if f.kind == "fixture"}
        helpers = {
            f.node.name.value: f for f in self._functions if f.kind == "helper" and f.cls is None
        }
        autouse = [f for f in fixtures.values() if f.autouse]
        found = []
        for test in (f for f in self._functions if f.kind == "test"):
            reached: set[int] = set()
            pending: list[Function] = [test]
            pending.extend(f for f in autouse if f.cls is None or f.cls is test.cls)
            while pending:
                current = pending.pop()
                if id(current) in reached:
                    continue
                reached.add(id(current))
                pending.extend(fixtures[name] for name in current.requests if name in fixtures)
                pending.extend(helpers[name] for name in current.calls if name in helpers)
            if id(function) in reached:
                found.append(test)
        return found

    # -- describing functions as the visit meets them

    def _describe(self, node: cst.FunctionDef, cls: cst.ClassDef | None) -> Function:
        decorators = [d.decorator for d in node.decorators]
        fixture = next(
            (d for d in decorators if mark_names(self.context, [d]) & FIXTURE_DECORATORS), None
        )
        if fixture is not None:
            function = Function(node, cls, "fixture", serial=False)
            function.fixture_name = node.name.value
            if isinstance(fixture, cst.Call):
                name = find_keyword(fixture, "name")
                if name is not None and isinstance(name.value, cst.SimpleString):
                    evaluated = name.value.evaluated_value
                    function.fixture_name = evaluated if isinstance(evaluated, str) else ""
                autouse = find_keyword(fixture, "autouse")
                function.autouse = autouse is not None and (
                    isinstance(autouse.value, cst.Name) and autouse.value.value == "True"
                )
        elif self._is_test_name(node.name.value) and (cls is None or self._is_test_class(cls)):
            function = Function(node, cls, "test", serial=self._is_serial(node))
        else:
            function = Function(node, cls, "helper", serial=False)
        params = (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)
        function.requests = {p.name.value for p in params}
        function.requests |= self._usefixtures(decorators)
        return function

    def _is_serial(self, node: cst.FunctionDef) -> bool:
        if serial_marks_on(self.context, [d.decorator for d in node.decorators]):
            return True
        if any(class_is_serial(self.context, cls) for cls in self.context.classes):
            return True
        return module_is_serial(self.context)

    def _usefixtures(self, decorators: list[cst.BaseExpression]) -> set[str]:
        expressions = list(decorators)
        for cls in self.context.classes:
            expressions.extend(d.decorator for d in cls.decorators)
            if isinstance(cls.body, cst.IndentedBlock):
                expressions.extend(pytestmark_values(cls.body.body))
        expressions.extend(pytestmark_values(self.context.module.body))
        names = set()
        for expression in expressions:
            if not isinstance(expression, cst.Call):
                continue
            if "pytest.mark.usefixtures" not in mark_names(self.context, [expression]):
                continue
            for arg in expression.args:
                if isinstance(arg.value, cst.SimpleString):
                    value = arg.value.evaluated_value
                    if isinstance(value, str):
                        names.add(value)
        return names

    def _is_test_name(self, name: str) -> bool:
        return self.context.project.pytest_config(self.context.path.parent).collects_function(name)

    def _is_test_class(self, cls: cst.ClassDef) -> bool:
        config = self.context.project.pytest_config(self.context.path.parent)
        if config.collects_class(cls.name.value):
            return True
        return any(self.context.imports.resolve(b.value) in UNITTEST_BASES for b in cls.bases)

    # -- recognising parallel work

    def _constructor(self, call: cst.Call) -> str | None:
        qualified = self.context.imports.resolve(call.func)
        if qualified is not None:
            qualified = qualified.replace("concurrent.futures.thread.", "concurrent.futures.")
            qualified = qualified.replace("concurrent.futures.process.", "concurrent.futures.")
            if qualified in self._constructors or qualified in self._learned:
                return qualified
        func = call.func
        if isinstance(func, cst.Attribute):
            # `mp.get_context("spawn").Pool(2)`, or `ctx.Process(...)` after `ctx = get_context()`
            name = f"multiprocessing.{func.attr.value}"
            if self._contexts.method(func.value) is not None and name in self._constructors:
                return name
        return None

    # -- fixing

    def _fix(self, tests: Iterable[Function], marker: str) -> NodeFix | None:
        reference = module_reference(self.context, "pytest")
        if reference is None:
            return None
        pytest_name, imports = reference
        decorator = cst.Decorator(cst.parse_expression(f"{pytest_name}.mark.{marker}"))
        changes: dict[cst.CSTNode, cst.CSTNode] = {}
        for test in tests:
            target: cst.FunctionDef | cst.ClassDef = test.cls if test.cls is not None else test.node
            changes[target] = target.with_changes(decorators=[decorator, *target.decorators])
        return NodeFix(
            title=f"Add `@pytest.mark.{marker}`",
            applicability=Applicability.SAFE,
            changes=changes,
            imports=imports,
        )

    @staticmethod
    def _display(function: Function) -> str:
        if function.cls is not None:
            return f"`{function.cls.name.value}.{function.node.name.value}`"
        return f"`{function.node.name.value}`"
