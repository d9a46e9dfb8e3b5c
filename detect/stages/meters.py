"""Per-device interval accumulators (energy registers of every device, meter voltages and currents), the
interval energies and history ring, daily collection, and the per-meter voltage conditions.

Placement works on any device: the master's energy registers land here too. Closing an interval turns
the registers into interval energies (``energy`` kernel: rollover, replaced meter, gaps) and the
``meters_interval`` summary fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
from detect.kernels_codes import ESTIMATED_CODES
from detect.observe import AlarmSpec, Condition, Seen
from detect.quantities import QUANTITIES, QUANTITY_CODE
from detect.stages._fmt import json_list
from detect.stages.readings import Chunk, last_per_key

__all__ = ["ClosedMeters", "MeterState", "alarms", "close_interval", "new_day", "place"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Q = QUANTITY_CODE
IS_VOLTAGE = np.isin(np.arange(len(QUANTITIES)), [Q["u_a"], Q["u_b"], Q["u_c"]])   # by quantity code
IS_CURRENT = np.isin(np.arange(len(QUANTITIES)), [Q["i_a"], Q["i_b"], Q["i_c"]])


@dataclass(eq=False)
class MeterState(Columns):
    PREFIX = "s."

    # energy register baseline: the last reading of the last closed interval (every device, master at N)
    e_prev: F64                    # (D,)
    e_prev_ts: F64
    # open intervals, by slot
    e_first: F64                   # (S, D) first/last register reading in the interval
    e_first_ts: F64
    e_last: F64
    e_last_ts: F64
    u_min: F64                     # (S, N) voltage statistics
    u_max: F64
    u_sum: F64
    u_n: I64
    u_ok: I64
    u_dead: I64
    i_max: F64                     # (S, N)
    # closed-interval history ring
    h_k: I64                       # (H,)
    h_e_kwh: F64                   # (H, N)
    h_code: npt.NDArray[np.int8]
    h_u_mean: F64
    day_collected: npt.NDArray[np.bool_]  # (2, N) by day parity
    u_alarm_ts: F64                # (N,) latest voltage reading each meter's voltage alarms have seen

    OPTIONAL = frozenset({"u_alarm_ts"})          # snapshots before issue 18

    @classmethod
    def fresh(cls, ctx: AreaContext, n_slots: int) -> MeterState:
        n, s, h = ctx.n_meters, n_slots, ctx.params.history_intervals
        d, nan = n + 1, np.nan
        return cls(
            e_prev=np.full(d, nan), e_prev_ts=np.full(d, nan),
            e_first=np.full((s, d), nan), e_first_ts=np.full((s, d), nan),
            e_last=np.full((s, d), nan), e_last_ts=np.full((s, d), nan),
            u_min=np.full((s, n), nan), u_max=np.full((s, n), nan), u_sum=np.zeros((s, n)),
            u_n=np.zeros((s, n), np.int64), u_ok=np.zeros((s, n), np.int64), u_dead=np.zeros((s, n), np.int64),
            i_max=np.full((s, n), nan),
            h_k=np.full(h, -1, np.int64), h_e_kwh=np.full((h, n), nan), h_code=np.zeros((h, n), np.int8),
            h_u_mean=np.full((h, n), nan), day_collected=np.zeros((2, n), np.bool_), u_alarm_ts=np.full(n, -np.inf))

    def reset_slot(self, slot: int) -> None:
        """Empty the accumulators of ``slot`` (the engine gave it to a new interval)."""
        for name in ("e_first", "e_first_ts", "e_last", "e_last_ts", "u_min", "u_max", "i_max"):
            getattr(self, name)[slot] = np.nan
        for name in ("u_sum", "u_n", "u_ok", "u_dead"):
            getattr(self, name)[slot] = 0


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    vp, n = ctx.params.voltage, ctx.n_meters
    return [AlarmSpec(key="low_voltage@meter", subjects=n, persist_on_s=vp.persist_s, persist_off_s=vp.clear_persist_s),
            AlarmSpec(key="high_voltage@meter", subjects=n, persist_on_s=vp.persist_s, persist_off_s=vp.clear_persist_s)]


def _first_per_key(key: I64) -> I64:
    _, first = np.unique(key, return_index=True)
    return first


def place(ctx: AreaContext, st: MeterState, clock: EngineClock, day_index: int, explained: npt.NDArray[np.bool_],
          chunk: Chunk) -> tuple[MeterState, Seen]:
    """Place time-sorted readings whose interval is still open (the engine dropped the rest); the voltage
    conditions of the meters (``explained``: meters whose supply an outage explains, held)."""
    if not len(chunk):
        return st, Seen()
    n = ctx.n_meters
    d64, q, v, ts, valid, slots = chunk.dev, chunk.q, chunk.v, chunk.ts, chunk.valid, chunk.slot
    e_mask = (q == Q["e_fwd"]) & valid & (slots >= 0)
    if e_mask.any():            # energy registers: first and last reading per (interval, device)
        es, ed, ev, et = slots[e_mask], d64[e_mask], v[e_mask], ts[e_mask]
        key = es * (n + 1) + ed
        f = _first_per_key(key)
        f = f[~(st.e_first_ts[es[f], ed[f]] <= et[f])]
        st.e_first[es[f], ed[f]] = ev[f]
        st.e_first_ts[es[f], ed[f]] = et[f]
        last = last_per_key(key)
        last = last[~(st.e_last_ts[es[last], ed[last]] > et[last])]
        st.e_last[es[last], ed[last]] = ev[last]
        st.e_last_ts[es[last], ed[last]] = et[last]
    # Collection: a meter with a valid energy reading (live or frozen) timestamped in a day is collected
    # that day. Two rows (day parity) so readings of the next day that arrive while the current day waits
    # for its late readings are kept.
    day = ctx.days_of(ts)
    coll = valid & (d64 < n) & ((q == Q["e_fwd"]) | (q == Q["e_fwd_daily"])) & (day >= day_index) \
        & (day <= day_index + 1)
    st.day_collected[day[coll] % 2, d64[coll]] = True
    meter = d64 < n
    meter_u = meter & IS_VOLTAGE[q]
    volt = meter_u & (slots >= 0)
    if volt.any():
        vp, op = ctx.params.voltage, ctx.params.outage
        nom = vp.nominal_v
        ctx.ops["voltage"].accumulate_voltage(
            slots[volt], d64[volt], v[volt], nom * (1 + vp.low_pct / 100), nom * (1 + vp.high_pct / 100),
            nom * op.dead_voltage_pct / 100, st.u_min, st.u_max, st.u_sum, st.u_n, st.u_ok, st.u_dead)
    cur = meter & IS_CURRENT[q] & valid & (slots >= 0)
    if cur.any():
        np.fmax.at(st.i_max, (slots[cur], d64[cur]), np.abs(v[cur]))
    # conditions only on readings not older than what that meter's alarms have already seen (late ones are
    # placed in their interval statistics above, but cannot rewrite a persistence that already ran). Per
    # meter, not against the engine's event time: live, a meter's readings reach the engine a few seconds
    # after they were taken (its round's transactions), when other devices have moved event time on.
    volt_live = meter_u & valid
    volt_live[volt_live] = ts[volt_live] >= st.u_alarm_ts[d64[volt_live]]
    if not volt_live.any():
        return st, Seen()
    np.fmax.at(st.u_alarm_ts, d64[volt_live], ts[volt_live])
    return st, Seen(conditions=_voltage_conditions(ctx, explained, d64[volt_live], v[volt_live], ts[volt_live]))


def _voltage_conditions(ctx: AreaContext, explained: npt.NDArray[np.bool_], meter: I64, u: F64,
                        ts: F64) -> tuple[Condition, Condition]:
    """Per-meter low/high voltage. The phases a meter reports at one time form one event: low if the
    lowest live phase is low, high if the highest is high. A dead supply is outage logic, not low voltage."""
    vp, op = ctx.params.voltage, ctx.params.outage
    nom = vp.nominal_v
    low, high, hyst = nom * (1 + vp.low_pct / 100), nom * (1 + vp.high_pct / 100), nom * vp.hysteresis_pct / 100
    dead = nom * op.dead_voltage_pct / 100
    order = np.lexsort((meter, ts))
    meter, u, ts = meter[order], u[order], ts[order]
    boundary = np.empty(len(ts), np.bool_)
    boundary[0] = True
    boundary[1:] = (meter[1:] != meter[:-1]) | (ts[1:] != ts[:-1])
    starts = np.flatnonzero(boundary)
    live_u = np.where(u >= dead, u, np.nan)
    with np.errstate(invalid="ignore"):
        u_lo = np.fmin.reduceat(live_u, starts)
        u_hi = np.fmax.reduceat(live_u, starts)
    m, t = meter[starts], ts[starts]
    valid = ~np.isnan(u_lo) & ~explained[m]
    names = ctx.area.meter_ids
    return (
        Condition(key="low_voltage@meter", subj=m, ts=t, on=u_lo < low, off=u_lo >= low + hyst, valid=valid,
                  values=u_lo, threshold=low, unit="V", severity=lambda _x: "warning",
                  evidence=lambda k: {"u_min_v": u_lo[k], "nominal_v": nom},
                  describe=lambda s, i, x: (f"meter {names[i]} low voltage {x:.1f} V below {low:.1f} V for "
                                            f"{vp.persist_s / 60:g} min" if s != "cleared" else
                                            f"meter {names[i]} voltage back to {x:.1f} V")),
        Condition(key="high_voltage@meter", subj=m, ts=t, on=u_hi > high, off=u_hi <= high - hyst, valid=valid,
                  values=u_hi, threshold=high, unit="V", severity=lambda _x: "warning",
                  evidence=lambda k: {"u_max_v": u_hi[k], "nominal_v": nom},
                  describe=lambda s, i, x: (f"meter {names[i]} high voltage {x:.1f} V above {high:.1f} V for "
                                            f"{vp.persist_s / 60:g} min" if s != "cleared" else
                                            f"meter {names[i]} voltage back to {x:.1f} V")),
    )


@dataclass(frozen=True, eq=False)
class ClosedMeters:
    """Interval ``k`` as the meters saw it."""

    e_kwh: F64                      # (D,) interval energy of every device (master last)
    read: npt.NDArray[np.bool_]     # (N,) meters heard in the interval
    u_n: int                        # meter voltage readings, and how many were within the limits
    u_ok: int
    meters_low_voltage: int
    meters_high_voltage: int
    fields: dict[str, Any]          # the meters_interval summary


def close_interval(ctx: AreaContext, st: MeterState, slot: int, k: int) -> tuple[MeterState, ClosedMeters]:
    """Interval energies from the registers, the history ring, the ``meters_interval`` fields."""
    prm, area = ctx.params, ctx.area
    n, interval = ctx.n_meters, prm.interval_s
    start, end = float(k * interval), float((k + 1) * interval)
    e, code = ctx.ops["energy"].interval_energy(st.e_prev, st.e_prev_ts, st.e_first[slot], st.e_last[slot],
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
    fields = {
        "interval_start": start, "interval_end": end, "meters": list(area.meter_ids), "e_kwh": json_list(em),
        "u_min": json_list(st.u_min[slot]), "u_max": json_list(st.u_max[slot]), "u_mean": json_list(u_mean),
        "i_max": json_list(st.i_max[slot]), "read": read.tolist(), "estimated": estimated.tolist(),
        "u_qualified_pct": json_list(u_qual),
    }
    return st, ClosedMeters(e_kwh=e, read=read, u_n=int(st.u_n[slot].sum()), u_ok=int(st.u_ok[slot].sum()),
                            meters_low_voltage=int(np.sum(st.u_min[slot] < low)),
                            meters_high_voltage=int(np.sum(st.u_max[slot] > high)), fields=fields)


def new_day(st: MeterState, row: int) -> MeterState:
    """The collection row of the day just closed now serves the day after the new current day."""
    st.day_collected[row] = False
    return st
