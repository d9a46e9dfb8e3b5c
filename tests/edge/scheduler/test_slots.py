"""On-demand reads slotted into a bus's schedule (``edge.scheduler.slots``), in virtual time."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from edge.errors import PortError
from edge.scheduler import ReadingPlan, WallClock
from edge.scheduler.slots import ExclusiveSlots
from tests.edge.scheduler.harness import Run, meters, run_bus

Q = ("e_fwd", "u_a", "i_a", "i_n", "p", "pf", "sw3", "sw7")


def saturating_plan() -> ReadingPlan:
    return ReadingPlan(name="interval", class_name="customer", quantities=Q, interval_s=30, priority=2)


def test_on_demand_reads_wait_for_at_most_the_transaction_on_the_wire_and_never_overlap() -> None:
    waits: list[float] = []
    answers: list[Any] = []
    totals: dict[str, float] = {}

    async def technician(run: Run) -> None:
        for k in range(20):
            await run.clock.sleep(7.3 + 0.37 * k)            # lands anywhere in a transaction
            t0 = run.clock.now()
            fut = run.scheduler.slots.submit(lambda: run.reader.read("m005", ("e_fwd", "u_a")), timeout_s=10)
            answers.append(await fut)
            waits.append(run.clock.now() - t0)
        totals.update(run.scheduler.totals())

    run = run_bus(meters(40), [saturating_plan()], 400, script=technician)
    t = run.telemetry
    assert t is not None and t.rounds_overrun > 0              # the bus is saturated
    assert len(answers) == 20 and all(a.readings for a in answers)
    log = sorted(run.reader.log, key=lambda x: x.start)
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(log))     # one frame exchange at a time
    longest = max(x.end - x.start for x in log)
    own = max(x.end - x.start for x in log if x.quantities == ("e_fwd", "u_a"))
    assert max(waits) <= longest + own + 1e-6                  # the transaction in flight, then its own
    # Not counted as the bus's reads: every ok read is a scheduled one.
    scheduled_ok = sum(1 for x in log if x.answered and x.quantities != ("e_fwd", "u_a"))
    assert t.reads_ok == scheduled_ok
    assert totals["on_demand"] == 20 and totals["on_demand_busy_s"] == pytest.approx(
        sum(x.end - x.start for x in log if x.quantities == ("e_fwd", "u_a")))


def test_an_idle_bus_takes_an_on_demand_read_at_once() -> None:
    started: list[float] = []

    async def technician(run: Run) -> None:
        await run.clock.sleep(1000)                             # long after the first round, far from the next
        t0 = run.clock.now()

        async def read() -> Any:
            started.append(run.clock.now() - t0)
            return await run.reader.read("m001", ("e_fwd",))

        await run.scheduler.slots.submit(read, timeout_s=5)

    plan = ReadingPlan(name="hourly", class_name="customer", quantities=Q, interval_s=3600, priority=2)
    run_bus(meters(3), [plan], 1100, script=technician)
    assert started == [pytest.approx(0.0, abs=1e-6)]


def test_a_request_given_up_before_its_turn_is_not_sent_and_errors_reach_the_caller() -> None:
    outcome: dict[str, Any] = {}

    async def technician(run: Run) -> None:
        await run.clock.sleep(5)
        sent: list[str] = []

        async def read(tag: str) -> str:
            sent.append(tag)
            return tag

        gone = run.scheduler.slots.submit(lambda: read("gone"), timeout_s=5)
        gone.cancel()

        async def broken() -> None:
            raise ValueError("no such item")

        outcome["error"] = await asyncio.gather(run.scheduler.slots.submit(broken, timeout_s=5),
                                                return_exceptions=True)
        outcome["ok"] = await run.scheduler.slots.submit(lambda: read("kept"), timeout_s=5)
        outcome["sent"] = sent

    run = run_bus(meters(10), [saturating_plan()], 60, script=technician)
    assert outcome["sent"] == ["kept"] and outcome["ok"] == "kept"
    assert isinstance(outcome["error"][0], ValueError)
    assert run.scheduler.slots.stats.abandoned == 1 and run.scheduler.slots.stats.failed == 1
    assert run.telemetry is not None and run.telemetry.reads_ok > 0   # the bus went on


def test_a_port_failure_during_an_on_demand_read_fails_it_and_is_raised_to_the_scheduler() -> None:
    async def main() -> tuple[BaseException | None, BaseException | None]:
        slots = ExclusiveSlots(WallClock())

        async def unplugged() -> None:
            raise PortError("/dev/ttyUSB0: port failed: hang-up")

        fut = slots.submit(unplugged, timeout_s=5)
        try:
            await slots.serve()       # what BusScheduler.run() awaits between transactions
        except PortError as exc:      # ... and raises on, so that the supervisor reopens the port
            raised: BaseException | None = exc
        else:
            raised = None
        return raised, fut.exception()

    raised, caller = asyncio.run(main())
    assert isinstance(raised, PortError) and isinstance(caller, PortError)
