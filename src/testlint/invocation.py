"""What a `check` command line says that a replay needs, read without click.

A replay must answer before click (or anything else heavy) is imported, so it
reads the command line itself; tests compare these option sets with the click
command, so that a new option cannot be forgotten here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from testlint.locate import (
    DEFAULT_CACHE_DIRECTORY,
    common_root,
    find_config_file,
    find_project_root,
    load_toml,
)

# The `check` options, by what they mean for a replay (tests compare these with
# the click command, so that a new option cannot be forgotten here).
VALUE_OPTIONS = frozenset(
    {"--select", "--extend-select", "--ignore", "--output-format", "--cache-dir", "-j", "--jobs"}
)


FLAG_OPTIONS = frozenset(
    {
        "--statistics",
        "--exit-zero",
        "-q",
        "--quiet",
        "--isolated",
        "--force-exclude",
        "--unsafe-fixes",
        "--no-unsafe-fixes",
        "--show-fixes",
        "--no-show-fixes",
        "--exit-non-zero-on-fix",
    }
)


NOT_REPLAYED = frozenset(
    {
        "--fix",
        "--diff",
        "--config",
        "--no-cache",
        "--stdin-filename",
        "-o",
        "--output-file",
        "-h",
        "--help",
        "--version",
        "--show-settings",
        "--show-files",
        "--add-noqa",
    }
)
"""Runs that write files (`-o` too: a replay would have to write it again, and
whether it is still there is no input of the run), read standard input or print
something else."""


class Invocation:
    """What a `check` command line says that a replay needs."""

    __slots__ = ("argv", "cache_dir", "isolated", "paths")

    def __init__(
        self, argv: tuple[str, ...], paths: tuple[str, ...], cache_dir: str | None, isolated: bool
    ) -> None:
        self.argv = argv
        self.paths = paths
        self.cache_dir = cache_dir
        self.isolated = isolated


def parse(argv: Sequence[str]) -> Invocation | None:
    """The paths and the options a replay needs from a `check` command line, or
    None for a command that is never replayed (or that this parser does not know)."""
    args = list(argv)
    if args and args[0] == "check":
        args = args[1:]
    elif args and args[0] in ("rules", "explain"):
        return None
    paths: list[str] = []
    cache_dir: str | None = None
    isolated = only_paths = False
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if only_paths or not arg.startswith("-"):
            paths.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if arg == "--":
            only_paths = True
        elif arg in FLAG_OPTIONS:
            isolated = isolated or arg == "--isolated"
        elif name in VALUE_OPTIONS and (equals or name == arg):
            if not equals:
                if index >= len(args):
                    return None
                value = args[index]
                index += 1
            if name == "--cache-dir":
                cache_dir = value
        else:
            return None  # not replayed ("-", --fix, ...) or unknown
    if any(path == "-" for path in paths):
        return None
    return Invocation(tuple(argv), tuple(paths) or (".",), cache_dir, isolated)


def cache_directory(invocation: Invocation, environ: Mapping[str, str]) -> Path:
    """Where the run's cache lives, found as the runner finds it (`--cache-dir`,
    `TESTLINT_CACHE_DIR`, `cache-dir` in the configuration, else under the root)."""
    if invocation.cache_dir:
        return Path(os.path.realpath(invocation.cache_dir))
    if environ.get("TESTLINT_CACHE_DIR"):
        return Path(os.path.realpath(environ["TESTLINT_CACHE_DIR"]))
    start = common_root([Path(path) for path in invocation.paths])
    config = None if invocation.isolated else find_config_file(start)
    if config is None:
        return find_project_root(start) / DEFAULT_CACHE_DIRECTORY
    value = load_toml(config)["tool"]["testlint"].get("cache-dir")
    if isinstance(value, str) and value:
        return Path(os.path.realpath(config.parent / value))
    return config.parent / DEFAULT_CACHE_DIRECTORY
