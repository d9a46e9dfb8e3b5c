"""Benchmark: export speed of the area simulator (``meterwatch simulate --export``).

    .venv/bin/python bench/simulate_export.py [--meters 500] [--days 90] [--repeat 1]

Prints ``name: value`` lines: simulated meter-days per second, the run's wall time, readings per second,
and, measured side by side, the time to only format and write the same number of CSV rows (the I/O
floor of any exporter producing this file); ``ratio_to_write_floor`` = export time / that floor.
Goal (issue 5): 500 meters x 90 days in under 300 s on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.sim.config import parse_sim_config
from edge.sim.export import export


def _config(meters: int, seed: int) -> str:
    branches = max(4, meters // 50)
    kva = max(400, round(meters * 2.0 / 100) * 100)
    return (f"[sim]\nseed = {seed}\n[area]\ncustomers = {meters}\nbranches = {branches}\nrated_kva = {kva}\n"
            "[[scenario]]\nkind = \"bypass_partial\"\nsubject = \"M0021\"\nstart_h = 24\nend_h = 2000\n"
            "[[scenario]]\nkind = \"collection_gaps\"\nsubject = \"area\"\nstart_h = 0\nend_h = 99999\n"
            "rate = 0.01\n")


def _write_floor(rows: int, path: Path) -> float:
    """Seconds to format and write ``rows`` rows of the same shape (no simulation at all)."""
    chunk = 200_000
    vals = [230.1 + (i % 97) * 0.013 for i in range(chunk)]
    pre = [f"M{i % 500:04d},u_a," for i in range(chunk)]
    t0 = time.perf_counter()
    with open(path, "w") as out:
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            out.write("".join([f"1782864000,{p}{v}\n" for p, v in zip(pre[:n], vals[:n], strict=True)]))
            done += n
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    cfg = parse_sim_config(_config(args.meters, 1), "bench")
    times, rows = [], 0
    tmp = Path(tempfile.mkdtemp(prefix="mw-bench-"))
    try:
        for _ in range(args.repeat):
            stats = export(cfg, tmp / "out", args.days)
            times.append(stats.seconds)
            rows = stats.rows
            size = (tmp / "out" / "readings.csv").stat().st_size
            shutil.rmtree(tmp / "out")
        floor = statistics.median(_write_floor(rows, tmp / "floor.csv") for _ in range(max(1, args.repeat)))
        os.remove(tmp / "floor.csv")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t = statistics.median(times)
    print(f"meters: {args.meters}")
    print(f"days: {args.days}")
    print(f"runs: {args.repeat}")
    print(f"export_s: {t:.1f}")
    print(f"meter_days_per_s: {args.meters * args.days / t:.0f}")
    print(f"readings: {rows}")
    print(f"readings_per_s: {rows / t:.0f}")
    print(f"readings_csv_mb: {size / 1e6:.0f}")
    print(f"write_floor_s: {floor:.1f}")
    print(f"ratio_to_write_floor: {t / floor:.2f}")
    print("goal_500x90_s: 300")
    print(f"projected_500x90_s: {t * (500 * 90) / (args.meters * args.days):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
