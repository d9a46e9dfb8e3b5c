"""Modbus full-device read: requests, bytes and wire time per shipped profile, coalesced vs naive.

Wire time is the RTU formula of edge/wiretime.py at 9600 baud 8E1 (11 bits per character), with the t3.5
silent interval after the request and after the reply and a 10 ms device turnaround per request.
The computed byte counts are checked against real reads of the simulated device over a socat pty
pair, counted by the link as they cross the port (``measured_vs_computed_bytes`` must be 1.000).
``pty_read_ms_median`` is over a bare pty, i.e. software overhead only (a pty has no baud rate);
``emulated_9600_read_ms_median`` has the simulator hold each reply for its 9600-baud wire time, so
``emulated_vs_wire_time`` (≈ 1 plus software overhead) checks the formula end to end.

Run: .venv/bin/python bench/modbus_read.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.modbus.plan import DEFAULT_MAX_GAP, Request, one_request_per_point, plan_reads
from edge.modbus.profile import load_profile, shipped_profiles
from edge.wiretime import modbus_rtu_read_time_s

BAUD = 9600
SLAVE_TIME_S = 0.01
RUNS = 21
EMULATED_RUNS = 5   # reads with the simulator holding each reply for its 9600-baud wire time


def wire(plan: list[Request]) -> dict[str, float]:
    """Requests, bytes out/in and wire time of one pass over ``plan`` on an RTU bus (8-byte requests,
    (5 + 2N)-byte replies)."""
    return {
        "requests": len(plan),
        "bytes_out": 8 * len(plan),
        "bytes_in": sum(5 + 2 * r.count for r in plan),
        "wire_ms": 1000 * sum(modbus_rtu_read_time_s(BAUD, r.count, slave_time_s=SLAVE_TIME_S) for r in plan),
    }


def figures() -> dict[str, float]:
    """Computed figures for every shipped profile (no I/O)."""
    out: dict[str, float] = {}
    for name in shipped_profiles():
        prof = load_profile(name)
        gap = prof.max_gap if prof.max_gap is not None else DEFAULT_MAX_GAP
        co, naive = wire(plan_reads(prof.points, max_gap=gap)), wire(one_request_per_point(prof.points))
        out[f"{name}.quantities"] = len(prof.points)
        out[f"{name}.max_gap"] = gap
        for k, v in co.items():
            out[f"{name}.coalesced.{k}"] = v
        for k, v in naive.items():
            out[f"{name}.per_quantity.{k}"] = v
        out[f"{name}.ratio.requests"] = naive["requests"] / co["requests"]
        out[f"{name}.ratio.bytes"] = (naive["bytes_out"] + naive["bytes_in"]) / (co["bytes_out"] + co["bytes_in"])
        out[f"{name}.ratio.wire_time"] = naive["wire_ms"] / co["wire_ms"]
    return out


async def _measure(name: str, dev_side: str, cli_side: str, wire_baud: int | None, runs: int) -> dict[str, float]:
    from edge.modbus.adapter import ModbusLink
    from edge.modbus.device import ModbusDevice
    from edge.modbus.link import LinkSettings
    from edge.sim.sources import StaticSource
    from edge.sim.ttu import SimulatedTtu

    prof = load_profile(name)
    values = {p.quantity: 1.0 for p in prof.points}
    out: dict[str, float] = {}
    tag = "pty_read_ms_median" if wire_baud is None else f"emulated_{wire_baud}_read_ms_median"
    async with SimulatedTtu(prof, StaticSource.only({"master": values}), transport="serial", port=dev_side,
                            wire_baud=wire_baud, turnaround_s=SLAVE_TIME_S):
        link = ModbusLink(LinkSettings(kind="rtu", port=cli_side, parity="N", timeout_s=2.0, retries=0))
        async with link:
            modes: tuple[tuple[str, Literal["coalesce", "per_quantity"]], ...] = (
                ("coalesced", "coalesce"), ("per_quantity", "per_quantity"))
            for mode, planning in modes:
                dev = ModbusDevice(link, prof, 1, planning=planning)
                lat = []
                for _ in range(runs):
                    b_out, b_in = link.counters.bytes_out, link.counters.bytes_in
                    t = time.perf_counter()
                    got = await dev.read()
                    lat.append(time.perf_counter() - t)
                    if not got.ok:
                        raise RuntimeError(f"{name}: {got.failures}")
                if wire_baud is None:
                    out[f"{name}.{mode}.measured_bytes"] = ((link.counters.bytes_out - b_out)
                                                            + (link.counters.bytes_in - b_in))
                out[f"{name}.{mode}.{tag}"] = 1000 * statistics.median(lat)
    return out


def measured() -> dict[str, float]:
    """Real reads of every shipped profile over a socat pty pair against the simulated device."""
    import os
    import shutil
    import subprocess

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "dev"), os.path.join(tmp, "cli")
        socat = shutil.which("socat")
        if socat is None:
            raise SystemExit("socat is required for the measured part")
        proc = subprocess.Popen([socat, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (os.path.exists(a) and os.path.exists(b)):
                time.sleep(0.01)
            for name in shipped_profiles():
                out.update(asyncio.run(_measure(name, a, b, None, RUNS)))
                out.update(asyncio.run(_measure(name, a, b, BAUD, EMULATED_RUNS)))
        finally:
            proc.terminate()
            proc.wait(5)
    return out


def main() -> None:
    print(f"# RTU {BAUD} baud 8E1, t3.5 = 3.5 chars, device turnaround {SLAVE_TIME_S * 1000:.0f} ms per request")
    comp = figures()
    for k, v in comp.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) and not float(v).is_integer() else f"{k}: {int(v)}")
    meas = measured()
    for k, v in meas.items():
        print(f"{k}: {v:.3f}" if k.endswith("median") else f"{k}: {int(v)}")
    for name in shipped_profiles():
        for mode in ("coalesced", "per_quantity"):
            computed = comp[f"{name}.{mode}.bytes_out"] + comp[f"{name}.{mode}.bytes_in"]
            print(f"{name}.{mode}.measured_vs_computed_bytes: {meas[f'{name}.{mode}.measured_bytes'] / computed:.3f}")
            emulated = meas[f"{name}.{mode}.emulated_{BAUD}_read_ms_median"]
            print(f"{name}.{mode}.emulated_vs_wire_time: {emulated / comp[f'{name}.{mode}.wire_ms']:.3f}")
        ratio = (meas[f"{name}.per_quantity.emulated_{BAUD}_read_ms_median"]
                 / meas[f"{name}.coalesced.emulated_{BAUD}_read_ms_median"])
        print(f"{name}.ratio.emulated_read_time: {ratio:.3f}")


if __name__ == "__main__":
    main()
