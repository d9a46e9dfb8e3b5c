"""Export mode: the simulated area written at CPU speed, with ground truth (no protocol involved).

Files written to the export directory (format in docs/simulator.md):

- ``readings.csv``  replay CSV ``ts,device,quantity,value`` (docs/replay.md): ts in integer epoch seconds UTC,
  values as the meters register them (CT-connected meters: secondary current, power and energy),
  rows in time order, at the cadences of ``[export]``;
- ``truth.jsonl``   one JSON object per scenario: what, subject, start, end, magnitude, ...; and one per
  hot-spot episode of the simulated transformer (``edge.sim.heat``: what = "hotspot");
- ``weather.csv``   ``ts,t_amb``: the hourly ambient, as a weather service would export it
  (``meterwatch replay --ambient``);
- ``balance.csv``   per ``balance_s`` interval: supply = sales + technical loss + stolen (exact);
- ``area.toml`` + ``meters.csv``  the area as the records describe it (the ``[[area]]`` shape of docs/config.md);
- ``export.json``   seed, start, days, cadences and row counts.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from detect.quantities import CT_SCALED
from edge.sim.area import BALANCE, EVENTS, MASTER_QUANTITIES, AreaSimulator, DayResult
from edge.sim.catalogue import CATALOGUE
from edge.sim.config import SimConfig
from edge.sim.edge_config import meters_csv_text, recorded_ct_ratios
from edge.sim.effects import step_window
from edge.sim.heat import HOTSPOT_LIMIT_C, Episode, TransformerHeat
from edge.sim.meters import METER_QUANTITIES_SINGLE, METER_QUANTITIES_THREE

__all__ = ["ExportStats", "export", "rfc3339"]

TAMPER = ("sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7", *EVENTS)
DECIMALS = {"u_a": 1, "u_b": 1, "u_c": 1, "i_a": 3, "i_b": 3, "i_c": 3, "i_n": 3, "p": 4, "p_a": 4,
            "p_b": 4, "p_c": 4, "q": 4, "pf": 3, "f": 2, "e_fwd": 4, "e_rev": 4, "t_amb": 1}


@dataclass(frozen=True, kw_only=True)
class ExportStats:
    days: int
    meters: int
    rows: int
    seconds: float

    @property
    def meter_days_per_s(self) -> float:
        return self.days * self.meters / self.seconds if self.seconds > 0 else float("inf")


def rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _rows(out: TextIO, ts: str, prefixes: list[str], values: list[float] | list[int]) -> int:
    out.write("".join([f"{ts},{p}{v}\n" for p, v in zip(prefixes, values, strict=True)]))
    return len(prefixes)


class _Writer:
    """Writes one day's readings in time order; within a timestamp grouped by read (device, plan)."""

    def __init__(self, sim: AreaSimulator, out: TextIO) -> None:
        self.sim, self.out = sim, out
        cfg = sim.cfg
        self.every = {k: getattr(cfg.export, f"{k}_s") // cfg.step_s for k in ("master", "meter", "tamper")}
        ids = sim.net.ids
        self.single = np.flatnonzero(~sim.net.three)
        self.three = np.flatnonzero(sim.net.three)
        self.pre = {
            "single": [[f"{ids[i]},{q}," for q in METER_QUANTITIES_SINGLE] for i in range(len(ids))],
            "three": [[f"{ids[i]},{q}," for q in METER_QUANTITIES_THREE] for i in range(len(ids))],
            "tamper": [[f"{ids[i]},{q}," for q in TAMPER] for i in range(len(ids))],
        }
        self.master_q = list(MASTER_QUANTITIES)          # t_amb too: the daemon's default plan reads it every poll
        self.ids = ids
        # A CT-connected meter registers secondary values; meters.csv carries the recorded ratio that turns
        # them back into primary ones (as a replay's or the daemon's engine does at ingest).
        self.ct = recorded_ct_ratios(cfg, sim.net)
        self.rows = 0

    def _block(self, ts: str, day: DayResult, k: int, cols: np.ndarray, qs: tuple[str, ...], pre: str,
               ints: bool = False) -> None:
        if cols.size == 0:
            return
        if ints:
            mat = np.stack([day.meter[q][k, cols] for q in qs], axis=1).astype(np.int64)
        else:
            ct = self.ct[cols]
            mat = np.stack([np.round(day.meter[q][k, cols] / ct if q in CT_SCALED else day.meter[q][k, cols],
                                     DECIMALS[q]) for q in qs], axis=1)
        table = self.pre[pre]
        prefixes = [p for i in cols.tolist() for p in table[i]]
        self.rows += _rows(self.out, ts, prefixes, mat.ravel().tolist())

    def day(self, day: DayResult) -> None:
        cfg = self.sim.cfg
        rng = np.random.default_rng([cfg.seed, day.day + 1, 7])
        visible = day.powered & ~day.silent
        for k in range(day.t.size):
            on = {name: k % m == 0 for name, m in self.every.items()}
            if not any(on.values()) and k:
                continue
            ts = str(int(day.t[k]))
            if on["master"] and not day.master_silent[k]:
                vals = [round(float(day.master[q][k]), DECIMALS[q]) for q in self.master_q]
                self.rows += _rows(self.out, ts, [f"master,{q}," for q in self.master_q], vals)
            if k == 0:
                cols = np.flatnonzero(visible[0])
                self.rows += _rows(self.out, ts, [f"{self.ids[i]},e_fwd_daily," for i in cols.tolist()],
                                   np.round(day.meter_daily[cols] / self.ct[cols], 4).tolist())
            for name in ("meter", "tamper"):
                if not on[name]:
                    continue
                ok = visible[k] & (rng.random(visible.shape[1]) >= day.gap_rate[k])
                if name == "meter":
                    self._block(ts, day, k, self.single[ok[self.single]], METER_QUANTITIES_SINGLE, "single")
                    self._block(ts, day, k, self.three[ok[self.three]], METER_QUANTITIES_THREE, "three")
                else:
                    self._block(ts, day, k, np.flatnonzero(ok), TAMPER, "tamper", ints=True)


def _truth(cfg: SimConfig, stolen: np.ndarray, reported: np.ndarray,
           duration_end: float) -> list[dict[str, object]]:
    out = []
    for n, sc in enumerate(cfg.scenarios):
        kind = CATALOGUE[sc.kind]
        start = cfg.start + sc.start_h * 3600.0
        end = min(cfg.start + sc.end_h * 3600.0, duration_end)
        if start >= duration_end:
            continue
        if kind.truth == "theft":
            magnitude, unit = float(stolen[n]), "kWh stolen"
        elif kind.truth == "record" and sc.kind == "misregistered":
            magnitude, unit = float(reported[n]), "kWh recorded here but fed elsewhere"
        elif sc.kind == "wrong_ct_ratio":
            magnitude, unit = float(sc.params["recorded_ratio"]), "recorded CT ratio"
        elif kind.params:
            name = next(iter(kind.params))
            magnitude, unit = float(sc.params[name]), name
        else:
            magnitude, unit = (end - start) / 3600.0, "h"
        out.append({"what": sc.kind, "category": kind.truth, "subject": sc.subject,
                    "start": rfc3339(start), "end": rfc3339(end), "start_ts": start, "end_ts": end,
                    "magnitude": round(magnitude, 6), "unit": unit, "params": sc.params, "scenario": sc.key})
    return out


def _hotspot_truth(episodes: list[Episode]) -> list[dict[str, object]]:
    return [{"what": "hotspot", "category": "heat", "subject": "transformer", "start": rfc3339(e.start),
             "end": rfc3339(e.end), "start_ts": e.start, "end_ts": e.end, "magnitude": round(e.peak_c, 2),
             "unit": "degC peak hot-spot", "params": {"limit_c": HOTSPOT_LIMIT_C}, "scenario": None}
            for e in episodes]


def _heat(sim: AreaSimulator, heat: TransformerHeat, day: DayResult, weather: TextIO) -> None:
    """The transformer's own hot-spot over the day (truth) and the hourly ambient (weather.csv)."""
    rated = sim.cfg.area.rated_kva * 1000.0 / (math.sqrt(3.0) * sim.cfg.area.lv_voltage)
    beta = np.maximum.reduce([day.master[q] for q in ("i_a", "i_b", "i_c")]) / rated
    heat.day(day.t, beta, day.master["t_amb"])
    hourly = (day.t % 3600.0) == 0
    weather.write("".join(f"{int(t)},{a:.1f}\n" for t, a in zip(day.t[hourly], day.master["t_amb"][hourly],
                                                                strict=True)))


def _area_files(sim: AreaSimulator, dest: Path) -> None:
    net, spec = sim.net, sim.cfg.area
    (dest / "area.toml").write_text(
        f"# Area as the records describe it; written by meterwatch simulate --export (seed {sim.cfg.seed}).\n"
        "[[area]]\n"
        f'id = "{spec.id}"\nname = "{spec.name}"\ngrid = "{spec.grid}"\n'
        f'transformer = {{ rated_kva = {spec.rated_kva}, lv_voltage = {spec.lv_voltage}, cooling = "ONAN" }}\n'
        'master = { bus = "ttu", device_id = 1, profile = "ttu", ct_ratio = 1 }\n'
        f'branches = [{", ".join(repr(b).replace(chr(39), chr(34)) for b in net.branch_names)}]\n'
        'meters_csv = "meters.csv"\n'
        "# the export's read cadences, so a replay's engine expects them before it has learned them\n"
        f"detection = {{ outage = {{ master_cadence_s = {float(sim.cfg.export.master_s)}, "
        f"meter_cadence_s = {float(sim.cfg.export.meter_s)} }} }}\n", encoding="utf-8")
    csv = meters_csv_text(net, bus_of=["rs485-1"] * net.n, addresses=[f"{i + 1:012d}" for i in range(net.n)],
                          ct_ratio=recorded_ct_ratios(sim.cfg, net).tolist())
    (dest / "meters.csv").write_text(csv, encoding="utf-8")


def export(cfg: SimConfig, dest: str | Path, days: int, *,
           progress: Callable[[int, int, float], None] | None = None) -> ExportStats:
    """Simulate ``days`` days of ``cfg`` and write the export files into ``dest`` (created if needed)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sim = AreaSimulator(cfg)
    stolen = np.zeros(len(cfg.scenarios))
    reported = np.zeros(len(cfg.scenarios))
    index = {mid: i for i, mid in enumerate(sim.net.ids)}
    per_balance = cfg.export.balance_s // cfg.step_s
    heat = TransformerHeat(step_s=float(cfg.step_s))
    with open(dest / "readings.csv", "w", encoding="utf-8", newline="") as out, \
            open(dest / "balance.csv", "w", encoding="utf-8", newline="") as bal, \
            open(dest / "weather.csv", "w", encoding="utf-8", newline="") as weather:
        out.write("ts,device,quantity,value\n")
        weather.write("ts,t_amb\n")
        bal.write("ts_start,ts_end," + ",".join(BALANCE[:5]) + ",reported_sales_kwh," +
                  ",".join(BALANCE[5:]) + "\n")
        writer = _Writer(sim, out)
        for d in range(days):
            day = sim.day(d)
            writer.day(day)
            _heat(sim, heat, day, weather)
            sums = {k: v.reshape(-1, per_balance).sum(axis=1) for k, v in day.balance.items()}
            starts = day.t[::per_balance]
            for j, ts in enumerate(starts.tolist()):
                cols = [sums[k][j] for k in BALANCE]
                row = [*cols[:5], cols[1] + cols[4], *cols[5:]]
                bal.write(f"{int(ts)},{int(ts) + cfg.export.balance_s}," + ",".join(repr(float(c)) for c in row)
                          + "\n")
            for n, sc in enumerate(cfg.scenarios):
                i = index.get(sc.subject)
                if i is None:
                    continue
                w = step_window(sc, start=cfg.start, day_start=float(day.t[0]), steps=day.t.size,
                                step_s=cfg.step_s)
                stolen[n] += day.stolen_by_meter_kwh[w, i].sum()
                if sc.kind == "misregistered":
                    reported[n] += float(day.meter["p"][w, i].sum()) * cfg.step_s / 3600.0
            if progress:
                progress(d + 1, days, time.perf_counter() - t0)
    end = cfg.start + days * 86400.0
    with open(dest / "truth.jsonl", "w", encoding="utf-8") as f:
        for rec in [*_truth(cfg, stolen, reported, end), *_hotspot_truth(heat.close())]:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    _area_files(sim, dest)
    stats = ExportStats(days=days, meters=sim.net.n, rows=writer.rows, seconds=time.perf_counter() - t0)
    meta = {"seed": cfg.seed, "start": rfc3339(cfg.start), "days": days, "step_s": cfg.step_s,
            "cadence_s": {"master": cfg.export.master_s, "meter": cfg.export.meter_s,
                          "tamper": cfg.export.tamper_s, "balance": cfg.export.balance_s},
            "meters": sim.net.n, "rows": writer.rows, "config": cfg.source}
    (dest / "export.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return stats


def progress_bar(stream: TextIO | None = None) -> Callable[[int, int, float], None]:
    """A progress callback drawing ``[#####.....] day 12/90  8.1 s  ETA 52 s`` on ``stream``."""
    def draw(done: int, total: int, elapsed: float) -> None:
        out = stream or sys.stderr
        width = 30
        fill = width * done // total
        eta = elapsed / done * (total - done)
        out.write(f"\r[{'#' * fill}{'.' * (width - fill)}] day {done}/{total}  {elapsed:6.1f} s  "
                     f"ETA {eta:5.0f} s")
        if done == total:
            out.write("\n")
        out.flush()
    return draw
