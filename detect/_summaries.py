"""Closing an interval (interval + meters/interval summaries, history ring) and a local day (daily
summary, collection rate and ``collection_rate_low``). Line-loss fields are present and null: they are
filled by the line-loss detectors of the next stage on the same state."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from detect import _loss
from detect._emit import run_alarm
from detect.kernels_codes import ESTIMATED_CODES

if TYPE_CHECKING:
    from detect.engine import Engine

DAY_S = 86400


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _list(a: np.ndarray) -> list[float | None]:
    """JSON-ready list: NaN/inf become None (vectorised: this runs on every meter every interval)."""
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    values: list[float | None] = out.tolist()
    return values


def close_interval(eng: Engine, k: int) -> None:
    """Finish interval ``k``: energies, statistics, summaries; then the day if it ends with it."""
    st, prm, area = eng.state, eng.params, eng.area
    n = area.n_meters
    interval = prm.interval_s
    slot = k % len(st.slot_k)
    start, end = float(k * interval), float((k + 1) * interval)
    if st.slot_k[slot] != k:        # nothing was ever placed in it: an empty interval
        st.reset_slot(slot, k)
    e, code = eng.ops["energy"].interval_energy(st.e_prev, st.e_prev_ts, st.e_first[slot], st.e_last[slot],
                                                st.e_last_ts[slot], start, float(interval),
                                                prm.register_rollover_kwh)
    got = ~np.isnan(st.e_last[slot])
    st.e_prev[got] = st.e_last[slot][got]
    st.e_prev_ts[got] = st.e_last_ts[slot][got]
    em = e[:n]
    read = got[:n] | (st.u_n[slot] + st.u_dead[slot] > 0)
    estimated = np.isin(code[:n], ESTIMATED_CODES)
    with np.errstate(invalid="ignore", divide="ignore"):
        u_mean = np.where(st.u_n[slot] > 0, st.u_sum[slot] / np.maximum(st.u_n[slot], 1), np.nan)
        u_qual = np.where(st.u_n[slot] > 0, st.u_ok[slot] / np.maximum(st.u_n[slot], 1) * 100, np.nan)
    h = k % len(st.h_k)
    st.h_k[h] = k
    st.h_e_kwh[h] = em
    st.h_code[h] = code[:n]
    st.h_u_mean[h] = u_mean
    vp = prm.voltage
    low, high = vp.nominal_v * (1 + vp.low_pct / 100), vp.nominal_v * (1 + vp.high_pct / 100)
    u_n = int(st.u_n[slot].sum() + st.m_u_n[slot].sum())
    u_ok = int(st.u_ok[slot].sum() + st.m_u_ok[slot].sum())
    st.day_u += (u_n, u_ok)
    m_n = int(st.m_n[slot])
    fields: dict[str, Any] = {
        "interval_start": start, "interval_end": end,
        "supply_kwh": None, "sales_kwh": None, "loss_kwh": None, "loss_pct": None,
        "technical_loss_kwh": None, "ntl_kwh": None, "status": "not_computable",
        "coverage_pct": float(np.isfinite(em).mean() * 100) if n else None,
        "master_e_fwd_kwh": _num(float(e[n])),
        "load_max_pct": _num(float(st.m_load_max[slot])),
        "load_mean_pct": float(st.m_load_sum[slot] / m_n) if m_n else None,
        "imbalance_pct": float(st.m_imb_sum[slot] / st.m_imb_n[slot]) if st.m_imb_n[slot] else None,
        "neutral_pct": _num(float(st.m_neutral_max[slot])),
        "hotspot_max_c": _num(float(st.m_hot_max[slot])),
        "voltage_qualified_pct": u_ok / u_n * 100 if u_n else None,
        "meters_low_voltage": int(np.sum(st.u_min[slot] < low)),
        "meters_high_voltage": int(np.sum(st.u_max[slot] > high)),
        "meters_expected": n, "meters_read": int(read.sum()),
        "master_voltage_qualified_pct": [float(st.m_u_ok[slot, ph] / st.m_u_n[slot, ph] * 100)
                                         if st.m_u_n[slot, ph] else None for ph in range(3)],
    }
    _loss.close_interval(eng, k, fields)
    eng.summary("interval", end, fields)
    eng.summary("meters_interval", end, {
        "interval_start": start, "interval_end": end, "meters": list(area.meter_ids), "e_kwh": _list(em),
        "u_min": _list(st.u_min[slot]), "u_max": _list(st.u_max[slot]), "u_mean": _list(u_mean),
        "i_max": _list(st.i_max[slot]), "read": read.tolist(), "estimated": estimated.tolist(),
        "u_qualified_pct": _list(u_qual),
    })
    st.slot_k[slot] = -1
    if (end + prm.utc_offset_s) % DAY_S == 0:
        close_day(eng, end)


def day_of(eng: Engine, ts: float) -> int:
    return math.floor((ts + eng.params.utc_offset_s) / DAY_S)


def close_day(eng: Engine, end: float) -> None:
    """Daily summary of the local day ending at ``end`` and the collection-rate alarm."""
    st, prm, area = eng.state, eng.params, eng.area
    n = area.n_meters
    start = end - DAY_S
    row = int(st.day_index[0]) % 2
    collected = int(st.day_collected[row].sum())
    rate = collected / n * 100 if n else 100.0
    partial = eng.started_ts > start
    u_n, u_ok = int(st.day_u[0]), int(st.day_u[1])
    date = datetime.fromtimestamp(start + prm.utc_offset_s, tz=timezone.utc).strftime("%Y-%m-%d")
    fields: dict[str, Any] = {
        "date": date, "day_start": start, "day_end": end, "partial": bool(partial),
        "supply_kwh": None, "sales_kwh": None, "loss_kwh": None, "loss_pct": None, "technical_loss_kwh": None,
        "ntl_kwh": None, "band": "not_computable", "status": "not_computable", "coverage_pct": None,
        "collection_rate_pct": rate, "meters_expected": n, "meters_collected": collected,
        "voltage_qualified_pct": u_ok / u_n * 100 if u_n else None,
        "load_max_pct": _num(float(st.day_load_max[0])),
        "ageing_days": (float(st.thermal[3]) - float(st.day_lol_start_h[0])) / 24.0,
        "abnormal_days": None, "suspects": [],
    }
    _loss.close_day(eng, end, fields, bool(partial))
    eng.summary("daily", end, fields)
    target = prm.collection.target_pct
    if not partial:
        run_alarm(eng, "collection_rate_low@area", subj=[0], ts=[end], on=[rate < target], off=[rate >= target],
                  valid=[True], values=[rate], threshold=target, unit="%", severity=lambda _x: "warning",
                  evidence=lambda _k: {"date": date, "meters_expected": n, "meters_collected": collected},
                  describe=lambda s, _i, x: (f"collection rate {x:.2f} % on {date} below {target:g} %"
                                             if s != "cleared" else f"collection rate {x:.2f} % on {date} back on target"))
    st.day_index[0] = day_of(eng, end)
    st.day_collected[row] = False             # this row now serves the day after the new current day
    st.day_u[:] = 0
    st.day_load_max[0] = np.nan
    st.day_lol_start_h[0] = st.thermal[3]
