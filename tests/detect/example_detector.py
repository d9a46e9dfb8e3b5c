"""Supply frequency at the transformer: ``frequency_deviation`` while the master's frequency stays outside
50 ± 0.5 Hz for a minute (GB/T 15945-2008 allows ±0.5 Hz on small systems, ±0.2 Hz normally), and the
minutes outside the band per day in the daily summary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.columns import Columns
from detect.context import AreaContext
from detect.moments import DayMoment, PollMoment
from detect.observe import AlarmSpec, Condition, Seen

NAME = "frequency"                    # its state goes into the snapshot as d.frequency.*
NOMINAL_HZ, BAND_HZ, HYSTERESIS_HZ, PERSIST_S = 50.0, 0.5, 0.05, 60.0


@dataclass(eq=False)
class State(Columns):
    outside_s: npt.NDArray[np.float64]     # (1,) seconds outside the band so far today
    last_ts: npt.NDArray[np.float64]       # (1,) the previous poll


def fresh(ctx: AreaContext) -> State:
    return State(outside_s=np.zeros(1), last_ts=np.full(1, np.nan))


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="frequency_deviation@transformer", subjects=1, persist_on_s=PERSIST_S,
                      persist_off_s=PERSIST_S)]


def on_polls(ctx: AreaContext, st: State, m: PollMoment) -> tuple[State, Seen]:
    ts, f = m.polls.ts, m.polls.col("f")
    dev = np.abs(f - NOMINAL_HZ)
    outside = dev > BAND_HZ
    prev = np.concatenate([st.last_ts, ts[:-1]])
    st.outside_s[0] += float(np.where(outside & ~np.isnan(prev), ts - prev, 0.0).sum())
    st.last_ts[0] = ts[-1]
    cond = Condition(
        key="frequency_deviation@transformer", subj=np.zeros(len(ts), np.int64), ts=ts, on=outside,
        off=dev <= BAND_HZ - HYSTERESIS_HZ, valid=~np.isnan(f), values=dev, threshold=BAND_HZ, unit="Hz",
        severity=lambda _x: "warning", evidence=lambda k: {"f_hz": f[k]},
        describe=lambda s, _i, x: (f"supply frequency {x:.2f} Hz off {NOMINAL_HZ:g} Hz (limit {BAND_HZ:g} Hz)"
                                   if s != "cleared" else "supply frequency back within the band"))
    return st, Seen(conditions=(cond,), fields={"f_deviation_hz": dev})


def on_day(ctx: AreaContext, st: State, m: DayMoment) -> tuple[State, Seen]:
    minutes = float(st.outside_s[0]) / 60.0
    st.outside_s[0] = 0.0
    return st, Seen(fields={"frequency_outside_min": minutes})
