"""Where fixes put the imports they need, and which imports they remove
(`testlint.imports`). The fixture projects check the same against ruff itself
(`test_fixed_imports.py`); these pin the cases one by one."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from testlint.diagnostics import ImportRequest
from testlint.imports import (
    UNKNOWN_STYLE,
    ImportStyle,
    Section,
    found_in_standard_library,
    is_standard_library,
    read_import_style,
    update_imports,
)
from testlint.project import Project

STYLE = ImportStyle(known=(("shop", Section.FIRST_PARTY),))


def added(source: str, *modules: str, style: ImportStyle = STYLE) -> str:
    module = cst.parse_module(textwrap.dedent(source))
    requests = [ImportRequest(name) for name in modules]
    return update_imports(module, {}, requests, style).code


def fixed(source: str, old: str, new: str, *modules: str) -> str:
    """`source` after a fix replacing the statement `old` with `new`."""
    module = cst.parse_module(textwrap.dedent(source))
    statement = next(s for s in module.body if cst.Module([s]).code.strip() == old)
    replacement = cst.parse_statement(new).with_changes(leading_lines=statement.leading_lines)
    module = module.with_changes(body=[replacement if s is statement else s for s in module.body])
    requests = [ImportRequest(name) for name in modules]
    return update_imports(module, {statement: replacement}, requests, STYLE).code


# ------------------------------------------------------------------ sections


def test_sections_in_ruffs_order(tmp_path: Path) -> None:
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "helpers.py").write_text("")
    style = ImportStyle(
        known=(("billing", Section.FIRST_PARTY), ("shop.vendored", Section.THIRD_PARTY)),
        source_roots=(tmp_path / "src", tmp_path),
        package="tests",
    )
    assert style.section("__future__") is Section.FUTURE
    assert style.section("os.path") is Section.STANDARD_LIBRARY
    assert style.section("multiprocessing") is Section.STANDARD_LIBRARY
    assert style.section("pytest") is Section.THIRD_PARTY
    assert style.section("shop.orders") is Section.FIRST_PARTY  # src/shop
    assert style.section("helpers") is Section.FIRST_PARTY  # helpers.py at the root
    assert style.section("tests.conftest") is Section.FIRST_PARTY  # the file's own package
    assert style.section("billing.api") is Section.FIRST_PARTY  # known-first-party
    assert style.section("shop.vendored.x") is Section.THIRD_PARTY  # known first, as in ruff
    assert style.section("anything", level=1) is Section.LOCAL_FOLDER


KNOWN_STANDARD_LIBRARY = frozenset(
    {
        "abc",
        "argparse",
        "ast",
        "asyncio",
        "base64",
        "bisect",
        "collections",
        "concurrent",
        "contextlib",
        "copy",
        "csv",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "functools",
        "glob",
        "hashlib",
        "heapq",
        "importlib",
        "inspect",
        "io",
        "itertools",
        "json",
        "logging",
        "math",
        "multiprocessing",
        "os",
        "pathlib",
        "pickle",
        "queue",
        "random",
        "re",
        "shutil",
        "socket",
        "sqlite3",
        "string",
        "subprocess",
        "tempfile",
        "textwrap",
        "threading",
        "time",
        "typing",
        "unittest",
        "uuid",
        "warnings",
        "weakref",
        "zipfile",
    }
)
"""Modules every CPython ships, for the Python 3.9 check (it has no stdlib_module_names)."""


def test_standard_library_without_stdlib_module_names() -> None:
    # Python 3.9 has no sys.stdlib_module_names: the fallback looks in the
    # interpreter's own library directories, and must agree where it can.
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # pragma: no cover - Python 3.9
        names = KNOWN_STANDARD_LIBRARY
    findable = [n for n in sorted(names) if not n.startswith("_") and _findable(n)]
    assert len(findable) > 30
    assert [n for n in findable if not found_in_standard_library(n)] == []
    for name in ("os", "sys", "itertools", "multiprocessing", "concurrent"):
        assert found_in_standard_library(name), name
    for name in ("pytest", "libcst", "click", "testlint", "no_such_module_anywhere"):
        assert not found_in_standard_library(name), name
    assert is_standard_library("os")
    assert not is_standard_library("pytest")


def _findable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------ configuration


def test_ruff_configuration_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nsrc = ["lib"]\n\n[tool.ruff.lint.isort]\n'
        'known-first-party = ["billing"]\nknown-third-party = ["shop"]\n'
        "force-sort-within-sections = true\n"
    )
    (tmp_path / "lib" / "core").mkdir(parents=True)
    (tmp_path / "shop").mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    style = read_import_style(tests, tmp_path, [tmp_path])
    assert style.section("billing") is Section.FIRST_PARTY
    assert style.section("shop") is Section.THIRD_PARTY  # beats the directory
    assert style.section("core") is Section.FIRST_PARTY  # under `src = ["lib"]`
    assert style.force_sort_within_sections


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ruff.toml", '[lint.isort]\nknown-first-party = ["billing"]\n'),
        (".ruff.toml", '[isort]\nknown-first-party = ["billing"]\n'),
        ("pyproject.toml", '[tool.ruff.isort]\nknown-first-party = ["billing"]\n'),
        ("pyproject.toml", '[tool.isort]\nknown_first_party = ["billing"]\n'),
    ],
)
def test_known_first_party_wherever_it_is_written(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    style = read_import_style(tmp_path / "tests", tmp_path, [tmp_path])
    assert style.section("billing") is Section.FIRST_PARTY


def test_nearest_configuration_wins_and_search_stops_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.isort]\nknown_first_party = ["outer"]\n')
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    assert read_import_style(project / "tests", project, [project]).section("outer") is (
        Section.THIRD_PARTY
    )
    (project / "ruff.toml").write_text('[lint.isort]\nknown-first-party = ["inner"]\n')
    style = read_import_style(project / "tests", tmp_path, [project])
    assert style.section("inner") is Section.FIRST_PARTY
    assert style.section("outer") is Section.THIRD_PARTY


def test_options_not_modelled_fall_back(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff.lint.isort]\nfrom-first = true\n")
    assert read_import_style(tmp_path, tmp_path, [tmp_path]) == UNKNOWN_STYLE
    (tmp_path / "pyproject.toml").write_text("[tool.ruff.lint.isort\n")  # broken
    assert read_import_style(tmp_path, tmp_path, [tmp_path]) == UNKNOWN_STYLE


def test_project_resolves_the_style_for_a_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    style = Project(tmp_path).import_style(tmp_path / "tests" / "test_x.py")
    assert style.section("shop") is Section.FIRST_PARTY


# ------------------------------------------------------------------ adding


def test_joins_its_section_in_sorted_place() -> None:
    source = """\
        import os
        import sys

        import attr
        import requests
        from hypothesis import given

        from shop import orders
        """
    assert added(source, "pytest") == textwrap.dedent(
        """\
        import os
        import sys

        import attr
        import pytest
        import requests
        from hypothesis import given

        from shop import orders
        """
    )


def test_straight_imports_before_from_imports() -> None:
    source = "import os\nfrom pathlib import Path\n\nfrom pytest import mark\n"
    assert added(source, "multiprocessing", "pytest") == (
        "import multiprocessing\nimport os\nfrom pathlib import Path\n\n"
        "import pytest\nfrom pytest import mark\n"
    )


def test_force_sort_within_sections() -> None:
    style = ImportStyle(force_sort_within_sections=True)
    source = "from collections import deque\nfrom os import path\n"
    assert added(source, "multiprocessing", style=style) == (
        "from collections import deque\nimport multiprocessing\nfrom os import path\n"
    )


def test_natural_case_insensitive_order() -> None:
    source = "import Alpha\nimport mod2\nimport mod10\nimport Zeta\n"
    assert added(source, "mod3") == (
        "import Alpha\nimport mod2\nimport mod3\nimport mod10\nimport Zeta\n"
    )


def test_new_section_between_others() -> None:
    source = '"""Doc."""\n\nimport os\n\nfrom shop import orders\n\n\ndef test(): ...\n'
    assert added(source, "pytest") == (
        '"""Doc."""\n\nimport os\n\nimport pytest\n\nfrom shop import orders\n\n\ndef test(): ...\n'
    )


def test_new_first_section_keeps_the_comment_on_the_next_import() -> None:
    source = '"""Doc."""\n\n# The order under test.\nfrom shop import orders\n'
    assert added(source, "pytest") == (
        '"""Doc."""\n\nimport pytest\n\n# The order under test.\nfrom shop import orders\n'
    )


def test_comment_standing_apart_stays_above_the_block() -> None:
    source = "# A note about the file.\n\nimport sys\n"
    assert added(source, "multiprocessing") == (
        "# A note about the file.\n\nimport multiprocessing\nimport sys\n"
    )


def test_new_last_section() -> None:
    source = "from __future__ import annotations\n\nimport os\n\nx = 1\n"
    assert added(source, "pytest") == (
        "from __future__ import annotations\n\nimport os\n\nimport pytest\n\nx = 1\n"
    )


def test_first_import_of_the_module() -> None:
    assert added('"""Doc."""\ndef test(): ...\n', "pytest") == (
        '"""Doc."""\n\nimport pytest\n\n\ndef test(): ...\n'
    )
    assert added("x = 1\n", "pytest") == "import pytest\n\nx = 1\n"


def test_unsorted_imports_keep_the_old_placement() -> None:
    source = "import sys\nimport os\n\nx = 1\n"
    assert added(source, "pytest") == "import sys\nimport os\nimport pytest\n\nx = 1\n"
    source = "import os, sys\n"
    assert added(source, "pytest") == "import os, sys\nimport pytest\n"


def test_unknown_style_keeps_the_old_placement() -> None:
    source = "import os\n\nfrom shop import orders\n"
    assert added(source, "pytest", style=UNKNOWN_STYLE) == (
        "import os\n\nfrom shop import orders\nimport pytest\n"
    )


# ------------------------------------------------------------------ removing

EXIT_FIX = ("sys.exit(1)", 'pytest.skip("gone", allow_module_level=True)', "pytest")


def test_import_the_fix_left_unused_is_removed() -> None:
    source = '"""Doc."""\n\nimport os\nimport sys\n\nos.sep\nsys.exit(1)\n'
    assert fixed(source, *EXIT_FIX) == (
        '"""Doc."""\n\nimport os\n\nimport pytest\n\nos.sep\n'
        'pytest.skip("gone", allow_module_level=True)\n'
    )


def test_removing_a_whole_section_leaves_one_blank_line() -> None:
    source = '"""Doc."""\n\nimport sys\n\nimport pytest\n\nsys.exit(1)\n'
    assert fixed(source, *EXIT_FIX) == (
        '"""Doc."""\n\nimport pytest\n\npytest.skip("gone", allow_module_level=True)\n'
    )
    source = "import sys\n\nimport pytest\n\nsys.exit(1)\n"
    assert fixed(source, *EXIT_FIX) == (
        'import pytest\n\npytest.skip("gone", allow_module_level=True)\n'
    )


def test_only_the_unused_name_of_a_line_goes() -> None:
    source = (
        "import os, sys\nfrom sys import (\n    exit,\n    path,\n)\nos.sep, path\nsys.exit(1)\n"
    )
    result = fixed(source, "sys.exit(1)", "exit(1)")
    assert (
        result == "import os\nfrom sys import (\n    exit,\n    path,\n)\nos.sep, path\nexit(1)\n"
    )


def test_imports_still_used_stay() -> None:
    source = "import sys\n\nprint(sys.argv)\nsys.exit(1)\n"
    assert "import sys\n" in fixed(source, *EXIT_FIX)
    assert fixed("import sys\n\nsys.exit(1)\n", "sys.exit(1)", "sys.exit(2)").startswith(
        "import sys\n"
    )
    # A string pyflakes reads as code counts as a use; a docstring does not.
    source = '"""Uses `sys`."""\nimport sys\n\n__all__ = ["sys"]\nsys.exit(1)\n'
    assert "import sys\n" in fixed(source, *EXIT_FIX)
    source = '"""Uses `sys`."""\nimport sys\n\nx: "sys.Any"\nsys.exit(1)\n'
    assert "import sys\n" in fixed(source, *EXIT_FIX)
    source = '"""Uses `sys`."""\nimport sys\n\nsys.exit(1)\n'
    assert "import sys\n" not in fixed(source, *EXIT_FIX)


@pytest.mark.parametrize(
    "line",
    [
        "import sys as sys",  # an explicit re-export
        "import sys  # noqa: F401",
        "from sys import *",
    ],
)
def test_imports_never_removed(line: str) -> None:
    source = f"{line}\n\nsys.exit(1)\n"
    assert fixed(source, *EXIT_FIX).startswith(f"{line}\n")


def test_imports_unused_before_the_fix_stay() -> None:
    source = "import json\nimport sys\n\nsys.exit(1)\n"
    assert fixed(source, *EXIT_FIX).startswith("import json\n")


def test_no_removal_when_asked_not_to() -> None:
    module = cst.parse_module("import sys\n\nsys.exit(1)\n")
    statement, replacement = module.body[1], cst.parse_statement("pass")
    new = module.with_changes(body=[module.body[0], replacement])
    kept = update_imports(new, {statement: replacement}, (), STYLE, may_remove=False)
    assert kept.code.startswith("import sys\n")
    assert update_imports(new, {statement: replacement}, (), STYLE).code == "pass\n"


def test_uses_one_statement_at_a_time_equal_a_walk_of_the_module() -> None:
    """`imports._uses` walks each top-level statement once and remembers it (a
    speed trick for the edits of several fixes to one file), and skips those whose
    lines hold none of the names (`StatementLines`, from the `ast`, another): on
    every module of the fixtures and testlint's sources, for the names each imports
    and for `sys` alone, it finds what one walk of the whole module finds, twice in
    a row, and it does skip statements."""
    import ast

    import libcst as cst_module

    from testlint import imports as imports_module
    from testlint.scan import Scan

    root = Path(__file__).resolve().parents[1]
    compared = skipped = 0
    for path in sorted(
        [*root.joinpath("src").rglob("*.py"), *root.joinpath("tests").rglob("*.py")]
    ):
        source = path.read_bytes()
        try:
            module = cst_module.parse_module(source)
            text = source.decode("utf-8-sig")
            lines = imports_module.StatementLines(module, Scan(ast.parse(text), text))
        except (cst_module.ParserSyntaxError, SyntaxError, ValueError, UnicodeDecodeError):
            continue  # files either parser cannot read are not the point
        names = imports_module._removable_bindings(module) | {"os", "sys", "pytest"}
        for asked in (names, {"sys"}):
            plain = set(imports_module._identifiers([module], frozenset(asked))) & asked
            assert imports_module._uses(module, asked) == plain, path
            assert imports_module._uses(module, asked) == plain, path
            assert imports_module._uses(module, asked, lines) == plain, (path, asked)
            compared += bool(plain) and asked is names
        skipped += sum(not lines.may_use(s, frozenset({"sys"})) for s in module.body)
    assert compared > 100
    assert skipped > 5000, skipped
