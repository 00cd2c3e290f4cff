from __future__ import annotations

import ast

import libcst as cst

from testlint.api import Applicability, FileKind, NodeFix, Rule, SourceFile
from testlint.rules._helpers import append_keyword, find_keyword, has_star_kwargs, keyword_arg


class SkipWithoutAllowModuleLevel(Rule):
    """
    ## What it does
    Checks for `pytest.skip(...)` called at import time of a test module
    (module body, class bodies, module-level `if`/`try`/... blocks) without
    `allow_module_level=True`. Aliases are followed (`from pytest import skip`,
    `import pytest as pt`, the old `py.test.skip`).

    Conftest files are not checked: pytest only demands the keyword when it
    imports a test module (a conftest that pytest loads while collecting skips
    its directory with or without it).

    ## Why is this bad?
    Outside a test, `pytest.skip()` does not skip the module: pytest reports a
    collection error ("Using pytest.skip outside of a test will skip the entire
    module. If that's your intention, pass `allow_module_level=True`"), and with
    it the whole run is "Interrupted: 1 error during collection".

    ## Example
    ```python
    import sys

    import pytest

    if sys.platform == "win32":
        pytest.skip("POSIX only")
    ```

    ## Use instead
    ```python
    import sys

    import pytest

    if sys.platform == "win32":
        pytest.skip("POSIX only", allow_module_level=True)
    ```

    ## Fix safety
    Adding `allow_module_level=True` (or turning an explicit `False` into `True`)
    is **safe**: without it the call is a collection error, so the only working
    meaning of the code is "skip this module". A call with `**kwargs` or a
    non-literal `allow_module_level=` value is not reported.

    ## References
    - [pytest: `pytest.skip`](https://docs.pytest.org/en/stable/reference/reference.html#pytest-skip)
    """

    code = "TL102"
    name = "skip-without-allow-module-level"
    summary = "`pytest.skip()` at import time without `allow_module_level=True`"
    triggers = ("skip",)
    fixable = "always"
    file_kinds = frozenset({FileKind.TEST})

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        return any(
            not _is_mark_skip(call.func) and _may_lack_allow(call)
            for call in file.scan.import_time_calls_named({"skip"})
        )

    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.at_import_time:
            return
        if self.context.imports.resolve(node.func) != "pytest.skip" or has_star_kwargs(node):
            return
        existing = find_keyword(node, "allow_module_level")
        if existing is None:
            fixed = append_keyword(node, keyword_arg("allow_module_level", cst.Name("True")))
        elif isinstance(existing.value, cst.Name) and existing.value.value == "False":
            fixed = node.with_changes(
                args=[
                    arg.with_changes(value=cst.Name("True")) if arg is existing else arg
                    for arg in node.args
                ]
            )
        else:
            return
        self.report(
            node,
            "`pytest.skip()` at import time without `allow_module_level=True` "
            "is a collection error",
            fix=NodeFix(
                title="Add `allow_module_level=True`",
                applicability=Applicability.SAFE,
                changes={node: fixed},
            ),
        )


def _may_lack_allow(call: ast.Call) -> bool:
    """What `visit_Call` reports: no `**kwargs`, and `allow_module_level` missing
    or not a literal true."""
    for keyword in call.keywords:
        if keyword.arg is None:
            return False
        if keyword.arg == "allow_module_level":
            value = keyword.value
            return isinstance(value, ast.Constant) and value.value is False
    return True


def _is_mark_skip(func: ast.expr) -> bool:
    """`pytest.mark.skip(...)`: a marker, which never resolves to `pytest.skip`."""
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "mark"
    )
