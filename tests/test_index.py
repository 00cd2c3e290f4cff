"""The project module index: names by layout, bindings, and what it refuses to guess."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import libcst as cst
import pytest

from testlint import import_time, index
from testlint.engine import Linter
from testlint.index import ExitLines, build_index, exiting_modules, find_exiting_modules
from testlint.module_info import resolve_relative
from testlint.registry import RULES
from testlint.runner import RunOptions, resolve_settings


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_conftest_in_a_package_and_a_venv_subpackage_are_modules(tmp_path: Path) -> None:
    # psf/black patches `tests.conftest.PRINT_FULL_TREE` (tests/ is a package); pdm
    # has `pdm.cli.commands.venv`. A virtualenv (pyvenv.cfg) and a top-level build/
    # stay out.
    write(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/conftest.py": "PRINT_FULL_TREE = False\n",
            "src/pdm/__init__.py": "",
            "src/pdm/venv/__init__.py": "",
            "src/pdm/venv/backends.py": "",
            "src/pdm/build/__init__.py": "",
            "build/lib/pdm/__init__.py": "",
            "env/pyvenv.cfg": "",
            "env/lib/site.py": "",
        },
    )
    index = build_index(tmp_path)
    assert set(index.files) == {
        "tests",
        "tests.conftest",
        "pdm",
        "pdm.venv",
        "pdm.venv.backends",
        "pdm.build",
    }


def test_module_names_follow_src_flat_and_namespace_layouts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/shop/__init__.py": "",
            "src/shop/orders.py": "",
            "tools/report.py": "",  # namespace package: no __init__.py
            "tests/conftest.py": "",
            "tests/helpers.py": "",
            ".venv/lib/x.py": "",
        },
    )
    index = build_index(tmp_path)
    assert set(index.files) == {"shop", "shop.orders", "tools.report", "tests.helpers"}
    assert index.knows("tools")
    assert index.is_package("shop")
    assert not index.knows("shop.payments")


def test_bindings_by_value_aliases_and_uses(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/payments.py": "def charge(total): ...\n",
            "shop/orders.py": (
                "from .payments import charge as pay\n"
                "import shop.payments as payments\n"
                "from shop.factory import make\n"
                "STORE = make()\n"
                "def checkout(total):\n"
                "    return pay(total) + payments.charge(total)\n"
            ),
        },
    )
    index = build_index(tmp_path)
    orders = index.get("shop.orders")
    assert orders is not None
    binding = orders.by_value["pay"]
    assert (binding.module, binding.name, binding.line) == ("shop.payments", "charge", 1)
    assert orders.module_aliases["payments"] == "shop.payments"
    assert {"pay", "payments.charge"} <= orders.used_in_functions
    assert orders.called_at_import["make"] == ["STORE"]
    assert [info.name for info, _ in index.consumers("shop.payments", "charge")] == ["shop.orders"]
    assert index.consumers("shop.payments", "refund") == []


def test_depends_targets_are_qualified(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "api/deps.py": "def get_store(): ...\n",
            "api/routes.py": (
                "from fastapi import Depends\n"
                "from api.deps import get_store\n"
                "def items(store=Depends(get_store)): ...\n"
            ),
        },
    )
    index = build_index(tmp_path)
    assert index.is_depends_target("api.deps.get_store")
    assert not index.is_depends_target("api.routes.items")


def test_only_unconditional_top_level_exits_count(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "scripts/bare.py": "import sys\nsys.exit(main())\n",
            "scripts/raised.py": "raise SystemExit(1)\n",
            "scripts/guarded.py": 'import sys\nif __name__ == "__main__":\n    sys.exit(0)\n',
            "scripts/optional.py": "try:\n    import x\nexcept ImportError:\n    exit(1)\n",
            "scripts/env.py": "import os, sys\nif not os.environ.get('DB'):\n    sys.exit(1)\n",
            "scripts/old.py": "import sys\nif sys.version_info < (3, 8):\n    sys.exit(1)\n",
            "scripts/in_function.py": "import sys\ndef main():\n    sys.exit(0)\n",
            "scripts/dispatch.py": "if is_win:\n    X = 1\nelse:\n    raise SystemExit(1)\n",
        },
    )
    exiting = find_exiting_modules(tmp_path)
    assert {name: line for name, (_, line) in exiting.items()} == {
        "scripts.bare": 2,
        "scripts.raised": 1,
        "scripts.env": 3,
    }


def test_unparsable_module_is_listed_but_unknown(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/new.py": "def f(:\n"})
    index = build_index(tmp_path)
    assert "pkg.new" in index.files
    assert index.get("pkg.new") is None


def test_relative_imports_resolve_against_the_package() -> None:
    assert resolve_relative("shop.sub", 1, "payments") == "shop.sub.payments"
    assert resolve_relative("shop.sub", 2, "payments") == "shop.payments"
    assert resolve_relative("shop", 1, None) == "shop"
    assert resolve_relative("", 0, "os.path") == "os.path"


def test_exit_lines_are_parsed_once_per_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "pkg/boot.py": "import sys\n\nsys.exit(3)\n"})
    exit_lines = ExitLines()
    assert exiting_modules(build_index(tmp_path), exit_lines)["pkg.boot"][1] == 3
    path = tmp_path / "pkg" / "boot.py"
    monkeypatch.setattr(index, "read_module", _no_parse)
    assert exit_lines.line_of("pkg.boot", path, path.read_bytes()) == 3  # answered from memory
    changed = b"import sys\n\n\nsys.exit(3)\n"
    with pytest.raises(AssertionError, match="parsed again"):
        exit_lines.line_of("pkg.boot", path, changed)


def _no_parse(*args: object) -> None:
    raise AssertionError("parsed again")


def test_prepare_builds_the_exiting_modules_before_workers_fork(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "tests/test_a.py": "import os\n"})
    settings, project = resolve_settings([tmp_path], RunOptions())
    linter = Linter(RULES, settings, project)
    assert project.known_facts() == {}  # nothing found yet
    linter.prepare([tmp_path / "tests" / "test_a.py"])
    assert project.known_facts() == {str(project.root): {}}  # built: no module exits


@pytest.mark.parametrize(
    "expression",
    [
        '__name__ == "__main__"',
        '"__main__" == __name__',
        "__name__ == '__main__' and sys.argv",
        'ready and "__main__" == __name__',
        'a and b and __name__ == "__main__"',
        '__name__ == "__main__" or other',
        '__name__ != "__main__"',
        '__name__ == "__mp_main__"',
        "__name__ == __main__",
        '__name__ == "__main__" == x',
        'not __name__ == "__main__"',
        "x",
    ],
)
def test_one_main_guard_in_both_trees(expression: str) -> None:
    # TL101 (libcst) and the module index (ast, TL103) must agree on what never
    # runs at import time.
    from_ast = import_time.is_main_guard_ast(ast.parse(expression, mode="eval").body)
    from_libcst = import_time.is_main_guard(cst.parse_expression(expression))
    assert from_ast == from_libcst


def test_imports_within_a_function_equal_a_full_walk() -> None:
    """`module_info._imports_within` walks statement blocks only (a speed trick):
    on every function of testlint's sources and fixtures it finds exactly what
    `ast.walk` finds."""
    from testlint.module_info import _imports_within

    root = Path(__file__).resolve().parents[1]
    checked = 0
    for path in [*root.joinpath("src").rglob("*.py"), *root.joinpath("tests").rglob("*.py")]:
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                walked = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert sorted(map(id, _imports_within(node))) == sorted(map(id, walked)), path
                checked += bool(walked)
    assert checked > 50  # functions that import something were compared


def _plain_consumers(index: index.ModuleIndex, module: str, name: str) -> list[tuple[str, str]]:
    """`ModuleIndex.consumers` the plain way: one regex search of every module."""
    importing = re.compile(rb"from\s+(?:%s|\.[\w.]*)\s+import\b" % re.escape(module.encode()))
    found = []
    for candidate in index.code:
        data = index.data(candidate)
        if name.encode() not in data or importing.search(data) is None:
            continue
        info = index.get(candidate)
        if info is not None:
            found += [
                (info.name, local)
                for local, binding in info.by_value.items()
                if (binding.module, binding.name) == (module, name)
            ]
    return found


def _plain_depends_targets(index: index.ModuleIndex) -> set[str]:
    """Every function passed to `Depends`/`Security`, reading every module."""
    found: set[str] = set()
    for candidate in index.code:
        info = index.get(candidate) if index.may_use_depends(candidate) else None
        if info is not None:
            found.update(info.qualify(d) for d in info.depends)
    return found


def _index_roots() -> list[Path]:
    root = Path(__file__).resolve().parents[1]
    fixtures = sorted(p for p in root.joinpath("tests", "fixtures").glob("TL*/*") if p.is_dir())
    return [root, *fixtures]


def test_consumers_and_depends_prefilters_equal_the_plain_way(tmp_path: Path) -> None:
    """`consumers` reads only the modules whose `from X import` sources (listed
    once for every module, `importers`) name the module or are relative, and
    `is_depends_target` reads only modules holding the function's name (speed
    tricks): on testlint's own tree, every fixture project and a tree of relative,
    aliased and multi-line imports, they answer every question as the plain way."""
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from .core import run\n",
            "pkg/core.py": "def run(): ...\ndef get_db(): ...\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": "from .. import core\nfrom ..core import (\n    run as go,\n)\n",
            "pkg/sub/b.py": "from pkg.core import run, get_db as db\nx = go()\n",
            "pkg/api.py": (
                "from fastapi import Depends\nimport pkg.core as c\n"
                "from pkg.core import get_db as g\n"
                "def r(a=Depends(\n    c.get_db\n), b=Depends(g), d=Depends(run)): ...\n"
            ),
            "pkg/text.py": '"""from pkg.core import run"""\n',
            "pkg/sub/c.py": "from ... import run\nfrom . import a\n",  # above the top
            "pkg/sub/d.py": "from ...pkg.core import run as r\nfrom .a import go\n",
            "top.py": "from . import run\nfrom .pkg.core import get_db\n",
        },
    )
    compared = 0
    for root in [*_index_roots(), tmp_path]:
        built = build_index(root)
        questions = {("pkg.core", "nothing"), ("os", "path")}
        for name in built.code:
            info = built.get(name)
            if info is not None:
                questions |= {(b.module, b.name) for b in info.by_value.values()}
        plain = build_index(root)
        for module, name in sorted(questions):
            got = [(info.name, local) for info, local in built.consumers(module, name)]
            assert got == _plain_consumers(plain, module, name), (root, module, name)
            compared += 1
        targets = _plain_depends_targets(plain)
        asked = targets | {f"{m}.{n}" for m, n in questions}
        for qualified in sorted(asked):
            assert built.is_depends_target(qualified) == (qualified in targets), qualified
    assert compared > 300
    assert build_index(tmp_path).is_depends_target("pkg.core.get_db")


def test_the_body_walk_equals_a_node_visitor_walk() -> None:
    """`_BodyScan` walks faster than `ast.NodeVisitor` (a speed trick): on every
    module of testlint's sources, tests and fixtures, the facts are the same, and
    the same whether the tree was kept from reading the module or parsed again."""
    from testlint.module_info import BodyFacts, _BodyScan, read_module

    class Plain(_BodyScan):
        visit = ast.NodeVisitor.visit
        generic_visit = ast.NodeVisitor.generic_visit

    root = Path(__file__).resolve().parents[1]
    compared = 0
    for path in sorted(
        [*root.joinpath("src").rglob("*.py"), *root.joinpath("tests").rglob("*.py")]
    ):
        data = path.read_bytes()
        kept = read_module("pkg.mod", path, data)
        parsed_again = read_module("pkg.mod", path, data)
        if kept is None or parsed_again is None:
            continue
        parsed_again._tree = None
        plain = BodyFacts()
        Plain(parsed_again, plain).visit(ast.parse(data))
        assert kept.body == plain == parsed_again.body, path
        compared += bool(plain.reads)
    assert compared > 100
