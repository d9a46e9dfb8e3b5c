"""``edge.timeouts.within``: a timed await that never swallows a cancellation — the engines' loop
(``while True: within(queue.get(), wait_s)``) must end when the daemon's stop cancels it, whichever loop
iteration the cancel lands in relative to the item's arrival."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from edge.timeouts import within

Waiter = Callable[[Awaitable[Any], float], Awaitable[Any]]


async def _consumer_stops(waiter: Waiter, settle: int) -> bool:
    """A consumer loop cancelled ``settle`` loop iterations after an item arrived: did it end?"""
    q: asyncio.Queue[int] = asyncio.Queue()

    async def consumer() -> None:
        while True:
            await waiter(q.get(), 10.0)

    task = asyncio.create_task(consumer())
    for _ in range(2):
        await asyncio.sleep(0)
    q.put_nowait(1)
    for _ in range(settle):
        await asyncio.sleep(0)
    task.cancel()
    for _ in range(20):
        await asyncio.sleep(0)
    stopped = task.done() and task.cancelled()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return stopped


def test_a_cancel_landing_as_the_item_arrives_ends_the_loop() -> None:
    async def go() -> tuple[list[bool], list[bool]]:
        ours = [await _consumer_stops(within, k) for k in range(6)]
        stock = [await _consumer_stops(asyncio.wait_for, k) for k in range(6)]
        return ours, stock

    ours, stock = asyncio.run(go())
    assert all(ours), ours
    if sys.version_info < (3, 12):     # the flaw the helper exists for is really there on this interpreter
        assert not all(stock), stock


def test_within_returns_the_result_and_times_out_with_timeout_error() -> None:
    async def go() -> None:
        assert await within(asyncio.sleep(0.01, result="x"), 1.0) == "x"
        assert await within(asyncio.sleep(0.01, result="y"), None) == "y"
        with pytest.raises(asyncio.TimeoutError):
            await within(asyncio.sleep(5), 0.05)
        with pytest.raises(TimeoutError):
            await within(asyncio.Event().wait(), 0.0)
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await within(fut, 0.02)
        assert fut.cancelled()          # as wait_for: the awaited future is cancelled on the timeout

    asyncio.run(go())
