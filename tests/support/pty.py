"""Pseudo-terminal pairs for serial tests: two linked tty paths made by socat.

Parity cannot be set on a pseudo-terminal (termios EINVAL for "E"), so serial tests open both ends
with parity "N"; the wire timing of 8E1 is emulated by the simulated devices, not by the pty.

``PtyPair.hang_up()`` kills socat: both ptys close (a program holding the client side reads end of
file, as when a USB adapter is unplugged) and socat removes the two symlinks. ``restore()`` makes a
new pair behind the same paths, as a USB RS-485 adapter that re-enumerates behind a stable
``/dev/serial/by-id/`` name.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.procs import require_binary

__all__ = ["PtyPair", "pty_pair"]


class PtyPair:
    """A socat pty pair at ``device`` (the simulated devices' side) and ``client`` (what is polled)."""

    def __init__(self, tmp: Path, name: str = "tty") -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.device, self.client = os.fspath(tmp / f"{name}-dev"), os.fspath(tmp / f"{name}-cli")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PtyPair:
        exe = require_binary("socat")
        a, b = Path(self.device), Path(self.client)
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
        self.proc = proc
        return self

    def hang_up(self) -> None:
        """Close both ptys (socat exits and removes the symlinks); the paths are gone afterwards."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for path in (self.device, self.client):   # socat removes them; a killed one may not have
            if os.path.lexists(path):
                os.unlink(path)

    def restore(self) -> PtyPair:
        """A new pty pair behind the same two paths."""
        self.hang_up()
        return self.start()


@contextmanager
def pty_pair(tmp: Path, name: str = "tty") -> Iterator[tuple[str, str]]:
    """Yield (device_side, client_side) paths of a linked pty pair; removed on exit."""
    pair = PtyPair(tmp, name).start()
    try:
        yield pair.device, pair.client
    finally:
        pair.hang_up()
