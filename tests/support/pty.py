"""Pseudo-terminal pairs for serial tests: two linked tty paths made by socat.

Parity cannot be set on a pseudo-terminal (termios EINVAL for "E"), so serial tests open both ends
with parity "N"; the wire timing of 8E1 is emulated by the simulated devices, not by the pty.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.procs import require_binary

__all__ = ["pty_pair"]


@contextmanager
def pty_pair(tmp: Path, name: str = "tty") -> Iterator[tuple[str, str]]:
    """Yield (device_side, client_side) paths of a linked pty pair; removed on exit."""
    exe = require_binary("socat")
    tmp.mkdir(parents=True, exist_ok=True)
    a, b = tmp / f"{name}-dev", tmp / f"{name}-cli"
    proc = subprocess.Popen(
        [exe, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not (a.exists() and b.exists()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("socat did not create the pty pair")
        time.sleep(0.01)
    try:
        yield os.fspath(a), os.fspath(b)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
