from __future__ import annotations

import libcst as cst

from testlint.api import Applicability, FileKind, NodeFix, Rule, RuleContext, SourceFile
from testlint.rules._helpers import (
    imported_modules,
    is_string_node,
    keyword_arg,
    module_reference,
    positional_args,
    previous_small_statement,
    py_string,
)

# Qualified name -> how the message shows it.
EXIT_CALLS = {
    "sys.exit": "sys.exit",
    "builtins.exit": "exit",
    "builtins.quit": "quit",
    "os._exit": "os._exit",
    "os.abort": "os.abort",
    "pytest.exit": "pytest.exit",
}
EXIT_NAMES = frozenset({name.rsplit(".", 1)[-1] for name in EXIT_CALLS} | {"SystemExit"})
IMPORT_ERRORS = frozenset({"builtins.ImportError", "builtins.ModuleNotFoundError"})
# What catches each kind of exit. os._exit and os.abort cannot be caught at all;
# pytest.exit raises `Exit`, a subclass of Exception.
CATCHERS = {
    "SystemExit": frozenset({"builtins.SystemExit", "builtins.BaseException"}),
    "Exit": frozenset({"pytest.exit.Exception", "builtins.Exception", "builtins.BaseException"}),
    "uncatchable": frozenset(),
}
EXCEPTION_KIND = {"os._exit": "uncatchable", "os.abort": "uncatchable", "pytest.exit": "Exit"}
SUPPRESSORS = frozenset({"contextlib.suppress", "pytest.raises"})


class ModuleLevelExit(Rule):
    """
    ## What it does
    Checks for calls that end the process — `sys.exit()`, `exit()`, `quit()`,
    `os._exit()`, `os.abort()`, `pytest.exit()` and `raise SystemExit` — in code
    that runs when pytest imports a test module or a conftest: the module body,
    class bodies, and module-level `if`/`try`/`with`/`for`/`while`/`match` blocks.
    Aliases are followed (`from sys import exit as bail`, `import sys as _sys`).

    Not reported: code inside functions and lambdas, or under
    `if __name__ == "__main__":` (it does not run at collection); an exit that is
    caught where it stands (`try: ... except SystemExit:`, `except BaseException:`,
    a bare `except:`, `with contextlib.suppress(SystemExit):`; `except Exception:`
    catches `pytest.exit()` but not `sys.exit()`); files pytest does not collect
    (`python_files`, `norecursedirs`, `--ignore` in `addopts`, `collect_ignore`).

    ## Why is this bad?
    pytest imports every test module to collect it. An exit at import time does
    not fail one module: it ends the whole run. `sys.exit(1)` in a test module
    gives `INTERNALERROR> SystemExit: 1` and no test runs, on every platform and
    Python version of the CI matrix. In a conftest, `sys.exit(0)` is worse: the
    run ends with exit code 0 and no tests run, a silent green CI. The usual
    cause is a script-style test that exits when an optional dependency is missing.

    ## Example
    ```python
    import sys

    try:
        import playwright
    except ImportError:
        print("Playwright not available")
        sys.exit(1)
    ```

    ## Use instead
    ```python
    import pytest

    try:
        import playwright
    except ImportError:
        print("Playwright not available")
        pytest.skip("Playwright not available", allow_module_level=True)
    ```

    ## Fix safety
    In a test module, inside an `except ImportError:` (or `ModuleNotFoundError`)
    handler, the exit becomes `pytest.skip(<reason>, allow_module_level=True)`:
    a **safe** fix, because skipping the module when its dependency is missing is
    what the exit was for. The reason is the exit's message, else the message of a
    `print()` just before it, else the name of the module the `try` imports.
    `import pytest` is added when missing, in its isort section, and an import
    the exit was the last use of (`import sys`) is removed. The `try`/`except` is
    kept on purpose: `pytest.importorskip` only skips on `ModuleNotFoundError`
    since pytest 9.1, and placed above later imports it trips ruff's E402.

    Anywhere else in a test module the same rewrite is **unsafe**: the author may
    have wanted a hard stop. An unconditional exit directly in the module body
    (`sys.exit(main())` at the end of a script-style test) is instead moved under
    `if __name__ == "__main__":`, also **unsafe**: running the file as a script
    still exits, and pytest no longer does. An exit inside an expression (`x or sys.exit()`) is
    reported without a fix. In a conftest there is no fix: `pytest.skip()` at
    import time of a conftest that pytest loads at start-up is itself an error,
    so the code needs a human decision (guard the fixtures that need the
    dependency, or list the files in `collect_ignore`).

    ## References
    - [pytest: skipping a whole module](https://docs.pytest.org/en/stable/how-to/skipping.html#skipping-test-functions)
    - [pytest: `pytest.skip(allow_module_level=True)`](https://docs.pytest.org/en/stable/reference/reference.html#pytest-skip)
    """

    code = "TL101"
    name = "module-level-exit"
    summary = "Process exit (`sys.exit`, `exit`, `raise SystemExit`, ...) at import time of a test module or conftest"  # noqa: E501
    triggers = ("exit", "Exit", "quit", "abort")
    fixable = "sometimes"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        return bool(file.scan.import_time_callees_named(EXIT_NAMES))

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._reported: set[int] = set()

    def _exit_name(self, call: cst.Call) -> str | None:
        qualified = self.context.imports.resolve(call.func)
        if qualified is None or qualified not in EXIT_CALLS:
            return None
        if self._is_caught(CATCHERS[EXCEPTION_KIND.get(qualified, "SystemExit")]):
            return None
        return EXIT_CALLS[qualified]

    def _is_caught(self, catchers: frozenset[str]) -> bool:
        """Inside a `try` whose handlers catch it, or `with suppress(...)`/
        `pytest.raises(...)` of it: the exit never reaches pytest."""
        if not catchers:
            return False
        resolve = self.context.imports.resolve
        for statement in self.context.try_bodies:
            for handler in statement.handlers:
                if handler.type is None:
                    return True
                caught = handler.type
                types = (
                    [e.value for e in caught.elements]
                    if isinstance(caught, cst.Tuple)
                    else [caught]
                )
                if any(resolve(t) in catchers for t in types):
                    return True
        for block in self.context.with_bodies:
            for item in block.items:
                manager = item.item
                if (
                    isinstance(manager, cst.Call)
                    and resolve(manager.func) in SUPPRESSORS
                    and any(resolve(arg.value) in catchers for arg in manager.args)
                ):
                    return True
        return False

    def _message(self, shown: str) -> str:
        return f"`{shown}` at import time ends the whole pytest run, not just this module"

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not self.context.at_import_time or not isinstance(call, cst.Call):
            return
        shown = self._exit_name(call)
        if shown is None:
            return
        self._reported.add(id(call))
        message = self._message(f"{shown}()")
        self.report(call, message, fix=self._fix(node, call))

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) in self._reported or not self.context.at_import_time:
            return
        shown = self._exit_name(node)
        if shown is not None:
            self.report(node, self._message(f"{shown}()"))

    def visit_Raise(self, node: cst.Raise) -> None:
        if not self.context.at_import_time or node.exc is None:
            return
        exc = node.exc
        target = exc.func if isinstance(exc, cst.Call) else exc
        if self.context.imports.resolve(target) != "builtins.SystemExit":
            return
        if self._is_caught(CATCHERS["SystemExit"]):
            return
        message = self._message("raise SystemExit")
        self.report(node, message, fix=self._fix(node, exc if isinstance(exc, cst.Call) else None))

    # -- the fix

    def _fix(self, statement: cst.Expr | cst.Raise, call: cst.Call | None) -> NodeFix | None:
        if self.context.kind is not FileKind.TEST:
            return None
        line = self.context.enclosing_statement()
        if isinstance(line, cst.SimpleStatementLine) and self._is_top_level(line):
            return self._main_guard_fix(line, statement)
        reference = module_reference(self.context, "pytest")
        if reference is None:
            return None
        pytest_name, imports = reference
        in_import_handler = self._in_import_error_handler()
        reason = self._reason(statement, call, in_import_handler)
        skip = cst.Call(
            func=cst.Attribute(cst.Name(pytest_name), cst.Name("skip")),
            args=[
                cst.Arg(reason, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                keyword_arg("allow_module_level", cst.Name("True")),
            ],
        )
        replacement = cst.Expr(skip, semicolon=statement.semicolon)
        applicability = Applicability.SAFE if in_import_handler else Applicability.UNSAFE
        return NodeFix(
            title="Replace with `pytest.skip(..., allow_module_level=True)`",
            applicability=applicability,
            changes={statement: replacement},
            imports=imports,
        )

    def _is_top_level(self, line: cst.SimpleStatementLine) -> bool:
        return any(statement is line for statement in self.context.module.body)

    def _main_guard_fix(
        self, line: cst.SimpleStatementLine, exit_statement: cst.BaseSmallStatement
    ) -> NodeFix:
        """An unconditional exit at the top of the module is a script's entry point:
        it belongs under the `__main__` guard, where pytest never runs it. Only the
        exit (and what follows it on its line, which never runs anyway) moves: the
        statements before it on the same line (`import sys; sys.exit(1)`) stay."""
        index = next(i for i, small in enumerate(line.body) if small is exit_statement)
        kept, moved = line.body[:index], line.body[index:]
        guarded = cst.If(
            test=cst.parse_expression('__name__ == "__main__"'),
            body=cst.IndentedBlock(body=[line.with_changes(body=moved, leading_lines=())]),
            leading_lines=() if kept else line.leading_lines,
        )
        title = 'Move under `if __name__ == "__main__":`'
        if not kept:
            return NodeFix(title, Applicability.UNSAFE, changes={line: guarded})
        last = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        before = line.with_changes(
            body=[*kept[:-1], last], trailing_whitespace=cst.TrailingWhitespace()
        )
        return NodeFix(
            title, Applicability.UNSAFE, changes={line: cst.FlattenSentinel([before, guarded])}
        )

    def _in_import_error_handler(self) -> bool:
        enclosing = self.context.enclosing_handler()
        if enclosing is None:
            return False
        caught = enclosing[1].type
        if caught is None:
            return False
        elements = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
        names = [self.context.imports.resolve(e) for e in elements]
        return all(name in IMPORT_ERRORS for name in names)

    def _reason(
        self, statement: cst.Expr | cst.Raise, call: cst.Call | None, in_import_handler: bool
    ) -> cst.BaseExpression:
        if call is not None:
            args = positional_args(call)
            if args and is_string_node(args[0].value):
                return args[0].value
        printed = self._printed_message(statement)
        if printed is not None:
            return printed
        if in_import_handler:
            handler = self.context.enclosing_handler()
            assert handler is not None
            body = handler[0].body
            modules = imported_modules(body.body if isinstance(body, cst.IndentedBlock) else [])
            if modules:
                return cst.SimpleString(py_string(f"could not import {', '.join(modules)}"))
        if self.context.conditions:
            condition = self.context.module.code_for_node(self.context.conditions[-1].test)
            return cst.SimpleString(py_string(f"skipped because {' '.join(condition.split())}"))
        return cst.SimpleString(py_string("this module exits at import time"))

    def _printed_message(self, statement: cst.BaseSmallStatement) -> cst.BaseExpression | None:
        before = previous_small_statement(self.context, statement)
        if not isinstance(before, cst.Expr) or not isinstance(before.value, cst.Call):
            return None
        call = before.value
        if self.context.imports.resolve(call.func) != "builtins.print":
            return None
        args = positional_args(call)
        if len(args) == 1 and is_string_node(args[0].value):
            return args[0].value
        return None
