from __future__ import annotations

import ast
from collections.abc import Iterator

import libcst as cst

from testlint.api import EXITING, Rule, SourceFile, display_path, dotted_name


class TestImportsExitingModule(Rule):
    """
    ## What it does
    Checks for a test module or conftest that imports, at import time, a
    project module which calls `sys.exit()` (or `exit`, `quit`, `os._exit`,
    `os.abort`, `raise SystemExit`) as a top-level statement — typically a
    script whose last line is `sys.exit(main())` without an
    `if __name__ == "__main__":` guard. The transitive form of TL101.

    An exit under a top-level `if` counts (`if not os.environ.get("DB"):
    sys.exit(...)` fires on every machine without `DB`), except version and
    platform checks. Not reported: imports inside functions (they fail only that
    test), under `if __name__ == "__main__":` or `if TYPE_CHECKING:`, or inside
    `try: ... except SystemExit`; exits in `except` handlers of the module.

    ## Why is this bad?
    Importing the module runs its top level: the exit raises `SystemExit` during
    collection, which aborts the whole pytest run (`INTERNALERROR`), on every
    platform, for every contributor.

    ## Example
    ```python
    # tools/report.py
    import sys


    def main():
        return 0


    sys.exit(main())
    ```

    ```python
    from tools import report


    def test_main():
        assert report.main() == 0
    ```

    ## Use instead
    ```python
    # tools/report.py
    import sys


    def main():
        return 0


    if __name__ == "__main__":
        sys.exit(main())
    ```

    ```python
    from tools import report


    def test_main():
        assert report.main() == 0
    ```

    ## Fix safety
    There is no fix in the test: the module itself needs the
    `if __name__ == "__main__":` guard (TL101 does not check non-test modules).

    ## References
    - [`__main__` — top-level code environment](https://docs.python.org/3/library/__main__.html)
    """

    code = "TL103"
    name = "test-imports-exiting-module"
    summary = "Test imports a project module that exits when imported"
    triggers = ("import",)
    facts = (EXITING,)

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """Only files that import a module which exits (found once per project): the
        text must name one (every file says "import"), then an import must reach it."""
        exiting = file.project.owner(file.path).exiting_modules
        if not any(name.rsplit(".", 1)[-1] in file.source for name in exiting):
            return False
        return any(
            ".".join(parts[:cut]) in exiting
            for name in _imported_names(file.scan.imports)
            for parts in [name.split(".")]
            for cut in range(1, len(parts) + 1)
        )

    def visit_Import(self, node: cst.Import) -> None:
        if not self.context.at_import_time:
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name:
                self._check(node, [name])

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not self.context.at_import_time or node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if not module:
            return
        names = [module]
        if not isinstance(node.names, cst.ImportStar):
            names += [f"{module}.{dotted_name(a.name)}" for a in node.names]
        self._check(node, names)

    def _caught_or_skipped(self) -> bool:
        """Under `try: ... except SystemExit` (or `BaseException`, bare `except`), or
        `if TYPE_CHECKING:` (never runs)."""
        for condition in self.context.conditions:
            if self.context.imports.resolve(condition.test) == "typing.TYPE_CHECKING" or (
                isinstance(condition.test, cst.Name) and condition.test.value == "TYPE_CHECKING"
            ):
                return True
        for try_node in self.context.try_bodies:
            for handler in try_node.handlers:
                if handler.type is None:
                    return True
                types = (
                    [e.value for e in handler.type.elements]
                    if isinstance(handler.type, cst.Tuple)
                    else [handler.type]
                )
                for caught in types:
                    name = self.context.imports.resolve(caught)
                    if name in ("builtins.SystemExit", "builtins.BaseException"):
                        return True
        return False

    def _check(self, node: cst.CSTNode, names: list[str]) -> None:
        if self._caught_or_skipped():
            return
        exiting = self.context.project.owner(self.context.path).exiting_modules
        if not exiting:
            return
        for name in names:
            # `import pkg.script` runs pkg/__init__ and pkg/script.
            parts = name.split(".")
            for cut in range(1, len(parts) + 1):
                module = ".".join(parts[:cut])
                if module in exiting:
                    path, line = exiting[module]
                    where = display_path(path, self.context.project.root)
                    self.report(
                        node,
                        f"Importing `{module}` runs its top level, which exits "
                        f"({where}:{line}): collection aborts for the whole run; guard the "
                        'exit with `if __name__ == "__main__":`',
                    )
                    return


def _imported_names(imports: list[ast.Import | ast.ImportFrom]) -> Iterator[str]:
    """What `visit_Import` and `visit_ImportFrom` check, for every import of the file."""
    for node in imports:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif not node.level and node.module:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names if a.name != "*")
