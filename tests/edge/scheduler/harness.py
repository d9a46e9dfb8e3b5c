"""Run a BusScheduler against the FakeReader in virtual time (an hour of bus traffic in well under a second)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from edge.readings import DeviceRead
from edge.scheduler import (
    BackoffPolicy,
    BusScheduler,
    BusTelemetry,
    ClockPolicy,
    DeviceSpec,
    LinkTiming,
    LoopClock,
    ReadingPlan,
    VirtualTimeLoop,
)
from edge.scheduler.fake import FakeReader

EPOCH0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z, mid-slot on purpose


@dataclass
class Run:
    scheduler: BusScheduler
    reader: FakeReader
    clock: LoopClock
    out: asyncio.Queue[DeviceRead]
    batches: list[DeviceRead] = field(default_factory=list)
    telemetry: BusTelemetry | None = None

    def readings_of(self, device: str, quantity: str | None = None) -> list[float]:
        return [r.ts for b in self.batches if b.device == device for r in b.readings
                if quantity is None or r.quantity == quantity]


def meters(n: int, class_name: str = "customer", prefix: str = "m") -> list[DeviceSpec]:
    return [DeviceSpec(device=f"{prefix}{i:03d}", class_name=class_name) for i in range(n)]


def run_bus(devices: Sequence[DeviceSpec], plans: Sequence[ReadingPlan], seconds: float, *,
            timing: LinkTiming | None = None, backoff: BackoffPolicy | None = None,
            clock_policy: ClockPolicy | None = None, queue_size: int = 0, drain: bool = True,
            setup: Callable[[FakeReader], None] | None = None,
            script: Callable[[Run], Awaitable[None]] | None = None, epoch0: float = EPOCH0,
            reader_cls: type[FakeReader] = FakeReader, clock_cls: type[LoopClock] = LoopClock) -> Run:
    """Run the scheduler for ``seconds`` of virtual time; ``script`` runs alongside (e.g. revive a meter)."""

    async def main() -> Run:
        clock = clock_cls(epoch0 - asyncio.get_running_loop().time())
        reader = reader_cls(clock, timing)
        if setup:
            setup(reader)
        out: asyncio.Queue[DeviceRead] = asyncio.Queue(maxsize=queue_size)
        sched = BusScheduler(bus="rs485-1", reader=reader, devices=devices, plans=plans, out=out, clock=clock,
                             backoff=backoff, clock_policy=clock_policy)
        run = Run(scheduler=sched, reader=reader, clock=clock, out=out)
        loop = asyncio.get_running_loop()
        task = loop.create_task(sched.run())

        async def consume() -> None:
            while True:
                run.batches.append(await out.get())

        consumer = loop.create_task(consume()) if drain else None
        extra = loop.create_task(script(run)) if script else None
        await clock.sleep(seconds)
        run.telemetry = sched.telemetry()
        for t in (task, consumer, extra):
            if t is not None:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
        while not out.empty():
            run.batches.append(out.get_nowait())
        return run

    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class SteppingClock(LoopClock):
    """A LoopClock whose wall time can be stepped like NTP does at boot."""

    def __init__(self, epoch0: float) -> None:
        super().__init__(epoch0)
        self.step_s = 0.0

    def now(self) -> float:
        return super().now() + self.step_s
