"""Rules that misbehave on purpose: what the engine does when a rule's fix breaks the
code, never converges, or a rule crashes (test_engine, test_internal_errors)."""

from __future__ import annotations

import libcst as cst

from testlint.diagnostics import Applicability, NodeFix
from testlint.rule import Rule


class BrokenFix(Rule):
    """A rule whose fix produces invalid code."""

    code = "TL901"
    name = "broken-fix"
    summary = "test rule"
    triggers = ("exit",)

    def visit_Expr(self, node: cst.Expr) -> None:
        if self.context.at_import_time:
            bad = cst.Expr(cst.Name("class"))  # a keyword: libcst renders it, Python rejects it
            self.report(node, "broken", fix=NodeFix("break", Applicability.SAFE, {node: bad}))


class NeverConverges(Rule):
    """A rule whose fix always produces another finding."""

    code = "TL902"
    name = "never-converges"
    summary = "test rule"
    triggers = ("x",)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value.startswith("x"):
            new = cst.Name(node.value + "x")
            self.report(node, "again", fix=NodeFix("grow", Applicability.SAFE, {node: new}))


class Crashes(Rule):
    code = "TL903"
    name = "crashes"
    summary = "test rule"
    triggers = ("exit",)

    def visit_Call(self, node: cst.Call) -> None:
        raise RuntimeError("boom")


class CrashesInItsGate(Rule):
    code = "TL904"
    name = "crashes-in-its-gate"
    summary = "test rule"
    triggers = ("exit",)

    @classmethod
    def gate(cls, file: object) -> bool:
        raise KeyError("gate")
