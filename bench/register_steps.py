"""Coarse registers read between their steps: the interval sales and per-phase NTL of simulated clean areas
against the simulator's truth, with the registers' energy alone and with ``detect.stages.loss._between_steps``
(a CT meter's register, 0.01 kWh on its secondary, counts in 0.5 kWh at ratio 50; its power says where the
true count lies between two counts), side by side in one run.

    .venv/bin/python bench/register_steps.py [--set fresh17] [--areas 3] [--days 3]

The areas are the clean twins of a theft seed set (``bench/_sim_cases.theft_area``: 41–80 customers, one to
three three-phase CT customers at ratio 50, 0.5 % collection gaps). A clean area's true NTL is 0, so every
kWh of its per-phase NTL is error; the area's true sales per interval are the simulator's ``balance.csv``.
Prints one ``name: value`` per line: per area and method the standard deviation of the interval sales error
and of the per-phase NTL, per interval and per hour (kWh), and over the areas the median ratio refined /
registers alone (below 1: less noise).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import detect.stages.loss as loss_stage  # noqa: E402
from bench._sim_cases import THEFT_SEED_SETS, theft_area  # noqa: E402


def _replay_intervals(d: Path) -> dict[float, dict[str, Any]]:
    """Interval start → the interval summary's line-loss fields, replaying export ``d``."""
    from edge.areafile import load_area_file
    from edge.replayer import replay

    area, prm = load_area_file(d / "area.toml")
    prm = dataclasses.replace(prm, utc_offset_s=0)
    out: dict[float, dict[str, Any]] = {}

    def on(_t: str, p: dict[str, Any]) -> None:
        if str(p.get("schema", "")).removeprefix("meterwatch.").startswith("interval"):
            f = p.get("fields", p)
            start = datetime.fromisoformat(str(f["interval_start"]).replace("Z", "+00:00"))
            out[start.timestamp()] = f

    replay(area, prm, d / "readings.csv", None, on_message=on)
    return out


def _errors(d: Path, refine: bool) -> dict[str, float]:
    """The sd of the interval (net) sales error and of the per-phase NTL (per interval and per hour) of ``d``."""
    saved = loss_stage.STEP_REFINE_KWH
    loss_stage.STEP_REFINE_KWH = saved if refine else float("inf")
    try:
        got = _replay_intervals(d)
    finally:
        loss_stage.STEP_REFINE_KWH = saved
    bal = np.genfromtxt(d / "balance.csv", delimiter=",", names=True)
    t0 = bal["ts_start"]
    # the area's loss is its supply less its net sales (a PV customer's export counts as supply): its error is
    # the net sales' error, the supply being the master's fine register
    loss = np.array([_num(got.get(float(t), {}).get("loss_kwh")) for t in t0])
    ntl = np.array([[_num(x) for x in (got.get(float(t), {}).get("ntl_phase_kwh") or [None] * 3)] for t in t0])
    err = loss - (bal["supply_kwh"] - bal["sales_kwh"])
    n = len(t0) // 4 * 4
    hour_err = err[:n].reshape(-1, 4).sum(axis=1)
    hour_ntl = ntl[:n].reshape(-1, 4, 3).sum(axis=1)
    return {"sales_sd_kwh": _sd(err), "sales_hour_sd_kwh": _sd(hour_err),
            "ntl_phase_sd_kwh": _sd(ntl.ravel()), "ntl_phase_hour_sd_kwh": _sd(hour_ntl.ravel())}


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _sd(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.std()) if len(x) > 1 else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="fresh17", choices=sorted(THEFT_SEED_SETS), help="theft seed set (clean twins)")
    ap.add_argument("--areas", type=int, default=3, help="how many of its areas (default 3)")
    ap.add_argument("--days", type=int, default=3, help="days per area (default 3)")
    args = ap.parse_args(argv)
    from edge.sim.config import parse_sim_config
    from edge.sim.export import export

    ratios: dict[str, list[float]] = {}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mw-steps-") as tmp:
        for j, seed in enumerate(THEFT_SEED_SETS[args.set][:args.areas]):
            case = theft_area(seed, j, clean_days=args.days).clean
            d = Path(tmp) / case.name
            export(parse_sim_config(case.toml), d, args.days)
            ct = [line.split(",")[7] for line in (d / "meters.csv").read_text().splitlines()[1:]]
            print(f"area_{seed}_ct_meters: {sum(float(c) >= 10 for c in ct)}", flush=True)
            plain, refined = _errors(d, refine=False), _errors(d, refine=True)
            for name in plain:
                print(f"area_{seed}_{name}_registers: {plain[name]:.4f}")
                print(f"area_{seed}_{name}_refined: {refined[name]:.4f}", flush=True)
                ratios.setdefault(name, []).append(refined[name] / plain[name])
    for name, r in ratios.items():
        print(f"{name}_ratio_refined_to_registers_median: {statistics.median(r):.3f}")
    print(f"total_s: {time.perf_counter() - t_start:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
