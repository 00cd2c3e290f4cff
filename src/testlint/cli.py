"""Command line: parses options and renders results. No lint logic lives here.

Exit codes: 0 nothing left to report, 1 problems remain (or `--diff` would change
files), 2 usage, configuration or internal error, or a run that did not check every
file (SIGTERM, a worker stopped or killed); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from testlint import __version__, cache, output, record
from testlint.docs import rule_markdown, rules_table_text
from testlint.locate import ConfigError
from testlint.output import EXIT_CLEAN, EXIT_ERROR, EXIT_PROBLEMS, Shown
from testlint.registry import ALL_RULES, rule_by_selector
from testlint.runner import Recorded, RunOptions, RunResult, internal_error, run, run_source
from testlint.source import SourceError, decode
from testlint.terminal import FORMAT_VARIABLE, wants_color, width_of
from testlint.workers import EXIT_TERMINATED, TERMINATED, Terminated


@dataclasses.dataclass(frozen=True)
class Launch:
    """How `launcher.main` started the CLI (click's `obj`): the command line, which
    a check records for the next run to replay. Absent when the CLI is called any
    other way: such a run is not recorded."""

    argv: tuple[str, ...]


class DefaultCommandGroup(click.Group):
    """`testlint PATHS...` means `testlint check PATHS...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if a not in ("--help", "-h", "--version")), None)
        if first is not None and first not in self.commands and args[0] not in ("--help", "-h"):
            args = ["check", *args]
        elif not args:
            args = ["check"]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """A bug ends the command with one line and exit 2, never a traceback
        (Python ends on one with exit 1, which means "problems found"); Ctrl-C
        with exit 130, whenever it comes."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader went away (`testlint | head`): click ends quietly
        except KeyboardInterrupt as stop:  # click would say "Aborted!" and exit 1
            _stopped(stop)
        except Exception as exc:
            click.echo(f"testlint: error: {internal_error(exc)}", err=True)
            sys.exit(EXIT_ERROR)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="testlint")
def main() -> None:
    """A linter, with autofix, for pytest test suites.

    Run `testlint PATHS` (same as `testlint check PATHS`).

    \b
    The options of a check (fixing, rule selection, output formats, exit codes):
      testlint check --help
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option(
    "--unsafe-fixes/--no-unsafe-fixes",
    default=None,
    help="Also apply (with --fix) and mark fixes that may change behaviour.",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option(
    "--select",
    multiple=True,
    help="Rules to enable (codes, prefixes or names), replacing the configured ones.",
)
@click.option("--extend-select", multiple=True, help="Rules to enable in addition.")
@click.option("--ignore", multiple=True, help="Rules to disable.")
@click.option(
    "--output-format",
    type=click.Choice(output.FORMATS),
    envvar=FORMAT_VARIABLE,
    show_envvar=True,
    help="How to print diagnostics: full (each with its source and fix preview), concise "
    "(one line each; `text` is an alias), json, github, gitlab, junit or sarif. Default: "
    "`output-format` in [tool.testlint], else full.",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the output to this file instead of standard output (the summary goes to "
    "standard error).",
)
@click.option(
    "--show-fixes/--no-show-fixes",
    default=False,
    help="List the fixes applied by --fix (without --fix: those it would apply), per file "
    "and rule.",
)
@click.option(
    "--exit-non-zero-on-fix",
    is_flag=True,
    help="With --fix: exit 1 when something was fixed, even if no problem remains.",
)
@click.option("--statistics", is_flag=True, help="Print counts per rule instead of each problem.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems remain.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read [tool.testlint] from this pyproject.toml.",
)
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply `exclude` even to files named on the command line (for pre-commit).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the cache lives (default: `cache-dir`, else .testlint_cache/ in the project).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes (default: one per core when there are many files).",
)
@click.option(
    "--stdin-filename",
    type=click.Path(path_type=Path),
    help="Read the source from standard input; PATH is the file it belongs to.",
)
@click.option(
    "--show-settings",
    is_flag=True,
    help="Print what decides the check of PATH (project, pytest configuration, collection, "
    "pytest-asyncio, xdist, serial markers, testlint's settings) and exit.",
)
@click.option(
    "--show-files", is_flag=True, help="Print the files that would be checked, one a line."
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add a `# noqa: TLxxx` directive for every finding (joining those already there).",
)
def check(paths: tuple[Path, ...], **kwargs: Any) -> None:
    """Check PATHS (default: the current directory)."""
    # The format from the command line or the environment; the configuration's
    # is known once the run has read it.
    given = kwargs["output_format"]
    maybe = output.resolve_format(given, None) if given else None
    options = RunOptions(
        fix=kwargs["fix"],
        unsafe_fixes=kwargs["unsafe_fixes"],
        diff=kwargs["diff"],
        # Fix previews (full) and JSON carry the fixes' edits (SARIF has none).
        with_edits=not kwargs["statistics"] and maybe in (None, "full", "json"),
        select=_split(kwargs["select"]) or None,
        extend_select=_split(kwargs["extend_select"]),
        ignore=_split(kwargs["ignore"]),
        config=kwargs["config"],
        isolated=kwargs["isolated"],
        force_exclude=kwargs["force_exclude"],
        cache=not kwargs["no_cache"],
        cache_dir=kwargs["cache_dir"],
        jobs=kwargs["jobs"],
        progress=not kwargs["quiet"] and sys.stderr.isatty(),
    )
    if kwargs["config"] is not None and kwargs["isolated"]:
        _fail("--config and --isolated cannot be used together")
    if kwargs["diff"] and kwargs["statistics"]:
        _fail("--diff cannot be used with --statistics")
    if kwargs["diff"] and kwargs["show_fixes"]:
        _fail("--diff cannot be used with --show-fixes")
    if kwargs["show_settings"] or kwargs["show_files"] or kwargs["add_noqa"]:
        _instead_of_a_check(paths, options, kwargs)
    started_ns = time.time_ns()
    # As in ruff: --stdin-filename alone means the source comes on standard input.
    stdin = paths == (Path("-"),) or (not paths and kwargs["stdin_filename"] is not None)
    if Path("-") in paths and not stdin:
        _fail("`-` (standard input) cannot be combined with other paths")
    if kwargs["stdin_filename"] is not None and not stdin:
        _fail("--stdin-filename reads standard input: it cannot be combined with paths")
    try:
        if stdin:
            source = sys.stdin.buffer.read()
            result, fixed = run_source(source, kwargs["stdin_filename"], options)
        else:
            result = run(list(paths) or [Path(".")], options)
            fixed = None
    except ConfigError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as stop:
        _stopped(stop)
    output_file: Path | None = kwargs["output_file"]
    to_terminal = output_file is None
    shown = Shown(
        output.resolve_format(given, result.settings.output_format),
        statistics=kwargs["statistics"],
        exit_zero=kwargs["exit_zero"],
        quiet=kwargs["quiet"],
        show_fixes=kwargs["show_fixes"],
        exit_non_zero_on_fix=kwargs["exit_non_zero_on_fix"],
        color=to_terminal and wants_color(sys.stdout, os.environ),
        width=width_of(sys.stdout, os.environ) if to_terminal else None,
        to_file=not to_terminal,
    )
    printed: record.Printed = []
    written: list[str] = []

    def say(text: str, err: bool, nl: bool) -> None:
        if output_file is not None and not err:
            written.append(text + "\n" if nl else text)
            printed.append((err, text, nl))
            return
        text = _encodable(text, sys.stderr if err else sys.stdout)
        printed.append((err, text, nl))  # as printed: a replay writes it to the same stream
        click.echo(text, err=err, nl=nl, color=True if shown.color else None)

    # With --fix on standard input, the fixed source owns stdout (as in ruff).
    source_on_stdout = fixed is not None and options.fix and not options.diff
    if fixed is not None and source_on_stdout:
        sys.stdout.buffer.write(fixed)
        sys.stdout.flush()
    sources = {}
    if stdin:
        display = kwargs["stdin_filename"] or Path("-")
        sources[display] = _text(fixed if source_on_stdout and fixed is not None else source)
    code = output.report(result, options, shown, say, source_on_stdout, sources)
    if output_file is not None:
        _write_output(output_file, "".join(written))
    if not stdin and not result.errors and code in (EXIT_CLEAN, EXIT_PROBLEMS):
        _remember(result, options, list(paths) or [Path(".")], printed, code, started_ns, shown)
    sys.exit(code)


def _remember(
    result: RunResult,
    options: RunOptions,
    paths: list[Path],
    printed: record.Printed,
    code: int,
    started_ns: int,
    shown: Shown,
) -> None:
    """Record a check for a replay (only when `launcher.main` started the run)."""
    launch = click.get_current_context().find_object(Launch)
    project, cache_directory = result.project, result.cache_directory
    if launch is None or project is None or cache_directory is None:
        return
    if not record.settled(result.newest_input_ns, started_ns):
        return  # a file changed during the run: `record` would refuse (ctime >= mtime)
    settings = result.settings
    enters = cache.discovery_enters(project, settings)
    stats = record.snapshot(project.root, paths, skipped=[cache_directory], discovery_enters=enters)
    for directory in result.linked:  # the snapshot does not follow links by itself
        stats.update(record.snapshot(directory, [], [cache_directory], enters))
    # What the cache keys on outside the root (the repository's CI files, included
    # requirements files, pytest's configuration above the root) is watched too.
    stats.update(record.signatures(cache.outside_root(project, settings)))
    recorded = Recorded.of(result, options)
    rerunnable = None
    if recorded is not None:
        rerunnable = {"shown": dataclasses.asdict(shown), **recorded.to_json()}
    record.record(launch.argv, printed, code, started_ns, stats, rerunnable)


def _encodable(text: str, stream: Any) -> str:
    """`text` as `stream` can write it: what its encoding lacks (a path or message
    in another script, the `full` format's marks on a cp1252 pipe) replaced."""
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode(encoding, "replace").decode(encoding)
    except LookupError:
        pass
    return text


def _text(source: bytes) -> str:
    """Source from standard input as text, for the `full` format's snippets."""
    try:
        return decode(source)
    except SourceError:
        return source.decode("utf-8", "replace")


def _write_output(path: Path, text: str) -> None:
    """`-o PATH`: the output, written whole (its directory made if missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")


def _fail(message: str) -> None:
    click.echo(f"testlint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _stopped(stop: KeyboardInterrupt) -> NoReturn:
    """A run stopped by Ctrl-C (exit 130) or SIGTERM (exit 2), after its files in hand."""
    if isinstance(stop, Terminated):
        click.echo(TERMINATED, err=True)
        sys.exit(EXIT_TERMINATED)
    click.echo(record.INTERRUPTED, err=True)
    sys.exit(record.EXIT_INTERRUPTED)


def _instead_of_a_check(paths: tuple[Path, ...], options: RunOptions, kwargs: Any) -> None:
    """`--show-settings`, `--show-files`, `--add-noqa`: each does something other
    than a check (see `show.py`, `add_noqa.py`), then exits."""
    modes = [name for name in ("show_settings", "show_files", "add_noqa") if kwargs[name]]
    flags = [f"--{name.replace('_', '-')}" for name in modes]
    if len(flags) > 1:
        _fail(f"{flags[0]} cannot be used with {flags[1]}")
    for name in ("fix", "diff", "statistics"):
        if kwargs[name]:
            _fail(f"{flags[0]} cannot be used with --{name}")
    if kwargs["stdin_filename"] is not None or Path("-") in paths:
        _fail(f"{flags[0]} reads files: it cannot read standard input")
    try:
        if kwargs["show_settings"]:
            if len(paths) > 1:
                _fail("--show-settings takes one path (the settings can differ per file)")
            from testlint.show import show_settings

            click.echo(show_settings(paths[0] if paths else Path("."), options))
            sys.exit(EXIT_CLEAN)
        if kwargs["show_files"]:
            from testlint.show import show_files

            shown = show_files(list(paths) or [Path(".")], options)
            for name in shown.files:
                click.echo(name)
            _problems(shown.warnings, shown.errors)
            sys.exit(EXIT_ERROR if shown.errors else EXIT_CLEAN)
        from testlint.add_noqa import add_noqa

        added = add_noqa(list(paths) or [Path(".")], options)
    except ConfigError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as stop:
        _stopped(stop)
    _problems(added.warnings, added.errors)
    if not kwargs["quiet"]:
        plural = "" if added.directives == 1 else "s"
        click.echo(f"Added {added.directives} noqa directive{plural}.", err=True)
        if added.remaining:
            left = len(added.remaining)
            click.echo(
                f"{left} finding{'' if left == 1 else 's'} left without a directive "
                "(`testlint check` lists them)",
                err=True,
            )
    if added.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_PROBLEMS if added.remaining and not kwargs["exit_zero"] else EXIT_CLEAN)


def _problems(warnings: list[str], errors: list[str]) -> None:
    for warning in warnings:
        click.echo(f"testlint: warning: {warning}", err=True)
    for error in errors:
        click.echo(f"testlint: error: {error}", err=True)


@main.command()
@click.option(
    "--output-format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
def rules(output_format: str) -> None:
    """List every rule with its code, name and fix availability."""
    if output_format == "markdown":
        from testlint.docs import rules_table_markdown

        click.echo(rules_table_markdown(ALL_RULES))
    elif output_format == "json":
        from testlint.docs import rules_json

        click.echo(rules_json(ALL_RULES))
    else:
        click.echo(rules_table_text(ALL_RULES))


@main.command()
@click.argument("rule", required=False)
@click.option("--all", "all_rules", is_flag=True, help="Show the documentation of every rule.")
def explain(rule: str | None, all_rules: bool) -> None:
    """Show the documentation of RULE (a code such as TL101, or a name)."""
    if all_rules:
        if rule is not None:
            _fail("give a RULE or --all, not both")
        from testlint.docs import all_rules_markdown

        click.echo(all_rules_markdown(ALL_RULES), nl=False)
        return
    if rule is None:
        _fail("give a RULE (a code such as TL101, or a name) or --all")
        return
    found = rule_by_selector(rule)
    if found is None:
        _fail(f"unknown rule {rule!r}; `testlint rules` lists them")
    else:
        click.echo(rule_markdown(found), nl=False)
