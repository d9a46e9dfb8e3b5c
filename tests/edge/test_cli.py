"""The ``meterwatch`` entry point itself (edge/cli.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_output_into_a_closed_pipe_ends_quietly_without_a_traceback() -> None:
    # `meterwatch status | head`, `meterwatch import --inspect F | less` quit early: the reader is gone
    # before the command has printed everything. That is no error of the command's.
    cmd = [sys.executable, "-m", "edge.cli", "check-config", "--no-files", "deploy/examples/edge.toml"]
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()                       # the reader has gone before the first line is written
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=60) == 141, err  # as a program killed by SIGPIPE: 128 + 13
    assert err == ""


def test_a_broken_pipe_of_a_socket_is_not_hidden_as_a_closed_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.commands.check_config as command
    from edge import cli

    def run(_args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")    # e.g. the daemon closed its control socket

    monkeypatch.setattr(command, "run", run)
    with pytest.raises(BrokenPipeError):
        cli.main(["check-config", "--no-files", str(REPO / "deploy/examples/edge.toml")])
