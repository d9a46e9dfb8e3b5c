"""``meterwatch read`` and ``scan`` take the port's lock for their run (``edge.portlock``): a port that
the daemon (or another ``read``) holds is refused, naming the holder, instead of garbling its polling —
except that ``read`` asks a daemon with a control socket to read for it (``edge.status.ondemand``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from edge import portlock

__all__ = ["bad_baud", "with_port_lock"]


def bad_baud(baud: int | None, command: str) -> bool:
    """True (and said on stderr) when ``--baud`` is not a serial rate: a pty or driver would take some
    odd rates silently, and 0 means hang up."""
    from edge.config.model import BAUD_RATES

    if baud is None or baud in BAUD_RATES:
        return False
    print(f"meterwatch {command}: --baud {baud} is not one of {', '.join(map(str, BAUD_RATES))}", file=sys.stderr)
    return True


def with_port_lock(command: str, port: str, run: Callable[[], int],
                   busy: Callable[[portlock.Holder], int | None] | None = None) -> int:
    """``run()`` while holding ``port``'s lock. When it is taken: ``busy(holder)`` if that gives an exit
    status (``read`` asks the daemon), else exit status 3 with the holder named."""
    try:
        lock = portlock.acquire(port, program=f"meterwatch {command}")
    except portlock.PortBusy as exc:
        h = exc.holder
        code = busy(h) if busy is not None else None
        if code is not None:
            return code
        how = ("stop the daemon first (systemctl stop meterwatch-edge) or wait until it no longer polls this "
               "port" if h.program == "meterwatch run" else "wait until it has finished")
        print(f"meterwatch {command}: 端口被占用 / port in use: {exc}; {how}", file=sys.stderr)
        return 3
    with lock:
        return run()
