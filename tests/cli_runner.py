"""A click test runner that keeps stdout and stderr apart, for the CLI tests."""

from __future__ import annotations

from click.testing import CliRunner


def make_runner() -> CliRunner:
    """Separate stdout and stderr on every click we support: 8.1 (the last for
    Python 3.9) mixes them unless told not to; 8.2 removed the option."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg,unused-ignore]
    except TypeError:
        return CliRunner()
