"""TL003 (unused-noqa): which directives it reports, and what its fix writes.

The fixture project tests/fixtures/TL003/ holds the realistic cases; these are the
edges: the comment rewriting, the ways a rule is off, the front ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_runner import run_process
from testlint.diagnostics import Applicability
from testlint.docs import code_blocks, rule_help
from testlint.engine import Linter
from testlint.noqa import directive, rewritten
from testlint.project import Project
from testlint.registry import RULES, ModuleLevelExit, UnusedNoqa
from testlint.rule import FileKind, Rule
from testlint.settings import Settings


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def check(
    root: Path,
    source: str,
    *,
    settings: Settings | None = None,
    rules: list[type[Rule]] | None = None,
    kind: FileKind = FileKind.TEST,
    fix: Applicability | None = None,
    apply_noqa: bool = True,
) -> tuple[list[str], str | None]:
    """("line:column:code message", ...) and the fixed text."""
    linter = Linter(
        rules if rules is not None else list(RULES),
        settings or Settings(base=root),
        Project(root),
        apply_noqa=apply_noqa,
    )
    result = linter.check(root / "test_x.py", source.encode(), kind, fix=fix)
    found = [f"{d.start.line}:{d.start.column}:{d.code} {d.message}" for d in result.diagnostics]
    return found, result.fixed.decode() if result.fixed is not None else None


def fixed(root: Path, source: str) -> str | None:
    return check(root, source, fix=Applicability.SAFE)[1]


# ------------------------------------------------------------------ rewriting


@pytest.mark.parametrize(
    ("comment", "drop", "replace", "expected"),
    [
        ("# noqa: TL101", ["TL101"], {}, None),
        ("#noqa:TL101", ["TL101"], {}, None),
        ("# noqa: E501, TL101", ["TL101"], {}, "# noqa: E501"),
        ("# noqa: TL101, E501, F401", ["TL101"], {}, "# noqa: E501, F401"),
        ("# noqa:TL101,E501,F401", ["TL101"], {}, "# noqa:E501,F401"),
        ("# noqa: TL101 E501 F401", ["TL101"], {}, "# noqa: E501 F401"),
        ("# noqa: module-level-exit", [], {"module-level-exit": "TL101"}, "# noqa: TL101"),
        ("# noqa: TL101, module-level-exit", [], {"module-level-exit": "TL101"}, "# noqa: TL101"),
        (
            "# noqa: TL999, module-level-exit",
            ["TL999"],
            {"module-level-exit": "TL101"},
            "# noqa: TL101",
        ),
        ("# type: ignore  # noqa: TL101", ["TL101"], {}, "# type: ignore"),
        ("# noqa: TL101  # why it is here", ["TL101"], {}, "# why it is here"),
        ("# noqa: TL101: it used to exit", ["TL101"], {}, "# it used to exit"),
        (
            "# pragma: no cover # noqa: E501, TL999",
            ["TL999"],
            {},
            "# pragma: no cover # noqa: E501",
        ),
    ],
)
def test_rewritten_comment(
    comment: str, drop: list[str], replace: dict[str, str], expected: str | None
) -> None:
    read = directive(comment)
    assert read is not None
    assert rewritten(read, drop, replace) == expected


# ------------------------------------------------------------------ reports


def test_what_is_reported_and_where(project: Path) -> None:
    source = (
        "X = 1  # noqa: TL101\n"
        "Y = 2  # type: ignore  # noqa: TL999, E501\n"
        "Z = 3  # noqa: module-level-exit\n"
        "W = 4  # noqa: TL101, TL102, TL999\n"
    )
    assert check(project, source)[0] == [
        "1:8:TL003 Unused `noqa` code `TL101`",
        # The column is the directive's, not the comment's.
        "2:24:TL003 Unknown `noqa` code `TL999`",
        # A name that suppresses nothing is unused first: the fix removes it.
        "3:8:TL003 Unused `noqa` code `module-level-exit`",
        "4:8:TL003 Unused `noqa` codes `TL101`, `TL102`; unknown `noqa` code `TL999`",
    ]


def test_a_rule_name_that_suppresses_is_replaced_by_its_code(project: Path) -> None:
    source = "import sys\n\nsys.exit(1)  # noqa: module-level-exit\n"
    found, _ = check(project, source)
    assert found == ["3:14:TL003 Rule name `module-level-exit` in `noqa` instead of code `TL101`"]
    assert fixed(project, source) == "import sys\n\nsys.exit(1)  # noqa: TL101\n"


@pytest.mark.parametrize(
    "source",
    [
        "X = 1  # noqa\n",
        "X = 1  # noqa: E501, F401\n",
        "X = 1  # noqa: PT009\n",
        'X = "# noqa: TL101"\n',
        "X = 1  # noqa: TL101, TL003\n",  # TL003 keeps the directive
        "X = 1  # noqa: TL003\n",  # never unused itself: its own report would be hidden by it
        "X = 1  # noqa: E501  # noqa: TL101\n",  # only the first directive is read
    ],
)
def test_not_reported(project: Path, source: str) -> None:
    assert check(project, source) == ([], None)


# ------------------------------------------------------------------ rules that did not run


@pytest.mark.parametrize(
    "settings",
    [
        {"select": ("TL0",)},
        {"ignore": ("TL101",)},
        {"per_file_ignores": (("test_x.py", ("TL101",)),)},
        {"per_file_ignores": (("test_x.py", ("module-level-exit",)),)},
    ],
    ids=["not-selected", "ignored", "ignored-for-the-file", "ignored-by-name"],
)
def test_a_code_of_a_rule_that_did_not_run_is_not_unused(
    project: Path, settings: dict[str, object]
) -> None:
    base = Settings(base=project, **settings)  # type: ignore[arg-type]
    assert check(project, "X = 1  # noqa: TL101\n", settings=base) == ([], None)
    # Unknown codes and rule names are reported whatever ran.
    found, _ = check(
        project, "X = 1  # noqa: TL999\nY = 2  # noqa: TL101, module-level-exit\n", settings=base
    )
    assert found == [
        "1:8:TL003 Unknown `noqa` code `TL999`",
        "2:8:TL003 Rule name `module-level-exit` in `noqa` instead of code `TL101`",
    ]


def test_a_rule_the_linter_does_not_run_is_known_but_not_checked(project: Path) -> None:
    source = "X = 1  # noqa: TL102\nY = 2  # noqa: TL101\n"
    assert check(project, source, rules=[ModuleLevelExit])[0] == [
        "2:8:TL003 Unused `noqa` code `TL101`"
    ]


def test_a_rule_that_does_not_look_at_the_file_kind_is_not_checked(project: Path) -> None:
    # TL102 looks at test modules only.
    source = "X = 1  # noqa: TL102\nY = 2  # noqa: TL101\n"
    found, _ = check(project, source, kind=FileKind.CONFTEST)
    assert found == ["2:8:TL003 Unused `noqa` code `TL101`"]


def test_files_testlint_does_not_check_are_not_reported(project: Path) -> None:
    assert check(project, "X = 1  # noqa: TL999\n", kind=FileKind.OTHER) == ([], None)


@pytest.mark.parametrize(
    "settings",
    [
        {"select": ("TL1",)},
        {"ignore": ("TL003",)},
        {"ignore": ("unused-noqa",)},
        {"per_file_ignores": (("test_x.py", ("TL003",)),)},
    ],
)
def test_tl003_can_be_switched_off(project: Path, settings: dict[str, object]) -> None:
    base = Settings(base=project, **settings)  # type: ignore[arg-type]
    assert check(project, "X = 1  # noqa: TL999\n", settings=base) == ([], None)


def test_not_reported_where_the_front_end_applies_noqa(project: Path) -> None:
    assert check(project, "X = 1  # noqa: TL999\n", apply_noqa=False) == ([], None)


# ------------------------------------------------------------------ fixes


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("X = 1  # noqa: TL101\n", "X = 1\n"),
        ("X = 1  # noqa: TL101\r\nY = 2\r\n", "X = 1\r\nY = 2\r\n"),
        ("def test_x():\n    # noqa: TL101\n    pass\n", "def test_x():\n    pass\n"),
        ("# noqa: TL999\nX = 1\n", "X = 1\n"),
        ("X = 1\n# noqa: TL999\n", "X = 1\n"),
        ("X = f(  # noqa: TL101\n    1,\n)\n", "X = f(\n    1,\n)\n"),
        ("def test_x():  # noqa: TL101\n    pass\n", "def test_x():\n    pass\n"),
        ("X = 1  # noqa: E501, TL101\n", "X = 1  # noqa: E501\n"),
    ],
)
def test_fix(project: Path, source: str, expected: str) -> None:
    assert fixed(project, source) == expected


def test_one_fix_per_directive_whatever_it_holds(project: Path) -> None:
    codes = ", ".join(f"TL9{n:02d}" for n in range(12))
    linter = Linter(list(RULES), Settings(base=project), Project(project))
    source = f"X = 1  # noqa: E501, {codes}\n".encode()
    result = linter.check(project / "test_x.py", source, FileKind.TEST, fix=Applicability.SAFE)
    assert result.errors == []
    assert result.fixed == b"X = 1  # noqa: E501\n"
    assert result.fixes_applied == 1


def test_docs_example_fix_gives_use_instead(project: Path) -> None:
    docs = rule_help(UnusedNoqa)
    example, use_instead = code_blocks(docs, "Example")[0], code_blocks(docs, "Use instead")[0]
    assert [line.split()[0] for line in check(project, example)[0]] == ["3:14:TL003", "4:15:TL003"]
    assert fixed(project, example) == use_instead
    assert check(project, use_instead) == ([], None)


# ------------------------------------------------------------------ the command


def test_the_command_reports_caches_and_fixes_it(project: Path) -> None:
    (project / "tests").mkdir()
    path = project / "tests" / "test_x.py"
    path.write_text("import sys\n\nRETRIES = 3  # noqa: E501, TL101\n")
    first = run_process("--output-format", "json", "tests", cwd=project)
    assert first.returncode == 1, first.stderr
    findings = json.loads(first.stdout)
    assert [(d["code"], d["location"]["row"]) for d in findings] == [("TL003", 3)]
    assert findings[0]["fix"]["applicability"] == "safe"
    assert findings[0]["fix"]["edits"], "JSON carries the fix's edits"
    again = run_process("--output-format", "json", "tests", cwd=project)
    assert json.loads(again.stdout) == findings, "the cached run says the same"
    sarif = json.loads(run_process("--output-format", "sarif", "tests", cwd=project).stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["TL003"]
    fixing = run_process("--fix", "tests", cwd=project)
    assert fixing.returncode == 0, fixing.stdout + fixing.stderr
    assert path.read_text() == "import sys\n\nRETRIES = 3  # noqa: E501\n"
    checked = run_process("tests", cwd=project)
    assert checked.returncode == 0, checked.stdout
