"""``within(aw, timeout_s)``: await with a time limit, and never swallow a cancellation.

``asyncio.wait_for`` on Python 3.11 and older returns the inner result when its task is cancelled in the
same loop iteration in which the inner awaitable completes (CPython gh-86296, fixed in 3.12 by building
``wait_for`` on ``asyncio.timeout``). A loop such as the engines' ``while True: wait_for(queue.get(), 1)``
then never sees the cancel: the daemon's stop waited on it for ever (CI, 6 Dec 2026; a SIGTERM 20 ms
after start with readings pouring in). Every timed await of the daemon goes through here.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["within"]


if sys.version_info >= (3, 11):
    async def within(aw: Awaitable[T], timeout_s: float | None) -> T:
        """``await aw``, raising ``TimeoutError`` after ``timeout_s`` (None: no limit); a cancel of the
        calling task always ends it with ``CancelledError``."""
        async with asyncio.timeout(timeout_s):
            return await aw
else:  # pragma: no cover  (3.10: no asyncio.timeout; the caller's task is cancelled by a timer instead)
    async def within(aw: Awaitable[T], timeout_s: float | None) -> T:
        if timeout_s is None:
            return await aw
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = asyncio.get_running_loop().call_later(max(timeout_s, 0.0), expire)
        try:
            return await aw
        except asyncio.CancelledError:
            if expired:
                raise asyncio.TimeoutError from None
            raise
        finally:
            handle.cancel()
