"""Re-check the few changed test modules of a recorded run (`record.Changed`).

The rest of the run's output is as recorded; the new run is recorded in turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from testlint import output, runner
from testlint.fingerprint import signature
from testlint.record import (
    Changed,
    Printed,
    record,
    settled,
    with_listing,
    write_printed,
)


def rerun(found: Changed, argv: Sequence[str], started_ns: int) -> int | None:
    """Check the changed files again, print the run's output with the other files'
    findings as recorded, and record the new run. Returns the exit code, or None
    (nothing printed) when only the full run can tell."""
    recorded = found.record
    try:
        previous = runner.Recorded.from_json(recorded)
        shown = output.Shown(**recorded["shown"])
        result = runner.run_changed(previous, found.names)
    except Exception:  # a foreign record, or a file that cannot be checked alone
        return None
    if result is None:
        return None
    options = previous.options
    printed: Printed = []

    def say(text: str, err: bool, newline: bool) -> None:
        printed.append((err, text, newline))
        write_printed([(err, text, newline)])

    code = output.report(result, options, shown, say)
    stats = dict(recorded["stats"])
    stats.update((name, signature(name)) for name in found.names)
    stats.update((name, with_listing(name)) for name in found.relisted)
    again = runner.Recorded.of(result, options)
    if again is not None and settled(result.newest_input_ns, started_ns):
        rerunnable = {"shown": recorded["shown"], **again.to_json()}
        record(argv, printed, code, started_ns, stats, rerunnable)
    return code
