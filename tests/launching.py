"""`launcher.main` in the test's own process: the command as a user runs it
(replay, re-check or the CLI), with its exit code, output, and whether it linted."""

from __future__ import annotations

from typing import Any

import pytest

from testlint import cli, launcher, rerun


class Launch:
    """`launcher.main` in this process: exit code, output, and whether it replayed
    (neither linted every file nor checked changed files alone: `rerun`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.capsys = capsys
        self.linted = 0
        self.reruns = 0
        real = cli.main
        real_rerun = rerun.rerun

        def counting(*args: object, **kwargs: object) -> None:
            self.linted += 1
            real(*args, **kwargs)

        def counting_reruns(*args: Any, **kwargs: Any) -> int | None:
            code = real_rerun(*args, **kwargs)
            self.reruns += code is not None
            return code

        monkeypatch.setattr(cli, "main", counting)
        monkeypatch.setattr(rerun, "rerun", counting_reruns)

    def __call__(self, *argv: str) -> tuple[int, str, str, bool]:
        before = self.linted, self.reruns
        with pytest.raises(SystemExit) as exited:
            launcher.main(list(argv))
        out, err = self.capsys.readouterr()
        code = exited.value.code
        assert isinstance(code, int)
        return code, out, err, (self.linted, self.reruns) == before


def uncached(launch: Launch, *argv: str) -> tuple[int, str, str]:
    code, out, err, _ = launch(*argv, "--no-cache")
    return code, out, err
