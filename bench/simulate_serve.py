"""Benchmark: serve mode at high clock speed, across simulated midnights (``meterwatch simulate``).

    .venv/bin/python bench/simulate_serve.py [--meters 200] [--speed 20000] [--seconds 12] [--repeat 1]

Serves an area (meter buses and the TTU on loopback TCP, the TTU as RTU over TCP with its 9600-baud
wire time emulated) and polls the TTU back to back with the real Modbus reader (``p``, ``e_fwd``:
one request) while the clock runs ``speed`` times the wall clock, so several simulated days pass.
Prints ``name: value`` lines, with the next-day look-ahead on and, side by side, off:
reads ok / failed, median and slowest read, simulated days, and ``read_ratio_to_wire`` = median read
time / the RTU wire time of that request (the physical limit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import edge.sim.serve as serve_mod
from edge.modbus.adapter import ModbusLink
from edge.modbus.device import ModbusDevice
from edge.modbus.link import LinkSettings
from edge.modbus.profile import load_profile
from edge.sim.config import parse_sim_config
from edge.wiretime import modbus_rtu_read_time_s


def _config(meters: int) -> str:
    return (f"[sim]\nseed = 3\n[area]\ncustomers = {meters}\nbranches = {max(2, meters // 50)}\n"
            f"rated_kva = {max(100, round(meters * 2.0 / 100) * 100)}\n")


async def _poll(port: int, seconds: float) -> dict[str, Any]:
    link = ModbusLink(LinkSettings(kind="rtu-tcp", port="127.0.0.1", tcp_port=port, timeout_s=0.5, retries=0))
    times: list[float] = []
    ok = failed = 0
    async with link:
        dev = ModbusDevice(link, load_profile("ttu"), 1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.monotonic()
            got = await dev.read(["p", "e_fwd"])
            if got.ok:
                ok += 1
                times.append(time.monotonic() - t)
            else:
                failed += 1
            await asyncio.sleep(0.05)
    return {"ok": ok, "failed": failed, "times": times}


def run_once(meters: int, speed: float, seconds: float, lookahead: bool) -> dict[str, Any]:
    cfg = parse_sim_config(_config(meters))
    original = serve_mod._prefetching
    if not lookahead:
        serve_mod._prefetching = lambda *a, **k: contextlib.nullcontext()  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp, serve_mod.serve_area(cfg, speed=speed, tcp=True,
                                                                         out_dir=tmp) as served:
            t0 = served.clock.now()
            res = _poll_sync(int(served.ttu.port.rsplit(":", 1)[1]), seconds)
            res["sim_days"] = (served.clock.now() - t0) / 86400.0
            return res
    finally:
        serve_mod._prefetching = original


def _poll_sync(port: int, seconds: float) -> dict[str, Any]:
    return asyncio.run(_poll(port, seconds))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meters", type=int, default=200)
    ap.add_argument("--speed", type=float, default=20000.0)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    wire_s = modbus_rtu_read_time_s(9600, 4, slave_time_s=0.01)    # p + e_fwd: 4 registers in one request
    print(f"meters: {args.meters}")
    print(f"speed: {args.speed:g}")
    print(f"wire_time_ms: {wire_s * 1000:.1f}")
    for label, lookahead in (("lookahead", True), ("no_lookahead", False)):
        runs = [run_once(args.meters, args.speed, args.seconds, lookahead) for _ in range(args.repeat)]
        med = statistics.median
        print(f"{label}_sim_days: {med(r['sim_days'] for r in runs):.2f}")
        print(f"{label}_reads_ok: {med(r['ok'] for r in runs):g}")
        print(f"{label}_reads_failed: {med(r['failed'] for r in runs):g}")
        times = [t for r in runs for t in r["times"]]
        if times:
            print(f"{label}_read_ms_median: {med(times) * 1000:.1f}")
            print(f"{label}_read_ms_max: {max(times) * 1000:.1f}")
            print(f"{label}_read_ratio_to_wire: {med(times) / wire_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
