"""Everything a rule imports from testlint: the rule contract in one module.

A rule is a class in its own module under `testlint/rules/` (see CONTRIBUTING.md):

    from testlint.api import SUITE, Applicability, NodeFix, Rule, SourceFile

    class MyRule(Rule):
        \"\"\"## What it does ... (ruff's sections; shown by `testlint explain`)\"\"\"

        code = "TL105"
        name = "my-rule"
        summary = "One line for the rules table"
        triggers = ("pytest.main",)     # 1. text the file must contain
        facts = (SUITE,)                # project facts read beyond the file

        @classmethod
        def gate(cls, file: SourceFile) -> bool:  # 2. optional: before libcst parses
            return bool(file.scan.calls_named({"main"}))

        def visit_Call(self, node: cst.Call) -> None:   # 3. the libcst visitor
            if self.context.at_import_time:
                self.report(node, "message", fix=NodeFix(...))

- `triggers`: the file is visited only if its text contains one of them.
- `gate(file)`: `file.source`, `file.path`, `file.project`, `file.settings` and
  `file.scan` (the CPython `ast`, parsed on first use, shared by every rule).
- `facts`: the project facts (`SUITE`, `MODULES`, `EXITING`) the rule or its gate
  reads through `Project`; the cache keys the file's result on them, and the
  fixture tests fail on a fact read but not declared.
- `options`: `Option` keys in `[tool.testlint]`, read with `settings.option(...)`.
- `InFile`: what a gate and a visit both know (path, project, settings, memo), for
  helpers that need no tree.
- `self.context` (`RuleContext`): the file, its libcst module, imports, where the
  visit is (`at_import_time`, enclosing `try`/`with`/`if`/class), the project.
- `self.report(node, message, fix=NodeFix(title, Applicability.SAFE, {old: new}))`,
  during the visit or after it (`leave_Module`): a `# noqa` on the lines of the node's
  statement applies. Only a late report of a node that is neither a call nor a string
  names that statement itself (`statement=`, as the patch rules do for keywords).

Rule families share helpers in `testlint/rules/_<family>.py`; a rule module imports
nothing else of testlint (`tests/test_layers.py` checks).
"""

from __future__ import annotations

from testlint.dependencies import admits_python_below
from testlint.diagnostics import Applicability, ImportRequest, NodeFix
from testlint.facts import EXITING, MODULES, SUITE, Fact
from testlint.module_info import ModuleInfo
from testlint.names import dotted_name, is_docstring
from testlint.project import FileKind, Project, display_path
from testlint.rule import InFile, Rule, RuleContext, SourceFile
from testlint.scan import Scan
from testlint.settings import Option, Settings

__all__ = [
    "EXITING",
    "MODULES",
    "SUITE",
    "Applicability",
    "Fact",
    "FileKind",
    "ImportRequest",
    "InFile",
    "ModuleInfo",
    "NodeFix",
    "Option",
    "Project",
    "Rule",
    "RuleContext",
    "Scan",
    "Settings",
    "SourceFile",
    "admits_python_below",
    "display_path",
    "dotted_name",
    "is_docstring",
]
