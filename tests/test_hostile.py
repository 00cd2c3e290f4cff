"""End to end: a directory holding every kind of bad input is checked and fixed by the
real command line without one traceback; every problem file is named; every fixable
file is fixed, its bytes otherwise unchanged (compared with a golden); every other
file is left byte for byte as it was. Also: files that vanish or change during the
run, paths that do not exist, unreadable files, and proof that the checked code is
never imported or run.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from cli_runner import make_runner
from testlint.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

EXIT = b"import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
# `import sys` served only the exit: the fix removes it.
EXIT_FIXED = (
    b"import pytest\n\ntry:\n    import nope\nexcept ImportError:\n"
    b'    pytest.skip("could not import nope", allow_module_level=True)\n'
)
DATA_LINE = b"0123456789abcdef" * 4 + b"\n"
# Rules whose fixes the goldens below record; new rule families must not change them.
PINNED = ("--select", "TL0,TL1,TL3")


def crlf(source: bytes) -> bytes:
    return source.replace(b"\n", b"\r\n")


def exit_with(text: str) -> tuple[bytes, bytes]:
    """A test module that exits after a failed import, and its fixed form, with
    `text` (Python source, UTF-8) placed between the imports and the `try`."""
    middle = text.encode()
    return (
        b"import sys\n" + middle + b"\ntry:\n    import nope\nexcept ImportError:\n"
        b"    sys.exit(1)\n",
        b"import pytest\n" + middle + b"\ntry:\n    import nope\n"
        b'except ImportError:\n    pytest.skip("could not import nope", allow_module_level=True)\n',
    )


PEP_695 = exit_with(
    "\ntype Pair[T] = tuple[T, T]\n\n\ndef first[T](pair: Pair[T]) -> T:\n    return pair[0]\n\n\n"
    "class Box[T: (int, str), *Ts, **P]:\n    pass\n"
)
PEP_758 = (
    b"import sys\n\ntry:\n    import nope\nexcept ImportError, ModuleNotFoundError:\n"
    b"    sys.exit(1)\n",
    b"import pytest\n\ntry:\n    import nope\n"
    b"except ImportError, ModuleNotFoundError:\n"
    b'    pytest.skip("could not import nope", allow_module_level=True)\n',
)
T_STRINGS = exit_with('\nname = "world"\ngreeting = t"hello {name!r:>10} {name:{width}}"\n')


@dataclass(frozen=True)
class Case:
    path: str
    source: bytes
    fixed: bytes | None = None
    """The file after `--fix --unsafe-fixes`; None: it must not change."""
    named: bool = True
    """Whether the first run (check only) must name the file."""


def golden(fixture: str) -> tuple[bytes, bytes]:
    path = FIXTURES / fixture
    unsafe = path.with_name(path.stem + ".unsafe.fixed.py")
    safe = path.with_name(path.stem + ".fixed.py")
    return path.read_bytes(), (unsafe if unsafe.exists() else safe).read_bytes()


def cases(large: int) -> list[Case]:
    depth = 3000
    data = b'DATA = """\n' + DATA_LINE * (large // len(DATA_LINE)) + b'"""\n'
    deep_sum = "x = " + "+".join(["1"] * 900) + "\n"
    return [
        # Fixable, with goldens from the fixture suite.
        Case("tests/test_optional_dependency.py", *golden("TL101/test_optional_dependency.py")),
        Case("tests/test_import_time_blocks.py", *golden("TL101/test_import_time_blocks.py")),
        Case("tests/test_module_skip.py", *golden("TL102/test_module_skip.py")),
        Case("tests/test_orders.py", *golden("TL302/strict_default/test_orders.py")),
        # Fixable, in every encoding and newline style.
        Case("tests/test_utf8.py", EXIT, EXIT_FIXED),
        Case(
            "tests/test_latin1.py",
            b"# -*- coding: latin-1 -*-\n" + EXIT.replace(b"exit(1)", b"exit('pas install\xe9')"),
            b"# -*- coding: latin-1 -*-\n"
            + EXIT_FIXED.replace(b'"could not import nope"', b"'pas install\xe9'"),
        ),
        Case(
            "tests/test_cp1252.py",
            b"# coding: cp1252\n" + EXIT + b"MSG = '\x80 \x93quoted\x94'\n",
            b"# coding: cp1252\n" + EXIT_FIXED + b"MSG = '\x80 \x93quoted\x94'\n",
        ),
        Case("tests/test_bom.py", b"\xef\xbb\xbf" + EXIT, b"\xef\xbb\xbf" + EXIT_FIXED),
        Case("tests/test_crlf.py", crlf(EXIT), crlf(EXIT_FIXED)),
        Case(
            "tests/test_bom_crlf.py",
            b"\xef\xbb\xbf" + crlf(EXIT),
            b"\xef\xbb\xbf" + crlf(EXIT_FIXED),
        ),
        Case(
            "tests/test_tabs_form_feeds.py",
            EXIT.replace(b"    ", b"\t").replace(b"\n\ntry", b"\n\x0c\ntry"),
            EXIT_FIXED.replace(b"    ", b"\t").replace(b"\n\ntry", b"\n\x0c\ntry"),
        ),
        Case("tests/test_no_final_newline.py", EXIT.rstrip(b"\n"), EXIT_FIXED.rstrip(b"\n")),
        Case("tests/test_large.py", EXIT + data, EXIT_FIXED + data),
        Case("tests/test_deep_but_valid.py", *exit_with(deep_sum)),
        Case("tests/test_pep695_generics.py", *PEP_695),
        Case("tests/test_pep758_except.py", *PEP_758),
        Case("tests/test_template_strings.py", *T_STRINGS),
        Case("tests/test_x.py/test_in_a_directory_named_test_x.py", EXIT, EXIT_FIXED),
        # Problems that stay: reported, never changed.
        Case("tests/test_syntax_error.py", b"import sys\n\ndef test(:\n    sys.exit(1)\n"),
        Case("tests/test_nul_byte.py", b"import sys\nsys.exit(\x00)\n"),
        Case("tests/test_invalid_utf8.py", b"import sys\n\xff\xfe = 1\nsys.exit()\n"),
        Case("tests/test_invalid_cp1252.py", b"# coding: cp1252\nimport sys\nX = '\x81'\nexit()\n"),
        Case("tests/test_unknown_encoding.py", b"# -*- coding: klingon -*-\nexit()\n"),
        Case("tests/test_lone_cr.py", EXIT.replace(b"\n", b"\r")),
        Case(
            "tests/test_too_deep.py",
            f"import sys\nx = {'(' * depth}1{')' * depth}\nsys.exit()\n".encode(),
        ),
        Case("tests/conftest.py", EXIT.replace(b"exit(1)", b"exit(0)")),
        Case(
            "tests/test_unfixable.py",
            b'import os\nimport sys\n\nDEBUG = os.environ.get("DEBUG") or sys.exit(4)\n',
        ),
        # Nothing to report, nothing to change.
        Case("tests/test_empty.py", b"", named=False),
        Case(
            "tests/test_clean.py",
            b"import sys\n\n\ndef test_exit():\n    sys.exit(1)\n",
            named=False,
        ),
        Case("tests/helpers.py", b"import sys\n\nsys.exit(1)\n", named=False),
    ]


@dataclass(frozen=True)
class Hostile:
    root: Path
    cases: list[Case]
    outside: Path
    """A fixable file outside the checked directory, reached through a symbolic link."""
    named: list[str]
    """Paths (relative to root) every run must name: problem files and bad paths."""


def build(base: Path, large: int) -> Hostile:
    root = base / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "hostile"\nversion = "0"\ndependencies = ["pytest-asyncio>=0.23"]\n'
        "\n[tool.pytest.ini_options]\n"
        # The large file is fixed, not left out as too large (test_size_limit.py).
        f"\n[tool.testlint]\nmax-file-size = {2 * large}\n",
        encoding="utf-8",
    )
    made = cases(large)
    for case in made:
        path = root / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.source)
    tests = root / "tests"
    (tests / "test_utf8.py").chmod(0o751)  # the mode is kept too
    (tests / "test_self_loop.py").symlink_to("test_self_loop.py")
    (tests / "test_loop_a.py").symlink_to("test_loop_b.py")
    (tests / "test_loop_b.py").symlink_to("test_loop_a.py")
    (tests / "test_dangling.py").symlink_to("missing.py")
    (tests / "loop_dir").symlink_to("..", target_is_directory=True)
    outside = base / "elsewhere" / "test_external.py"
    outside.parent.mkdir()
    outside.write_bytes(EXIT)
    (tests / "test_link_outside.py").symlink_to(outside)
    named = [c.path for c in made if c.named]
    named += [
        "tests/test_self_loop.py",
        "tests/test_loop_a.py",
        "tests/test_loop_b.py",
        "tests/test_dangling.py",
        "tests/test_link_outside.py",
    ]
    if not IS_ROOT:  # root reads every file, whatever its mode
        unreadable = tests / "test_unreadable.py"
        unreadable.write_bytes(EXIT)
        unreadable.chmod(0)
        named.append("tests/test_unreadable.py")
    return Hostile(root, made, outside, named)


def run_testlint(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(
        [sys.executable, "-m", "testlint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )
    for stream in (process.stdout, process.stderr):
        assert "Traceback" not in stream, stream[-3000:]
        assert "Fatal Python error" not in stream, stream[-3000:]
    return process


def snapshot(hostile: Hostile) -> dict[str, bytes]:
    return {c.path: (hostile.root / c.path).read_bytes() for c in hostile.cases}


def assert_every_problem_is_named(hostile: Hostile, output: str) -> None:
    missing = [path for path in hostile.named if path not in output]
    assert missing == [], output


def run_hostile(tmp_path: Path, large: int) -> None:
    hostile = build(tmp_path, large)
    before = snapshot(hostile)

    # 1. Check only, every rule: every problem named, nothing written.
    checked = run_testlint(hostile.root, "--select", "ALL", "--unsafe-fixes", ".")
    assert checked.returncode == 2, checked.stderr  # unreadable paths are errors
    assert_every_problem_is_named(hostile, checked.stdout + checked.stderr)
    assert snapshot(hostile) == before
    assert "TL001 Cannot decode file as cp1252: invalid byte 0x81" in checked.stdout
    assert "tests/test_self_loop.py: cannot read: symbolic link loop" in checked.stderr
    assert "tests/test_dangling.py: cannot read: broken symbolic link" in checked.stderr

    # 2. Fix: fixable files match their goldens; every other byte stays.
    fixed = run_testlint(hostile.root, "--fix", "--unsafe-fixes", *PINNED, ".")
    assert fixed.returncode == 2, fixed.stderr
    after = snapshot(hostile)
    for case in hostile.cases:
        expected = case.source if case.fixed is None else case.fixed
        assert after[case.path] == expected, case.path
    output = fixed.stdout + fixed.stderr
    remaining = [c.path for c in hostile.cases if c.named and c.fixed is None]
    assert [path for path in remaining if path not in output] == [], output
    assert "test_lone_cr.py: not fixed: libcst does not reproduce this file byte for byte" in output
    assert "tests/test_link_outside.py: not written: it is a symbolic link to" in output
    assert hostile.outside.read_bytes() == EXIT
    assert "Fixed " in fixed.stdout
    assert stat.S_IMODE((hostile.root / "tests/test_utf8.py").stat().st_mode) == 0o751
    leftovers = [p for p in hostile.root.rglob("*.testlint") if not p.is_symlink()]
    assert leftovers == [], "temporary files left behind"

    # 3. Fixing again changes nothing.
    again = run_testlint(hostile.root, "--fix", "--unsafe-fixes", *PINNED, ".")
    assert again.returncode == 2
    assert snapshot(hostile) == after
    assert "Fixed " not in again.stdout


def test_hostile_directory(tmp_path: Path) -> None:
    run_hostile(tmp_path, large=10_000_000)  # 10 MB, mostly one string: cheap to parse


@pytest.mark.slow
def test_large_file_of_real_code(tmp_path: Path) -> None:
    """A quarter of a megabyte of dense code (about 8,000 statements), with a fix at
    the top. libcst makes this slow: about 12 s of CPU (parse, visit, positions,
    fix, re-parse, re-lint), growing linearly (1 MB took 50 s; 10 MB of such code
    takes over 3 minutes just to check)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    functions = b"".join(
        b"\n\ndef test_%d():\n    values = [%d, %d, %d]\n    assert sum(values) == %d\n"
        % (i, i, i + 1, i + 2, 3 * i + 3)
        for i in range(4_000)
    )
    path = tmp_path / "test_big.py"
    path.write_bytes(EXIT + functions)
    assert path.stat().st_size > 250_000
    result = run_testlint(tmp_path, "--fix", *PINNED, ".")
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_bytes() == EXIT_FIXED + functions


# ------------------------------------------------------------------ paths


def test_paths_that_do_not_exist_or_loop(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_ok.py").write_bytes(EXIT)
    (tmp_path / "test_loop.py").symlink_to("test_loop.py")
    (tmp_path / "loop_dir").symlink_to("loop_dir")
    (tmp_path / "test_dangling.py").symlink_to("gone.py")
    result = run_testlint(
        tmp_path,
        "--output-format",
        "concise",
        "missing.py",
        "missing_dir/",
        "test_loop.py",
        "loop_dir/test_x.py",
        "test_dangling.py",
        "test_ok.py",
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "testlint: error: missing.py: no such file or directory",
        "testlint: error: missing_dir: no such file or directory",
        "testlint: error: test_loop.py: cannot read: symbolic link loop",
        "testlint: error: loop_dir/test_x.py: cannot read: symbolic link loop",
        "testlint: error: test_dangling.py: cannot read: broken symbolic link (to gone.py)",
    ]
    assert "test_ok.py:6:5: TL101" in result.stdout, "the other paths are still checked"


def test_a_fifo_named_like_a_module_is_skipped_not_read(tmp_path: Path) -> None:
    """Reading a FIFO blocks until something writes to it: forever. pytest does not
    collect one; testlint names it and goes on (it used to hang)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_ok.py").write_bytes(EXIT)
    os.mkfifo(tmp_path / "test_fifo.py")
    os.mkfifo(tmp_path / "helpers.py")
    for args in ([], ["test_fifo.py", "test_ok.py"]):
        result = run_testlint(
            tmp_path, "--output-format", "concise", *args, timeout=60
        )  # a hang, not a slow machine
        assert result.returncode == 1, result.stderr
        assert "test_fifo.py: not a regular file" in result.stderr
        assert "test_ok.py:6:5: TL101" in result.stdout


def test_only_a_looping_path(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_loop.py").symlink_to("test_loop.py")
    result = run_testlint(tmp_path, "--force-exclude", "test_loop.py")
    assert result.returncode == 2
    assert "test_loop.py: cannot read: symbolic link loop" in result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for name in ("test_a.py", "test_b.py", "test_c.py"):
        (tmp_path / name).write_bytes(EXIT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    result = make_runner().invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def during_the_run(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes | None]:
    """Files to change (bytes) or delete (None) right after testlint has read and
    checked them, before it writes."""
    from testlint.engine import Linter

    changes: dict[str, bytes | None] = {}
    original = Linter.check

    def check(self: Linter, path: Path, *args: object, **kwargs: object) -> object:
        result = original(self, path, *args, **kwargs)  # type: ignore[arg-type]
        if path.name in changes:
            content = changes.pop(path.name)
            if content is None:
                path.unlink()
            else:
                path.write_bytes(content)
        return result

    monkeypatch.setattr(Linter, "check", check)
    return changes


def test_files_that_change_or_vanish_before_the_write(
    project: Path, during_the_run: dict[str, bytes | None]
) -> None:
    during_the_run["test_a.py"] = b"# edited meanwhile\n"
    during_the_run["test_b.py"] = None
    result = invoke("--fix")
    assert result.exit_code == 1, result.stderr
    assert "test_a.py: the file changed while testlint was running; not written" in result.stderr
    assert "test_b.py: cannot re-read before writing" in result.stderr
    assert (project / "test_a.py").read_bytes() == b"# edited meanwhile\n"
    assert not (project / "test_b.py").exists()
    assert (project / "test_c.py").read_bytes() == EXIT_FIXED
    assert [p.name for p in project.iterdir() if p.name.endswith(".testlint")] == []


def test_files_that_vanish_before_they_are_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testlint.files import discover as original

    def discover(*args: object, **kwargs: object) -> Iterator[object]:
        found = list(original(*args, **kwargs))  # type: ignore[arg-type]
        (project / "test_b.py").unlink()
        return iter(found)

    monkeypatch.setattr("testlint.runner.discover", discover)
    result = invoke("--fix")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "testlint: error: test_b.py: cannot read: No such file or directory"
    )
    assert (project / "test_a.py").read_bytes() == EXIT_FIXED
    assert (project / "test_c.py").read_bytes() == EXIT_FIXED
    assert "Fixed 2 problems (0 remaining)." in result.stdout


def test_unreadable_files_and_directories(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission errors, simulated (root, which CI runs as, can read everything)."""
    hidden = project / "hidden"
    hidden.mkdir()
    (hidden / "test_d.py").write_bytes(EXIT)
    real_read_bytes, real_scandir = Path.read_bytes, os.scandir

    def read_bytes(self: Path) -> bytes:
        if self.name == "test_b.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    def scandir(path: object = ".") -> object:
        if Path(str(path)).name == "hidden":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(os, "scandir", scandir)
    result = invoke("--fix")
    monkeypatch.undo()
    assert result.exit_code == 2
    assert sorted(result.stderr.splitlines()) == [
        "testlint: error: hidden: cannot read directory: Permission denied",
        "testlint: error: test_b.py: cannot read: Permission denied",
    ]
    assert (project / "test_a.py").read_bytes() == EXIT_FIXED
    assert (project / "test_b.py").read_bytes() == EXIT
    assert (hidden / "test_d.py").read_bytes() == EXIT


@pytest.mark.skipif(IS_ROOT, reason="root can read files whatever their mode")
def test_really_unreadable_files_and_directories(project: Path) -> None:
    (project / "test_b.py").chmod(0)
    hidden = project / "hidden"
    hidden.mkdir()
    (hidden / "test_d.py").write_bytes(EXIT)
    hidden.chmod(0)
    try:
        result = run_testlint(project, "--fix")
    finally:
        hidden.chmod(0o755)
        (project / "test_b.py").chmod(0o644)
    assert result.returncode == 2
    assert "test_b.py: cannot read: Permission denied" in result.stderr
    assert "hidden: cannot read directory: Permission denied" in result.stderr
    assert (project / "test_a.py").read_bytes() == EXIT_FIXED


def test_invalid_configuration_with_fix_writes_nothing(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.testlint]\nselect = 5\n", encoding="utf-8")
    result = run_testlint(project, "--fix", "--unsafe-fixes")
    assert result.returncode == 2
    assert "'select'" in result.stderr
    assert str(project / "pyproject.toml") in result.stderr
    assert result.stdout == ""
    assert all((project / n).read_bytes() == EXIT for n in ("test_a.py", "test_b.py", "test_c.py"))


@pytest.mark.parametrize(
    ("refusal", "first_line"),
    [
        (
            "syntax error",
            "test_a.py:6:5: TL001 Cannot parse file: parser error: error at 6:4: unexpected "
            "token (the file is valid Python, but libcst cannot parse this syntax yet)",
        ),
        (
            "logic error",
            "test_a.py:1:1: TL001 Cannot parse file: libcst's parser failed (Logic error!); "
            "the file is valid Python, but libcst cannot parse this syntax yet",
        ),
    ],
)
def test_valid_python_that_libcst_cannot_parse_is_said_so(
    project: Path, monkeypatch: pytest.MonkeyPatch, refusal: str, first_line: str
) -> None:
    """No syntax that CPython accepts and libcst 1.9 rejects is known on the Pythons
    testlint supports, so libcst's refusal is simulated, as a syntax error and as
    the internal error its parser raises on syntax it does not know (t-strings):
    the file is TL001, and the message says the file is valid Python."""
    import libcst

    def refuse(source: object, *args: object, **kwargs: object) -> object:
        if refusal == "logic error":
            raise libcst.CSTLogicError("Logic error!")
        raise libcst.ParserSyntaxError(
            "parser error: error at 6:4: unexpected token",
            lines=["x"] * 6,
            raw_line=6,
            raw_column=4,
        )

    monkeypatch.setattr(libcst, "parse_module", refuse)
    result = invoke("--output-format", "concise", "--fix", "test_a.py")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == first_line
    assert (project / "test_a.py").read_bytes() == EXIT


def test_a_libcst_parser_failure_is_a_finding_not_an_internal_error(project: Path) -> None:
    """libcst 1.9's parser raises `CSTLogicError` on implicitly concatenated
    t-strings (sqlalchemy's `test_tstrings_py314.py`); that was reported as a
    testlint bug, exit 2. It is TL001, saying which parser refused the file."""
    (project / "test_t.py").write_text('query = t"select " t"{x}"\n', encoding="utf-8")
    result = invoke("--output-format", "concise", "test_t.py")
    version = ".".join(map(str, sys.version_info[:2]))
    assert result.exit_code == 1, result.output
    line = result.stdout.splitlines()[0]
    if sys.version_info < (3, 14):
        assert line.startswith("test_t.py:1:")
        assert line.endswith(
            f"(Python {version}, which runs testlint; libcst cannot parse it either: "
            "it may be written for a newer Python)"
        )
    assert "TL001 Cannot parse file: " in line


@pytest.mark.parametrize(("condition", "reported"), [("<", False), (">=", True)])
def test_a_file_this_python_cannot_parse_and_pytest_here_skips_is_no_finding(
    project: Path, condition: str, reported: bool
) -> None:
    """sqlalchemy skips its `*_py314.py` modules below 3.14 with a conftest: where
    this Python cannot parse such a file, pytest on this Python never imports it, so
    it is no TL001 (it still is where the condition does not hold)."""
    (project / "conftest.py").write_text(
        f"import sys\ncollect_ignore_glob = []\nif sys.version_info {condition} (99, 0):\n"
        '    collect_ignore_glob.append("*_py99.py")\n',
        encoding="utf-8",
    )
    (project / "test_new_py99.py").write_text("def test(:\n    pass\n", encoding="utf-8")
    result = invoke("--output-format", "concise", "--select", "TL0", "test_new_py99.py")
    assert ("TL001" in result.stdout) is reported
    assert result.exit_code == int(reported)


def test_a_broken_configuration_deep_in_the_tree_stops_the_run_before_any_write(
    project: Path,
) -> None:
    """`[tool.testlint]` is read per directory; one that is wrong, in a directory
    walked last, used to be found after the files before it had been fixed."""
    (project / "pyproject.toml").write_text("[tool.testlint]\n", encoding="utf-8")
    nested = project / "zz"
    nested.mkdir()
    (nested / "pyproject.toml").write_text("[tool.testlint]\nselect = 5\n", encoding="utf-8")
    (nested / "test_z.py").write_bytes(EXIT)
    result = run_testlint(project, "--fix", ".")
    assert result.returncode == 2
    assert f"{nested / 'pyproject.toml'}: [tool.testlint] key 'select'" in result.stderr
    assert result.stdout == ""
    assert all((project / n).read_bytes() == EXIT for n in ("test_a.py", "test_b.py", "test_c.py"))
    assert (nested / "test_z.py").read_bytes() == EXIT


# ------------------------------------------------------------------ never run the code


def test_checked_code_is_never_imported_or_run(tmp_path: Path) -> None:
    """Every file testlint reads would, if imported or run, leave a canary file or end
    the process with exit code 7: none does, and the fixes are still made."""
    canary = tmp_path / "canaries"
    canary.mkdir()

    def side_effects(name: str) -> str:
        return (
            "import os, pathlib\n"
            f"pathlib.Path({str(canary / name)!r}).write_text('ran')\n"
            "os._exit(7)\n"
        )

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["pytest-asyncio"]\n',
        encoding="utf-8",
    )
    (tmp_path / "setup.py").write_text(side_effects("setup"), encoding="utf-8")
    (tmp_path / "noxfile.py").write_text(side_effects("noxfile"), encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        side_effects("conftest") + "collect_ignore = ['test_skipped.py']\n", encoding="utf-8"
    )
    (tests / "helpers.py").write_text(side_effects("helpers"), encoding="utf-8")
    module = (
        "import os, pathlib, sys\n"
        "import helpers\n"
        f"pathlib.Path({str(canary / 'test_module')!r}).write_text('ran')\n"
        "try:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
        "os._exit(7)\n"
    )
    (tests / "test_module.py").write_text(module, encoding="utf-8")
    result = run_testlint(tmp_path, "--fix", "--unsafe-fixes", *PINNED, ".")
    assert result.returncode in (0, 1), result.stderr
    assert "Fixed " in result.stdout
    assert "pytest.skip(" in (tests / "test_module.py").read_text(encoding="utf-8")
    assert list(canary.iterdir()) == []


# ------------------------------------------------------------------ Ctrl-C

INTERRUPT_SCRIPT = """
import os, signal, sys, time
from testlint.cli import main
from testlint.engine import Linter

original = Linter.check
seen = []
marker, presses = sys.argv[2], int(sys.argv[3])

def check(self, path, *args, **kwargs):
    seen.append(path)
    if len(seen) == 3:
        try:  # one user, one keyboard: only the first process to get here presses
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            # Ctrl-C reaches every process of the terminal's process group, while
            # the thread linting this file runs.
            for press in range(presses):
                os.killpg(os.getpgid(0), signal.SIGINT)
                time.sleep(0.2)
    return original(self, path, *args, **kwargs)

Linter.check = check
sys.argv = ["testlint", "--fix", "--jobs", sys.argv[1], "."]
main()
"""


def _interrupt(tmp_path: Path, jobs: str, presses: int) -> tuple[subprocess.Popen[str], str, str]:
    """Run testlint --fix over 300 files that need a fix, pressing Ctrl-C
    `presses` times during the third file a process lints."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    # More tasks than workers (see workers._chunks): the last file's task cannot have
    # been handed out before the interrupt.
    for i in range(300):
        (suite / f"test_{i:03d}.py").write_bytes(EXIT)
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_SCRIPT, jobs, str(tmp_path / "pressed"), str(presses)],
        cwd=suite,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which the script interrupts
    )
    # Ends when every process holding its pipes has ended (workers included).
    out, err = process.communicate(timeout=120)
    return process, out, err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_cleanly(tmp_path: Path, jobs: str) -> None:
    """Ctrl-C stops the run after the file in hand: no traceback, no abort (a worker
    thread left running at exit used to kill the process with SIGABRT), exit 130,
    and every file is either as it was or completely fixed; with worker processes
    too, which finish their file in hand and stop."""
    process, _, err = _interrupt(tmp_path, jobs, presses=1)
    assert process.returncode == 130, err
    assert err.strip() == "testlint: interrupted (no file is left half written)"
    names = [f"test_{i:03d}.py" for i in range(300)]
    contents = [(tmp_path / "suite" / name).read_bytes() for name in names]
    if jobs == "1":
        assert contents[:2] == [EXIT_FIXED] * 2
    assert EXIT_FIXED in contents, "the file in hand was not finished"
    assert set(contents) <= {EXIT, EXIT_FIXED}
    assert contents[-1] == EXIT, "the run went on after Ctrl-C"
    assert sorted(p.name for p in (tmp_path / "suite").iterdir()) == sorted([*names, "pytest.ini"])


def _running_in_group(group: int) -> bool:
    """Whether a process of process group `group` runs (zombies, which a
    container's init may never reap, do not count)."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_second_ctrl_c_leaves_at_once_and_takes_the_workers_along(tmp_path: Path) -> None:
    """The second Ctrl-C exits at once (130); the worker processes must not outlive
    it: left behind, they printed tracebacks, or held its stdout open, so that
    `communicate` (or `testlint | less`) never ended."""
    process, _, err = _interrupt(tmp_path, "2", presses=2)
    assert process.returncode == 130, err
    # Workers left behind crashed writing to their dead parent (BrokenPipeError).
    assert "Traceback" not in err, err
    for _ in range(50):  # killed workers take a moment to go
        if not _running_in_group(process.pid):
            break
        time.sleep(0.1)
    else:
        pytest.fail("a process of the interrupted run is still alive")
    contents = {path.read_bytes() for path in (tmp_path / "suite").glob("test_*.py")}
    assert contents <= {EXIT, EXIT_FIXED}, "a file was left half written"
