"""The gateway's event-time source: what readings are stamped with.

In service it is the wall clock. ``meterwatch demo`` runs the daemon on an accelerated simulated clock
(``edge.sim.clock.SimClock``) so that an afternoon of field time passes in minutes: it installs that
clock here once, at start-up, before anything is read. Wire timing (deadlines, gaps, back-off) never
uses this: it stays on the real monotonic clock, as the bus is real.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["now", "set_source"]

_source: Callable[[], float] = time.time


def now() -> float:
    """Event time, epoch seconds UTC."""
    return _source()


def set_source(source: Callable[[], float] | None) -> None:
    """Install an event-time source (``None`` restores the wall clock)."""
    global _source
    _source = source or time.time
