"""Theft evaluation of issue 19 (``bench/detection_eval.py --parts theft``): seeded simulated areas with
thieves (``bench._sim_cases.theft_area``) → export → replay (``edge.replayer``, the code of ``meterwatch
replay``) → graded on the alerts and daily summaries a subscriber receives, against the simulator's truth.

Per thief (a truth record): its size (stolen kWh / true supply over the theft, %), the delay until an area
alarm pointing at non-technical loss (``THEFT_AREA_KINDS``) was on, the delay until it was in a daily
summary's top 3 suspects, and on how many of the days after the first two of its theft it stayed there.
Per area: the innocents its suspect lists named (distinct meters, any rank) and the days an innocent was
ranked first. Per seed: the same area without its thieves for ``CLEAN_DAYS``: area alarms raised and
innocents listed (goal 0 and 0).

Seeds: ``THEFT_SEED_SETS["tuning"]`` for tuning, the held-out set ``THEFT_SEEDS_COUNTING`` for the figures
that count (``bench._sim_cases``); the run prints which it used. Days 0–1 of every area are the technical-loss model's warm-up: a theft present from day 0 is judged
from the start all the same.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from bench._detection_rates import grade_theft_run, supply_between
from bench._sim_cases import CLEAN_DAYS, THEFT_DAYS, Case, TheftArea, theft_area

SIZE_CLASSES = ((0.0, 0.4, "≈0.3 %"), (0.4, 0.75, "≈0.5 %"), (0.75, 1.5, "≈1 %"), (1.5, 3.0, "≈2 %"),
                (3.0, math.inf, "≥3 %"))
GOALS = {"alarm_2d_ge05": 90.0, "alarm_2d_03": 50.0, "top3_2d_areas": 80.0, "kept": 95.0,
         "innocents_per_found": 1.0}


@dataclasses.dataclass
class AreaResult:
    area: TheftArea
    theft: dict[str, Any]
    clean: dict[str, Any]
    seconds: float


def replay_dir(d: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(alerts, daily summaries) that ``meterwatch replay`` publishes for export ``d`` (UTC days, as the
    simulator's load shapes and freezes)."""
    from edge.areafile import load_area_file
    from edge.replayer import replay

    area, prm = load_area_file(d / "area.toml")
    prm = dataclasses.replace(prm, utc_offset_s=0)
    alerts: list[dict[str, Any]] = []
    daily: list[dict[str, Any]] = []

    def on(_t: str, p: dict[str, Any]) -> None:
        kind = p["schema"].removeprefix("meterwatch.").split("/")[0]      # any wire version
        if kind == "alert":
            alerts.append(p)
        elif kind == "daily":
            daily.append(p)

    replay(area, prm, d / "readings.csv", None, on_message=on)
    return alerts, daily


def exported(case: Case, root: Path, reuse: bool) -> Path:
    """Export ``case`` under ``root`` (kept when ``reuse`` and the same sim.toml is already there)."""
    from edge.sim.config import parse_sim_config
    from edge.sim.export import export

    d = root / case.name
    if reuse and (d / "sim.toml").is_file() and (d / "sim.toml").read_text() == case.toml \
            and (d / "truth.jsonl").is_file():
        return d
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    export(parse_sim_config(case.toml, str(d / "sim.toml")), d, case.days)
    (d / "sim.toml").write_text(case.toml, encoding="utf-8")
    return d


def grade_dir(d: Path, days: int) -> dict[str, Any]:
    alerts, daily = replay_dir(d)
    truth = [json.loads(x) for x in (d / "truth.jsonl").read_text().splitlines() if x.strip()]
    t0 = _start(d)
    return grade_theft_run(alerts, daily, truth, supply_between(d / "balance.csv"), t0, t0 + days * 86400.0)


def _start(d: Path) -> float:
    from bench._detection_rates import utc_ts

    return utc_ts(json.loads((d / "export.json").read_text())["start"])


def _one_area(seed: int, j: int, root: Path, reuse: bool, days: int, clean_days: int) -> AreaResult:
    t0 = time.perf_counter()
    area = theft_area(seed, j, days=days, clean_days=clean_days)
    theft = grade_dir(exported(area.case, root, reuse), area.case.days)
    clean = grade_dir(exported(area.clean, root, reuse), area.clean.days) if clean_days else {}
    return AreaResult(area=area, theft=theft, clean=clean, seconds=time.perf_counter() - t0)


def run_areas(seeds: Sequence[int], root: Path, *, reuse: bool = False, days: int = THEFT_DAYS,
              clean_days: int = CLEAN_DAYS, log: Callable[[str], None] | None = None,
              jobs: int = 1) -> list[AreaResult]:
    """Every area of ``seeds`` (the ``j``-th seed is the ``j``-th area of the list), in ``jobs`` processes;
    each area's line is logged as it ends, the results come back in the order of ``seeds``."""
    args = [(seed, j, root, reuse, days, clean_days) for j, seed in enumerate(seeds)]
    if jobs <= 1:
        out = []
        for a in args:
            out.append(_one_area(*a))
            if log:
                log(area_line(out[-1]))
        return out
    done: dict[int, AreaResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_one_area, *a): a[1] for a in args}
        for f in as_completed(futures):
            done[futures[f]] = f.result()
            if log:
                log(f"[{len(done)}/{len(args)}] {area_line(done[futures[f]])}")
    return [done[j] for j in range(len(args))]


def area_line(r: AreaResult) -> str:
    th = "; ".join(f"{t['meter']} {t['what'].removeprefix('bypass_')} {t['size_pct']:.2f}% d{t['start_day']:.1f} "
                   f"alarm {_d(t['alarm_d'])} top3 {_d(t['top3_d'])} kept {t['kept_days']}/{t['days']}"
                   for t in r.theft["thieves"])
    clean = (f" | clean: {r.clean['area_alarms']} alarms, {len(r.clean['innocents'])} listed"
             if r.clean else "")
    return (f"seed {r.area.seed} {r.area.family} n={r.area.customers}: {th} | innocents "
            f"{len(r.theft['innocents'])} {r.theft['innocents'][:6]} (empty houses "
            f"{len(r.theft['empty_listed'])}/{r.theft['empty_houses']}){clean} ({r.seconds:.0f} s)")


def _d(x: float) -> str:
    return f"{x:.1f}d" if math.isfinite(x) else "never"


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100.0 * a / b:.0f} %)" if b else "0/0"


def size_class(pct: float) -> str:
    return next(name for lo, hi, name in SIZE_CLASSES if lo <= pct < hi)


def _group_rows(thieves: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> list[list[Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for t in thieves:
        groups.setdefault(key(t), []).append(t)
    rows = []
    for name in sorted(groups):
        g = groups[name]
        n = len(g)
        kept = [t["kept_days"] / t["days"] for t in g if t["days"]]
        rows.append([name, n, f"{min(t['size_pct'] for t in g):.2f}–{max(t['size_pct'] for t in g):.2f}",
                     _pct(sum(t["alarm_d"] <= 1 for t in g), n), _pct(sum(t["alarm_d"] <= 2 for t in g), n),
                     _pct(sum(t["top3_d"] <= 1 for t in g), n), _pct(sum(t["top3_d"] <= 2 for t in g), n),
                     f"{100 * np.mean(kept):.0f} %" if kept else "-", _pct(sum(t["listed"] for t in g), n)])
    return rows


def kind_of(t: dict[str, Any]) -> str:
    kind = "full bypass" if t["what"] == "bypass_full" else "partial (shunt)"
    return f"{kind}, {'from day 0' if t['start_day'] < 0.01 else 'onset'}"


def summary(results: list[AreaResult]) -> dict[str, Any]:
    """The "done when" figures of issue 19 over ``results``."""
    thieves = [t for r in results for t in r.theft["thieves"]]
    onset = [t for t in thieves if t["start_day"] >= 0.01]
    ge05 = [t for t in onset if t["size_pct"] >= 0.45]
    small = [t for t in onset if t["size_pct"] < 0.45]
    single = [r for r in results if len(r.theft["thieves"]) == 1]
    found = sum(t["listed"] for t in thieves)
    innocents = sum(len(r.theft["innocents"]) for r in results)
    kept = [t["kept_days"] / t["days"] for t in thieves if t["days"]]
    return {
        "areas": len(results), "thieves": len(thieves),
        "alarm_2d_ge05": (sum(t["alarm_d"] <= 2 for t in ge05), len(ge05)),
        "alarm_2d_03": (sum(t["alarm_d"] <= 2 for t in small), len(small)),
        "top3_2d_areas": (sum(r.theft["thieves"][0]["top3_d"] <= 2 for r in single), len(single)),
        "top3_2d_thieves": (sum(t["top3_d"] <= 2 for t in thieves), len(thieves)),
        "kept_mean_pct": 100.0 * float(np.mean(kept)) if kept else math.nan,
        "kept_ge95": (sum(k >= 0.95 for k in kept), len(kept)),
        "found": found, "innocents": innocents,
        "empty_listed": (sum(len(r.theft.get("empty_listed", [])) for r in results),
                         sum(r.theft.get("empty_houses", 0) for r in results)),
        "innocents_per_found": innocents / found if found else math.inf,
        "precision_pct": 100.0 * found / (found + innocents) if found + innocents else math.nan,
        "innocent_first": (sum(r.theft["innocent_first_days"] for r in results),
                           sum(r.theft["list_days"] for r in results)),
        "clean_alarms": [r.clean.get("area_alarms", 0) for r in results if r.clean],
        "clean_listed": [len(r.clean.get("innocents", [])) for r in results if r.clean],
    }


def report(results: list[AreaResult], title: str, table: Callable[..., str]) -> str:
    s = summary(results)
    thieves = [t for r in results for t in r.theft["thieves"]]
    hdr = ["", "thieves", "size % of supply", "alarm ≤ 1 d", "alarm ≤ 2 d", "top 3 ≤ 1 d", "top 3 ≤ 2 d",
           "days in top 3 after day 2", "listed"]
    out = table(f"{title}: by kind", hdr, _group_rows(thieves, kind_of))
    out += table(f"{title}: by size", hdr, _group_rows(thieves, lambda t: size_class(t["size_pct"])))
    a05, a03, t3 = s["alarm_2d_ge05"], s["alarm_2d_03"], s["top3_2d_areas"]
    rows = [
        ["area alarm ≤ 2 d, onset thefts ≥ 0.5 % (measured ≥ 0.45 %)", _pct(*a05), "≥ 90 %"],
        ["area alarm ≤ 2 d, onset thefts ≈ 0.3 % (measured < 0.45 %)", _pct(*a03), "≥ 50 %"],
        ["thief in the top 3 ≤ 2 d, one-thief areas", _pct(*t3), "≥ 80 % of areas"],
        ["thief in the top 3 ≤ 2 d, every thief", _pct(*s["top3_2d_thieves"]), ""],
        ["days in the top 3 after day 2 of the theft, mean over thieves", f"{s['kept_mean_pct']:.1f} %", "≥ 95 %"],
        ["thieves in the top 3 on ≥ 95 % of those days", _pct(*s["kept_ge95"]), ""],
        ["thieves listed / innocents listed", f"{s['found']} / {s['innocents']}", ""],
        ["innocents listed per thief listed", f"{s['innocents_per_found']:.2f}", "≤ 1"],
        ["empty houses listed (counted among the innocents) / empty houses", "{} / {}".format(*s["empty_listed"]), "0"],
        ["precision (thieves / everyone listed)", f"{s['precision_pct']:.0f} %", ""],
        ["days an innocent was ranked first / days with a list", f"{s['innocent_first'][0]} / {s['innocent_first'][1]}", ""],
        [f"area alarms in {CLEAN_DAYS} clean days, per seed", " ".join(map(str, s["clean_alarms"])) or "-", "0 each"],
        [f"innocents listed in {CLEAN_DAYS} clean days, per seed", " ".join(map(str, s["clean_listed"])) or "-", "0"],
    ]
    out += table(f"{title}: issue 19 'done when'", ["figure", "value", "goal"], rows,
                 f"{s['areas']} areas, {s['thieves']} thieves.")
    return out


def print_figures(prefix: str, results: list[AreaResult]) -> None:
    s = summary(results)
    for key in ("alarm_2d_ge05", "alarm_2d_03", "top3_2d_areas", "top3_2d_thieves", "kept_ge95"):
        a, b = s[key]
        print(f"{prefix}_{key}_pct: {100.0 * a / b if b else math.nan:.1f}")
    print(f"{prefix}_kept_mean_pct: {s['kept_mean_pct']:.1f}")
    print(f"{prefix}_innocents_per_found: {s['innocents_per_found']:.2f}")
    print(f"{prefix}_precision_pct: {s['precision_pct']:.1f}")
    print(f"{prefix}_empty_houses_listed: {s['empty_listed'][0]}")
    print(f"{prefix}_clean_area_alarms: {sum(s['clean_alarms'])}")
    print(f"{prefix}_clean_innocents_listed: {sum(s['clean_listed'])}")
    sys.stdout.flush()
