"""A fixed file keeps everything but its contents: owner, group, mode, hard links and
extended attributes; what a safe rewrite cannot keep is refused with a message, the
file left as it was. And a run killed mid-fix (`kill -9`) leaves no file half
written. These run as root and as a normal user (`.ci/run` does both)."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testlint.files import WriteError, write_atomically
from testlint.runner import RunOptions, run

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_USER = 12345  # owns no file here; only root can give it one

EXIT = b"import sys\n\ntry:\n    import nope\nexcept ImportError:\n    sys.exit(1)\n"
EXIT_FIXED = (
    b"import pytest\n\ntry:\n    import nope\nexcept ImportError:\n"
    b'    pytest.skip("could not import nope", allow_module_level=True)\n'
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return tmp_path


def no_temporary_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".testlint")]


def supports_xattrs(directory: Path) -> bool:
    probe = directory / "xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.testlint", b"1")
    except (OSError, AttributeError):
        return False
    finally:
        probe.unlink()
    return True


# ------------------------------------------------------------------ kept


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_owner_group_and_mode_are_kept_as_root(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    os.chown(path, OTHER_USER, OTHER_USER)
    path.chmod(0o664)
    write_atomically(path, b"old\n", b"new\n")
    info = path.stat()
    assert path.read_bytes() == b"new\n"
    assert (info.st_uid, info.st_gid) == (OTHER_USER, OTHER_USER)
    assert stat.S_IMODE(info.st_mode) == 0o664
    assert no_temporary_files(tmp_path)


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_set_group_id_bit_survives_the_change_of_owner(tmp_path: Path) -> None:
    # chown clears the set-id bits: the mode must be set after the owner.
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    os.chown(path, OTHER_USER, OTHER_USER)
    path.chmod(0o2775)
    write_atomically(path, b"old\n", b"new\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o2775


def test_extended_attributes_are_kept(tmp_path: Path) -> None:
    if not supports_xattrs(tmp_path):
        pytest.skip(f"the filesystem of {tmp_path} has no user extended attributes")
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    os.setxattr(path, "user.origin", b"https://example.org/suite")
    os.setxattr(path, "user.empty", b"")
    write_atomically(path, b"old\n", b"new\n")
    assert path.read_bytes() == b"new\n"
    assert os.getxattr(path, "user.origin") == b"https://example.org/suite"
    assert os.getxattr(path, "user.empty") == b""


# ------------------------------------------------------------------ refused


def test_a_hard_linked_file_is_refused_not_split(tmp_path: Path) -> None:
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    other = tmp_path / "copy_of_test_x.py"
    os.link(path, other)
    with pytest.raises(WriteError, match="2 hard links, which a rewrite would split"):
        write_atomically(path, b"old\n", b"new\n")
    assert path.read_bytes() == other.read_bytes() == b"old\n"
    assert path.stat().st_ino == other.stat().st_ino
    assert no_temporary_files(tmp_path)


def test_an_owner_that_cannot_be_kept_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A normal user may write a group-writable file of a colleague, but a rewrite
    would make it theirs; simulated (the test may run as root, or alone)."""
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    real_stat = os.stat

    def owned_by_another(
        target: str | os.PathLike[str], *, follow_symlinks: bool = True
    ) -> os.stat_result:
        info = real_stat(target, follow_symlinks=follow_symlinks)
        if Path(target) != path:
            return info
        fields = list(info)
        fields[stat.ST_UID] = OTHER_USER
        return os.stat_result(fields)

    def refuse(*args: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "stat", owned_by_another)
    monkeypatch.setattr(os, "chown", refuse)
    with pytest.raises(WriteError, match=f"cannot keep its owner {OTHER_USER}"):
        write_atomically(path, b"old\n", b"new\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"old\n"
    assert no_temporary_files(tmp_path)


def test_an_extended_attribute_that_cannot_be_kept_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not supports_xattrs(tmp_path):
        pytest.skip(f"the filesystem of {tmp_path} has no user extended attributes")
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    os.setxattr(path, "user.origin", b"x")

    def refuse(*args: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "setxattr", refuse)
    with pytest.raises(WriteError, match=r"cannot keep its extended attribute user\.origin"):
        write_atomically(path, b"old\n", b"new\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"old\n"
    assert no_temporary_files(tmp_path)


def test_read_only_mode_is_refused_for_every_user(tmp_path: Path) -> None:
    # Root passes `os.access` whatever the mode says; the mode is what the user set.
    path = tmp_path / "test_x.py"
    path.write_bytes(b"old\n")
    path.chmod(0o444)
    try:
        with pytest.raises(WriteError, match="the file is read-only; not written"):
            write_atomically(path, b"old\n", b"new\n")
        assert path.read_bytes() == b"old\n"
    finally:
        path.chmod(0o644)


def test_the_run_reports_a_refused_file_and_fixes_the_others(project: Path) -> None:
    linked = project / "test_linked.py"
    linked.write_bytes(EXIT)
    os.link(linked, project / "test_linked_too.py")
    (project / "test_plain.py").write_bytes(EXIT)
    result = run([project / "test_linked.py", project / "test_plain.py"], RunOptions(fix=True))
    assert [w for w in result.warnings if "hard links" in w] == [
        f"{linked}: it has 2 hard links, which a rewrite would split; not written"
    ]
    assert linked.read_bytes() == EXIT
    assert (project / "test_plain.py").read_bytes() == EXIT_FIXED
    assert [d.path.name for d in result.diagnostics] == ["test_linked.py"]
    assert result.fixes_applied == 1


# ------------------------------------------------------------------ kill -9

KILL_SCRIPT = """
import sys
from testlint.cli import main
sys.argv = ["testlint", "--fix", "--no-cache", "--jobs", sys.argv[1], "."]
main()
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_kill_9_mid_fix_leaves_no_file_half_written(tmp_path: Path, jobs: str) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    big = EXIT + b"\n".join(b"VALUE_%d = %d" % (i, i) for i in range(3000)) + b"\n"
    fixed = EXIT_FIXED + big[len(EXIT) :]
    paths = [tmp_path / f"test_{i:03d}.py" for i in range(200)]
    for path in paths:
        path.write_bytes(big)
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, jobs],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(path.read_bytes() != big for path in paths):
            break
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    contents = [path.read_bytes() for path in paths]
    assert set(contents) <= {big, fixed}
    assert fixed in contents, "killed before any file was fixed: the test proves nothing"
    assert big in contents, "finished before the kill: the test proves nothing"
