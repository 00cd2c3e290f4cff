"""The kept dataclass code (`dataclass_code.py`) builds the classes the plain way does."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testlint import dataclass_code

# Run in a fresh interpreter: import what a run imports (testlint's front ends, the
# rules, libcst and the metadata providers), then print a digest of every method
# `dataclasses` generated, by class. MODE: "plain" (no install), "keep" (install,
# then save), "reuse" (install, and fail if anything had to be compiled).
_SCRIPT = """
import hashlib, json, sys
from testlint import dataclass_code
mode, path = sys.argv[1], sys.argv[2]
if mode != "plain":
    dataclass_code.cache_path = lambda: path
    dataclass_code.install()
import dataclasses
import libcst, libcst.metadata
import testlint.cli, testlint.rerun, testlint.runner, testlint.registry

def constant(value):
    if hasattr(value, "co_code"):
        return canonical(value)
    if isinstance(value, frozenset):  # `name in {...}` (3.13): its order is the hash seed's
        return repr(sorted(value, key=repr))
    return repr(value)

def canonical(code):
    consts = tuple(constant(c) for c in code.co_consts)
    fields = ("co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars",
              "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_flags",
              "co_firstlineno", "co_name", "co_filename", "co_stacksize", "co_nlocals")
    extra = [getattr(code, name, None) for name in ("co_qualname", "co_linetable",
             "co_lnotab", "co_exceptiontable")]
    return repr(([getattr(code, f) for f in fields], consts, extra))

methods = {}
for module in list(sys.modules.values()):
    for value in list(vars(module).values()):
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            for name, function in vars(value).items():
                code = getattr(function, "__code__", None)
                if code is not None and code.co_filename == "<string>":
                    key = f"{value.__module__}.{value.__qualname__}.{name}"
                    methods[key] = hashlib.sha256(canonical(code).encode()).hexdigest()
if mode == "keep":
    dataclass_code.save(force=True)
if mode == "reuse" and dataclass_code._new:
    sys.exit(f"compiled {len(dataclass_code._new)} methods the cache held")
print(json.dumps(methods))
"""


def _methods(mode: str, path: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    methods: dict[str, str] = json.loads(done.stdout)
    return methods


def test_kept_code_builds_the_same_classes_as_compiling(tmp_path: Path) -> None:
    path = tmp_path / "kept.marshal"
    plain = _methods("plain", path)
    kept = _methods("keep", path)
    reused = _methods("reuse", path)
    assert len(plain) > 800  # testlint's and libcst's classes, __init__, __eq__, ...
    assert any(key.startswith("testlint.diagnostics.Diagnostic.") for key in plain)
    assert any(key.startswith("libcst._nodes.expression.Name.") for key in plain)
    assert kept == plain
    assert reused == plain


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`dataclass_code` as if never installed, keeping its code at a scratch path."""
    import dataclasses

    path = tmp_path / "pycache" / "kept.marshal"
    monkeypatch.setattr(dataclass_code, "cache_path", lambda: str(path))
    monkeypatch.setattr(dataclass_code, "_installed_path", None)
    monkeypatch.setattr(dataclass_code, "_known", {})
    monkeypatch.setattr(dataclass_code, "_new", {})
    monkeypatch.delattr(dataclasses, "exec", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return path


def _make_class() -> type:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0

    return Point


def test_a_new_class_is_compiled_once_kept_and_then_reused(fresh: Path) -> None:
    dataclass_code.install()
    point = _make_class()
    assert point(1, 2) == point(1, 2)
    assert repr(point(1)).endswith("Point(x=1, y=0)")
    compiled = len(dataclass_code._new)
    assert compiled >= 1  # a text per method (one per class from Python 3.13)
    dataclass_code.save()
    assert fresh.is_file()
    assert dataclass_code._new == {}
    _make_class()
    assert dataclass_code._new == {}  # taken from what is kept
    assert len(dataclass_code._read(str(fresh))) == compiled


def test_nothing_is_written_where_python_writes_no_bytecode(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    dataclass_code.install()
    _make_class()
    dataclass_code.save()
    assert not fresh.exists()
    dataclass_code.save(force=True)
    assert fresh.is_file()


@pytest.mark.parametrize(
    "content",
    [b"", b"not marshal at all", marshal.dumps([1, 2]), marshal.dumps({"key": 1})],
    ids=["empty", "garbage", "a list", "wrong types"],
)
def test_a_damaged_file_is_ignored_and_replaced(fresh: Path, content: bytes) -> None:
    fresh.parent.mkdir()
    fresh.write_bytes(content)
    dataclass_code.install()
    point = _make_class()
    assert point(3).x == 3
    dataclass_code.save()
    assert len(dataclass_code._read(str(fresh))) >= 1


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes")
def test_a_read_only_install_keeps_compiling(fresh: Path) -> None:
    fresh.parent.mkdir()
    fresh.parent.chmod(0o500)
    try:
        dataclass_code.install()
        _make_class()
        dataclass_code.save()  # no error
        assert not fresh.exists()
        assert dataclass_code._new != {}
    finally:
        fresh.parent.chmod(0o700)


def test_a_file_that_cannot_be_written_is_not_an_error(fresh: Path) -> None:
    fresh.parent.mkdir()
    fresh.mkdir()  # a directory where the file should be: os.replace fails
    dataclass_code.install()
    _make_class()
    dataclass_code.save()
    assert fresh.is_dir()
    assert list(fresh.parent.iterdir()) == [fresh]  # no temporary file left behind


def _first_run(tmp_path: Path, *flags: str) -> list[Path]:
    """Run the `testlint` command on a small suite with bytecode going to a scratch
    prefix (PYTHONPYCACHEPREFIX); the dataclass code files written there."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_one.py").write_text("import sys\nsys.exit(1)\n\ndef test_x():\n    pass\n")
    prefix = tmp_path / "pycache"
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, *flags, "-X", f"pycache_prefix={prefix}", "-m", "testlint"]
    command += ["--cache-dir", str(tmp_path / "cache"), str(suite)]
    done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
    assert done.returncode == 1, done.stderr  # TL101 found, no traceback
    assert "TL101" in done.stdout
    return sorted(prefix.rglob("dataclass_methods.*.marshal"))


def test_the_command_keeps_the_code_where_python_keeps_bytecode(tmp_path: Path) -> None:
    (kept,) = _first_run(tmp_path)
    entries = dataclass_code._read(str(kept))
    assert (
        len(entries) > 150
    )  # testlint's 71 classes and libcst's (parsed): texts per method, per class from 3.13


def test_the_command_keeps_nothing_when_told_to_write_no_bytecode(tmp_path: Path) -> None:
    assert _first_run(tmp_path, "-B") == []
