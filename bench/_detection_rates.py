"""Detection rates on an exported simulated area (``bench/detection_core.py --sim DIR``).

File contract (see the docstring of ``bench/detection_core.py``): area.json, readings.csv, truth.jsonl.
A missing or malformed file is an error naming it; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from detect.alarms import Alert
from detect.area import PHASE_ABC, Area
from detect.batch import ReadingBatch
from detect.engine import Engine
from detect.params import Params
from detect.quantities import QUANTITY_CODE

PHASE = {"A": 0, "B": 1, "C": 2, "ABC": PHASE_ABC}
OUTAGE_KINDS = {"outage_area", "outage_phase", "outage_branch"}


def _need(path: Path) -> Path:
    if not path.is_file():
        raise SystemExit(f"--sim: {path} is missing (expected area.json, readings.csv, truth.jsonl)")
    return path


def load_area(path: Path) -> Area:
    d = json.loads(_need(path).read_text())
    try:
        meters = d["meters"]
        branches = d.get("branches") or sorted({m["branch"] for m in meters})
        bidx = {b: i for i, b in enumerate(branches)}
        return Area(id=d["id"], rated_kva=float(d["rated_kva"]), lv_voltage_v=float(d.get("lv_voltage_v", 400.0)),
                    meter_ids=tuple(m["id"] for m in meters),
                    meter_phase=np.array([PHASE[m["phase"]] for m in meters], np.int8),
                    meter_branch=np.array([bidx[m["branch"]] for m in meters], np.int32),
                    meter_kind=np.array([1 if m["phase"] == "ABC" else 0 for m in meters], np.int8),
                    meter_pv=np.array([bool(m.get("pv", False)) for m in meters]),
                    meter_ct_ratio=np.ones(len(meters)), branches=tuple(branches))
    except (KeyError, TypeError) as exc:
        raise SystemExit(f"--sim: {path}: missing or malformed key {exc}") from exc


def load_readings(path: Path, area: Area) -> ReadingBatch:
    dev, qs, vals, ts = [], [], [], []
    with open(_need(path), newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh), start=2):
            try:
                dev.append(area.device_index(row["device"]))
                qs.append(QUANTITY_CODE[row["quantity"]])
                vals.append(float(row["value"]) if row["value"] != "" else math.nan)
                ts.append(float(row["ts"]))
            except (KeyError, ValueError) as exc:
                raise SystemExit(f"--sim: {path} line {lineno}: {exc}") from exc
    order = np.argsort(np.asarray(ts), kind="stable")
    return ReadingBatch.from_columns(np.asarray(dev)[order], np.asarray(qs)[order], np.asarray(vals)[order],
                                     np.asarray(ts)[order], n_devices=area.n_meters + 1)


def replay(area: Area, batch: ReadingBatch, step_s: float, params: Params) -> list[Alert]:
    eng = Engine(area, params)
    alerts: list[Alert] = []
    t = math.floor(batch.ts[0] / step_s) * step_s
    end = batch.ts[-1] + params.interval_s + params.lateness_s + step_s
    pos = 0
    while t < end:
        t += step_s
        nxt = int(np.searchsorted(batch.ts, t, side="right"))
        if nxt > pos:
            eng.ingest(batch.take(np.arange(pos, nxt)))
            pos = nxt
        alerts += [a for a in eng.advance(t).alerts if a.state == "raised"]
    return alerts


def normalise(record: dict[str, Any]) -> str | None:
    """Our grading category of a truth record. The simulator (issue 5) writes ``what``; this bench's own
    format ``kind``. Names are matched by keywords so both spellings work; None = not graded here."""
    name = str(record.get("kind") or record.get("what") or "").lower()
    if name in ("below_threshold", "overload", "outage_area", "outage_phase", "outage_branch", "comm_failure"):
        return name
    if "overload" in name or "heat" in name or "load_growth" in name:
        return "overload"
    if "outage" in name and "branch" in name:
        return "outage_branch"
    if "outage" in name and "area" in name:
        return "outage_area"
    if "phase" in name and ("loss" in name or "outage" in name):
        return "outage_phase"
    if "comm" in name or ("master" in name and "offline" in name):
        return "comm_failure"
    return None


def _quiet_spans(truth: list[dict[str, Any]], t0: float, t1: float, margin_s: float) -> list[dict[str, Any]]:
    """Without explicit below-threshold spans: everything at least ``margin_s`` away from any overload."""
    spans, cur = [], t0
    for e in sorted((e for e in truth if e["kind"] == "overload"), key=lambda e: e["start"]):
        if e["start"] - margin_s > cur:
            spans.append({"kind": "below_threshold", "start": cur, "end": e["start"] - margin_s})
        cur = max(cur, e["end"] + margin_s)
    if t1 > cur:
        spans.append({"kind": "below_threshold", "start": cur, "end": t1})
    return spans


def evaluate(sim_dir: Path) -> dict[str, Any]:
    area = load_area(sim_dir / "area.json")
    truth_path = sim_dir / "truth.jsonl"
    csv_path = sim_dir / "readings.csv"
    batch = load_readings(csv_path, area)
    raw = [json.loads(line) for line in _need(truth_path).read_text().splitlines() if line.strip()]
    truth, ignored = [], {}
    for rec in raw:
        kind = normalise(rec)
        if kind is None:
            name = str(rec.get("kind") or rec.get("what"))
            ignored[name] = ignored.get(name, 0) + 1
            continue
        truth.append(dict(rec, kind=kind))
    if not any(e["kind"] == "below_threshold" for e in truth):
        truth += _quiet_spans(truth, float(batch.ts[0]), float(batch.ts[-1]), 7200.0)
    params = Params()
    master = batch.ts[batch.device == area.master_index]
    cadence = float(np.median(np.diff(np.unique(master)))) if len(master) > 2 else 60.0
    alerts = replay(area, batch, min(cadence, 60.0), params)
    by_kind: dict[str, list[Alert]] = {}
    for a in alerts:
        by_kind.setdefault(a.kind, []).append(a)
    res: dict[str, Any] = {"sim_readings": len(batch), "sim_episodes": len(raw), "master_cadence_s": cadence,
                           "truth_not_graded": ", ".join(f"{k} ({v})" for k, v in sorted(ignored.items())) or "none"}
    persist = params.load.overload_persist_s
    ov = [e for e in truth if e["kind"] == "overload"]
    in_time = 0
    for e in ov:
        lo, hi = e["start"] + persist, e["start"] + persist + cadence
        in_time += any(lo - 1e-6 <= a.ts <= hi + 1e-6 for a in by_kind.get("overload", []))
    res["overload_episodes"] = len(ov)
    res["overload_raised_in_time_pct"] = f"{100 * in_time / len(ov):.1f}" if ov else "n/a (no episodes)"
    quiet = [e for e in truth if e["kind"] == "below_threshold"]
    res["below_threshold_days"] = f"{sum(e['end'] - e['start'] for e in quiet) / 86400:.1f}"
    res["raises_below_threshold"] = sum(1 for a in by_kind.get("overload", []) for e in quiet
                                        if e["start"] <= a.ts <= e["end"])
    graded = [e for e in truth if e["kind"] in OUTAGE_KINDS | {"comm_failure"}]
    correct, latencies = 0, []
    for e in graded:
        window = [a for a in alerts if e["start"] <= a.ts <= e["end"] + 2 * params.interval_s]
        outages = [a for a in window if a.kind in OUTAGE_KINDS]
        if e["kind"] == "comm_failure":
            ok = not outages and any(a.kind in ("meter_offline", "master_offline") for a in window)
        else:
            hits = [a for a in outages if a.kind == e["kind"]
                    and (e.get("subject") is None or a.subject_id == str(e["subject"]))]
            ok = bool(hits)
            if hits and e["kind"] == "outage_area":
                latencies.append(min(a.ts for a in hits) - e["start"])
        correct += ok
    res["outage_vs_comm_cases"] = len(graded)
    res["outage_vs_comm_correct_pct"] = f"{100 * correct / len(graded):.1f}" if graded else "n/a (no episodes)"
    res["outage_area_latency_max_s"] = f"{max(latencies):.1f}" if latencies else "n/a (no area outages)"
    return res
