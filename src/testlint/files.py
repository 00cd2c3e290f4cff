"""Finding the files to check, and writing fixed files without ever damaging one."""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from testlint.locate import NEVER_READ, is_virtualenv
from testlint.project import FileKind, Project
from testlint.pytest_config import DEFAULT_NORECURSEDIRS, python_files_match
from testlint.settings import Settings, glob_matches

# Never test code, whatever the configuration says.
ALWAYS_SKIPPED = NEVER_READ | {"__pypackages__"}


@dataclass(frozen=True)
class SourcePath:
    path: Path
    kind: FileKind
    explicit: bool


@dataclass(frozen=True)
class PathError:
    path: Path
    message: str
    warning: bool = False
    """Reported, but not an error (the exit code does not change): the file is skipped."""


def unusable(path: Path) -> PathError | None:
    """Why `path` cannot be read as a file or walked as a directory: it does not
    exist, it is a symbolic link loop or a broken link, or it is a FIFO, socket or
    device (reading one could block forever; pytest does not collect them)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return PathError(path, "cannot read: symbolic link loop")
        if os.path.islink(path):
            with contextlib.suppress(OSError):
                return PathError(
                    path, f"cannot read: broken symbolic link (to {os.readlink(path)})"
                )
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return PathError(path, "no such file or directory")
        return PathError(path, f"cannot read: {exc.strerror}")
    except ValueError as exc:  # e.g. a NUL character in a path named on the command line
        return PathError(path, f"invalid path ({exc})")
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return PathError(path, "not a regular file (a FIFO, socket or device); skipped", warning=True)


def _kind_by_name(path: Path, project: Project) -> FileKind:
    """The kind of a file that cannot be resolved (a broken link), from its name alone."""
    if path.name == "conftest.py":
        return FileKind.CONFTEST
    patterns = project.pytest_config(path.parent).python_files
    if any(fnmatch.fnmatch(path.name, p) for p in patterns if "/" not in p):
        return FileKind.TEST
    return FileKind.OTHER


def _excluded_unresolved(path: Path, settings: Settings) -> bool:
    """`settings.is_excluded` for a path that cannot be resolved (a link loop)."""
    if not settings.exclude:
        return False
    try:
        where = Path(os.path.realpath(path.parent)) / path.name
        relative = where.relative_to(settings.base.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return False
    return any(glob_matches(pattern, relative) for pattern in settings.exclude)


def skips_directory(directory: Path, project: Project, settings: Settings) -> bool:
    """Whether discovery leaves `directory` out, as pytest would (`norecursedirs`),
    or as configured (`exclude`)."""
    name = directory.name
    if name in ALWAYS_SKIPPED or name.endswith(".egg-info"):
        return True
    if is_virtualenv(str(directory)):
        return True
    config = project.pytest_config(directory.parent)
    patterns = config.get_list("norecursedirs")
    if patterns is None:
        patterns = DEFAULT_NORECURSEDIRS
    if any(python_files_match(pattern, directory) for pattern in patterns):
        return True
    return settings.is_excluded(directory)


def discover(
    paths: list[Path],
    project: Project,
    settings: Settings,
    kinds: frozenset[FileKind],
    *,
    force_exclude: bool = False,
    linked: list[Path] | None = None,
) -> Iterator[SourcePath | PathError]:
    """Python files under `paths` that some enabled rule looks at. A file named
    explicitly is always checked (unless `force_exclude`, for pre-commit, which
    names every staged file); directories are walked as pytest would, through
    symbolic links too. Each real file is yielded once, and each real directory
    walked once (a link loop ends; pytest follows one until the path is too long).
    `linked` gets each directory entered through a symbolic link found in a walk."""
    seen: set[Path] = set()
    walked: set[str] = set()
    for root in paths:
        problem = unusable(root)
        if problem is not None:
            if not (force_exclude and _excluded_unresolved(root, settings)):
                yield problem
            continue
        if not root.is_dir():
            if force_exclude and settings.is_excluded(root):
                continue
            resolved = project.resolved(root)
            if resolved not in seen:
                seen.add(resolved)
                # A file is judged as pytest's recursion would (pre-commit and
                # flake8 name every file they hand over, pytest's left-out ones too).
                yield SourcePath(root, project.file_kind(root), explicit=True)
            continue
        if not _first_walk(os.path.realpath(root), walked):
            continue
        unlistable: list[OSError] = []
        for directory, dirnames, filenames in os.walk(
            root, followlinks=True, onerror=unlistable.append
        ):
            yield from _directory_errors(unlistable)
            here = Path(directory)
            here_resolved = Path(os.path.realpath(here))
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not skips_directory(here / d, project, settings)
                and _first_walk(_real_directory(here / d, here_resolved), walked)
            )
            if linked is not None:
                linked.extend(here / d for d in dirnames if os.path.islink(here / d))
            for filename in sorted(filenames):
                if not filename.endswith(".py"):
                    continue
                path = here / filename
                problem = unusable(path)
                if problem is not None:
                    # Named only if testlint would have read it (the path cannot be
                    # resolved, so its kind comes from its name).
                    if _kind_by_name(path, project) in kinds and not _excluded_unresolved(
                        path, settings
                    ):
                        yield problem
                    continue
                kind = project.file_kind(path, named=root)
                if kind not in kinds or settings.is_excluded(path):
                    continue
                # One realpath per directory; a file that is a link is resolved itself.
                key = path.resolve() if os.path.islink(path) else here_resolved / filename
                if key in seen:
                    continue
                seen.add(key)
                yield SourcePath(path, kind, explicit=False)
        yield from _directory_errors(unlistable)


def _real_directory(directory: Path, parent_resolved: Path) -> str:
    """The real path of a directory listed in a directory whose real path is known."""
    if os.path.islink(directory):
        return os.path.realpath(directory)
    return str(parent_resolved / directory.name)


def _first_walk(real: str, walked: set[str]) -> bool:
    """Whether the real directory `real` is walked for the first time (then noted)."""
    if real in walked:
        return False
    walked.add(real)
    return True


def _directory_errors(errors: list[OSError]) -> Iterator[PathError]:
    for error in errors:
        where = Path(error.filename) if error.filename else Path(".")
        yield PathError(where, f"cannot read directory: {error.strerror}")
    errors.clear()


class WriteError(Exception):
    pass


def write_atomically(path: Path, expected: bytes, new: bytes) -> None:
    """Replace the file's contents with `new` if it still holds `expected`.

    The new contents go to a temporary file in the same directory, which then
    replaces the original in one rename: a crash leaves the old file or the new
    one, never half of each. The new file gets the old one's owner, group, mode and
    extended attributes; a file whose hard links a rename would split, or whose
    owner or attributes cannot be given to the new file, is not written. A symlink
    is written through.
    """
    target = Path(os.path.realpath(path))
    try:
        current = target.read_bytes()
        info = os.stat(target)
    except OSError as exc:
        raise WriteError(f"cannot re-read before writing: {exc.strerror}") from exc
    if current != expected:
        raise WriteError("the file changed while testlint was running; not written")
    _check_rewritable(target, info)
    try:
        import tempfile  # here: only --fix writes

        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".testlint"
        )
    except OSError as exc:
        raise WriteError(f"cannot create a temporary file beside it: {exc.strerror}") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(new)
            out.flush()
            _copy_metadata(temporary, target, info)
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except (OSError, WriteError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"cannot write: {exc.strerror}") from exc


def _check_rewritable(target: Path, info: os.stat_result) -> None:
    """Refuse, before anything is written, what the user protected or what a
    rewrite by rename cannot keep."""
    # The mode bits are what the user set: root passes `os.access` whatever they say.
    writable = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not info.st_mode & writable or not os.access(target, os.W_OK):
        raise WriteError("the file is read-only; not written")
    if info.st_nlink > 1:
        raise WriteError(
            f"it has {info.st_nlink} hard links, which a rewrite would split; not written"
        )


def _copy_metadata(temporary: str, target: Path, info: os.stat_result) -> None:
    """Give the new file the old one's owner, mode and extended attributes. The mode
    comes after the owner: changing the owner clears the set-user/group-id bits."""
    made = os.stat(temporary)
    owner = (info.st_uid, info.st_gid)
    if hasattr(os, "chown") and (made.st_uid, made.st_gid) != owner:
        try:
            os.chown(temporary, *owner)
        except OSError as exc:
            raise WriteError(
                f"cannot keep its owner {info.st_uid} and group {info.st_gid} "
                f"in a rewrite ({exc.strerror}); not written"
            ) from exc
    os.chmod(temporary, stat.S_IMODE(info.st_mode))
    _copy_extended_attributes(temporary, target)


def _copy_extended_attributes(temporary: str, target: Path) -> None:
    if not hasattr(os, "listxattr"):  # Linux only
        return
    try:
        names = os.listxattr(target)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise WriteError(f"cannot read its extended attributes: {exc.strerror}") from exc
    for name in names:
        value = os.getxattr(target, name)
        with contextlib.suppress(OSError):
            if os.getxattr(temporary, name) == value:
                continue  # e.g. the SELinux label every new file of the directory gets
        try:
            os.setxattr(temporary, name, value)
        except OSError as exc:
            raise WriteError(
                f"cannot keep its extended attribute {name} in a rewrite ({exc.strerror}); "
                "not written"
            ) from exc
