"""Port faults: how soon a port that came back is polled again, against the back-off the daemon was in.

The daemon's bus path, in process: a ``PortSupervisor`` with its ``BusScheduler`` and the protocol
module's port (``edge.dlt645.bus`` / ``edge.modbus.bus``, built from a ``[[bus]]``), against simulated
devices on real channels. Each fault takes the port away for ``outage_s`` and gives it back:

- ``usb_missing_at_start``: the pty of a DL/T 645 bus does not exist when polling starts (a USB adapter
  plugged in later, a converter that boots after the gateway);
- ``usb_reenumerated``: the pty hangs up (end of file, the symlink vanishes) and comes back behind the
  same path, as a USB RS-485 adapter behind ``/dev/serial/by-id/``;
- ``converter_restart``: a serial-to-Ethernet converter (DL/T 645 over ``tcp://``) stops and listens
  again on its port;
- ``ttu_restart``: a Modbus TCP TTU stops and listens again on its port.

Per fault and outage: ``recovery_s`` = from the port being back to the first reading from it (every
device is due every ``POLL_S``); ``backoff_s`` = the supervisor's wait when the port came back (0 when
no reopen was needed: a Modbus TTU back before its next poll is simply reconnected by that poll);
``ratio`` = recovery_s / max(backoff_s, POLL_S) (goal: at most 2, two back-off periods);
``cpu_pct`` = this process's CPU time while the port was gone, per wall second (a spinning reader
shows ~100 %).
Prints ``name: value`` lines; the worst ratio at the end.

    .venv/bin/python bench/port_recovery.py [--outages 1,4,10] [--only converter_restart]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edge.config.model import BusConfig, MasterConfig, MeterConfig  # noqa: E402
from edge.dlt645 import bus as dlt645_bus  # noqa: E402
from edge.modbus import bus as modbus_bus  # noqa: E402
from edge.modbus.profile import load_profile  # noqa: E402
from edge.readings import DeviceRead  # noqa: E402
from edge.scheduler import BusScheduler, DeviceSpec, PortBackoff, PortSupervisor, ReadingPlan  # noqa: E402
from edge.sim.meterbus import MeterBus, SimMeter  # noqa: E402
from edge.sim.sources import StaticSource  # noqa: E402
from edge.sim.ttu import SimulatedTtu  # noqa: E402
from tests.support.procs import free_port  # noqa: E402
from tests.support.pty import PtyPair  # noqa: E402

FAULTS = ("usb_missing_at_start", "usb_reenumerated", "converter_restart", "ttu_restart")
POLL_S = 1.0
METER_Q = ("e_fwd", "u_a", "i_a")
MASTER_Q = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p")


@dataclass(frozen=True)
class Result:
    fault: str
    outage_s: float
    recovery_s: float
    backoff_s: float
    cpu_pct: float

    @property
    def ratio(self) -> float:
        return self.recovery_s / max(self.backoff_s, POLL_S)


class Field:
    """One bus: its simulated devices on a channel that can be taken away and given back."""

    def __init__(self, fault: str, tmp: Path) -> None:
        self.fault = fault
        self.pair = PtyPair(tmp, "usb") if fault.startswith("usb") else None
        self.tcp_port = free_port()
        source = StaticSource.only({"m1": {"e_fwd": 10.0, "u_a": 230.0, "i_a": 1.0},
                                    "master": {q: 230.0 if q.startswith("u") else 5.0 for q in MASTER_Q}})
        self.meters = MeterBus([SimMeter(address="000000000001", device="m1", response_delay_s=0.02)], source,
                               baud=9600)
        self.source = source
        self.ttu: SimulatedTtu | None = None
        self._serving: contextlib.ExitStack | None = None

    def bus_config(self) -> tuple[BusConfig, dict[str, MeterConfig | MasterConfig], str]:
        if self.fault == "ttu_restart":
            bus = BusConfig(name="ttu", port=f"tcp://127.0.0.1:{self.tcp_port}", protocol="modbus-tcp", timeout_s=0.3,
                            retries=0)
            return bus, {"master:A01": MasterConfig(bus="ttu", profile="ttu")}, "master"
        port = self.pair.client if self.pair else f"tcp://127.0.0.1:{self.tcp_port}"
        bus = BusConfig(name="rs485-1", port=port, protocol="dlt645", baud=9600, parity="N",
                        response_delay_max_s=0.1, retries=0)
        return bus, {"m1": MeterConfig(id="m1", address="1", bus="rs485-1", phase="A")}, "meter"

    async def up(self) -> None:
        if self.fault == "ttu_restart":
            self.ttu = SimulatedTtu(load_profile("ttu"), self.source, transport="tcp")
            self.ttu._server.tcp_port = self.tcp_port      # back on the same port
            await self.ttu.__aenter__()
            return
        if self.pair is not None:
            self.pair.start()
        self._serving = contextlib.ExitStack()
        self._serving.enter_context(self.meters.serving(self.pair.device if self.pair else
                                                        f"tcp://127.0.0.1:{self.tcp_port}"))

    async def down(self) -> None:
        if self.ttu is not None:
            await self.ttu.__aexit__(None, None, None)
            self.ttu = None
        if self._serving is not None:
            if self.pair is not None:
                self.pair.hang_up()
            await asyncio.to_thread(self._serving.close)
            self._serving = None


@contextlib.asynccontextmanager
async def supervised(field: Field) -> AsyncIterator[tuple[PortSupervisor, list[float]]]:
    """The bus polled as the daemon polls it; yields the supervisor and the arrival times of readings."""
    bus, devices, class_name = field.bus_config()
    build = dlt645_bus.build_port if bus.protocol == "dlt645" else modbus_bus.build_port
    port = build(bus, devices)
    plan = ReadingPlan(name="fast", class_name=class_name, quantities=METER_Q if class_name == "meter" else MASTER_Q,
                       interval_s=POLL_S, priority=0)
    out: asyncio.Queue[DeviceRead] = asyncio.Queue()
    sched = BusScheduler(bus=bus.name, reader=port.reader, out=out, plans=[plan],
                         devices=[DeviceSpec(device=d, class_name=class_name) for d in devices])
    sup = PortSupervisor(bus=bus.name, port=port, scheduler=sched, backoff=PortBackoff())
    arrivals: list[float] = []

    async def consume() -> None:
        while True:
            dr = await out.get()
            if dr.readings:
                arrivals.append(time.monotonic())

    tasks = [asyncio.create_task(sup.run()), asyncio.create_task(consume())]
    try:
        yield sup, arrivals
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _until(cond: Callable[[], bool], timeout_s: float = 150.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("the port was not polled again")
        await asyncio.sleep(0.005)


async def measure(fault: str, outage_s: float) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        field = Field(fault, Path(tmp))
        try:
            if fault != "usb_missing_at_start":
                await field.up()
            async with supervised(field) as (sup, arrivals):
                if fault != "usb_missing_at_start":
                    await _until(lambda: len(arrivals) >= 3)
                    await field.down()
                cpu0, t0 = time.process_time(), time.monotonic()
                await asyncio.sleep(outage_s)
                cpu_pct = 100.0 * (time.process_time() - cpu0) / (time.monotonic() - t0)
                n = len(arrivals)
                await field.up()
                back = time.monotonic()
                await _until(lambda: len(arrivals) > n)
                return Result(fault=fault, outage_s=outage_s, recovery_s=arrivals[n] - back, backoff_s=sup.wait_s,
                              cpu_pct=cpu_pct)
        finally:
            await field.down()


def run(faults: tuple[str, ...], outages: tuple[float, ...]) -> list[Result]:
    return [asyncio.run(measure(f, d)) for f in faults for d in outages]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--outages", default="1,4,10", help="seconds each port stays away (default 1,4,10)")
    p.add_argument("--only", choices=FAULTS, action="append", help="run only this fault (repeatable)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    outages = tuple(float(x) for x in args.outages.split(","))
    results = run(tuple(args.only or FAULTS), outages)
    for r in results:
        print(f"{r.fault}_outage_{r.outage_s:g}s: recovery_s {r.recovery_s:.3f}  backoff_s {r.backoff_s:g}  "
              f"ratio {r.ratio:.2f}  cpu_pct {r.cpu_pct:.1f}")
    print(f"worst_ratio_to_backoff: {max(r.ratio for r in results):.2f}   (goal <= 2)")
    print(f"worst_recovery_s: {max(r.recovery_s for r in results):.3f}")
    print(f"max_cpu_pct_while_port_gone: {max(r.cpu_pct for r in results):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
