"""Bus scheduler benchmark (issue 6): how much of a 2400-baud RS-485 bus the scheduler turns into reads.

    python bench/bus.py            # over a pty against the simulated meter bus (edge.sim.meterbus)
    python bench/bus.py --fake     # FakeReader below the channel, in virtual time (provisional figures)

Figures, one per line:
- efficiency: useful reads/min on one bus with 64 meters (Td 100 ms) / the wire limit for the same reads
  (the limit is the edge.wiretime time of exactly the transactions that returned data);
- dead_meter_ratio: live meters' read rate with 10 % of the meters dead / the rate with none dead. The bus
  is saturated, so "the rate" is the aggregate readings/min of the live meters (all 64 when none are dead):
  what is lost is exactly the wire time the dead meters still cost. (``dead_meter_ratio_same_meters``
  compares the same 58 meters in both runs; it exceeds 1 because they inherit the dead meters' share.)
- master_staleness_p99_s: with the master (realtime plan every 5 s) on the same saturated bus, the 99th
  percentile age of its oldest realtime quantity, sampled every 0.25 s after its first complete read.
Goals: efficiency >= 0.95, dead_meter_ratio >= 0.95, master_staleness_p99_s <= 2 x cadence.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import math
import multiprocessing
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.readings import DeviceRead
from edge.scheduler import (
    BackoffPolicy,
    BusScheduler,
    Clock,
    DeviceReader,
    DeviceSpec,
    LinkTiming,
    LoopClock,
    ReadingPlan,
    VirtualTimeLoop,
    WallClock,
)
from edge.scheduler.capacity import transaction_wire_s

CUSTOMER_Q = ("e_fwd", "u_a", "i_a", "i_n", "p", "pf", "sw3", "sw7")
MASTER_Q = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q")
MASTER_CADENCE_S = 5.0


@dataclass
class Tally:
    """What a scenario measured, independent of fake or real reader."""

    elapsed_s: float = 0.0
    ok_wire_s: float = 0.0              # edge.wiretime time of the transactions that returned data
    ok_reads: int = 0
    readings_by_device: dict[str, int] = field(default_factory=dict)
    steady_by_device: dict[str, int] = field(default_factory=dict)   # readings after the warm-up
    master_ages: list[float] = field(default_factory=list)


class TapReader:
    """Wraps any DeviceReader and adds up the wire time of the reads that came back."""

    def __init__(self, inner: DeviceReader, timing: LinkTiming, tally: Tally) -> None:
        self._inner, self._timing, self._tally = inner, timing, tally

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        return self._inner.split(device, quantities)

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        return self._inner.estimate_s(device, quantities)

    def clock_estimate_s(self, device: str) -> float:
        return self._inner.clock_estimate_s(device)

    async def read(self, device: str, quantities: Sequence[str]) -> DeviceRead:
        dr = await self._inner.read(device, quantities)
        if dr.readings and not dr.failures:
            self._tally.ok_reads += 1
            self._tally.ok_wire_s += transaction_wire_s(self._timing, quantities)
        return dr

    async def read_clock(self, device: str) -> float:
        return await self._inner.read_clock(device)

    async def broadcast_time(self, ts: float) -> None:
        await self._inner.broadcast_time(ts)


def plans(*, with_master: bool) -> list[ReadingPlan]:
    # Customer interval of 60 s: 64 meters x 8 reads need ~160 s, so the bus is saturated throughout.
    out = [ReadingPlan(name="interval", class_name="customer", quantities=CUSTOMER_Q, interval_s=60, priority=2)]
    if with_master:
        out.append(ReadingPlan(name="realtime", class_name="master", quantities=MASTER_Q,
                               interval_s=MASTER_CADENCE_S, priority=0, deadline_s=MASTER_CADENCE_S))
    return out


def devices(n_meters: int, *, with_master: bool) -> list[DeviceSpec]:
    out = [DeviceSpec(device=f"m{i:03d}", class_name="customer") for i in range(n_meters)]
    if with_master:
        out.insert(0, DeviceSpec(device="master", class_name="master"))
    return out


async def drive(reader: DeviceReader, clock: Clock, timing: LinkTiming, *, n_meters: int, with_master: bool,
                duration_s: float, warmup_s: float = 0.0) -> Tally:
    """Run one BusScheduler for ``duration_s`` on ``clock`` and tally what came out of it."""
    tally = Tally()
    out: asyncio.Queue[DeviceRead] = asyncio.Queue(maxsize=10_000)
    sched = BusScheduler(bus="bench", reader=TapReader(reader, timing, tally), devices=devices(
        n_meters, with_master=with_master), plans=plans(with_master=with_master), out=out, clock=clock,
        backoff=BackoffPolicy())
    last_master: dict[str, float] = {}

    async def consume() -> None:
        while True:
            dr = await out.get()
            n = len(dr.readings)
            tally.readings_by_device[dr.device] = tally.readings_by_device.get(dr.device, 0) + n
            if clock.now() - t0 >= warmup_s:
                tally.steady_by_device[dr.device] = tally.steady_by_device.get(dr.device, 0) + n
            if dr.device == "master":
                for r in dr.readings:
                    last_master[r.quantity] = max(r.ts, last_master.get(r.quantity, -math.inf))

    async def sample() -> None:
        while True:
            await clock.sleep(0.25)
            if len(last_master) == len(MASTER_Q):
                tally.master_ages.append(clock.now() - min(last_master.values()))

    loop = asyncio.get_running_loop()
    t0 = clock.now()
    tasks = [loop.create_task(sched.run()), loop.create_task(consume())]
    if with_master:
        tasks.append(loop.create_task(sample()))
    await clock.sleep(duration_s)
    tally.elapsed_s = clock.now() - t0
    for t in tasks:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t
    return tally


# ---- fake reader, virtual time -----------------------------------------------------------------------

def run_fake(timing: LinkTiming, *, n_meters: int, dead: set[str], with_master: bool, duration_s: float,
             warmup_s: float) -> Tally:
    from edge.scheduler.fake import FakeReader

    async def main() -> Tally:
        clock = LoopClock(1_700_000_000.0 - asyncio.get_running_loop().time())
        reader = FakeReader(clock, timing, log_limit=0)
        reader.dead.update(dead)
        return await drive(reader, clock, timing, n_meters=n_meters, with_master=with_master, duration_s=duration_s,
                           warmup_s=warmup_s)

    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


# ---- real: DL/T 645 client over a pty against the simulated meter bus ----------------------------------

def run_real(timing: LinkTiming, *, n_meters: int, dead: set[str], with_master: bool, duration_s: float,
             warmup_s: float, client_retries: int = 1) -> Tally:
    """Dlt645Reader -> edge.dlt645 client -> socat pty -> edge.sim.meterbus (wire timing emulated there)."""
    try:
        from edge.dlt645.client import Dlt645Client
        from edge.dlt645.link import open_link
        from edge.sim.meterbus import MeterBus, SimMeter
        from edge.sim.sources import StaticSource
    except ImportError as exc:
        raise SystemExit(f"real mode needs edge.dlt645 and edge.sim.meterbus ({exc}); use --fake") from exc
    from edge.dlt645.bus import Dlt645Reader
    from tests.support.pty import pty_pair

    devs = devices(n_meters, with_master=with_master)
    addresses = {d.device: f"{i + 1:012d}" for i, d in enumerate(devs)}
    meters = [SimMeter(address=a, device=d, response_delay_s=timing.response_delay_s) for d, a in addresses.items()]
    sim = MeterBus(meters, StaticSource(silent=dead), baud=timing.baud)   # silent source = dead meter

    async def main(cli_side: str) -> Tally:
        # A pty cannot do parity E (EINVAL): both ends use N; the simulator emulates 8E1 wire time.
        async with open_link(cli_side, baud=timing.baud, parity="N") as link:
            client = Dlt645Client(link, protocol="2007", retries=client_retries, use_blocks=timing.block_reads)
            reader = Dlt645Reader(client, addresses, timing)
            return await drive(reader, WallClock(), timing, n_meters=n_meters, with_master=with_master,
                               duration_s=duration_s, warmup_s=warmup_s)

    with tempfile.TemporaryDirectory() as tmp, pty_pair(Path(tmp)) as (dev_side, cli_side), \
            sim.serving(dev_side):
        return asyncio.run(main(cli_side))


# ---- scheduler CPU cost -------------------------------------------------------------------------------

def scheduler_cpu(timing: LinkTiming, *, n_meters: int, duration_s: float) -> tuple[float, int]:
    """CPU seconds and transactions for ``duration_s`` of bus time with ``n_meters`` meters and the default
    plans (fake reader, virtual time: only the scheduler and the fake's bookkeeping cost CPU)."""
    import time

    from edge.scheduler import default_plans
    from edge.scheduler.fake import FakeReader

    async def main() -> int:
        clock = LoopClock(1_700_000_000.0 - asyncio.get_running_loop().time())
        reader = FakeReader(clock, timing, log_limit=0)
        tally = Tally()
        out: asyncio.Queue[DeviceRead] = asyncio.Queue()
        devs = [DeviceSpec(device="master", class_name="master"),
                *(DeviceSpec(device=f"m{i:04d}", class_name="customer") for i in range(n_meters))]
        sched = BusScheduler(bus="cpu", reader=TapReader(reader, timing, tally), devices=devs,
                             plans=default_plans(), out=out, clock=clock)
        task = asyncio.get_running_loop().create_task(sched.run())
        await clock.sleep(duration_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        t = sched.telemetry()
        return t.reads_ok + t.reads_failed

    loop = VirtualTimeLoop()
    t0 = time.process_time()
    try:
        n = loop.run_until_complete(main())
    finally:
        loop.close()
    return time.process_time() - t0, n


# ---- figures -----------------------------------------------------------------------------------------

def p99(xs: list[float]) -> float:
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(0.99 * len(s)) - 1)]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fake", action="store_true", help="FakeReader in virtual time instead of pty + simulator")
    ap.add_argument("--minutes", type=float, default=None, help="bus time per scenario (default 60 fake, 20 real)")
    ap.add_argument("--meters", type=int, default=64)
    ap.add_argument("--baud", type=int, default=2400)
    ap.add_argument("--td-ms", type=float, default=100.0, help="meter response delay")
    ap.add_argument("--dead-fraction", type=float, default=0.10)
    ap.add_argument("--repeat", type=int, default=1, help="repeat real runs and quote medians")
    ap.add_argument("--jobs", type=int, default=3,
                    help="real mode: run the three scenarios side by side (1 = one after the other)")
    ap.add_argument("--warmup-min", type=float, default=5.0,
                    help="dead_meter_ratio_after_warmup ignores this first part (dead-meter detection)")
    args = ap.parse_args(argv)

    timing = LinkTiming(baud=args.baud, response_delay_s=args.td_ms / 1000)
    minutes = args.minutes if args.minutes is not None else (60.0 if args.fake else 20.0)
    duration_s = minutes * 60
    warmup_s = min(args.warmup_min * 60, duration_s / 2)
    runner = run_fake if args.fake else run_real
    repeat = 1 if args.fake else max(1, args.repeat)   # virtual time is deterministic
    n_dead = max(1, round(args.dead_fraction * args.meters))
    dead = {f"m{i:03d}" for i in range(0, args.meters, max(1, args.meters // n_dead))[:n_dead]}
    live = [f"m{i:03d}" for i in range(args.meters) if f"m{i:03d}" not in dead]

    eff, ratio, same, steady, stale, rate, limit = [], [], [], [], [], [], []
    jobs = 1 if args.fake else max(1, args.jobs)
    for _ in range(repeat):
        scenarios = [(set(), False), (dead, False), (set(), True)]    # (dead meters, master on the bus)
        if jobs > 1:
            # Each scenario has its own pty pair, simulator and scheduler; the bus time is wall-clock
            # time, so running them side by side gives the same figures in a third of the time.
            ctx = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futs = [pool.submit(partial(runner, timing, n_meters=args.meters, dead=d, with_master=m,
                                            duration_s=duration_s, warmup_s=warmup_s)) for d, m in scenarios]
                base, sick, mixed = (f.result() for f in futs)
        else:
            base, sick, mixed = (runner(timing, n_meters=args.meters, dead=d, with_master=m, duration_s=duration_s,
                                        warmup_s=warmup_s) for d, m in scenarios)
        eff.append(base.ok_wire_s / base.elapsed_s)
        rate.append(60 * base.ok_reads / base.elapsed_s)
        limit.append(60 * base.ok_reads / base.ok_wire_s)
        # On a saturated bus the live meters share the whole wire: with none dead that is all meters.
        all_base = sum(base.readings_by_device.get(d, 0) for d in [*live, *dead])
        live_sick = sum(sick.readings_by_device.get(d, 0) for d in live)
        ratio.append(live_sick / all_base)
        same.append(live_sick / sum(base.readings_by_device.get(d, 0) for d in live))
        steady.append(sum(sick.steady_by_device.get(d, 0) for d in live)
                      / sum(base.steady_by_device.get(d, 0) for d in [*live, *dead]))
        stale.append(p99(mixed.master_ages))

    cpu_s, n_tx = scheduler_cpu(timing, n_meters=2000, duration_s=3600)
    mode = "fake-reader (virtual time, provisional)" if args.fake else "pty + simulated meter bus"
    print(f"mode: {mode}")
    print(f"bus: {args.baud} baud, Td {args.td_ms:g} ms, {args.meters} meters, {minutes:g} min per scenario, "
          f"{repeat} run(s), {jobs} scenario(s) at a time")
    print(f"efficiency: {statistics.median(eff):.4f}")
    print(f"reads_per_min: {statistics.median(rate):.1f}")
    print(f"wire_limit_reads_per_min: {statistics.median(limit):.1f}")
    print(f"dead_meters: {len(dead)}")
    print(f"dead_meter_ratio: {statistics.median(ratio):.4f}")
    print(f"dead_meter_ratio_same_meters: {statistics.median(same):.4f}")
    print(f"dead_meter_ratio_after_warmup: {statistics.median(steady):.4f}")
    print(f"warmup_min: {warmup_s / 60:g}")
    print(f"master_cadence_s: {MASTER_CADENCE_S:g}")
    print(f"master_staleness_p99_s: {statistics.median(stale):.3f}")
    print(f"master_staleness_p99_to_cadence: {statistics.median(stale) / MASTER_CADENCE_S:.3f}")
    # The scheduler's own CPU (fake reader, virtual time) for a 2000-meter bus with the default plans.
    print(f"scheduler_cpu_s_per_bus_hour_2000_meters: {cpu_s:.2f}")
    print(f"scheduler_cpu_ms_per_transaction: {1000 * cpu_s / max(1, n_tx):.3f}")
    print(f"scheduler_cpu_fraction_of_wire_time: {cpu_s / 3600:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
