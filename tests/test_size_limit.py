"""Files above `max-file-size` are not parsed (libcst took 580 s and 17.6 GB on a
52 MB test module): each is reported as TL001, naming its size and the limit, so
that a skipped file never leaves "All checks passed!" true."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import libcst
import pytest

from cli_runner import make_runner
from testlint.cli import main
from testlint.locate import ConfigError
from testlint.registry import ALL_RULES
from testlint.settings import MAX_FILE_SIZE, Settings, load_settings

EXIT = "import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
PADDING = "# " + "x" * 97 + "\n"  # 100 bytes


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.testlint]\nmax-file-size = 1_000\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_limit_is_above_every_real_test_module() -> None:
    # The largest test module of the ~190 real suites of the ecosystem check is
    # 1.04 MB (pydantic-ai's tests/test_capabilities.py); a 12,600-line one is 0.5 MB.
    assert Settings(base=Path()).max_file_size == MAX_FILE_SIZE == 2_000_000


def test_a_file_above_the_limit_is_reported_and_never_parsed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "test_small.py").write_text(EXIT, encoding="utf-8")
    big = EXIT + PADDING * 10
    assert len(big) == 1_069
    (project / "test_big.py").write_text(big, encoding="utf-8")
    parsed: list[object] = []
    for module, name in ((ast, "parse"), (libcst, "parse_module")):
        real = getattr(module, name)

        def parse(code: object, *args: object, real: Any = real, **kwargs: object) -> object:
            text = code.decode("latin-1") if isinstance(code, bytes) else str(code)
            if PADDING in text:
                parsed.append(code)
            return real(code, *args, **kwargs)

        monkeypatch.setattr(module, name, parse)
    result = make_runner().invoke(main, ["--output-format", "concise", "--no-cache", "."])
    assert result.exit_code == 1, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "test_big.py:1:1: TL001 File not checked: it is 1,069 bytes, above `max-file-size` "
        "(1,000 bytes)",
        "test_small.py:6:5: TL101 [*] `sys.exit()` at import time ends the whole pytest run, "
        "not just this module",
        "Checked 2 files, found 2 problems.",
    ]
    assert "All checks passed!" not in result.stdout + result.stderr
    assert parsed == [], "the large file was parsed"


def test_a_file_at_the_limit_is_checked_and_one_byte_more_is_not(project: Path) -> None:
    path = project / "test_x.py"
    exact = EXIT + "#" * (1_000 - len(EXIT) - 1) + "\n"
    assert len(exact.encode()) == 1_000
    for text, codes in ((exact, ["TL101"]), (exact + "\n", ["TL001"])):
        path.write_text(text, encoding="utf-8")
        result = make_runner().invoke(main, ["--output-format", "json", "--no-cache", "."])
        assert [f["code"] for f in json.loads(result.stdout)] == codes


def test_fix_leaves_a_file_above_the_limit_as_it_is(project: Path) -> None:
    path = project / "test_big.py"
    big = EXIT + PADDING * 10
    path.write_text(big, encoding="utf-8")
    result = make_runner().invoke(main, ["--fix", "--unsafe-fixes", "--no-cache", "."])
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == big


def test_zero_turns_the_limit_off(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.testlint]\nmax-file-size = 0\n", encoding="utf-8"
    )
    (project / "test_big.py").write_text(EXIT + PADDING * 10, encoding="utf-8")
    result = make_runner().invoke(main, ["--output-format", "json", "--no-cache", "."])
    assert [f["code"] for f in json.loads(result.stdout)] == ["TL101"]


@pytest.mark.parametrize("value", ['"2MB"', "-1", "1.5", "true"])
def test_the_limit_must_be_a_whole_number_of_bytes(tmp_path: Path, value: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.testlint]\nmax-file-size = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'max-file-size': expected a number of bytes"):
        load_settings(path, ALL_RULES, tmp_path)


def test_flake8_text_above_the_limit_is_reported_too(tmp_path: Path) -> None:
    """The flake8 plugin hands the engine text it read: the same limit applies."""
    from testlint.engine import Linter
    from testlint.project import FileKind, Project
    from testlint.registry import RULES

    settings = Settings(base=tmp_path, max_file_size=1_000)
    linter = Linter(list(RULES), settings, Project(tmp_path))
    result = linter.check_text(tmp_path / "test_x.py", EXIT + PADDING * 10, FileKind.TEST)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("TL001", "File not checked: it is 1,069 bytes, above `max-file-size` (1,000 bytes)")
    ]
