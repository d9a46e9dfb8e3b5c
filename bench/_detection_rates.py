"""Detection rates on exports of the area simulator (issue 7 "Done when", graded against its truth).

An export directory is what ``meterwatch simulate --export DIR`` writes: ``area.toml`` + ``meters.csv``
(loaded through ``edge.areafile.load_area_file``), ``readings.csv`` (docs/replay.md) and ``truth.jsonl``.
The readings are replayed through the engine in event time, advancing once per master cadence.

Grading:
- **overload**: the true load series is the master's phase currents in the export (with ``master_s`` =
  ``step_s`` that is every simulation step). Episodes are found on it by an independent re-statement of
  the alarm definition (β_max ≥ ``overload_pct`` held ``overload_persist_s``; the alarm stays raised until
  β_max < ``overload_clear_pct`` held ``overload_clear_persist_s``). Each episode must be raised no later
  than one master cadence after its persistence elapsed; a raise that matches no episode is false.
- **outage vs communication**: per fault truth record (``branch_outage``, ``area_outage``, ``phase_loss``,
  ``comm_loss``, ``master_offline``) the alerts raised in [start, end + one meter cadence + lateness] must
  name the right kind and subject and no wrong one: e.g. a branch outage is correct with ``outage_branch``
  for that branch and neither another outage kind nor ``meter_offline`` for one of its meters; a meter's
  communication loss is correct with ``meter_offline`` for that meter and no outage kind.
  ``outage_area`` latency = first raise − event start.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detect.alarms import Alert
from detect.area import Area
from detect.batch import ReadingBatch
from detect.engine import Engine
from detect.params import Params
from detect.quantities import QUANTITY_CODE

OUTAGE_KINDS = ("outage_area", "outage_phase", "outage_branch")
FAULTS = ("branch_outage", "area_outage", "phase_loss", "comm_loss", "master_offline")


@dataclass(frozen=True, kw_only=True)
class Export:
    """One loaded export: the area, the parameters its area file asks for, readings and truth."""

    area: Area
    params: Params
    batch: ReadingBatch
    truth: list[dict[str, Any]]
    master_cadence_s: float
    meter_cadence_s: float


def _need(path: Path) -> Path:
    if not path.is_file():
        raise SystemExit(f"--sim: {path} is missing (expected area.toml, meters.csv, readings.csv, truth.jsonl)")
    return path


def load_readings(path: Path, area: Area) -> ReadingBatch:
    """The replay CSV as one time-ordered batch; a bad row stops with the file and line named."""
    dev: list[int] = []
    qs: list[int] = []
    vals: list[float] = []
    ts: list[float] = []
    index = {name: area.device_index(name) for name in (*area.meter_ids, area.master_id)}
    with open(_need(path), newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header != ["ts", "device", "quantity", "value"]:
            raise SystemExit(f"--sim: {path}: header {header} is not ts,device,quantity,value")
        for lineno, (t, d, q, v) in enumerate(rows, start=2):
            try:
                dev.append(index[d])
                qs.append(QUANTITY_CODE[q])
                vals.append(float(v) if v else math.nan)
                ts.append(float(t))
            except (KeyError, ValueError) as exc:
                raise SystemExit(f"--sim: {path} line {lineno}: {exc!r}") from exc
    t_arr = np.asarray(ts)
    order = np.argsort(t_arr, kind="stable")
    return ReadingBatch.from_columns(np.asarray(dev, np.int32)[order], np.asarray(qs, np.int16)[order],
                                     np.asarray(vals)[order], t_arr[order], n_devices=area.n_meters + 1)


def load_export(d: Path) -> Export:
    from edge.areafile import load_area_file
    from edge.errors import ConfigError

    try:
        area, params = load_area_file(_need(d / "area.toml"))
    except ConfigError as exc:
        raise SystemExit(f"--sim: {d / 'area.toml'}: " + "; ".join(str(i) for i in exc.issues)) from exc
    batch = load_readings(d / "readings.csv", area)
    truth = [json.loads(x) for x in _need(d / "truth.jsonl").read_text().splitlines() if x.strip()]
    meta_path = d / "export.json"
    if meta_path.is_file():
        cad = json.loads(meta_path.read_text())["cadence_s"]
        master_s, meter_s = float(cad["master"]), float(cad["meter"])
    else:
        master = np.unique(batch.ts[batch.device == area.master_index])
        master_s = float(np.median(np.diff(master))) if master.size > 2 else 60.0
        meter_s = params.outage.meter_cadence_s
    return Export(area=area, params=params, batch=batch, truth=truth, master_cadence_s=master_s,
                  meter_cadence_s=meter_s)


def replay(ex: Export, step_s: float | None = None) -> list[Alert]:
    """Every alert event of the engine over the export, advancing in event time every ``step_s``."""
    step = step_s or ex.master_cadence_s
    batch, params = ex.batch, ex.params
    eng = Engine(ex.area, params)
    alerts: list[Alert] = []
    t = math.floor(batch.ts[0] / step) * step
    # stop with the data: after it every device falls silent, which the engine rightly calls an outage
    end = batch.ts[-1] + step
    pos = 0
    while t < end:
        nxt = int(np.searchsorted(batch.ts, t, side="right"))
        if nxt > pos:
            eng.ingest(batch.take(np.arange(pos, nxt)))
            pos = nxt
        alerts += eng.advance(t).alerts
        t += step
    return alerts


def beta_series(ex: Export) -> tuple[np.ndarray, np.ndarray]:
    """(poll ts, β_max %) from the master's phase currents in the export."""
    b = ex.batch
    m = b.device == ex.area.master_index
    cur = np.isin(b.quantity, [QUANTITY_CODE["i_a"], QUANTITY_CODE["i_b"], QUANTITY_CODE["i_c"]]) & m
    ts, inv = np.unique(b.ts[cur], return_inverse=True)
    peak = np.zeros(ts.size)
    np.maximum.at(peak, inv, b.value[cur])
    return ts, 100.0 * peak / ex.area.rated_current_a


def expected_overload_raises(ts: Iterable[float], beta_pct: Iterable[float], prm: Params) -> list[float]:
    """Raise times the overload definition gives on a sampled β_max series (independent of the engine)."""
    ld = prm.load
    raised, onset, clear_onset = False, None, None
    out: list[float] = []
    for t, b in zip(ts, beta_pct, strict=True):
        if not raised:
            if b >= ld.overload_pct:
                onset = t if onset is None else onset
                if t - onset >= ld.overload_persist_s - 1e-6:
                    raised, clear_onset = True, None
                    out.append(t)
            else:
                onset = None
        elif b < ld.overload_clear_pct:
            clear_onset = t if clear_onset is None else clear_onset
            if t - clear_onset >= ld.overload_clear_persist_s - 1e-6:
                raised, onset = False, None
        else:
            clear_onset = None
    return out


def grade_overload(ex: Export, alerts: list[Alert]) -> dict[str, Any]:
    ts, beta = beta_series(ex)
    want = expected_overload_raises(ts.tolist(), beta.tolist(), ex.params)
    got = sorted(a.ts for a in alerts if a.kind == "overload" and a.state == "raised")
    cad = ex.master_cadence_s
    lags, unmatched = [], list(got)
    for w in want:
        # the persistence elapsed at ``w`` at the latest (w is the first poll after it)
        hit = [g for g in unmatched if w - cad - 1e-6 <= g <= w + cad + 1e-6]
        if hit:
            lags.append(hit[0] - w)
            unmatched.remove(hit[0])
        else:
            lags.append(math.inf)
    return {"episodes": len(want), "in_time": sum(lag <= cad + 1e-6 for lag in lags),
            "worst_lag_s": max(lags) if lags else 0.0, "false_raises": len(unmatched),
            "raises": len(got), "beta_max_pct": float(beta.max()) if beta.size else math.nan,
            "days": (ts[-1] - ts[0]) / 86400 if ts.size else 0.0}


def _accounts_for(rec: dict[str, Any], a: Alert, area: Area, margin_s: float) -> bool:
    """Whether truth record ``rec`` explains alert ``a`` (its kind and subject, within its window)."""
    if not float(rec["start_ts"]) <= a.ts <= float(rec["end_ts"]) + margin_s:
        return False
    what, subj = rec.get("what"), str(rec.get("subject"))
    if what == "branch_outage":
        return a.kind == "outage_branch" and a.subject_id == subj
    if what == "phase_loss":
        return a.kind == "outage_phase" and a.subject_id == subj
    if what == "area_outage":
        return a.kind == "outage_area"
    if what == "comm_loss":
        return a.kind == "meter_offline" and a.subject_id == subj
    if what == "master_offline":
        return a.kind == "master_offline"
    return False


def grade_faults(ex: Export, alerts: list[Alert]) -> list[dict[str, Any]]:
    """One verdict per fault truth record (see the module doc). Alerts that another, overlapping truth
    record accounts for are not held against this one."""
    area, prm = ex.area, ex.params
    raised = [a for a in alerts if a.state == "raised"]
    margin = ex.meter_cadence_s + prm.lateness_s
    phase_of = {"A": 0, "B": 1, "C": 2}
    records = [r for r in ex.truth if r.get("what") in FAULTS]
    out = []
    for rec in records:
        what = rec["what"]
        lo, hi, subj = float(rec["start_ts"]), float(rec["end_ts"]) + margin, str(rec["subject"])
        others = [r for r in records if r is not rec]
        win = [a for a in raised if lo <= a.ts <= hi]
        hits = [a for a in win if _accounts_for(rec, a, area, margin)]
        rest = [a for a in win if a not in hits and not any(_accounts_for(r, a, area, margin) for r in others)]
        wrong_outage = any(a.kind in OUTAGE_KINDS for a in rest)
        offline = {a.subject_id for a in rest if a.kind == "meter_offline"}
        if what == "branch_outage":
            members = {area.meter_ids[i] for i in area.branch_members(area.branches.index(subj))}
            ok = bool(hits) and not wrong_outage and not (offline & members)
        elif what == "phase_loss":
            members = {area.meter_ids[i] for i in np.flatnonzero(area.meter_phase == phase_of[subj])}
            ok = bool(hits) and not wrong_outage and not (offline & members)
        elif what == "area_outage":
            ok = bool(hits) and not wrong_outage and not any(a.ts < float(rec["end_ts"]) for a in rest
                                                             if a.kind in ("meter_offline", "master_offline"))
        else:  # comm_loss, master_offline: a communication failure, no outage
            ok = bool(hits) and not wrong_outage
        first = min((a.ts for a in hits), default=math.nan)
        out.append({"what": what, "subject": subj, "ok": ok, "latency_s": first - float(rec["start_ts"]),
                    "alerts": sorted({f"{a.kind}:{a.subject_id}@{a.ts - lo:.0f}" for a in win})})
    return out


def unexplained(ex: Export, alerts: list[Alert]) -> list[Alert]:
    """Outage and offline raises that no fault truth record accounts for (false alarms of this family)."""
    margin = ex.meter_cadence_s + ex.params.lateness_s
    records = [r for r in ex.truth if r.get("what") in FAULTS]
    return [a for a in alerts if a.state == "raised" and a.kind in (*OUTAGE_KINDS, "meter_offline", "master_offline")
            and not any(_accounts_for(r, a, ex.area, margin) for r in records)]


def really_silent(ex: Export, a: Alert) -> bool:
    """A ``meter_offline`` whose meter has no reading in the export for the silence the definition asks
    (``meter_silent_rounds`` cadences + lateness before the raise): e.g. consecutive collection gaps."""
    b, op = ex.batch, ex.params.outage
    window = op.meter_silent_rounds * ex.meter_cadence_s + ex.params.lateness_s
    dev = ex.area.device_index(a.subject_id)
    lo, hi = np.searchsorted(b.ts, [a.ts - window, a.ts], side="right")
    return not bool(np.any(b.device[lo:hi] == dev))


def evaluate(sim_dir: Path) -> dict[str, Any]:
    """Figures of one export directory (``--sim DIR``)."""
    ex = load_export(sim_dir)
    alerts = replay(ex)
    ov = grade_overload(ex, alerts)
    faults = grade_faults(ex, alerts)
    area_lat = [f["latency_s"] for f in faults if f["what"] == "area_outage"]
    return {"sim_readings": len(ex.batch), "sim_truth_records": len(ex.truth),
            "master_cadence_s": ex.master_cadence_s,
            "overload_episodes": ov["episodes"], "overload_in_time": ov["in_time"],
            "overload_worst_lag_s": ov["worst_lag_s"], "overload_false_raises": ov["false_raises"],
            "fault_cases": len(faults), "fault_correct": sum(f["ok"] for f in faults),
            "outage_area_latency_max_s": max(area_lat) if area_lat else "n/a"}


# ---- theft (issue 19), graded on what a subscriber receives: alert and daily payloads ---------------------
THEFT_AREA_KINDS = ("ntl_rise", "ntl_phase", "ntl_level", "ntl_swing", "line_loss_high")
DAY_S = 86400.0


def utc_ts(s: str) -> float:
    """Epoch seconds of an RFC 3339 time as the payloads write it (``...Z`` or with an offset)."""
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def area_alarm_spans(alerts: list[dict[str, Any]], end_ts: float) -> list[tuple[float, float]]:
    """(raised, cleared) of every area alarm that points at non-technical loss; still active: ``end_ts``."""
    spans, open_at = [], {}
    for a in sorted((a for a in alerts if a["kind"] in THEFT_AREA_KINDS), key=lambda a: utc_ts(a["ts"])):
        key = a["kind"]
        if a["state"] == "raised" and key not in open_at:
            open_at[key] = utc_ts(a["raised_at"])
        elif a["state"] == "cleared" and key in open_at:
            spans.append((open_at.pop(key), utc_ts(a["ts"])))
    spans += [(t, end_ts) for t in open_at.values()]
    return sorted(spans)


def listed(daily: list[dict[str, Any]], top: int | None = None) -> list[tuple[float, list[str]]]:
    """(day end, suspect meters in rank order, at most ``top``) of every daily summary."""
    return [(utc_ts(p["day_end"]), [s["meter"] for s in p.get("suspects") or []][:top]) for p in daily]


def grade_thief(thief: dict[str, Any], spans: list[tuple[float, float]], days: list[tuple[float, list[str]]],
                supply_kwh: float) -> dict[str, Any]:
    """One thief (a truth record): its size, how long until an area alarm was on and until it was in the top 3,
    and on how many of the days after the first two of its theft it stayed in the top 3."""
    start, end, meter = float(thief["start_ts"]), float(thief["end_ts"]), thief["subject"]
    on = [max(r, start) for r, c in spans if c > start]
    alarm = (min(on) - start) / DAY_S if on else math.inf
    in3 = [(t, meter in m[:3]) for t, m in days if start < t <= end + DAY_S]
    first3 = min((t for t, hit in in3 if hit), default=math.inf)
    later = [hit for t, hit in in3 if t > start + 2 * DAY_S]
    return {"meter": meter, "what": thief["what"], "start_day": (start - thief["_t0"]) / DAY_S,
            "size_pct": 100.0 * float(thief["magnitude"]) / supply_kwh if supply_kwh > 0 else math.nan,
            "alarm_d": alarm, "top3_d": (first3 - start) / DAY_S, "kept_days": sum(later), "days": len(later),
            "listed": any(meter in m for _, m in days)}


def grade_theft_run(alerts: list[dict[str, Any]], daily: list[dict[str, Any]], truth: list[dict[str, Any]],
                    supply: Callable[[float, float], float], t0: float, t_end: float) -> dict[str, Any]:
    """Every thief of one area and the innocents its suspect lists named (distinct meters, any rank); of those,
    the empty houses (``vacant`` in the truth)."""
    thieves = [dict(r, _t0=t0) for r in truth if r.get("category") == "theft"]
    spans = area_alarm_spans(alerts, t_end)
    days = listed(daily)
    graded = [grade_thief(t, spans, days, supply(float(t["start_ts"]), float(t["end_ts"]))) for t in thieves]
    guilty = {t["subject"] for t in thieves}
    innocents = sorted({m for _, ms in days for m in ms} - guilty)
    lists = [ms for _, ms in days if ms]
    empty = {r["subject"] for r in truth if r.get("what") == "vacant"}
    return {"thieves": graded, "innocents": innocents, "empty_listed": sorted(set(innocents) & empty),
            "empty_houses": len(empty), "list_days": len(lists),
            "innocent_first_days": sum(ms[0] not in guilty for ms in lists),
            "area_alarms": sum(1 for a in alerts if a["kind"] in THEFT_AREA_KINDS and a["state"] == "raised")}


def supply_between(balance_csv: Path) -> Callable[[float, float], float]:
    """supply(t0, t1): the true net supply (kWh) of the balance intervals inside [t0, t1)."""
    rows = np.loadtxt(balance_csv, delimiter=",", skiprows=1, usecols=(0, 2), ndmin=2)

    def supply(t0: float, t1: float) -> float:
        sel = (rows[:, 0] >= t0) & (rows[:, 0] < t1)
        return float(rows[sel, 1].sum())
    return supply
