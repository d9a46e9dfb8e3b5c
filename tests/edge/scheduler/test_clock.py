"""The virtual-time loop: sleeps finish at once in real time, virtual time advances exactly."""

from __future__ import annotations

import asyncio
import time

from edge.scheduler import LoopClock, VirtualTimeLoop


def test_an_hour_of_sleeps_runs_in_virtual_time():
    async def main() -> list[float]:
        clock = LoopClock(1_000.0 - asyncio.get_running_loop().time())
        seen = []
        for _ in range(3600):
            await clock.sleep(1.0)
            seen.append(clock.now())
        return seen

    loop = VirtualTimeLoop()
    t0 = time.monotonic()
    try:
        seen = loop.run_until_complete(main())
    finally:
        loop.close()
    assert time.monotonic() - t0 < 5.0
    assert seen[0] == 1_001.0 and seen[-1] == 4_600.0


def test_concurrent_sleepers_wake_in_virtual_time_order():
    async def main() -> list[str]:
        order: list[str] = []

        async def sleeper(name: str, s: float) -> None:
            await asyncio.sleep(s)
            order.append(name)

        await asyncio.gather(sleeper("late", 30), sleeper("early", 0.5), sleeper("mid", 7))
        return order

    loop = VirtualTimeLoop()
    try:
        assert loop.run_until_complete(main()) == ["early", "mid", "late"]
        assert loop.time() == 30
    finally:
        loop.close()
