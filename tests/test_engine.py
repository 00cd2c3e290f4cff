"""The engine never crashes on bad input and never damages a file."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from broken_rules import BrokenFix, Crashes, NeverConverges
from testlint.diagnostics import Applicability
from testlint.engine import Linter, UndeclaredFact
from testlint.facts import SUITE
from testlint.files import WriteError, write_atomically
from testlint.locate import ProjectError
from testlint.noqa import codes_by_line as noqa_codes_by_line
from testlint.project import Project
from testlint.registry import RULES
from testlint.rule import FileKind, Rule, SourceFile, Unparsable
from testlint.runner import RunOptions, run
from testlint.settings import Settings

EXIT_IN_HANDLER = "import sys\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def linter(root: Path, rules: list[type[Rule]] | None = None) -> Linter:
    return Linter(rules or list(RULES), Settings(base=root), Project(root))


def check(
    root: Path, source: bytes, fix: Applicability | None = None
) -> tuple[list[str], bytes | None]:
    result = linter(root).check(root / "test_x.py", source, FileKind.TEST, fix=fix)
    return [f"{d.start.line}:{d.code}" for d in result.diagnostics], result.fixed


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (b"def test(:\n    sys.exit()\n", 1, "Cannot parse file"),
        (b"import sys\nsys.exit(\x00)\n", 1, "NUL byte"),
        (b"import sys\n\xff\xfe = 1  # exit\n", 2, "Cannot decode file as utf-8"),
        (b"# -*- coding: klingon -*-\nexit()\n", 1, "Cannot decode file"),
    ],
)
def test_unreadable_source_is_tl001(project: Path, source: bytes, line: int, message: str) -> None:
    result = linter(project).check(project / "test_x.py", source, FileKind.TEST)
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "TL001"
    assert diagnostic.start.line == line
    assert message in diagnostic.message


@pytest.mark.parametrize(
    ("expression", "line", "message"),
    [
        ("(" * 3000 + "1" + ")" * 3000, 2, "too many nested parentheses"),
        # Python >= 3.10 refuses it (a RecursionError, which carries no position:
        # line 1); Python 3.9 parses it and testlint's own depth limit refuses it.
        ("+".join(["1"] * 50_000), 2, "Python cannot parse it either|nested 50002 deep"),
    ],
    ids=["3000-parentheses", "50000-term-sum"],
)
def test_pathological_nesting_is_tl001_not_a_crash(
    project: Path, expression: str, line: int, message: str
) -> None:
    # libcst's native parser segfaults (parentheses) or runs for minutes (the sum) on
    # these; CPython refuses both, so pytest could not import them either.
    source = f"import sys\nx = {expression}\nsys.exit()\n".encode()
    result = linter(project).check(project / "test_x.py", source, FileKind.TEST)
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "TL001"
    assert re.search(message, diagnostic.message)
    no_position = "Python cannot parse it either" in diagnostic.message
    assert diagnostic.start.line == (1 if no_position else line)


def test_deep_but_valid_code_is_still_checked(project: Path) -> None:
    """A 900-term sum is valid Python; the run's deep stack lets libcst walk it."""
    path = project / "test_x.py"
    path.write_text("import sys\nx = " + "+".join(["1"] * 900) + "\nsys.exit()\n")
    result = run([path], RunOptions())
    assert [(d.code, d.start.line) for d in result.diagnostics] == [("TL101", 3)]
    assert result.errors == []


def test_empty_file(project: Path) -> None:
    assert check(project, b"") == ([], None)


# ------------------------------------------------------------------ byte fidelity


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (
            b"\xef\xbb\xbfimport sys\r\ntry:\r\n    import nope\r\n"
            b"except ImportError:\r\n    sys.exit(1)\r\n",
            # `import sys` served only the exit: the fix removes it.
            b"\xef\xbb\xbfimport pytest\r\ntry:\r\n    import nope\r\n"
            b"except ImportError:\r\n"
            b'    pytest.skip("could not import nope", allow_module_level=True)\r\n',
        ),
        (
            b"# -*- coding: latin-1 -*-\nimport sys\nMSG = '\xe9t\xe9'\ntry:\n    import nope\n"
            b"except ImportError:\n    sys.exit('pas install\xe9')\n",
            b"# -*- coding: latin-1 -*-\nimport pytest\nMSG = '\xe9t\xe9'\n"
            b"try:\n    import nope\n"
            b"except ImportError:\n    pytest.skip('pas install\xe9', allow_module_level=True)\n",
        ),
        (
            b"import sys\ntry:\n\timport nope\nexcept ImportError:\n\tsys.exit(1)",
            b"import pytest\ntry:\n\timport nope\nexcept ImportError:\n"
            b'\tpytest.skip("could not import nope", allow_module_level=True)',
        ),
    ],
    ids=["bom-crlf", "latin-1-cookie", "tabs-no-final-newline"],
)
def test_fix_keeps_encoding_bom_and_newlines(
    project: Path, original: bytes, expected: bytes
) -> None:
    _, fixed = check(project, original, fix=Applicability.SAFE)
    assert fixed == expected


def test_imports_of_an_init_module_are_never_removed(project: Path) -> None:
    # The imports of a package's `__init__.py` are what it offers to importers.
    source = EXIT_IN_HANDLER.encode()
    for name, kept in (("test_x.py", False), ("__init__.py", True)):
        result = linter(project).check(
            project / name, source, FileKind.TEST, fix=Applicability.SAFE
        )
        assert result.fixed is not None
        assert result.fixed.startswith(b"import sys\n") is kept, name


def test_lone_carriage_returns_are_not_fixed(project: Path) -> None:
    source = EXIT_IN_HANDLER.replace("\n", "\r").encode()
    result = linter(project).check(
        project / "test_x.py", source, FileKind.TEST, fix=Applicability.SAFE
    )
    assert result.fixed is None
    assert any("byte for byte" in error for error in result.errors)
    assert [d.code for d in result.diagnostics] == ["TL101"]


# ------------------------------------------------------------------ writing


def test_write_keeps_mode_and_writes_through_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_bytes(b"old\n")
    target.chmod(0o751)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    write_atomically(link, b"old\n", b"new\n")
    assert link.is_symlink()
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".testlint")] == []


def test_write_refuses_a_file_changed_since_read(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_bytes(b"changed by an editor\n")
    with pytest.raises(WriteError, match="changed while testlint was running"):
        write_atomically(path, b"what testlint read\n", b"fixed\n")
    assert path.read_bytes() == b"changed by an editor\n"


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is read-only for `os.access` (a non-root user without the right)."""
    monkeypatch.setattr(os, "access", lambda path, mode: False)


@pytest.mark.usefixtures("read_only")
def test_write_refuses_read_only_files(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_bytes(b"x\n")
    with pytest.raises(WriteError, match="read-only"):
        write_atomically(path, b"x\n", b"y\n")
    assert path.read_bytes() == b"x\n"


def test_write_refuses_a_file_whose_mode_is_read_only(tmp_path: Path) -> None:
    # Mode 444 as root (CI containers, Docker): `os.access` says writable, the user
    # said otherwise. Runs as root too.
    path = tmp_path / "test_x.py"
    path.write_bytes(b"x\n")
    path.chmod(0o444)
    try:
        with pytest.raises(WriteError, match="read-only"):
            write_atomically(path, b"x\n", b"y\n")
        assert path.read_bytes() == b"x\n"
    finally:
        path.chmod(0o644)


def test_read_only_file_is_reported_by_the_run(project: Path) -> None:
    path = project / "test_x.py"
    path.write_text(EXIT_IN_HANDLER)
    path.chmod(0o444)
    original = path.read_bytes()
    try:
        result = run([project], RunOptions(fix=True))
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == original
    assert any("read-only" in warning for warning in result.warnings)
    assert [d.code for d in result.diagnostics] == ["TL101"]
    assert result.fixes_applied == 0


def test_fixing_never_executes_the_checked_code(project: Path) -> None:
    canary = project / "imported.txt"
    path = project / "test_side_effects.py"
    path.write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(canary)!r}).write_text('ran')\n"
        "try:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
    )
    result = run([project], RunOptions(fix=True))
    assert result.fixes_applied == 1
    assert not canary.exists()


# ------------------------------------------------------------------ noqa


@pytest.mark.parametrize(
    ("comment", "codes"),
    [
        ("x = 1  # noqa", None),
        ("x = 1  # NOQA:TL101", frozenset({"TL101"})),
        ("x = 1  # noqa: TL101, TL102", frozenset({"TL101", "TL102"})),
        ("x = 1  # noqa: module-level-exit", frozenset({"module-level-exit"})),
        ("x = 1  # type: ignore  # noqa: E501", frozenset({"E501"})),
    ],
)
def test_noqa_comments(comment: str, codes: frozenset[str] | None) -> None:
    assert noqa_codes_by_line(comment + "\n") == {1: codes}


def test_noqa_inside_a_string_is_not_a_comment() -> None:
    assert noqa_codes_by_line('x = "# noqa"\n') == {}


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_noqa_is_found_on_the_reported_line_whatever_the_line_ends(
    project: Path, newline: bytes
) -> None:
    """Form feeds and other characters `str.splitlines` splits on do not end a
    line for Python: the noqa comment is looked up on the line the finding is on."""
    lines = [b"import sys", b"\x0c", b"x = '\x0c'", b"sys.exit(1)  # noqa: TL101", b""]
    assert check(project, newline.join(lines)) == ([], None)
    lines[3] = b"sys.exit(1)"
    lines.append(b"y = 1  # noqa: TL101")
    # Line 6's directive suppresses nothing: TL003 finds it on the line Python counts.
    assert check(project, newline.join(lines)) == (["4:TL101", "6:TL003"], None)


# ------------------------------------------------------------------ rule failures


@pytest.mark.parametrize(
    ("rule", "message"), [(BrokenFix, "does not parse"), (NeverConverges, "did not converge")]
)
def test_bad_fixes_leave_the_file_untouched(project: Path, rule: type[Rule], message: str) -> None:
    source = b"x = 1\nexit()\n"
    result = linter(project, [rule]).check(
        project / "test_x.py", source, FileKind.TEST, fix=Applicability.SAFE
    )
    assert result.fixed is None
    assert result.fixes_applied == 0
    assert any(message in error for error in result.errors)
    assert result.diagnostics, "the unfixed findings are still reported"


def test_a_crashing_rule_is_reported_and_the_run_goes_on(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "test_a.py").write_text("exit()\n")
    (project / "test_b.py").write_text("import sys\nsys.exit()\n")
    monkeypatch.setattr("testlint.runner.RULES", (Crashes, *RULES))
    result = run([project], RunOptions())
    assert len(result.errors) == 2
    assert all("internal error (RuntimeError: boom)" in error for error in result.errors)


# ------------------------------------------------------------------ the rule contract


class _ContractRule(Rule):
    """A rule for the tests below: triggered by any `def`; each sets its gate."""

    summary = "test rule"
    triggers = ("def",)


class _ReadsTheSuite(_ContractRule):
    """Reads the suite's files in its gate; whether it declares it is set below."""

    code = "TL999"
    name = "reads-the-suite"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        return bool(file.project.suite_files) or True


class _Declares(_ReadsTheSuite):
    facts = (SUITE,)


def test_reading_an_undeclared_fact_fails_under_check_facts(project: Path) -> None:
    (project / "test_x.py").write_text("def test(): pass\n")
    for rule, fails in ((_ReadsTheSuite, True), (_Declares, False)):
        settings = Settings(base=project)
        checking = Linter([rule], settings, Project(project), check_facts=True)
        source = b"def test(): pass\n"
        if fails:
            with pytest.raises(UndeclaredFact, match=r"\['suite'\]"):
                checking.check(project / "test_x.py", source, FileKind.TEST)
        else:
            result = checking.check(project / "test_x.py", source, FileKind.TEST)
            assert result.facts == frozenset({"suite"})
        # Without the check (a user's run) the same rule runs and reports nothing.
        plain = Linter([rule], settings, Project(project))
        assert not plain.check(project / "test_x.py", source, FileKind.TEST).diagnostics


class _GateReadsTree(_ContractRule):
    code = "TL998"
    name = "gate-reads-tree"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        return bool(file.scan.calls_named({"never"}))


class _GateMeetsABrokenProjectFile(_ContractRule):
    code = "TL997"
    name = "gate-meets-a-broken-project-file"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        raise ProjectError("pyproject.toml: invalid TOML")


def _gated(project: Path, rule: type[Rule], source: str) -> list[type[Rule]]:
    """The rules `Linter.rules_for` keeps for a test module holding `source`."""
    linter = Linter([rule], Settings(base=project), Project(project))
    return linter.rules_for(project / "test_x.py", FileKind.TEST, source)[0]


def test_a_gate_that_reads_the_tree_of_a_file_python_cannot_parse_keeps_the_rule(
    project: Path,
) -> None:
    """`file.scan` of a file CPython refuses raises `Unparsable`: the engine runs the
    rule on libcst's tree instead of dropping it."""
    file = SourceFile(project / "test_x.py", "def f(:\n", Project(project), Settings(base=project))
    with pytest.raises(Unparsable):
        file.scan  # noqa: B018
    assert _gated(project, _GateReadsTree, "def f(:\n") == [_GateReadsTree]
    assert _gated(project, _GateReadsTree, "def f(): pass\n") == []  # parsed: decided


def test_a_gate_that_meets_a_broken_project_file_keeps_the_rule(project: Path) -> None:
    """A gate asks project facts before the visit would (a cookiecutter template's
    `{{ }}` pyproject.toml, in kedro): the rule runs, and the visit meets the broken
    file only if it needs it, as without the gate."""
    assert _gated(project, _GateMeetsABrokenProjectFile, "def f(): pass\n") == [
        _GateMeetsABrokenProjectFile
    ]


def test_the_statements_only_walk_equals_the_whole_walk_on_every_fixture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Files whose rules hook statements only are walked without expressions (a
    speed trick, `traversal.visits_statements_only`): every fixture's diagnostics,
    fixes and all, equal those of the whole walk."""
    from linting import FIXTURES, fixture_root, linter
    from testlint import engine, traversal

    real = traversal.visit_batched
    used: list[bool] = []

    def counted(module: Any, visitors: Any, statements_only: bool = False) -> None:
        used.append(statements_only)
        real(module, visitors, statements_only)

    def diagnostics(whole: bool) -> list[Any]:
        if whole:
            monkeypatch.setattr(engine, "visits_statements_only", lambda visitor: False)
        else:
            monkeypatch.setattr(engine, "visit_batched", counted)
        found = []
        for path in sorted(FIXTURES.rglob("*.py")):
            chosen = linter(fixture_root(path))
            kind = chosen.project.file_kind(path)
            result = chosen.check(path, path.read_bytes(), kind, with_edits=True)
            found += [(path, d) for d in result.diagnostics]
        monkeypatch.undo()
        return found

    quick = diagnostics(whole=False)
    assert used.count(True) > 30, f"the trick was used {used.count(True)} times"
    assert len(quick) > 300
    assert quick == diagnostics(whole=True)
