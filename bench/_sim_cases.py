"""Seeded simulated areas for the detection-rate evaluation (``bench/detection_core.py --eval``).

Three sets, each a list of simulator configurations written as TOML (kept next to each export, so a case
can be re-run with ``meterwatch simulate -c DIR/sim.toml --export DIR2 --days N``):

- ``overload``: 3-day areas whose daily peak β_max is calibrated above the threshold (97 %–130 %), and the
  bundled ``overload.toml`` (14 days: 95 % → 89 % → 75 %, heat wave, load growth) at its own cadences;
- ``quiet``:   one 30-day area whose daily peak is calibrated to 92 % (below the 95 % threshold);
- ``faults``:  2-day areas, each with a non-overlapping sequence of branch outages, area outages,
  phase losses, meter communication losses and master offline spells at seeded times, plus 0.5 %
  collection gaps: 200 customers on 4 branches, and 120 customers on 8 small branches (a branch of a
  few kW against the master's minute-to-minute noise is where the balance reaches its limit).

Cadences ([export]): master every 60 s (= the simulation step, so the export holds every step of the true
load and one master cadence is 60 s), meters every 900 s (the 96-point curve), status words and
events once a day (no detector of this stage reads them; it keeps the files small).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._detection_rates import (
    grade_faults,
    grade_overload,
    load_export,
    really_silent,
    replay,
    unexplained,
)

EXPORT = "[export]\nmaster_s = 60\nmeter_s = 900\ntamper_s = 86400\nbalance_s = 900\n"


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    toml: str
    days: int


def _head(seed: int, area_id: str, customers: int, rated_kva: float, branches: int = 4) -> str:
    return (f'[sim]\nseed = {seed}\nstart = "2026-07-01T00:00:00Z"\nstep_s = 60\n\n'
            f'[area]\nid = "{area_id}"\ncustomers = {customers}\nrated_kva = {rated_kva}\n'
            f"branches = {branches}\n\n{EXPORT}\n")


def _scenario(kind: str, start_h: float, end_h: float, subject: str | None = None, **params: Any) -> str:
    lines = ["[[scenario]]", f'kind = "{kind}"']
    if subject is not None:
        lines.append(f'subject = "{subject}"')
    lines += [f"start_h = {start_h!r}", f"end_h = {end_h!r}"]
    lines += [f"{k} = {v}" for k, v in params.items()]
    return "\n".join(lines) + "\n\n"


def overload_cases(seeds: range, days: int = 3, customers: int = 120) -> list[Case]:
    rates = (0.97, 1.05, 1.15, 1.3)
    out = []
    for j, seed in enumerate(seeds):
        rate = rates[j % len(rates)]
        toml = _head(seed, f"OV{seed}", customers, 250.0) + _scenario("overload", 0, 24 * days,
                                                                      peak_load_rate=rate)
        out.append(Case(name=f"overload-s{seed}-peak{rate:.2f}", toml=toml, days=days))
    return out


def bundled_overload_case(days: int = 14) -> Case:
    """``edge/sim/scenarios/overload.toml`` as shipped: the seeds' transformer at 95 %, talked down to 89 % and
    75 %, then a heat wave and load growth (peaks right at the threshold)."""
    toml = (Path(__file__).resolve().parents[1] / "edge/sim/scenarios/overload.toml").read_text(encoding="utf-8")
    return Case(name=f"overload-bundled-{days}d", toml=toml, days=days)


def quiet_case(seed: int = 21, days: int = 30, customers: int = 60) -> Case:
    toml = _head(seed, f"QT{seed}", customers, 125.0, branches=3) + _scenario("overload", 0, 24 * days,
                                                                               peak_load_rate=0.92)
    return Case(name=f"quiet-s{seed}-peak0.92-{days}d", toml=toml, days=days)


def fault_case(seed: int, days: int = 2, customers: int = 200, branches: int = 4,
               gap_rate: float = 0.005) -> Case:
    """Faults one after another, every ``slot`` hours from hour 2, at a seeded minute, never overlapping."""
    rng = np.random.default_rng([seed, 77])
    kinds = ["branch_outage", "comm_loss", "area_outage", "phase_loss", "master_offline"]
    body = ""
    slot_h, t = 4.0, 2.0 + float(rng.integers(0, 4))
    n = 0
    while t + slot_h <= 24 * days:
        kind = kinds[(n + seed) % len(kinds)]
        start = t + float(rng.integers(0, 60)) / 60
        dur = {"branch_outage": rng.uniform(1.0, 2.5), "comm_loss": rng.uniform(1.5, 2.5),
               "area_outage": rng.uniform(0.5, 1.5), "phase_loss": rng.uniform(0.5, 1.5),
               "master_offline": rng.uniform(0.5, 2.0)}[kind]
        end = start + round(float(dur) * 60) / 60
        subject = {"branch_outage": f"B{int(rng.integers(1, branches + 1))}",
                   "comm_loss": f"M{int(rng.integers(1, customers + 1)):04d}",
                   "phase_loss": "ABC"[int(rng.integers(0, 3))]}.get(kind)
        body += _scenario(kind, start, end, subject)
        t += slot_h
        n += 1
    body += _scenario("collection_gaps", 0, 24 * days, "area", rate=gap_rate)
    return Case(name=f"faults-s{seed}", toml=_head(seed, f"FT{seed}", customers, 400.0, branches) + body,
                days=days)


def run_case(case: Case, root: Path) -> tuple[Any, list[Any]]:
    """Export ``case`` under ``root`` and replay it; (Export, alerts)."""
    from edge.sim.config import parse_sim_config
    from edge.sim.export import export

    d = root / case.name
    d.mkdir(parents=True, exist_ok=True)
    (d / "sim.toml").write_text(case.toml, encoding="utf-8")
    export(parse_sim_config(case.toml, str(d / "sim.toml")), d, case.days)
    ex = load_export(d)
    return ex, replay(ex)


def evaluate_sets(root: Path, *, overload_seeds: range = range(11, 19), quiet_days: int = 30,
                  fault_seeds: range = range(31, 39), small_branch_seeds: range = range(41, 45), log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the three sets; the figures ``--eval`` prints."""
    t0 = time.perf_counter()
    say = log or (lambda _m: None)
    ov = {"episodes": 0, "in_time": 0, "worst_lag_s": -math.inf, "false_raises": 0, "days": 0.0}
    for case in [*overload_cases(overload_seeds), bundled_overload_case()]:
        ex, alerts = run_case(case, root)
        g = grade_overload(ex, alerts)
        say(f"{case.name}: {g}")
        for k in ("episodes", "in_time", "false_raises", "days"):
            ov[k] += g[k]
        ov["worst_lag_s"] = max(ov["worst_lag_s"], g["worst_lag_s"])
    quiet = quiet_case(days=quiet_days)
    ex, alerts = run_case(quiet, root)
    q = grade_overload(ex, alerts)
    say(f"{quiet.name}: {q}")
    faults: list[dict[str, Any]] = []
    extra: dict[str, int] = {}
    cases = [*(fault_case(s) for s in fault_seeds),
             *(fault_case(s, customers=120, branches=8) for s in small_branch_seeds)]
    for case in cases:
        ex, alerts = run_case(case, root)
        g2 = grade_faults(ex, alerts)
        for a in unexplained(ex, alerts):
            # a meter that really missed its reads (collection gaps in a row) is a communication failure
            # the definition asks for; anything else is a false alarm
            key = "meter_offline_really_silent" if a.kind == "meter_offline" and really_silent(ex, a) else a.kind
            extra[key] = extra.get(key, 0) + 1
            say(f"{case.name}: unexplained {a.kind} {a.subject_id} at {a.ts:.0f}")
        for f in g2:
            if not f["ok"]:
                say(f"{case.name}: WRONG {f}")
        faults += g2
    by_kind: dict[str, list[bool]] = {}
    for f in faults:
        by_kind.setdefault(f["what"], []).append(f["ok"])
    area_lat = [f["latency_s"] for f in faults if f["what"] == "area_outage"]
    correct = sum(f["ok"] for f in faults)
    res: dict[str, Any] = {
        "overload_episodes": ov["episodes"],
        "overload_simulated_days": round(ov["days"], 1),
        "overload_raised_in_time": f"{ov['in_time']}/{ov['episodes']}",
        "overload_raised_in_time_pct": round(100 * ov["in_time"] / ov["episodes"], 1) if ov["episodes"] else "n/a",
        "overload_worst_lag_s": ov["worst_lag_s"],
        "overload_lag_limit_s": 60.0,
        "overload_false_raises": ov["false_raises"],
        "below_threshold_days": round(q["days"], 1),
        "below_threshold_beta_max_pct": round(q["beta_max_pct"], 1),
        "below_threshold_overload_raises": q["raises"],
        "outage_vs_comm_cases": len(faults),
        "outage_vs_comm_correct": f"{correct}/{len(faults)}",
        "outage_vs_comm_correct_pct": round(100 * correct / len(faults), 1) if faults else "n/a",
    }
    for kind in sorted(by_kind):
        res[f"outage_vs_comm_{kind}"] = f"{sum(by_kind[kind])}/{len(by_kind[kind])}"
    res["outage_area_latency_max_s"] = max(area_lat) if area_lat else "n/a"
    res["outage_area_latency_limit_s"] = 60.0
    for kind in sorted(by_kind):
        lat = [f["latency_s"] for f in faults if f["what"] == kind and math.isfinite(f["latency_s"])]
        res[f"latency_max_s_{kind}"] = max(lat) if lat else "n/a"
    silent = extra.pop("meter_offline_really_silent", 0)
    res["fault_runs_false_raises"] = ", ".join(f"{k} {v}" for k, v in sorted(extra.items())) or "0"
    res["fault_runs_meter_offline_really_silent"] = silent
    res["eval_wall_s"] = round(time.perf_counter() - t0, 1)
    return res


# ---- theft areas (issue 19) ------------------------------------------------------------------------------
# Seeds are split once and for all: detector parameters are tuned on the tuning seeds only; the figures that
# count are those of held-out seeds (bench/detection_eval.py prints which seeds it ran). Each held-out set (same
# generator, same area index j = 0..23, so the same family and size cycle) is run once, at the end of one round
# of issue 19, and its figures count until the next round's set is run; once run, it may be looked at to find
# what failed (docs/lineloss.md, each round). "held-out" closed the first round, "fresh" the second, "fresh2"
# the third, "fresh3" the fourth, "fresh4" the fifth, "fresh5" the sixth, "fresh6" the
# seventh; "fresh7" closed the seventh again, after a change made once "fresh6" had been run and looked at;
# "fresh8" the eighth, "fresh9" the ninth, "fresh10" the tenth, "fresh11" the eleventh, "fresh12" the twelfth,
# "fresh13" the thirteenth, "fresh14" the fourteenth, "fresh15" the fifteenth, "fresh16" the sixteenth,
# "fresh17" the seventeenth, "fresh18" the eighteenth, "fresh19" the nineteenth,
# "fresh20" the twentieth, "fresh21" the twenty-first, "fresh22" the twenty-first again, after a change made
# once "fresh21" had been run and looked at; "fresh23" the twenty-second, "fresh24" the twenty-third, "fresh25" the twenty-third again, after a change made once "fresh24" had been run and looked at;
# "fresh26" the twenty-fourth, "fresh27" the twenty-fifth, "fresh28" the twenty-sixth,
# "fresh29" the twenty-seventh, "fresh30" the twenty-eighth, "fresh31" the twenty-eighth again, after a change
# made once "fresh30" had been run and looked at; "fresh32" the twenty-ninth, "fresh33" the thirtieth,
# "fresh34" the thirty-first, "fresh35" the thirty-second.
THEFT_SEED_SETS: dict[str, tuple[int, ...]] = {
    "tuning": tuple(range(1000, 1012)),
    "held-out": tuple(range(2000, 2024)),
    "fresh": tuple(range(3000, 3024)),
    "fresh2": tuple(range(4000, 4024)),
    "fresh3": tuple(range(5000, 5024)),
    "fresh4": tuple(range(6000, 6024)),
    "fresh5": tuple(range(7000, 7024)),
    "fresh6": tuple(range(8000, 8024)),
    "fresh7": tuple(range(9000, 9024)),
    "fresh8": tuple(range(10000, 10024)),
    "fresh9": tuple(range(11000, 11024)),
    "fresh10": tuple(range(12000, 12024)),
    "fresh11": tuple(range(13000, 13024)),
    "fresh12": tuple(range(14000, 14024)),
    "fresh13": tuple(range(15000, 15024)),
    "fresh14": tuple(range(16000, 16024)),
    "fresh15": tuple(range(17000, 17024)),
    "fresh16": tuple(range(18000, 18024)),
    "fresh17": tuple(range(19000, 19024)),
    "fresh18": tuple(range(20000, 20024)),
    "fresh19": tuple(range(21000, 21024)),
    "fresh20": tuple(range(22000, 22024)),
    "fresh21": tuple(range(23000, 23024)),
    "fresh22": tuple(range(24000, 24024)),
    "fresh23": tuple(range(25000, 25024)),
    "fresh24": tuple(range(26000, 26024)),
    "fresh25": tuple(range(27000, 27024)),
    "fresh26": tuple(range(28000, 28024)),
    "fresh27": tuple(range(29000, 29024)),
    "fresh28": tuple(range(30000, 30024)),
    "fresh29": tuple(range(31000, 31024)),
    "fresh30": tuple(range(32000, 32024)),
    "fresh31": tuple(range(33000, 33024)),
    "fresh32": tuple(range(34000, 34024)),
    "fresh33": tuple(range(35000, 35024)),
    "fresh34": tuple(range(36000, 36024)),
    "fresh35": tuple(range(37000, 37024)),
}
THEFT_SEEDS_COUNTING = "fresh35"    # the set whose figures count now (the default of --theft-seeds)
THEFT_FAMILIES = ("onset_partial", "onset_full", "from_day0", "several")
THEFT_SIZES_PCT = (0.3, 0.5, 1.0, 2.0, 5.0)
EMPTY_HOUSES = 2                    # empty houses in every theft area and its clean twin (eighth round)
THEFT_DAYS = 24                     # a theft that starts on day 9 lasts 15 days, past the old 7-day baseline
THEFT_ONSET_DAYS = (9, 13)
CLEAN_DAYS = 30
TARGET_BETA = 0.65                  # the area's rating is set so that its peak load is about this


@dataclass(frozen=True, kw_only=True)
class Thief:
    meter: str
    kind: str                       # "partial" (bypass_partial: a shunt slows the meter) | "full" (bypass_full)
    start_day: float                # days after the start (0: present when monitoring begins)
    target_pct: float               # stolen energy aimed at, % of the area's supply
    fraction: float                 # share of the thief's load that bypasses the meter (1 for full)


@dataclass(frozen=True, kw_only=True)
class TheftArea:
    seed: int
    family: str
    customers: int
    case: Case                      # with the thieves, THEFT_DAYS
    clean: Case                     # the same area without them, CLEAN_DAYS
    thieves: tuple[Thief, ...]


def _theft_head(seed: int, area_id: str, customers: int, rated_kva: float) -> str:
    branches = 3 if customers < 80 else 4
    export = "[export]\nmaster_s = 60\nmeter_s = 900\ntamper_s = 3600\nbalance_s = 900\n"
    return (f'[sim]\nseed = {seed}\nstart = "2026-07-01T00:00:00Z"\nstep_s = 60\n\n'
            f'[area]\nid = "{area_id}"\ncustomers = {customers}\nrated_kva = {rated_kva}\nbranches = {branches}\n'
            f"load_scale = 1.5\nsegment_r_ohm = 0.025\n\n{export}\n")


def _shares_and_rating(seed: int, customers: int) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Each customer's share of the supply (%) over two clean days, who may be a thief (direct-connected,
    no PV), a rating that puts the peak load at ``TARGET_BETA``, and each customer's phase (3: three-phase)."""
    from edge.sim.area import AreaSimulator
    from edge.sim.config import parse_sim_config

    sim = AreaSimulator(parse_sim_config(_theft_head(seed, "PRE", customers, 200.0), "<pre-run>"))
    energy, supply, peak_kva = np.zeros(customers), 0.0, 0.0
    for d in range(2):
        day = sim.day(d)
        energy += day.meter["p"].sum(axis=0) * sim.cfg.step_s / 3600.0
        supply += float(day.balance["supply_kwh"].sum())
        s_ph = np.stack([day.master[f"u_{p}"] * day.master[f"i_{p}"] for p in "abc"], axis=1)
        peak_kva = max(peak_kva, float(s_ph.max()) * 3.0 / 1000.0)
    eligible = (sim.net.pv_kwp == 0) & (sim.net.ct_ratio == 1)
    return 100.0 * energy / supply, eligible, round(peak_kva / TARGET_BETA / 10.0) * 10.0, sim.net.phase.copy()


def _pick_thief(rng: np.random.Generator, shares: np.ndarray, free: np.ndarray, kind: str,
                target: float) -> tuple[int, float]:
    """(customer index, fraction): a full bypass takes the customer whose share is nearest the target; a
    partial one a random customer big enough to give it with a fraction in [0.05, 0.8]."""
    if kind == "full":
        cand = np.flatnonzero(free)
        return int(cand[np.argmin(np.abs(shares[cand] - target))]), 1.0
    cand = np.flatnonzero(free & (shares * 0.8 >= target) & (shares * 0.05 <= target))
    if cand.size == 0:
        cand = np.flatnonzero(free)
        i = int(cand[np.argmax(shares[cand])])
    else:
        i = int(rng.choice(cand))
    return i, float(np.clip(target / shares[i], 0.05, 0.95))


def _thieves(rng: np.random.Generator, family: str, j: int, shares: np.ndarray,
             eligible: np.ndarray) -> list[Thief]:
    free = eligible.copy()
    n = 1 if family != "several" else int(rng.integers(2, 4))
    out = []
    for k in range(n):
        target = THEFT_SIZES_PCT[(j // len(THEFT_FAMILIES) + 2 * k) % len(THEFT_SIZES_PCT)]
        if family == "several":
            kind = ("partial", "full")[int(rng.integers(0, 2))]
            start = float((0, *THEFT_ONSET_DAYS)[int(rng.integers(0, 3))])
        else:
            kind = "full" if family == "onset_full" or (family == "from_day0" and j % 8 >= 4) else "partial"
            start = 0.0 if family == "from_day0" else float(THEFT_ONSET_DAYS[0])
        if start > 0:
            start += float(rng.integers(0, 24)) / 24.0          # at a random hour
        i, fraction = _pick_thief(rng, shares, free, kind, target)
        free[i] = False
        out.append(Thief(meter=f"M{i + 1:04d}", kind=kind, start_day=start, target_pct=target, fraction=fraction))
    return out


def _empty_houses(seed: int, thieves: list[Thief], eligible: np.ndarray, phase: np.ndarray) -> list[str]:
    """``EMPTY_HOUSES`` single-phase customers, none of them a thief, whose house stands empty for the whole
    export, in the theft area and its clean twin alike: the first on the first thief's phase (where the voltage
    test for a bypass looks), the others anywhere. Their own random stream, so the areas' other draws are
    those of the rounds before the eighth."""
    rng = np.random.default_rng([seed, 19, 8])
    free = eligible & (phase < 3)
    for t in thieves:
        free[int(t.meter[1:]) - 1] = False
    out: list[int] = []
    first = phase[int(thieves[0].meter[1:]) - 1] if thieves else -1
    for k in range(EMPTY_HOUSES):
        cand = np.flatnonzero(free & (phase == first)) if k == 0 else np.flatnonzero(free)
        if cand.size == 0:
            cand = np.flatnonzero(free)
        if cand.size == 0:
            break
        i = int(rng.choice(cand))
        free[i] = False
        out.append(i)
    return [f"M{i + 1:04d}" for i in out]


def theft_area(seed: int, j: int, *, days: int = THEFT_DAYS, clean_days: int = CLEAN_DAYS,
               gap_rate: float = 0.005) -> TheftArea:
    """The ``j``-th theft area of a seed list: family ``THEFT_FAMILIES[j % 4]``, sizes cycling through
    ``THEFT_SIZES_PCT``, no terminal-cover event (the thief is to be found from the balance and the physics),
    ``gap_rate`` collection gaps, ``EMPTY_HOUSES`` empty houses (``_empty_houses``; since the eighth round);
    and the same area without its thieves for the clean-days count."""
    rng = np.random.default_rng([seed, 19])
    customers = int(rng.choice([41, 60, 80]))
    shares, eligible, rated, phase = _shares_and_rating(seed, customers)
    family = THEFT_FAMILIES[j % len(THEFT_FAMILIES)]
    thieves = _thieves(rng, family, j, shares, eligible)
    gaps = _scenario("collection_gaps", 0, 24 * 366, "area", rate=gap_rate)      # the whole of any export
    gaps += "".join(_scenario("vacant", 0, 24 * 366, m) for m in _empty_houses(seed, thieves, eligible, phase))
    body = ""
    for t in thieves:
        if t.kind == "full":
            body += _scenario("bypass_full", round(t.start_day * 24, 3), 24 * days, t.meter, terminal_open="false")
        else:
            body += _scenario("bypass_partial", round(t.start_day * 24, 3), 24 * days, t.meter,
                              fraction=round(t.fraction, 4), terminal_open="false")
    head = _theft_head(seed, f"TH{seed}", customers, rated)
    return TheftArea(seed=seed, family=family, customers=customers, thieves=tuple(thieves),
                     case=Case(name=f"theft-s{seed}-{family}", toml=head + body + gaps, days=days),
                     clean=Case(name=f"clean-s{seed}", toml=head + gaps, days=clean_days))
