"""On-demand transactions slotted into a bus's schedule (``meterwatch read`` through the daemon).

A technician's read on a port the daemon owns must not fight the daemon for the wire. Instead it is
handed to the port's ``BusScheduler`` as a callable (``submit``), which runs it *between* two of its own
transactions, before the next scheduled one: it waits at most for the transaction in flight, and no two
frames ever share the wire. An idle scheduler is woken at once (``idle`` is an interruptible sleep).

What it costs the schedule is its own wire time, counted as busy time; it is not counted as one of the
bus's reads (``reads_ok``/``reads_failed``) and never touches a device's back-off: the daemon's read
success is the daemon's. A request whose caller gave up (its future cancelled) before its turn is not
sent. A ``PortError`` fails the request and is raised to the scheduler (the port is gone for everyone).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from edge.errors import PortError
from edge.scheduler.clock import Clock
from edge.timeouts import within

__all__ = ["ExclusiveSlots", "SlotStats"]


@dataclass(slots=True)
class SlotStats:
    served: int = 0            # requests that ran on the wire
    failed: int = 0            # of those, how many raised
    abandoned: int = 0         # caller gave up before its turn: not sent
    busy_s: float = 0.0        # wire time they took
    max_wait_s: float = 0.0    # longest wait from submit to start


@dataclass(slots=True, eq=False)
class _Request:
    run: Callable[[], Awaitable[Any]]
    timeout_s: float
    future: asyncio.Future[Any]
    submitted: float


class ExclusiveSlots:
    """The queue of on-demand transactions of one bus scheduler."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queue: collections.deque[_Request] = collections.deque()
        self._wake = asyncio.Event()
        self.stats = SlotStats()

    def __bool__(self) -> bool:
        return bool(self._queue)

    def submit(self, run: Callable[[], Awaitable[Any]], *, timeout_s: float) -> asyncio.Future[Any]:
        """Queue ``run()`` for the next gap between transactions; the future has its result."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Request(run=run, timeout_s=timeout_s, future=fut, submitted=self._clock.now()))
        self._wake.set()
        return fut

    async def idle(self, seconds: float) -> None:
        """Sleep ``seconds`` on the scheduler's clock, or until a request is submitted."""
        if self._queue:
            return
        self._wake.clear()
        sleep = asyncio.ensure_future(self._clock.sleep(seconds))
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleep, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleep, wake):
                if not t.done():
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    async def serve(self) -> float:
        """Run every queued request, one at a time; returns the wire time they took."""
        busy = 0.0
        while self._queue:
            req = self._queue.popleft()
            if req.future.done():          # the caller gave up (cancelled) before its turn
                self.stats.abandoned += 1
                continue
            t0 = self._clock.now()
            self.stats.max_wait_s = max(self.stats.max_wait_s, t0 - req.submitted)
            try:
                result = await within(req.run(), req.timeout_s)
            except PortError as exc:
                self._settle(req, t0, exc=exc)
                raise
            except Exception as exc:       # the caller's error to read, not the bus's
                self._settle(req, t0, exc=exc)
            else:
                self._settle(req, t0, result=result)
            busy += self._clock.now() - t0
        return busy

    def _settle(self, req: _Request, t0: float, *, result: Any = None, exc: BaseException | None = None) -> None:
        self.stats.served += 1
        self.stats.busy_s += self._clock.now() - t0
        if exc is not None:
            self.stats.failed += 1
        if req.future.done():
            return
        if exc is not None:
            req.future.set_exception(exc)
        else:
            req.future.set_result(result)
