"""What the plausibility checks cost per reading, next to what detection costs for the same readings.

    .venv/bin/python bench/plausibility.py [--meters 2000] [--repeat 5]

An area of ``--meters`` meters (a third three-phase, a tenth behind CTs) and its master. Two shapes:
- live: what the daemon feeds per engine step — one meter's read (13 quantities) per call, for every
  meter, then the master's poll (12 quantities) — ``plausibility_live_ns_per_reading``;
- batch: what replay feeds — one 15-minute window in one call: every meter's read and the master
  polled every 5 s — ``plausibility_batch_ns_per_reading``; and the same with 1 % of the values
  broken (spikes, registers backwards, absurd currents), which sends those registers and devices
  through the sequential rules — ``plausibility_batch_faulty_ns_per_reading``.
The peer: ``engine_ns_per_reading``, the engine's ingest + advance over the same window, and
``plausibility_batch_share_of_engine`` = batch cost / engine cost. Medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detect import Engine, ReadingBatch
from detect.area import KIND_SINGLE, KIND_THREE, PHASE_ABC, Area
from detect.params import Params
from detect.quantities import QUANTITY_CODE
from edge.plausibility import Limits, Plausibility

METER_Q = ("e_fwd", "e_rev", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "pf", "sw3", "sw7")
MASTER_Q = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "e_fwd", "e_rev")
WINDOW_S = 900.0


def make_area(n: int) -> Area:
    three = np.arange(n) % 3 == 0
    return Area(id="B", rated_kva=400.0, meter_ids=tuple(f"m{i}" for i in range(n)),
                meter_phase=np.where(three, PHASE_ABC, np.arange(n) % 3).astype(np.int8),
                meter_branch=np.zeros(n, np.int32), meter_kind=np.where(three, KIND_THREE, KIND_SINGLE).astype(np.int8),
                meter_pv=np.zeros(n, np.bool_), meter_ct_ratio=np.where(np.arange(n) % 10 == 0, 50.0, 1.0))


def window(area: Area, k: int, rng: np.random.Generator, faulty: float = 0.0) -> ReadingBatch:
    """Window ``k``: one read per meter, a master poll every 5 s; ``faulty`` share of values broken."""
    n = area.n_meters
    t0 = k * WINDOW_S + 1_767_225_600.0
    typical = {"e_fwd": 1000.0, "e_rev": 0.0, "u_a": 230.0, "u_b": 230.0, "u_c": 230.0, "i_a": 4.0,
               "i_b": 4.0, "i_c": 4.0, "i_n": 1.0, "p": 0.9, "pf": 0.95, "sw3": 0.0, "sw7": 0.0, "q": 30.0}
    dev, qty, val, ts = [], [], [], []
    at = t0 + rng.uniform(0, WINDOW_S - 30, n)           # when each meter's read starts in this window
    for j, q in enumerate(METER_Q):
        dev.append(np.arange(n))
        qty.append(np.full(n, QUANTITY_CODE[q]))
        if q == "e_fwd":                                   # 0.3 kW since the epoch of the bench
            val.append(typical[q] + 0.3 * (at - 1_767_225_600.0) / 3600.0)
        else:
            val.append(np.full(n, typical[q]) * rng.uniform(0.98, 1.0, n))
        ts.append(at + j * 0.1)
    polls = np.arange(0, WINDOW_S, 5.0) + t0
    for q in MASTER_Q:
        dev.append(np.full(len(polls), n))
        qty.append(np.full(len(polls), QUANTITY_CODE[q]))
        v = typical[q] * (100.0 if q.startswith("i_") else 300.0 if q == "p" else 1.0)
        val.append(np.full(len(polls), v if q != "e_fwd" else 5e5 + 0.5 * k * 180 + np.arange(len(polls)) * 0.5))
        ts.append(polls)
    d, q_, v_, t_ = (np.concatenate(x) for x in (dev, qty, val, ts))
    if faulty:
        bad = rng.random(len(v_)) < faulty
        v_ = np.where(bad, v_ * rng.choice([1e4, -1.0, 0.0], len(v_)), v_)
    order = np.argsort(t_, kind="stable")
    return ReadingBatch.from_columns(d[order], q_[order], v_[order], t_[order])


def per_call(p: Plausibility, b: ReadingBatch) -> float:
    """Seconds to check ``b`` one device read at a time (the daemon's shape)."""
    groups: list[npt.NDArray[np.intp]] = np.split(np.argsort(b.device, kind="stable"),
                                                  np.flatnonzero(np.diff(np.sort(b.device, kind="stable"))) + 1)
    t = time.perf_counter()
    for g in groups:
        for s in range(0, len(g), 13):
            idx = g[s:s + 13]
            p.check(b.device[idx], b.quantity[idx], b.value[idx], b.ts[idx])
    return time.perf_counter() - t


def run(meters: int, windows: int) -> dict[str, float]:
    area = make_area(meters)
    rng = np.random.default_rng(3)
    batches = [window(area, k, rng) for k in range(windows)]
    faulty = [window(area, k, rng, faulty=0.01) for k in range(windows)]
    n = sum(len(b) for b in batches)
    out: dict[str, float] = {"readings_per_window": n / windows}
    p = Plausibility(area, Limits.build(area))
    out["plausibility_live_ns_per_reading"] = sum(per_call(p, b) for b in batches) / n * 1e9
    for name, data in (("batch", batches), ("batch_faulty", faulty)):
        p = Plausibility(area, Limits.build(area))
        t = time.perf_counter()
        kept = sum(int(p.check(b.device, b.quantity, b.value, b.ts).sum()) for b in data)
        out[f"plausibility_{name}_ns_per_reading"] = (time.perf_counter() - t) / n * 1e9
        out[f"plausibility_{name}_rejected_share"] = 1 - kept / n
    eng = Engine(area, Params())
    t = time.perf_counter()
    for k, b in enumerate(batches):
        eng.ingest(b)
        eng.advance(1_767_225_600.0 + (k + 1) * WINDOW_S)
    out["engine_ns_per_reading"] = (time.perf_counter() - t) / n * 1e9
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--windows", type=int, default=8, help="15-minute windows per run")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    quiet = logging.getLogger("edge.plausibility")   # the first rejection per device is logged: not timed here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        run(min(args.meters, 50), 2)                 # warm: numba kernels of the engine, numpy paths
        runs = [run(args.meters, args.windows) for _ in range(args.repeat)]
    finally:
        quiet.setLevel(level)
    print(f"# {args.meters} meters + master, {args.windows} windows of 15 min per run, medians of {args.repeat}")
    for key in runs[0]:
        value = statistics.median(r[key] for r in runs)
        print(f"{key}: {value:.4f}" if "share" in key else f"{key}: {value:.0f}")
    share = statistics.median(r["plausibility_batch_ns_per_reading"] / r["engine_ns_per_reading"] for r in runs)
    print(f"plausibility_batch_share_of_engine: {share:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
