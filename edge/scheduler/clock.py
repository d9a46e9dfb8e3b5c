"""Time for the scheduler: the wall clock in service, a virtual clock for tests and fake benches.

The scheduler only calls ``clock.now()`` (epoch seconds UTC, used for slots and timestamps) and
``await clock.sleep(s)``. ``LoopClock`` derives both from the running event loop, so under
``VirtualTimeLoop`` every sleep completes at once in real time while virtual time advances exactly:
an hour of bus traffic runs in well under a second and every run gives the same numbers.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any, Protocol

__all__ = ["Clock", "LoopClock", "VirtualTimeLoop", "WallClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        ...


class WallClock:
    """The gateway's clock (the one the daemon uses)."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class LoopClock:
    """Epoch time = ``epoch0`` + the running loop's monotonic time (virtual under VirtualTimeLoop)."""

    def __init__(self, epoch0: float) -> None:
        self._epoch0 = epoch0

    def now(self) -> float:
        return self._epoch0 + asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class _JumpingSelector:
    """Wraps the loop's selector: never blocks; instead of waiting, advances the loop's virtual time."""

    def __init__(self, inner: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._inner = inner
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._inner.select(0)
        if not events and timeout is not None and timeout > 0:
            self._loop.advance(timeout)
        elif not events and timeout is None:
            # Nothing scheduled: only real I/O can wake us. Wait for it for real.
            events = self._inner.select(None)
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual and jumps to the next timer when nothing is ready.

    Below-the-channel testing only (fake readers, no sockets that need real waiting).
    """

    def __init__(self) -> None:
        super().__init__()
        self._vtime = 0.0
        self._selector = _JumpingSelector(self._selector, self)  # type: ignore[has-type,arg-type]

    def time(self) -> float:
        return self._vtime

    def advance(self, seconds: float) -> None:
        self._vtime += seconds
