"""A fix's text edits (for the outputs that show fixes): exact, quick on a large
file, and kept by the cache so that a warm run shows them too."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from testlint import engine
from testlint.diagnostics import Applicability, Diagnostic, Edit
from testlint.project import FileKind, Project
from testlint.registry import RULES
from testlint.runner import RunOptions, run
from testlint.settings import Settings

SAFE = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"


def apply(before: str, edits: Sequence[Edit]) -> str:
    """Line-granular edits (column 1 to column 1), applied bottom-up."""
    lines = before.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: e.start.line, reverse=True):
        assert edit.start.column == edit.end.column == 1
        lines[edit.start.line - 1 : edit.end.line - 1] = [edit.content]
    return "".join(lines)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a\nb\nc\n", "a\nc\n"),
        ("a\nb\n", "z\na\nb\nz\n"),
        ("", "a\n"),
        ("a\nb\nc\nd\n", "a\nB\nc\nD\n"),
        ("a\n" * 5000 + "b\n" + "a\n" * 5000, "c\n" + "a\n" * 5000 + "a\n" * 5000 + "d\n"),
    ],
)
def test_edits_reproduce_the_fixed_text(before: str, after: str) -> None:
    assert apply(before, engine._edits(before, after)) == after


def test_edits_of_a_fix_to_a_huge_file_are_quick() -> None:
    # A large literal of equal lines: matching each against all the others took
    # minutes (the hostile directory's 10 MB file, in the default output format).
    before = "import sys\n" + "x\n" * 200_000 + "sys.exit(1)\n" + "y\n" * 10
    after = "import pytest\n" + "x\n" * 200_000 + "pytest.skip()\n" + "y\n" * 10
    started = time.monotonic()
    edits = engine._edits(before, after)
    assert time.monotonic() - started < 5
    assert apply(before, edits) == after
    assert len(edits) == 2


def test_the_cache_keeps_the_edits_an_output_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_a.py").write_text(SAFE, encoding="utf-8")
    linted: list[Path] = []
    real = engine.Linter.check

    def counting(self: engine.Linter, path: Path, *args: Any, **kwargs: Any) -> Any:
        linted.append(path)
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(engine.Linter, "check", counting)

    def lint(with_edits: bool) -> list[Diagnostic]:
        options = RunOptions(cache=True, cache_dir=tmp_path / "cache", with_edits=with_edits)
        return run([tmp_path / "tests"], options).diagnostics

    plain = lint(with_edits=False)
    assert plain[0].fix is None
    assert len(linted) == 1
    # An entry without the edits cannot answer a run that shows them...
    [cold] = lint(with_edits=True)
    assert len(linted) == 2
    assert cold.fix is not None
    assert cold.fix.edits
    # ...one with them can, with the same edits; and so can it a run without them.
    [warm] = lint(with_edits=True)
    assert warm.fix == cold.fix
    assert [d.message for d in lint(with_edits=False)] == [cold.message]
    assert len(linted) == 2


@pytest.mark.parametrize("max_changes", [200, 2])
def test_edits_found_for_many_lines_reproduce_the_fixed_text(
    monkeypatch: pytest.MonkeyPatch, max_changes: int
) -> None:
    """The linear search for a few changes (and, past `MAX_CHANGES`, difflib with
    its junk heuristics), tried on small texts by making every text "large"."""
    monkeypatch.setattr(engine, "MATCHED_LINES", 0)
    monkeypatch.setattr(engine, "MAX_CHANGES", max_changes)
    rng = random.Random(max_changes)
    for _ in range(2000):
        lines = [rng.choice("abc") + "\n" for _ in range(rng.randint(0, 12))]
        changed = list(lines)
        for _ in range(rng.randint(0, 4)):
            roll = rng.random()
            if roll < 0.4 and changed:
                del changed[rng.randrange(len(changed))]
            elif roll < 0.8:
                changed.insert(rng.randint(0, len(changed)), rng.choice("abcd") + "\n")
            elif changed:
                changed[rng.randrange(len(changed))] = rng.choice("abcd") + "\n"
        before, after = "".join(lines), "".join(changed)
        assert apply(before, engine._edits(before, after)) == after, (before, after)


def test_a_recheck_of_a_run_that_shows_edits_keeps_the_other_files_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The record keeps the findings' edits: when a test module changes, it is
    checked alone and the other files' fixes come from the record, as a full run
    gives them."""
    from testlint import cli, launcher, record

    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_a.py").write_text(SAFE, encoding="utf-8")
    (tmp_path / "tests/test_b.py").write_text("import sys\nsys.exit(1)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(record, "RACY_NS", -(10**15))  # files just written are recorded
    runs = []
    real = cli.main

    def counting(*args: Any, **kwargs: Any) -> None:
        runs.append(args)
        real(*args, **kwargs)

    monkeypatch.setattr(cli, "main", counting)

    def launch(*argv: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exited:
            launcher.main(["--output-format", "json", *argv])
        code = exited.value.code
        assert isinstance(code, int)
        return code, capsys.readouterr().out

    launch("tests")
    assert len(runs) == 1
    (tmp_path / "tests/test_b.py").write_text("import sys\n\nsys.exit(2)\n", encoding="utf-8")
    code, out = launch("tests")
    assert len(runs) == 1, "the changed module was checked alone"
    assert (code, out) == launch("tests", "--no-cache")
    assert json.loads(out)[0]["fix"]["edits"]


def test_a_fix_walked_within_its_statement_equals_a_whole_walk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The edits of a fix are found walking only its report's top-level statement,
    and generating only the statements it changed, or from that statement's code
    alone (speed tricks, `engine._replace_within`, `engine.module_code`,
    `engine.fixed_code`, `Linter._statement_edits` and the statements that may use
    a name, `imports.StatementLines`): on every fixable finding of every fixture
    they equal the edits of a walk and a `.code` of the whole module."""
    from linting import FIXTURES, fixture_root, linter

    answered: list[bool] = []
    statement_edits = engine.Linter._statement_edits

    def answering(*args: Any) -> Any:
        edits = statement_edits(*args)
        answered.append(edits is not None)
        return edits

    splice = engine._splice
    spliced: list[bool] = []

    def splicing(*args: Any) -> Any:
        code = splice(*args)
        spliced.append(code is not None)
        return code

    real = engine._replace_within

    def _whole(module: Any, changes: Any, within: Any, positions: Any = None) -> Any:
        return real(module, changes, None)

    def edits(mode: str) -> list[Any]:
        if mode == "statement":
            monkeypatch.setattr(engine.Linter, "_statement_edits", staticmethod(answering))
        else:
            monkeypatch.setattr(engine.Linter, "_statement_edits", lambda *args: None)
        if mode == "spliced":
            monkeypatch.setattr(engine, "_splice", splicing)
        if mode == "whole":
            monkeypatch.setattr(engine, "_replace_within", _whole)
            monkeypatch.setattr(engine, "module_code", lambda module, chunks: module.code)
            monkeypatch.setattr(engine, "_statement_lines", lambda module, file: None)
            monkeypatch.setattr(
                engine, "fixed_code", lambda module, fixed, code, chunks: fixed.code
            )
        found = []
        for path in sorted(FIXTURES.rglob("*.py")):
            chosen = linter(fixture_root(path))
            kind = chosen.project.file_kind(path)
            result = chosen.check(path, path.read_bytes(), kind, with_edits=True)
            found += [(path, d.code, d.start, d.fix) for d in result.diagnostics if d.fix]
        monkeypatch.undo()
        return found

    from_statement, quick, whole = edits("statement"), edits("spliced"), edits("whole")
    assert spliced.count(True) > 0.9 * len(spliced) > 100, "the splice was not used"
    assert len(quick) > 100
    assert sum(answered) > 100, "the statement's code alone answered too few"
    assert not all(answered), "the whole module was never compared"
    assert quick == whole
    assert from_statement == whole


def test_module_code_equals_libcst_code_on_every_fixture() -> None:
    """`engine.module_code` splices the code of top-level nodes: it is `.code`."""
    import libcst as cst

    from testlint.source import decode

    root = Path(__file__).resolve().parent
    compared = 0
    for path in sorted(root.rglob("*.py")):
        try:
            module = cst.parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue
        chunks: dict[int, Any] = {}
        assert engine.module_code(module, chunks) == module.code, path
        assert engine.module_code(module, chunks) == module.code, path  # from chunks
        # `fixed_code` takes the file's text, as the engine decodes it, for `.code`.
        assert decode(path.read_bytes()) == module.code, path
        compared += 1
    for text in ("", "\n", "x = 1", "# only a comment", "x = 1\n# trailing\n"):
        module = cst.parse_module(text)
        assert engine.module_code(module, {}) == module.code == text
    assert compared > 500


def _recorded_walks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """Each `engine._replace_within` walk from now on: (within statements, every
    change made)."""
    real = engine._replace_within
    walks: list[tuple[bool, bool]] = []

    def recorded(module: Any, changes: Any, within: Any, positions: Any = None) -> Any:
        fixed = real(module, changes, within, positions)
        walks.append((within is not None, fixed is not None))
        return fixed

    monkeypatch.setattr(engine, "_replace_within", recorded)
    return walks


def test_a_report_made_after_the_visit_previews_its_fix_within_its_own_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TL202 reports when the visit leaves the module: its report is placed by the
    call's own top-level statement, so each fix preview walks that statement only
    (it fell back to walking the whole module: a second of CPU on large files)."""
    from linting import FIXTURES, fixture_root, linter

    walks = _recorded_walks(monkeypatch)
    monkeypatch.setattr(engine.Linter, "_statement_edits", lambda *args: None)
    for path in sorted((FIXTURES / "TL202").rglob("*.py")):
        chosen = linter(fixture_root(path))
        chosen.check(path, path.read_bytes(), chosen.project.file_kind(path), with_edits=True)
    assert len(walks) > 10
    assert walks == [(True, True)] * len(walks)


@pytest.mark.parametrize(
    "text",
    [
        "import os\n\n\ndef f():\n    return 1\n",
        '"""Doc."""\n# header comment\n\nx = 1\ny = 2\n\n# footer\n',
        "x = 1\nx = 1\ny = 2\nx = 1\n",  # a statement whose code occurs twice
        "\ufeffimport os\nz = 3\n",
        "# only a comment\n",
    ],
)
def test_fixed_code_equals_libcst_code_whatever_changes(text: str) -> None:
    """`engine.fixed_code` splices the source and the changed statements: for
    every way of replacing, removing and adding top-level statements it is `.code`."""
    import itertools

    import libcst as cst

    module = cst.parse_module(text)
    new = cst.parse_statement("added = True\n")
    body = list(module.body)
    variants = [module.with_changes(body=[new, *body]), module.with_changes(body=[*body, new])]
    for number in range(len(body)):
        changed = body[number].with_changes(leading_lines=())
        variants.append(module.with_changes(body=[*body[:number], changed, *body[number + 1 :]]))
        variants.append(module.with_changes(body=[*body[:number], *body[number + 1 :]]))
        variants.append(module.with_changes(body=[*body[:number], new, new, *body[number:]]))
    for first, second in itertools.combinations(range(len(body)), 2):
        swapped = body.copy()
        swapped[first], swapped[second] = swapped[second], swapped[first]
        variants.append(module.with_changes(body=swapped))
    chunks: dict[int, Any] = {}
    for fixed in variants:
        assert engine.fixed_code(module, fixed, text.lstrip("\ufeff"), chunks) == fixed.code


def _async_tests(count: int, header: str = "import asyncio\n\nimport pytest\n") -> str:
    """A test module with `count` async tests a strict pytest-asyncio never runs:
    `count` findings (TL302), each with a fix."""
    tests = "".join(
        f"\n\nasync def test_case_{i}():\n    await asyncio.sleep(0)\n    assert {i} == {i}\n"
        for i in range(count)
    )
    return header + tests


def _exits(count: int) -> str:
    """`count` exits after failed imports (TL101): each fix may leave `sys` unused."""
    blocks = "".join(
        f"\ntry:\n    import nope_{i}\nexcept ImportError:\n    sys.exit(1)\n" for i in range(count)
    )
    return "import sys\n" + blocks


MANY_FIXES = {
    "async tests": _async_tests,
    "async tests, pytest to import": lambda count: _async_tests(count, "import asyncio\n"),
    "exits": _exits,
}


def _preview_work(tmp_path: Path, module: str, count: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The work of finding the edits of every fix of a file with `count` fixable
    findings: libcst nodes walked and generated, import-table statements recorded,
    and characters of module text compared, beyond what checking alone does."""
    import libcst as cst

    from testlint.names import ImportTable

    tmp_path.mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\ndependencies = ["pytest-asyncio>=1.0"]\n',
        encoding="utf-8",
    )
    path = tmp_path / f"test_{count}.py"
    path.write_text(MANY_FIXES[module](count), encoding="utf-8")
    counted = [0]

    def counting(owner: Any, name: str, weight: Any = lambda *args: 1) -> None:
        real = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[0] += weight(*args)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    counting(cst.CSTNode, "visit")
    counting(cst.CSTNode, "_codegen")
    counting(ImportTable, "_record")
    counting(engine, "_edits", lambda before, after: len(before) + len(after))
    linter = engine.Linter(list(RULES), Settings(base=tmp_path), Project(tmp_path))
    work = []
    for with_edits in (False, True):
        counted[0] = 0
        result = linter.check(path, path.read_bytes(), FileKind.TEST, with_edits=with_edits)
        assert len([d for d in result.diagnostics if d.fix_applicability]) == count
        work.append(counted[0])
    monkeypatch.undo()
    return work[1] - work[0]


@pytest.mark.parametrize("module", list(MANY_FIXES))
def test_the_edits_of_many_fixes_to_one_file_cost_linear_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """Each fix's edits cost work in proportion to the statement it changes, not to
    the file: four times the findings, about four times the work (the JSON and SARIF
    outputs of a file with 2,000 findings took 15 s, against 2 s for `concise`).
    Counted, not timed."""
    small = _preview_work(tmp_path / "small", module, 60, monkeypatch)
    large = _preview_work(tmp_path / "large", module, 240, monkeypatch)
    assert large < 5 * small, (small, large)


def test_each_round_of_fixes_walks_only_the_statements_reported_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--fix` makes a round's changes walking only its reports' top-level
    statements (a speed trick: the whole module was walked for every round). The
    fixed files are the expected ones (`test_fixtures.py`); here every fixable
    fixture is fixed both ways, into the same file (the second way also walks
    every statement for the imports a fix leaves unused: `imports.StatementLines`)."""
    from linting import FIXTURES, fixture_root, linter

    real = engine._replace_within

    def whole(module: Any, changes: Any, within: Any, positions: Any = None) -> Any:
        return real(module, changes, None)

    def fixed_fixtures() -> dict[Path, bytes | None]:
        fixed = {}
        for path in sorted(FIXTURES.rglob("*.py")):
            source = path.read_bytes()
            if b"# error: TL" in source:
                chosen = linter(fixture_root(path))
                kind = chosen.project.file_kind(path)
                fixed[path] = chosen.check(path, source, kind, fix=Applicability.UNSAFE).fixed
        return fixed

    walks = _recorded_walks(monkeypatch)
    within = fixed_fixtures()
    monkeypatch.setattr(engine, "_replace_within", whole)
    # and every statement walked for the imports a fix leaves unused
    monkeypatch.setattr(engine, "_statement_lines", lambda module, file: None)
    assert fixed_fixtures() == within
    # A round walks the whole module only after its reports' statements did not
    # hold every change (a noqa comment between statements, a report placed by a
    # hint that missed).
    for number, walk in enumerate(walks):
        if walk == (False, True):
            assert number > 0
            assert walks[number - 1] == (True, False)
    assert walks.count((True, True)) > 100
