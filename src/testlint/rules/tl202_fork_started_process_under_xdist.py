from __future__ import annotations

import ast
import re

import libcst as cst

from testlint.api import (
    SUITE,
    Applicability,
    InFile,
    NodeFix,
    Rule,
    RuleContext,
    Scan,
    SourceFile,
    admits_python_below,
)
from testlint.rules._asyncio import marks_in_scope
from testlint.rules._helpers import (
    append_keyword,
    find_keyword,
    has_star_kwargs,
    keyword_arg,
    module_reference,
    positional_args,
)
from testlint.rules._xdist import (
    Contexts,
    runs_xdist,
    selected_by,
    start_method,
    xdist_selections,
)

PROCESS_POOL_EXECUTOR = "concurrent.futures.ProcessPoolExecutor"
# Callables that start processes with the default context, and the keyword (and
# position) through which each accepts another context.
MULTIPROCESSING_STARTERS = {
    "multiprocessing.Pool": (None, None),
    "multiprocessing.pool.Pool": ("context", 4),
    "multiprocessing.Process": (None, None),
}
STARTER_NAMES = frozenset({"ProcessPoolExecutor", "Pool", "Process"})
"""Last names of every call the rule judges (a superset, for the `ast` gate)."""
STARTERS = frozenset({PROCESS_POOL_EXECUTOR, *MULTIPROCESSING_STARTERS})
IMPLICIT_FORK = "default"
"""`get_context()` with no method: fork on Linux before 3.14, without saying so.
An explicit `get_context("fork")` or `os.fork()` is the author's deliberate choice
(fork-safety tests): not reported."""
FIRST_NON_FORK_DEFAULT = (3, 14)
SET_START_METHOD = "multiprocessing.set_start_method"
# A conftest choosing any start method but fork (or one testlint cannot read).
_SETS_NON_FORK_METHOD = re.compile(
    r"set_start_method\(\s*(?!(?:method\s*=\s*)?[\"']fork[\"'])[^)\s]"
)


class ForkStartedProcessUnderXdist(Rule):
    """
    ## What it does
    Checks tests and conftests for processes started with the *implicit* fork —
    `ProcessPoolExecutor()` without `mp_context`, `multiprocessing.Pool()` or
    `Process()` with the default context, a `get_context()` context — in
    projects that run pytest-xdist and support a Python on which fork is Linux's
    default start method (`requires-python` admits a version older than 3.14, or
    is not declared).

    Not reported: an explicit fork (`get_context("fork")`, `os.fork()`: the
    author's deliberate choice, as in fork-safety tests), `spawn` and
    `forkserver` contexts, an `mp_context` that
    testlint cannot resolve (a parameter), thread pools, `subprocess`, code
    under `if __name__ == "__main__":`, files whose project calls
    `multiprocessing.set_start_method` in the file or a conftest above it, tests
    marked `skip`, and tests that every command running pytest with `-n`
    deselects with `-m` (`pytest -n auto -m primer` runs only `primer` tests
    under xdist; `-n` in `addopts` applies to every run).

    ## Why is this bad?
    An xdist worker runs threads (execnet's I/O thread at least). Forking a
    multi-threaded process copies locks held by the other threads, and the child
    can deadlock; Python 3.12 warns about it (`DeprecationWarning: This process
    is multi-threaded, use of fork() may lead to deadlocks in the child`) and
    3.14 stopped using fork by default on Linux. A deadlocked child hangs the
    test until the worker is killed.

    ## Example
    ```ini
    # pytest.ini
    [pytest]
    addopts = -n auto
    ```

    ```python
    from concurrent.futures import ProcessPoolExecutor


    def test_square():
        with ProcessPoolExecutor() as pool:
            assert list(pool.map(abs, [-1])) == [1]
    ```

    ## Use instead
    ```python
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor


    def test_square():
        with ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as pool:
            assert list(pool.map(abs, [-1])) == [1]
    ```

    ## Fix safety
    Passing a spawn context (`mp_context=` for `ProcessPoolExecutor`,
    `multiprocessing.get_context("spawn").Pool(...)` for `Pool` and `Process`) is
    **unsafe**: a spawned child starts a fresh interpreter, so the function and
    its arguments must be picklable and importable, and state set up by the
    test before the call is not inherited. `import multiprocessing` is added when
    missing, and `from multiprocessing import Process` removed once unused.
    `os.fork()` and explicit fork contexts get no fix.

    ## References
    - [multiprocessing: contexts and start methods](https://docs.python.org/3/library/multiprocessing.html#contexts-and-start-methods)
    - [What's new in Python 3.14: forkserver is the default on Linux](https://docs.python.org/3/whatsnew/3.14.html#multiprocessing)
    """

    code = "TL202"
    name = "fork-started-process-under-xdist"
    summary = "Process started with fork inside an xdist worker"
    triggers = ("Pool", "Process", "fork")
    facts = (SUITE,)
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """The file calls a process starter, and the suite runs under xdist where fork
        is the default (the project facts only for a file that starts processes, as
        in the visit)."""
        return _may_start_processes(file.scan) and _applies(file)

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._contexts = Contexts(context)
        self._pending: list[tuple[cst.Call, str, NodeFix | None, frozenset[str], str]] = []
        self._marks: frozenset[str] = frozenset()
        """Last names of the marks on the top-level function being visited."""
        self._function: cst.FunctionDef | None = None
        self._skipping: dict[str, cst.FunctionDef] = {}
        """Top-level functions that call `pytest.skip(...)`, by name."""
        self._calls: dict[str, set[str]] = {}
        """Top-level function -> the bare names it calls (`get_storage()`)."""
        self._sets_start_method = False
        """The module itself sets a start method other than fork at import time or
        in a function (not under `if __name__ == "__main__":`)."""

    def visit_Assign(self, node: cst.Assign) -> None:
        self._contexts.record(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.context.function_depth and self._function is None:
            self._function = node
            marks = marks_in_scope(self.context, node)
            self._marks = frozenset(mark.rsplit(".", 1)[-1] for mark in marks)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if original_node is self._function:
            self._function = None
            self._marks = frozenset()

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.main_guard_depth:
            return
        qualified = self.context.imports.resolve(node.func)
        function = self._function
        if function is not None:
            if qualified == "pytest.skip":
                self._skipping[function.name.value] = function
            elif isinstance(node.func, cst.Name):
                self._calls.setdefault(function.name.value, set()).add(node.func.value)
        if qualified == SET_START_METHOD:
            self._sets_start_method |= start_method(node) != "fork"
            return
        if qualified is not None:
            qualified = qualified.replace("concurrent.futures.process.", "concurrent.futures.")
        if qualified == PROCESS_POOL_EXECUTOR:
            self._check_starter(node, "ProcessPoolExecutor", ("mp_context", 2))
        elif qualified in MULTIPROCESSING_STARTERS:
            self._check_starter(
                node, qualified.rsplit(".", 1)[-1], MULTIPROCESSING_STARTERS[qualified]
            )
        elif (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("Pool", "Process")
            and self._contexts.method(node.func.value) == IMPLICIT_FORK
        ):
            what = f"`{node.func.attr.value}()` from the default context forks"
            self._report(node, what, None)

    def _check_starter(
        self, call: cst.Call, name: str, context_arg: tuple[str | None, int | None]
    ) -> None:
        keyword, position = context_arg
        if has_star_kwargs(call):
            return
        given = find_keyword(call, keyword) if keyword else None
        positional = positional_args(call)
        if given is None and position is not None and len(positional) >= position:
            given = positional[position - 1]
        if given is not None:
            if self._contexts.method(given.value) == IMPLICIT_FORK:
                self._report(call, f"`{name}()` with the default context forks", None)
            return  # an explicit fork context is the author's deliberate choice
        self._report(
            call, f"`{name}()` starts processes with fork (the default)", self._fix(call, name)
        )

    def _report(self, call: cst.Call, what: str, fix: NodeFix | None) -> None:
        if "skip" in self._marks:
            return  # never runs (`skipif` may: its condition is not judged)
        name = self._function.name.value if self._function is not None else ""
        self._pending.append((call, what, fix, self._marks, name))

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self._pending or self._sets_start_method or not _applies(self.context):
            return
        selections = xdist_selections(self.context)
        for call, what, fix, marks, function in self._pending:
            if self._skipped_by_environment(function):
                continue  # CI's -n runs may skip it: undecidable here
            if self._deselected_somewhere(marks):
                continue  # some run deselects its mark, maybe through a variable
            if selections is not None and not any(
                expression is None or selected_by(expression, set(marks))
                for expression in selections
            ):
                continue  # every run with -n deselects this test (`-m primer`)
            self.report(
                call,
                f"{what} inside an xdist worker, which runs threads: the child can deadlock "
                "(fork is the default start method on Linux before Python 3.14); "
                'use `multiprocessing.get_context("spawn")`',
                fix=fix,
            )

    def _skipped_by_environment(self, function: str) -> bool:
        """The test, or a function of its module it calls, skips itself unless an
        environment variable is set (optuna's `get_storage()` without
        `TEST_DB_URL`): whether CI's `-n` runs set it is not known here."""
        for name in {function} | self._calls.get(function, set()):
            skipping = self._skipping.get(name)
            if skipping is not None:
                code = cst.Module(body=[]).code_for_node(skipping)
                if "environ" in code or "getenv" in code:
                    return True
        return False

    def _deselected_somewhere(self, marks: frozenset[str]) -> bool:
        """A run file says `not <mark>` for one of the test's marks (meltano's
        workflow sets `PYTEST_MARKERS: 'not concurrent'`, which reaches the `-n`
        command through nox's posargs): which runs deselect it is not known here."""
        if not marks:
            return False
        owner = self.context.project.owner(self.context.path)
        texts = [text for _, text in (*owner.run_files, *owner.repository_run_files)]
        return any(
            re.search(rf"\bnot\s+{re.escape(mark)}\b", text) for mark in marks for text in texts
        )

    # -- fixing

    def _fix(self, call: cst.Call, name: str) -> NodeFix | None:
        reference = module_reference(self.context, "multiprocessing")
        if reference is None:
            return None
        module, imports = reference
        spawn = f'{module}.get_context("spawn")'
        if name == "ProcessPoolExecutor":
            argument = keyword_arg("mp_context", cst.parse_expression(spawn))
            replacement = append_keyword(call, argument)
        else:
            replacement = call.with_changes(func=cst.parse_expression(f"{spawn}.{name}"))
        return NodeFix(
            title='Use `multiprocessing.get_context("spawn")`',
            applicability=Applicability.UNSAFE,
            changes={call: replacement},
            imports=imports,
        )


def _applies(file: InFile) -> bool:
    """The suite runs under xdist, on a Python where fork is the default start
    method, and no conftest sets another."""
    owner = file.project.owner(file.path)
    conftests = file.project.conftest_texts(file.path.parent)
    return (
        runs_xdist(file)
        and admits_python_below(owner.requires_python, FIRST_NON_FORK_DEFAULT)
        and not any(_SETS_NON_FORK_METHOD.search(text) for text in conftests)
    )


def _may_start_processes(scan: Scan) -> bool:
    """Whether a call may start processes as the visit judges them (a superset): an
    imported starter (`multiprocessing.Pool`, `mp.Process`; a relative import may be
    anything), or `.Pool`/`.Process` of what may be a context (`ctx.Pool()`,
    `get_context().Process()`, a name the file assigns). A class of the project
    named `Pool` (celery's) is not one."""
    for call in scan.calls_named(STARTER_NAMES):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("Pool", "Process"):
            base = func.value
            if isinstance(base, ast.Call):
                return True
            if isinstance(base, ast.Name) and (
                base.id not in scan.import_bound or _assigned(scan, base.id)
            ):
                return True
        for qualified in scan.qualified(func):
            if qualified is None:
                return True
            if qualified.replace("concurrent.futures.process.", "concurrent.futures.") in STARTERS:
                return True
    return False


def _assigned(scan: Scan, name: str) -> bool:
    """The text may assign `name` (`ctx = mp.get_context()`), as a superset."""
    text = scan.text
    return text is None or re.search(rf"(?<![\w.]){re.escape(name)}\s*=(?!=)", text) is not None
