"""The interval and daily summaries' own fields (the line-loss stage fills its fields next to them), the
day's collection rate and ``collection_rate_low``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import DAY_S, AreaContext
from detect.observe import AlarmSpec, Condition, Seen
from detect.stages._fmt import num
from detect.stages.master import MasterState
from detect.stages.meters import ClosedMeters, MeterState
from detect.stages.thermal import ThermalState

__all__ = ["ClosedDay", "DayState", "alarms", "close_day", "collection", "interval_fields", "new_day", "start"]

I64 = npt.NDArray[np.int64]


@dataclass(eq=False)
class DayState(Columns):
    PREFIX = "s."

    day_index: I64                 # (1,) the current local day
    day_u: I64                     # (2,) voltage readings, qualified readings (meters and master)
    day_lol_start_h: npt.NDArray[np.float64]   # (1,) transformer loss of life at the day's start

    @classmethod
    def fresh(cls) -> DayState:
        return cls(day_index=np.full(1, -(2**62), np.int64), day_u=np.zeros(2, np.int64), day_lol_start_h=np.zeros(1))


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="collection_rate_low@area", subjects=1)]


def start(ctx: AreaContext, st: DayState, started_ts: float, heat: ThermalState) -> DayState:
    st.day_index[0] = ctx.day_of(started_ts)
    st.day_lol_start_h[0] = heat.loss_of_life_h
    return st


def interval_fields(ctx: AreaContext, st: DayState, closed: ClosedMeters, master: MasterState, slot: int,
                    k: int) -> tuple[DayState, dict[str, Any]]:
    """The interval summary of interval ``k``; line-loss fields present and null (the loss stage's)."""
    n, interval = ctx.n_meters, ctx.params.interval_s
    u_n = closed.u_n + int(master.m_u_n[slot].sum())
    u_ok = closed.u_ok + int(master.m_u_ok[slot].sum())
    st.day_u += (u_n, u_ok)
    m_n = int(master.m_n[slot])
    em = closed.e_kwh[:n]
    return st, {
        "interval_start": float(k * interval), "interval_end": float((k + 1) * interval),
        "supply_kwh": None, "sales_kwh": None, "loss_kwh": None, "loss_pct": None,
        "technical_loss_kwh": None, "ntl_kwh": None, "status": "not_computable",
        "coverage_pct": float(np.isfinite(em).mean() * 100) if n else None,
        "master_e_fwd_kwh": num(float(closed.e_kwh[n])),
        "load_max_pct": num(float(master.m_load_max[slot])),
        "load_mean_pct": float(master.m_load_sum[slot] / m_n) if m_n else None,
        "imbalance_pct": float(master.m_imb_sum[slot] / master.m_imb_n[slot]) if master.m_imb_n[slot] else None,
        "neutral_pct": num(float(master.m_neutral_max[slot])),
        "hotspot_max_c": num(float(master.m_hot_max[slot])),
        "voltage_qualified_pct": u_ok / u_n * 100 if u_n else None,
        "meters_low_voltage": closed.meters_low_voltage,
        "meters_high_voltage": closed.meters_high_voltage,
        "meters_expected": n, "meters_read": int(closed.read.sum()),
        "master_voltage_qualified_pct": [float(master.m_u_ok[slot, ph] / master.m_u_n[slot, ph] * 100)
                                         if master.m_u_n[slot, ph] else None for ph in range(3)],
    }


@dataclass(frozen=True, eq=False)
class ClosedDay:
    end: float
    date: str                 # local date, YYYY-MM-DD
    partial: bool             # the engine started during the day
    row: int                  # the day's collection row (``MeterState.day_collected``)
    collected: int
    rate_pct: float
    fields: dict[str, Any]    # the daily summary; line-loss fields present and null (the loss stage's)


def close_day(ctx: AreaContext, st: DayState, clock: EngineClock, meters: MeterState, master: MasterState,
              heat: ThermalState, end: float) -> ClosedDay:
    """The daily summary of the local day ending at ``end`` and its collection rate."""
    n = ctx.n_meters
    start = end - DAY_S
    row = int(st.day_index[0]) % 2
    collected = int(meters.day_collected[row].sum())
    rate = collected / n * 100 if n else 100.0
    partial = clock.started_ts > start
    u_n, u_ok = int(st.day_u[0]), int(st.day_u[1])
    date = datetime.fromtimestamp(start + ctx.params.utc_offset_s, tz=timezone.utc).strftime("%Y-%m-%d")
    fields: dict[str, Any] = {
        "date": date, "day_start": start, "day_end": end, "partial": bool(partial),
        "supply_kwh": None, "sales_kwh": None, "loss_kwh": None, "loss_pct": None, "technical_loss_kwh": None,
        "ntl_kwh": None, "band": "not_computable", "status": "not_computable", "coverage_pct": None,
        "collection_rate_pct": rate, "meters_expected": n, "meters_collected": collected,
        "voltage_qualified_pct": u_ok / u_n * 100 if u_n else None,
        "load_max_pct": num(float(master.day_load_max[0])),
        "ageing_days": (heat.loss_of_life_h - float(st.day_lol_start_h[0])) / 24.0,
        "abnormal_days": None, "suspects": [],
    }
    return ClosedDay(end=end, date=date, partial=bool(partial), row=row, collected=collected, rate_pct=rate,
                     fields=fields)


def collection(ctx: AreaContext, day: ClosedDay) -> Seen:
    """``collection_rate_low`` for a whole day (the first, partial day never alarms)."""
    if day.partial:
        return Seen()
    target, n, date = ctx.params.collection.target_pct, ctx.n_meters, day.date
    rate = day.rate_pct
    return Seen(conditions=(Condition(
        key="collection_rate_low@area", subj=[0], ts=[day.end], on=[rate < target], off=[rate >= target],
        valid=[True], values=[rate], threshold=target, unit="%", severity=lambda _x: "warning",
        evidence=lambda _k: {"date": date, "meters_expected": n, "meters_collected": day.collected},
        describe=lambda s, _i, x: (f"collection rate {x:.2f} % on {date} below {target:g} %"
                                   if s != "cleared" else f"collection rate {x:.2f} % on {date} back on target")),))


def new_day(ctx: AreaContext, st: DayState, heat: ThermalState, end: float) -> DayState:
    st.day_index[0] = ctx.day_of(end)
    st.day_u[:] = 0
    st.day_lol_start_h[0] = heat.loss_of_life_h
    return st
