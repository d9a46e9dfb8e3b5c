"""Two linked pseudo-terminals made in-process, like ``socat pty pty``, for the demo and ``simulate``.

Each side is a real tty path (``/dev/pts/N``) that pyserial opens as it would ``/dev/ttyS1``; a relay
thread copies bytes between the two pty masters. No external program is needed.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import tty

__all__ = ["PtyPair"]


class PtyPair:
    """``with PtyPair() as (device_path, client_path): ...``"""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.paths: tuple[str, str] = ("", "")
        self.bytes_relayed = 0

    def __enter__(self) -> tuple[str, str]:
        ends = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            os.set_blocking(master, False)
            self._fds += [master, slave]   # keep the slave open so the path stays valid between opens
            ends.append((master, os.ttyname(slave)))
        (ma, pa), (mb, pb) = ends
        self.paths = (pa, pb)
        self._thread = threading.Thread(target=self._relay, args=(ma, mb), daemon=True, name="ptypair")
        self._thread.start()
        return self.paths

    def _relay(self, a: int, b: int) -> None:
        peer = {a: b, b: a}
        while True:
            readable, _, _ = select.select([a, b, self._stop_r], [], [])
            if self._stop_r in readable:
                return
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except (BlockingIOError, OSError):
                    continue
                if data:
                    out = peer[fd]
                    view = memoryview(data)
                    while view:
                        try:
                            n = os.write(out, view)
                        except BlockingIOError:
                            select.select([], [out], [], 0.1)
                            continue
                        except OSError:
                            break
                        view = view[n:]
                    self.bytes_relayed += len(data)

    def __exit__(self, *exc: object) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        for fd in (*self._fds, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
