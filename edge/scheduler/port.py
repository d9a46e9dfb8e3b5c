"""Port supervision: the port of one bus opened, its scheduler polling, and the port reopened from
scratch when it is missing or fails, with capped back-off. The other buses never notice.

A ``PortSupervisor`` owns one ``Port`` (the protocol module's link and devices, e.g.
``edge.dlt645.bus.Dlt645Port``) and its ``BusScheduler``:

- **open**: the port lock (``lock()``: one owner per port) and then ``port.open()``. A failure (a USB
  adapter not plugged in yet, a converter still booting, the port held by ``meterwatch read``) marks the
  port unavailable: logged once, an ``"unavailable"`` ``PortEvent`` (the daemon raises a gateway alert),
  and it is tried again after ``PortBackoff`` (1 s doubling to 60 s).
- **poll**: ``scheduler.run()`` until a transaction raises ``PortError`` or the port reports on its own
  that it failed (``port.failed``, watched every ``watch_s``: a TCP connection closed or a tty hung up
  while the bus is idle between rounds). The port is closed and reopened at once; only when that
  reopen fails is the port unavailable (a converter that drops a connection and takes the next one
  raises no alert). A port that fails again within ``stable_s`` of being opened keeps its back-off
  growing, so a flapping port costs little.
- **back**: the first successful open after an outage ends it: an ``"available"`` ``PortEvent`` with how
  long it lasted, and the scheduler carries on with its pending rounds. The very first open sends one
  too, so that an alert left active by the previous run is cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from edge.errors import PortError, TransportError
from edge.scheduler.bus import BusScheduler
from edge.scheduler.clock import Clock, WallClock

__all__ = ["Port", "PortBackoff", "PortEvent", "PortSupervisor"]

log = logging.getLogger(__name__)


class Port(Protocol):
    """What a protocol module gives the supervisor for one bus."""

    @property
    def port(self) -> str:
        """The configured port: ``/dev/ttyS1``, ``/dev/serial/by-id/…`` or ``tcp://host:port``."""
        ...

    @property
    def failed(self) -> str | None:
        """Why the open port failed by itself (hang-up, connection closed), or None."""
        ...

    async def open(self) -> None:
        """Open from scratch; raises ``PortError`` naming the port and the cause."""
        ...

    async def close(self) -> None:
        ...


class Lease(Protocol):
    def release(self) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class PortBackoff:
    """Delays between attempts to open an unavailable port: ``base_s`` doubling up to ``max_s``. They
    start over once the port has stayed open ``stable_s``. Opening a port costs no wire time, so the
    cap is short: a converter that comes back is polled again within one cap at most."""

    base_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0
    stable_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.max_s:
            raise ValueError(f"port backoff: need 0 < base_s <= max_s, got {self.base_s}, {self.max_s}")
        if self.factor < 1 or self.stable_s < 0:
            raise ValueError(f"port backoff: factor must be >= 1 and stable_s >= 0, got {self.factor}, "
                             f"{self.stable_s}")

    def delay_s(self, failures: int) -> float:
        """Wait after the ``failures``-th failure in a row (1 = the first)."""
        return min(self.base_s * self.factor ** max(failures - 1, 0), self.max_s)


@dataclass(frozen=True, kw_only=True, slots=True)
class PortEvent:
    """The port of ``bus`` became unavailable (an open failed) or available again."""

    bus: str
    port: str
    state: str                # "unavailable" | "available"
    ts: float                 # clock time, epoch s
    error: str                # why it is (was) unavailable
    attempts: int             # failed opens in this outage so far
    down_s: float             # since the port stopped working (0 for the first "unavailable")


class PortSupervisor:
    """Keeps one bus's port open and its scheduler polling. ``await run()`` until cancelled."""

    def __init__(self, *, bus: str, port: Port, scheduler: BusScheduler, clock: Clock | None = None,
                 backoff: PortBackoff | None = None, lock: Callable[[], Lease] | None = None,
                 on_event: Callable[[PortEvent], Awaitable[None]] | None = None, watch_s: float = 1.0) -> None:
        self.bus = bus
        self.port = port
        self.scheduler = scheduler
        self._clock: Clock = clock or WallClock()
        self._backoff = backoff or PortBackoff()
        self._lock = lock
        self._on_event = on_event
        self._watch_s = watch_s
        self._lease: Lease | None = None
        self._open = False
        self._down_since: float | None = None     # clock time the port stopped working; None while open
        self._unavailable = False                 # an "unavailable" event is out (no "available" yet)
        self._first_open = True                   # "available" also on the first open: an alert from
                                                  # before a restart is cleared by it
        self.error: str | None = None
        self.attempts = 0                         # failed opens in a row
        self.wait_s = 0.0                         # the back-off wait before the latest attempt
        self.counters = {"port_failures": 0, "port_open_failures": 0}

    # ---- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        self._down_since = self._clock.now()
        flaps = 0             # openings in a row that failed within stable_s
        failures = 0          # failed opens since the last opening, plus the flaps: the back-off step
        try:
            while True:
                try:
                    await self._open_port()
                except TransportError as exc:
                    failures += 1
                    self.wait_s = self._backoff.delay_s(failures)
                    await self._open_failed(str(exc))
                    await self._clock.sleep(self.wait_s)
                    continue
                opened = self._clock.now()
                await self._available()
                err = await self._poll()
                await self._close_port()
                flaps = flaps + 1 if self._clock.now() - opened < self._backoff.stable_s else 0
                failures = flaps
                self.wait_s = self._backoff.delay_s(flaps) if flaps else 0.0
                self._failed(err, retry_s=self.wait_s)
                if flaps:
                    await self._clock.sleep(self.wait_s)
        finally:
            await self._close_port()

    async def _poll(self) -> str:
        """Run the scheduler until the port fails; returns why."""
        task = asyncio.create_task(self.scheduler.run(), name=f"bus {self.bus} scheduler")
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._watch_s)
                if done:
                    exc = task.exception()
                    if isinstance(exc, PortError):
                        return str(exc)
                    raise exc if exc is not None else RuntimeError(f"bus {self.bus}: scheduler returned")
                failed = self.port.failed
                if failed is not None:
                    return f"{self.port.port}: port failed: {failed}"
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ---- open / close ------------------------------------------------------------------------------

    async def _open_port(self) -> None:
        if self._lock is not None:
            self._lease = self._lock()
        try:
            await self.port.open()
        except BaseException:
            await self._close_port()
            raise
        self._open = True

    async def _close_port(self) -> None:
        self._open = False
        with contextlib.suppress(Exception):
            await self.port.close()
        if self._lease is not None:
            lease, self._lease = self._lease, None
            lease.release()

    # ---- state changes -----------------------------------------------------------------------------

    def _failed(self, error: str, *, retry_s: float) -> None:
        """The open port stopped working."""
        self.counters["port_failures"] += 1
        self._down_since = self._clock.now()
        self.error = error
        when = f"in {retry_s:.0f} s" if retry_s else "at once"
        log.warning('bus "%s": %s; reopening the port %s', self.bus, error, when)

    async def _open_failed(self, error: str) -> None:
        self.counters["port_open_failures"] += 1
        self.attempts += 1
        self.error = error
        now = self._clock.now()
        if self._down_since is None:
            self._down_since = now
        if self._unavailable:
            log.debug('bus "%s": port still unavailable (%d attempts): %s', self.bus, self.attempts, error)
            return
        self._unavailable = True
        log.warning('bus "%s": port unavailable: %s; retrying with back-off (%.0f s up to %.0f s); '
                    "the other buses go on", self.bus, error, self._backoff.base_s, self._backoff.max_s)
        await self._emit(PortEvent(bus=self.bus, port=self.port.port, state="unavailable", ts=now, error=error,
                                   attempts=self.attempts, down_s=now - self._down_since))

    async def _available(self) -> None:
        now = self._clock.now()
        down_since, self._down_since = self._down_since, None
        if self._unavailable or self._first_open:
            down_s = now - (down_since if down_since is not None else now)
            if self._unavailable:
                log.warning('bus "%s": port %s available again after %.1f s (%d failed attempts, back-off '
                            "%.0f s); polling resumes", self.bus, self.port.port, down_s, self.attempts, self.wait_s)
            self._unavailable = self._first_open = False
            await self._emit(PortEvent(bus=self.bus, port=self.port.port, state="available", ts=now,
                                       error=self.error or "", attempts=self.attempts, down_s=down_s))
        self.attempts = 0
        self.error = None

    async def _emit(self, event: PortEvent) -> None:
        if self._on_event is None:
            return
        try:
            await self._on_event(event)
        except Exception:   # a failing alert must not stop the polling
            log.exception('bus "%s": port %s event not delivered', self.bus, event.state)

    # ---- telemetry ---------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._open

    def telemetry(self) -> dict[str, Any]:
        """The scheduler's ``buses[]`` health entry with the port's state and counters."""
        entry = self.scheduler.telemetry().to_health()
        down = self._down_since
        entry.update(port=self.port.port, port_online=int(self._open), **self.counters,
                     port_offline_s=0.0 if down is None else round(max(self._clock.now() - down, 0.0), 3))
        if self.error is not None and not self._open:
            entry["port_error"] = self.error
        return entry
