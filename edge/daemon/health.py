"""What the daemon says about itself: the health payload's inputs, the systemd status line, the watchdog.

``WATCHDOG=1`` vouches that the engines step (it is sent from their loop) and that the publisher's pump
runs (a dead pump would let the outbox fill up unnoticed). It runs on the real monotonic clock: systemd
counts real seconds, whatever clock the engines run on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from edge import systemd
from edge.daemon.engines import Engines
from edge.publish.health import HealthInputs
from edge.publish.publisher import Publisher

__all__ = ["Health", "Watchdog", "status_loop"]


class Health:
    """Telemetry of the whole daemon, read by the health task and the status line."""

    def __init__(self, engines: Engines, publisher: Publisher,
                 buses: Callable[[], Sequence[Mapping[str, Any]]],
                 counters: Callable[[], Mapping[str, float]] = dict) -> None:
        self.engines = engines
        self.publisher = publisher
        self._buses = buses
        self._counters = counters
        self.state = "starting"
        self.n_buses = 0

    def telemetry(self) -> HealthInputs:
        counters = {**self.engines.counters, **self._counters(), "queue_depth": self.engines.queue.qsize()}
        return HealthInputs(buses=list(self._buses()), engine=self.engines.stats(), counters=counters)

    def healthy(self) -> bool:
        return self.publisher.pumping

    def status_line(self) -> str:
        st = self.publisher.stats() if self.publisher.outbox else None
        depth = st.depth if st else 0
        disk = f" (DISK {st.store.upper()}: {st.pending} held in memory)" if st and st.store != "ok" else ""
        conn = "connected" if self.publisher.connected else "broker unreachable"
        offline = int(self._counters().get("ports_offline", 0))
        ports = f" ({offline} port(s) offline)" if offline else ""
        return (f"{self.state}: {len(self.engines.runners)} area(s), {self.n_buses} bus(es){ports}, "
                f"{self.engines.active_alerts()} active alert(s), outbox {depth}{disk}, {conn}")


class Watchdog:
    """``WATCHDOG=1`` after engine steps, at most every quarter of ``watchdog_interval_s()`` and only
    while ``healthy()``. systemd wants a ping at least every WatchdogSec/2 (= watchdog_interval_s);
    the engines step at least every ``wait_s()``, so the gap stays below half of it plus one step."""

    def __init__(self, *, enabled: bool, healthy: Callable[[], bool]) -> None:
        self.every_s = systemd.watchdog_interval_s() if enabled else None
        self._healthy = healthy
        self._last = -math.inf

    def wait_s(self, step_interval_s: float) -> float:
        return min(step_interval_s, (self.every_s or math.inf) / 4)

    def after_step(self) -> None:
        now = time.monotonic()
        if self.every_s is not None and now - self._last >= self.every_s / 4 and self._healthy():
            systemd.watchdog()
            self._last = now


async def status_loop(health: Health, every_s: float = 10.0) -> None:
    """``STATUS=`` every ``every_s`` seconds."""
    while True:
        systemd.status(health.status_line())
        await asyncio.sleep(every_s)
