"""The `ast` gate's facts: pruned walks must find every node a full walk finds."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from linting import FIXTURES, fixture_root, linter
from testlint.scan import Scan, parse

SOURCES = {
    "decorator above the def": (
        "from unittest import mock\n\n\n@mock.patch('a.b')\n\ndef test_x(m):\n    pass\n"
    ),
    "call over several lines": "import os\nx = (\n    os\n    .\n    patch\n)('a')\n",
    "alias": "from unittest.mock import patch as swap\n\n\ndef test():\n    swap('a.b')\n",
    "class decorator": (
        "import unittest.mock\n\n\n@unittest.mock.patch('a.b')\nclass TestX:\n    pass\n"
    ),
    "lone carriage return": "import os\rpatch('a.b')\n",
}


def full_walk_calls(tree: ast.Module, name: str) -> set[tuple[int, int]]:
    return {
        (node.lineno, node.col_offset)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) == name or getattr(node.func, "id", None) == name)
    }


@pytest.mark.parametrize("source", SOURCES.values(), ids=list(SOURCES))
def test_calls_named_finds_what_a_full_walk_finds(source: str) -> None:
    tree = parse(source)
    assert tree is not None
    scan = Scan(tree, source)
    found = {(call.lineno, call.col_offset) for call in scan.calls_named({"patch"})}
    expected = full_walk_calls(tree, "patch") | full_walk_calls(tree, "swap")
    assert expected, "the example must hold a patch call"
    assert found == expected


def test_nodes_near_skips_lines_without_the_words() -> None:
    source = "def f():\n    return 1\n\n\ndef g():\n    patch()\n"
    tree = parse(source)
    assert tree is not None
    near = list(Scan(tree, source).nodes_near(["patch"]))
    names = {node.name for node in near if isinstance(node, ast.FunctionDef)}
    assert names == {"g"}


def test_import_time_calls_exclude_function_bodies_but_not_defaults() -> None:
    source = "import sys\n\n\ndef f(x=sys.exit()):\n    quit()\n"
    tree = parse(source)
    assert tree is not None
    assert Scan(tree, source).import_time_callees_named({"exit", "quit"}) == {"exit"}


IMPORT_TIME_SOURCES = {
    **SOURCES,
    "exit alias in a default": (
        "from sys import exit as bail\n\n\ndef f(x=bail(\n  1)):\n    bail()\n"
    ),
    "raise over lines": "raise \\\n    SystemExit(\n        2)\n",
    "decorated class": "@d(exit())\nclass K:\n    x = quit()\n    def m(self):\n        exit()\n",
    "lambda": "f = lambda: exit()\ng = exit\n",
}


@pytest.mark.parametrize("source", IMPORT_TIME_SOURCES.values(), ids=list(IMPORT_TIME_SOURCES))
@pytest.mark.parametrize("wanted", [{"exit", "quit", "SystemExit"}, {"patch"}])
def test_pruned_import_time_walk_finds_what_a_full_walk_finds(
    source: str, wanted: set[str]
) -> None:
    tree = parse(source)
    assert tree is not None
    pruned = Scan(tree, source)
    whole = Scan(tree, None)  # no text: walked whole
    assert pruned.import_time_callees_named(wanted) == whole.import_time_callees_named(wanted)
    assert {id(c) for c in pruned.import_time_calls_named(wanted)} == {
        id(c) for c in whole.import_time_calls_named(wanted)
    }


IMPORT_SOURCES = {
    **SOURCES,
    "everywhere": (
        "import a\n"
        "try:\n    import b\nexcept ImportError:\n    from c import d\nelse:\n    import e\n"
        "finally:\n    import f\n"
        "if x:\n    import g\nelif y:\n    import h\nelse:\n    from .i import j\n"
        "for k in l:\n    import m\nelse:\n    import n\n"
        "while o:\n    import p\nelse:\n    import q\n"
        "with r:\n    import s\n"
        "class T:\n    import u\n    def v(self):\n        import w\n"
        "async def x():\n    async with y:\n        import z\n    async for _ in a:\n"
        "        import aa\n"
        "def ee(): import ff; import gg\n"
    ),
    "continued": "from os \\\n    import path\nimport sys; x = 'import'\n",
    "no space": "from .import a\nfrom . import(b)\n",
    "word only in strings": "x = 'import os'\ndef f():\n    return '''\nimport sys\n'''\n",
    "lone carriage return": "import os\rimport sys\n",
}
if sys.version_info >= (3, 10):
    IMPORT_SOURCES["match"] = "match bb:\n    case 1:\n        import cc\n"
if sys.version_info >= (3, 11):
    IMPORT_SOURCES["except star"] = "try:\n    pass\nexcept* E:\n    import dd\n"


def _whole_imports(tree: ast.Module) -> set[int]:
    return {id(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}


@pytest.mark.parametrize("source", IMPORT_SOURCES.values(), ids=list(IMPORT_SOURCES))
def test_imports_are_every_import_statement(source: str) -> None:
    tree = parse(source)
    assert tree is not None
    found = {id(node) for node in Scan(tree, source).imports}
    assert found == _whole_imports(tree)


def test_imports_of_every_fixture_are_every_import_statement() -> None:
    checked = 0
    for path in sorted((Path(__file__).parent / "fixtures").rglob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        tree = parse(source)
        if tree is None:
            continue
        assert {id(node) for node in Scan(tree, source).imports} == _whole_imports(tree), path
        checked += 1
    assert checked > 300


PLACES_SOURCE = """\
import pytest
from unittest import mock
from pytest import fixture as fx


@mock.patch("shop.payments.charge")
def test_decorated(charge):
    pass


def test_nested(cart, *, flag=1):
    def helper():
        mock.patch("shop.payments.refund").start()

    class Inner:
        def method(self):
            mock.patch("shop.payments.charge").start()

    helper()


@fx
def stubbed(monkeypatch):
    monkeypatch.setattr("shop.payments.charge", lambda total: 0)


@pytest.fixture()
def patched():
    with mock.patch("shop.payments.refund") as refund:
        yield refund


@mock.patch("shop.payments.refund")
class TestOrders:
    patcher = mock.patch("shop.payments.charge")

    def setUp(self):
        self.patcher.start()

    @mock.patch.object(pytest, "skip")
    def test_method(self, skip):
        pass

    class TestDeeper:
        def test_deep(self):
            mock.patch("shop.payments.charge").start()


handler = lambda: mock.patch("shop.payments.refund").start()
mock.patch("shop.payments.charge").start()
"""


def _visit_places(path: Path, source: bytes) -> dict[tuple[str, bool], set[tuple[Any, ...]]]:
    """The places the patch rules' visit records for each (target, create)."""
    from testlint.rules import _patching

    recorded: dict[tuple[str, bool], set[tuple[Any, ...]]] = {}
    real = _patching.PatchRule.leave_Module

    def record(self: _patching.PatchRule, node: Any) -> None:
        for target in self.test_facts.targets:
            place = (target.definition, target.in_fixture, target.parameters)
            recorded.setdefault((target.target, target.create), set()).add(place)
        real(self, node)

    chosen = linter(fixture_root(path), gating=False)  # not `lint`: its results are cached
    with mock.patch.object(_patching.PatchRule, "leave_Module", record):
        chosen.check(path, source, chosen.project.file_kind(path))
    return recorded


def test_the_gate_places_every_patch_where_the_visit_does(tmp_path: Path) -> None:
    """The patch gate follows a patch's reach from where the `ast` says the patch
    is (`patch_places`): for every patch the visit records, in every fixture and in
    a file of nested classes and functions, decorators and lambdas, the gate knows
    the same place, or says it is not sure (None)."""
    from testlint.rules._patching import patch_places

    paths = sorted(FIXTURES.rglob("*.py"))
    special = FIXTURES / "TL401" / "shop_src_layout" / "tests" / "test_monkeypatch.py"
    compared = 0
    for path, source in [*((p, p.read_bytes()) for p in paths), (special, PLACES_SOURCE.encode())]:
        tree = parse(source.decode("utf-8", "replace"))
        if tree is None:
            continue
        gate = patch_places(Scan(tree, source.decode("utf-8", "replace")))
        for key, places in _visit_places(path, source).items():
            assert key in gate, (path, key)
            for place in places:
                assert place in gate[key] or None in gate[key], (path, key, place, gate[key])
                compared += 1
    assert compared > 100


def test_the_gate_and_the_visit_follow_a_reach_once(tmp_path: Path) -> None:
    """A file whose patch reports has its reach followed by the gate's judge, then
    by the visit: the second takes the first's complete answer."""
    from testlint.rules import _patching
    from testlint.rules import _reach as _reach_module

    path = FIXTURES / "TL401" / "shop_src_layout" / "tests" / "test_reach.py"
    followed: list[tuple[Any, ...]] = []
    real = _reach_module.reach

    def spy(index: Any, starts: Any, module: str, attr: str, *rest: Any) -> Any:
        followed.append((tuple((i.name, d) for i, d in starts), module, attr))
        return real(index, starts, module, attr, *rest)

    from testlint.engine import Linter
    from testlint.project import Project

    cached = linter(fixture_root(path))  # its project remembers reaches: a new one
    chosen = Linter(cached.rules, cached.settings, Project(cached.project.root))
    with mock.patch.object(_patching, "reach", spy):
        found = chosen.check(path, path.read_bytes(), chosen.project.file_kind(path))
    assert any(d.code == "TL401" for d in found.diagnostics)
    assert followed
    assert len(followed) == len(set(followed)), followed


def _visit_import_facts(path: Path, source: bytes) -> list[tuple[set[str], list[Any], Any]]:
    """The visit's record of imports and patches (`TestFacts`) of one file."""
    from testlint.rules import _patching

    found: list[tuple[set[str], list[Any], Any]] = []
    real = _patching.PatchRule.leave_Module

    def record(self: _patching.PatchRule, node: Any) -> None:
        facts = self.test_facts
        found.append((set(facts.imported), list(facts.targets), dict(facts.first_local_import)))
        real(self, node)

    chosen = linter(fixture_root(path), gating=False)
    with mock.patch.object(_patching.PatchRule, "leave_Module", record):
        chosen.check(path, source, chosen.project.file_kind(path))
    return found


def test_the_gate_knows_every_import_the_visit_counts_before_a_patch() -> None:
    """The TL401 gate tells from the `ast` whether a module is imported before a
    patch (`ast_imports`): on every fixture, every module the visit has imported
    outside functions, or inside a patch's function before it, the gate has too."""
    from testlint.rules._patching import ast_imports

    compared = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        source = path.read_bytes()
        tree = parse(source.decode("utf-8", "replace"))
        if tree is None:
            continue
        facts = ast_imports(Scan(tree, source.decode("utf-8", "replace")))
        for imported, targets, first_local in _visit_import_facts(path, source)[:1]:
            assert imported <= facts.top_level, path
            for target in targets:
                places = facts.patches.get((target.target, target.create), [])
                for (scope, module), order in first_local.items():
                    if scope != target.scope or order >= target.order:
                        continue
                    assert any(
                        facts.local.get((function, module), line + 1) <= line
                        for function, line in places
                    ), (path, target.target, module)
                    compared += 1
    assert compared >= 3


def test_a_module_imported_only_under_the_patch_keeps_the_file_from_libcst() -> None:
    """prowler's idiom (the check module imported inside the patch) is decided by
    the TL401 gate; a test that imports it before the patch still goes on."""
    from testlint.rule import SourceFile
    from testlint.rules.tl401_patch_of_name_imported_by_value import PatchOfNameImportedByValue

    path = FIXTURES / "TL401" / "imported_under_the_patch" / "tests" / "test_bucket_public.py"
    chosen = linter(fixture_root(path))
    whole = path.read_text()
    under_only = whole[: whole.index("def test_imported_before_the_patch")]

    def gate(text: str) -> bool:
        file = SourceFile(path, text, chosen.project, chosen.settings)
        return PatchOfNameImportedByValue.gate(file)

    assert gate(whole)
    assert not gate(under_only)


def _plain_ast_imports(scan: Scan) -> Any:
    """`ast_imports` the plain way: every node walked, with its outermost function."""
    from testlint.rules import _patching

    calls = {
        id(c): c
        for c in scan.calls_named(_patching.PATCH_CALL_NAMES)
        if _patching._may_have_target(c, scan)
    }
    top_level: list[ast.AST] = []
    local: dict[tuple[int, str], int] = {}
    patches: dict[tuple[str, bool], list[tuple[int, int]]] = {}
    stack: list[tuple[ast.AST, ast.AST | None]] = [(scan.tree, None)]
    while stack:
        node, function = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and function is None:
            function = node
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if function is None:
                top_level.append(node)
            else:
                for module in _patching._modules_imported_by([node]):
                    key = (id(function), module)
                    local[key] = min(local.get(key, node.lineno), node.lineno)
        elif id(node) in calls and function is not None:
            call = calls[id(node)]
            for target in _patching._possible_targets(call, scan):
                if target is not None:
                    where = (target, _patching._creates(call))
                    patches.setdefault(where, []).append((id(function), call.lineno))
        stack.extend((child, function) for child in ast.iter_child_nodes(node))
    return frozenset(_patching._modules_imported_by(top_level)), local, patches


IMPORTS_SOURCE = """
import os
from unittest import mock
if os.name:
    from shop import orders

class TestA:
    from shop import payments

    @mock.patch("shop.payments.charge")
    def test_decorated(self, charge):
        from shop import invoices
        with mock.patch("shop.payments.refund"):
            import shop.refunds

    def test_nested(self):
        def helper():
            import shop.deep
            return mock.patch("shop.payments.charge")
        return helper

async def test_async(): import shop.asyncs; mock.patch("shop.payments.charge").start()

handler = lambda: mock.patch("shop.payments.refund").start()
"""


def test_the_gate_s_imports_by_line_ranges_equal_a_walk_of_the_whole_tree() -> None:
    """`ast_imports` finds each import's and patch's outermost function from line
    ranges (a speed trick): on every fixture and a file of classes, decorators,
    nested functions, one-line bodies and lambdas, it equals a walk of every node."""
    from testlint.rules._patching import ast_imports

    sources = [p.read_bytes().decode("utf-8", "replace") for p in sorted(FIXTURES.rglob("*.py"))]
    compared = 0
    for source in [*sources, IMPORTS_SOURCE]:
        tree = parse(source)
        if tree is None:
            continue
        found = ast_imports(Scan(tree, source))
        top_level, local, patches = _plain_ast_imports(Scan(tree, source))
        assert (found.top_level, found.local) == (top_level, local), source[:80]
        assert {k: sorted(v) for k, v in found.patches.items()} == {
            k: sorted(v) for k, v in patches.items()
        }, source[:80]
        compared += bool(local or patches)
    assert compared > 20
