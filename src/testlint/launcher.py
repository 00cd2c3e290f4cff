"""The `testlint` command's front door: replay a recorded run, else start the CLI.

Kept small and free of heavy imports: when nothing changed, a run prints what it
printed last time (`record.py`) without importing click, libcst or the rules.
Otherwise it re-checks a few changed test modules (`rerun.py`) or runs the CLI.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import sys
import time
import types
from collections.abc import Sequence
from typing import Any

from testlint import dataclass_code
from testlint.record import (
    EXIT_INTERRUPTED,
    INTERRUPTED,
    Changed,
    Replay,
    find,
    write_printed,
)


def main(argv: Sequence[str] | None = None) -> None:
    """The `testlint` command: replay if nothing changed, else run the linter."""
    started_ns = time.time_ns()
    args = list(sys.argv[1:] if argv is None else argv)
    found = find(args, os.environ)
    if isinstance(found, Replay):
        write_printed(found.printed)
        sys.exit(found.exit_code)
    defer_import("libcst")
    dataclass_code.install()
    atexit.register(dataclass_code.save)
    if isinstance(found, Changed):
        from testlint.rerun import rerun
        from testlint.workers import EXIT_TERMINATED, TERMINATED, Terminated

        try:
            code = rerun(found, args, started_ns)
        except Terminated:
            sys.stderr.write(TERMINATED + "\n")
            sys.exit(EXIT_TERMINATED)
        except KeyboardInterrupt:
            sys.stderr.write(INTERRUPTED + "\n")
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # never a traceback, which exits 1: "problems found"
            from testlint.output import EXIT_ERROR
            from testlint.runner import internal_error

            sys.stderr.write(f"testlint: error: {internal_error(exc)}\n")
            sys.exit(EXIT_ERROR)
        if code is not None:
            sys.exit(code)
    from testlint.cli import Launch
    from testlint.cli import main as cli_main

    # `obj`: the command line, for the CLI to record the run (`record.record`).
    cli_main(args=args, prog_name="testlint", obj=Launch(tuple(args)))


class _Deferred(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet; the first attribute
    asked of it imports the real module, whose names it then holds."""

    def __getattr__(self, attribute: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        dataclass_code.save()  # a forked worker may be the one to import it
        return getattr(real, attribute)


def defer_import(name: str) -> None:
    """Import `name` when first used, not when first imported. libcst takes longer
    to import (0.1 s) than a warm run over a few files, and the gates and the cache
    answer most files without parsing them. `import libcst as cst` then binds the
    stand-in; `cst.Name`, `from libcst import ...` or importing a submodule (which
    asks for the missing `__path__`) imports libcst itself."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in
