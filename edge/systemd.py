"""systemd integration without new dependencies: sd_notify over ``$NOTIFY_SOCKET`` and the watchdog.

The daemon sends ``READY=1`` once the kernels are warm, ``WATCHDOG=1`` from its main loop only while it
is healthy, ``STATUS=<one line>`` when its state changes and ``STOPPING=1`` when SIGTERM arrives. Outside
systemd (no ``$NOTIFY_SOCKET``) every call is a cheap no-op returning False.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "ready", "status", "stopping", "watchdog", "watchdog_interval_s"]


def notify(*fields: str) -> bool:
    """Send ``KEY=VALUE`` lines to the service manager; True when a socket was there to send to.

    Errors are swallowed on purpose: a broken notify socket must never stop the daemon (systemd's
    own sd_notify behaves the same way).
    """
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr or not fields:
        return False
    if addr.startswith("@"):           # abstract namespace socket
        addr = "\0" + addr[1:]
    elif not addr.startswith("/"):
        return False
    msg = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(msg, addr)
    except OSError:
        return False
    return True


def ready(state: str | None = None) -> bool:
    return notify("READY=1", *((f"STATUS={state}",) if state else ()))


def status(state: str) -> bool:
    return notify(f"STATUS={state}")


def stopping(state: str = "stopping: flushing the outbox") -> bool:
    return notify("STOPPING=1", f"STATUS={state}")


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def watchdog_interval_s() -> float | None:
    """Half the ``WatchdogSec=`` systemd gave this process (ping at least that often), or None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2e6 if value > 0 else None
