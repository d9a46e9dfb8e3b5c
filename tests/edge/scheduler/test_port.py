"""Port supervision in virtual time: a port missing at start-up, failing while polled, flapping; the
back-off, the events (one per outage), the scheduler carrying on, and the health entry.

Below the channel: ``FakePort`` stands for a protocol module's port (the links over real ptys and TCP
are tested in tests/edge/dlt645/test_link.py and tests/edge/modbus/test_adapter.py, the daemon end to
end in tests/edge/service/test_ports.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from edge.errors import PortError
from edge.readings import DeviceRead
from edge.scheduler import BusScheduler, LoopClock, PortBackoff, PortEvent, PortSupervisor, VirtualTimeLoop
from edge.scheduler.fake import FakeReader
from tests.edge.scheduler.harness import EPOCH0, meters
from tests.edge.scheduler.test_bus import MASTER, customer_plan, master_plan
from wire.schemas import validate


class FakePort:
    """A port that is present or not (``present``); an open one can be broken (``break_()``)."""

    def __init__(self, clock: LoopClock, present: bool = True) -> None:
        self.clock = clock
        self.present = present
        self.is_open = False
        self.broken: str | None = None
        self.opens: list[tuple[float, bool]] = []     # (time, succeeded)

    @property
    def port(self) -> str:
        return "/dev/serial/by-id/usb-FTDI_RS485-if00-port0"

    @property
    def failed(self) -> str | None:
        return self.broken if self.is_open else None

    async def open(self) -> None:
        ok = self.present
        self.opens.append((self.clock.now(), ok))
        if not ok:
            raise PortError(f"{self.port}: cannot open at 2400 baud, 8E1: no such device")
        self.is_open, self.broken = True, None

    async def close(self) -> None:
        self.is_open = False

    def break_(self, why: str = "hang-up (end of file)") -> None:
        self.broken = why


class PortedReader(FakeReader):
    """The fake bus behind a ``FakePort``: a read on a closed or broken port is a PortError."""

    port: FakePort

    async def read(self, device, quantities):  # type: ignore[no-untyped-def]
        if not self.port.is_open or self.port.broken:
            raise PortError(f"{self.port.port}: port failed: {self.port.broken or 'not open'}")
        return await super().read(device, quantities)


@dataclass
class Sup:
    supervisor: PortSupervisor
    port: FakePort
    reader: PortedReader
    clock: LoopClock
    events: list[PortEvent] = field(default_factory=list)
    batches: list[DeviceRead] = field(default_factory=list)
    health: dict[str, object] = field(default_factory=dict)

    def read_times(self, device: str) -> list[float]:
        """When each batch (one per device and slot) with readings was read."""
        return sorted(b.readings[0].ts for b in self.batches if b.device == device and b.readings)


def supervise(seconds: float, script: Callable[[Sup], Awaitable[None]] | None = None, *, present: bool = True,
              backoff: PortBackoff | None = None, devices=None, plans=None) -> Sup:  # type: ignore[no-untyped-def]
    async def main() -> Sup:
        clock = LoopClock(EPOCH0 - asyncio.get_running_loop().time())
        reader = PortedReader(clock)
        port = reader.port = FakePort(clock, present)
        out: asyncio.Queue[DeviceRead] = asyncio.Queue()
        sched = BusScheduler(bus="rs485-1", reader=reader, devices=devices or [*MASTER, *meters(4)],
                             plans=plans or [master_plan(), customer_plan(interval_s=60)], out=out, clock=clock)
        events: list[PortEvent] = []

        async def on_event(ev: PortEvent) -> None:
            events.append(ev)

        sup = PortSupervisor(bus="rs485-1", port=port, scheduler=sched, clock=clock, on_event=on_event,
                             backoff=backoff or PortBackoff(base_s=1, max_s=8, stable_s=30))
        s = Sup(supervisor=sup, port=port, reader=reader, clock=clock, events=events)
        tasks = [asyncio.create_task(sup.run())]
        if script:
            tasks.append(asyncio.create_task(script(s)))
        await clock.sleep(seconds)
        s.health = sup.telemetry()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        while not out.empty():
            s.batches.append(out.get_nowait())
        return s

    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_port_missing_at_start_is_retried_with_capped_backoff_and_polled_within_one_cap_of_appearing():
    async def plug_in_at_100_s(s: Sup) -> None:
        await s.clock.sleep(100)
        s.port.present = True

    s = supervise(160, plug_in_at_100_s, present=False)
    tries = [t - EPOCH0 for t, _ in s.port.opens]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(tries)]
    assert gaps[:5] == [1, 2, 4, 8, 8] and max(gaps) == 8          # 1 s doubling, capped at 8 s
    assert [ok for _, ok in s.port.opens].count(True) == 1
    back = next(t for t, ok in s.port.opens if ok) - EPOCH0
    assert 100 <= back <= 108
    first_read = s.read_times("master")[0] - EPOCH0
    assert back <= first_read <= back + 3                           # the due master read goes first
    assert [(e.state, round(e.ts - EPOCH0)) for e in s.events] == [("unavailable", 0), ("available", round(back))]
    assert "no such device" in s.events[0].error and s.events[1].attempts == len(tries) - 1
    assert s.events[1].down_s == pytest.approx(back, abs=0.01)
    h = s.health
    assert h["port_online"] == 1 and h["port_open_failures"] == len(tries) - 1 and h["port_failures"] == 0
    assert len(s.read_times("m000")) == 1                            # the meter round after it came back


def test_a_port_that_fails_while_polled_is_reopened_at_once_and_no_device_is_blamed():
    async def hang_up_mid_round(s: Sup) -> None:
        await s.clock.sleep(62.0)            # inside the second customer round
        s.port.break_()

    s = supervise(130, hang_up_mid_round)
    assert [e.state for e in s.events] == ["available"]            # the start; the reopen worked at once
    opens = [t - EPOCH0 for t, ok in s.port.opens]
    assert len(opens) == 2 and 62.0 <= opens[1] <= 64.0
    h = s.health
    assert h["port_failures"] == 1 and h["port_open_failures"] == 0 and h["port_online"] == 1
    assert h["devices_backed_off"] == 0                             # a port failure is nobody's silence
    for m in ("m000", "m001", "m002", "m003"):
        assert len(s.read_times(m)) == 3                             # rounds at 0, 60 and 120 s all read
    gaps = [b - a for a, b in zip(s.read_times("master"), s.read_times("master")[1:], strict=False)]
    assert max(gaps) < 9                                            # the master kept its 5-s cadence


def test_a_port_that_fails_right_after_every_open_is_retried_less_and_less_often():
    async def keeps_failing(s: Sup) -> None:
        while True:
            await s.clock.sleep(0.05)
            if s.port.is_open:
                s.port.break_("connection closed by the converter")

    s = supervise(60, keeps_failing)
    opens = [t - EPOCH0 for t, _ in s.port.opens]
    gaps = [b - a for a, b in itertools.pairwise(opens)]
    assert gaps[:5] == pytest.approx([1, 2, 4, 8, 8], abs=0.5)     # back-off + one transaction: no storm
    assert s.health["port_failures"] in (len(opens), len(opens) - 1)
    assert [e.state for e in s.events] == ["available"]            # each open worked: no alert, counted


def test_the_health_entry_carries_the_port_state_and_validates_against_the_schema():
    async def unplug_at_10_s(s: Sup) -> None:
        await s.clock.sleep(10)
        s.port.present = False
        s.port.break_("Input/output error")

    s = supervise(40, unplug_at_10_s, devices=MASTER, plans=[master_plan()])
    h = s.health
    assert h["port_online"] == 0 and h["port_failures"] == 1 and h["port_offline_s"] == pytest.approx(30, abs=1.5)
    assert "no such device" in str(h["port_error"]) and h["port"] == s.port.port
    payload = {"schema": "meterwatch.health/2", "msg_id": "gw:1", "topic_seq": 1, "gateway": "gw", "uptime_s": 40.0,
               "ts": "2026-01-01T00:00:00Z",
               "buses": [h], "outbox": {"depth": 0, "bytes": 0, "dropped_summaries": 0, "dropped_alerts": 0}}
    assert validate(payload) == "health"
    assert [e.state for e in s.events] == ["available", "unavailable"]
    # failed 10 s after it was opened (< stable_s): the reopen waited one back-off step
    assert s.events[1].down_s == pytest.approx(1.0, abs=0.1)


def test_backoff_arguments_are_checked():
    with pytest.raises(ValueError, match="0 < base_s <= max_s"):
        PortBackoff(base_s=10, max_s=1)
    assert [PortBackoff().delay_s(n) for n in (1, 2, 7, 50)] == [1, 2, 60, 60]
