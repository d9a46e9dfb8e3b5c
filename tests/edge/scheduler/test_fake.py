"""The below-the-channel FakeReader: it must cost exactly the computed wire time, or tests prove nothing."""

from __future__ import annotations

import asyncio

import pytest

from edge.errors import TransportError
from edge.scheduler import LinkTiming, LoopClock, VirtualTimeLoop
from edge.scheduler.capacity import transaction_wire_s
from edge.scheduler.fake import FakeReader
from edge.wiretime import dlt645_frame_bytes, dlt645_reply_deadline_s


def _run(coro_fn):  # type: ignore[no-untyped-def]
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro_fn())
    finally:
        loop.close()


def test_a_read_takes_the_wire_time_and_stamps_reply_arrival():
    async def main():  # type: ignore[no-untyped-def]
        clock = LoopClock(1_000_000.0)
        reader = FakeReader(clock)
        t0 = clock.now()
        dr = await reader.read("m1", ("e_fwd",))
        return t0, clock.now(), dr

    t0, t1, dr = _run(main)
    assert t1 - t0 == pytest.approx(transaction_wire_s(LinkTiming(), ["e_fwd"]))
    assert dr.ok and dr.readings[0].ts == t1


def test_a_dead_meter_costs_the_no_reply_deadline_and_raises():
    async def main():  # type: ignore[no-untyped-def]
        clock = LoopClock(0.0)
        reader = FakeReader(clock)
        reader.dead.add("m1")
        t0 = clock.now()
        with pytest.raises(TransportError, match="no reply"):
            await reader.read("m1", ("e_fwd",))
        return clock.now() - t0

    deadline_s = dlt645_reply_deadline_s(2400, dlt645_frame_bytes(4), 4 + 4)   # the client's wait for e_fwd
    assert _run(main) == pytest.approx(deadline_s + LinkTiming().gap_s)


def test_two_transactions_at_once_are_refused_like_a_half_duplex_bus():
    async def main():  # type: ignore[no-untyped-def]
        reader = FakeReader(LoopClock(0.0))
        await asyncio.gather(reader.read("m1", ("u_a",)), reader.read("m2", ("u_a",)))

    with pytest.raises(RuntimeError, match="two transactions at once"):
        _run(main)


def test_frozen_daily_energy_carries_the_freeze_time():
    async def main():  # type: ignore[no-untyped-def]
        return await FakeReader(LoopClock(86_400.0 * 3 + 5_000)).read("m1", ("e_fwd_daily",))

    assert _run(main).readings[0].ts == 86_400.0 * 3
