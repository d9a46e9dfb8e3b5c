"""Placement of readings into the columnar state (latest values, open-interval accumulators) and the
per-meter voltage alarms. Works on any device; the master's energy registers land here too."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from detect._emit import run_alarm
from detect.quantities import QUANTITIES, QUANTITY_CODE

if TYPE_CHECKING:
    from detect.engine import Engine

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Q = QUANTITY_CODE
VOLTAGES = np.array([Q["u_a"], Q["u_b"], Q["u_c"]])
CURRENTS = np.array([Q["i_a"], Q["i_b"], Q["i_c"]])
NQ = len(QUANTITIES)


def _last_per_key(key: I64) -> I64:
    """Index of the last occurrence of each distinct key (input is in time order)."""
    rev = key[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)
    return len(key) - 1 - first_in_rev


def _first_per_key(key: I64) -> I64:
    _, first = np.unique(key, return_index=True)
    return first


def place(eng: Engine, dev: npt.NDArray[np.int32], q: npt.NDArray[np.int16], v: F64, ts: F64) -> None:
    """Place time-sorted readings whose interval is still open (the caller filtered the rest)."""
    if not len(ts):
        return
    st, n = eng.state, eng.area.n_meters
    d64 = dev.astype(np.int64)
    valid = ~np.isnan(v)
    # latest value per (device, quantity); an older reading never overwrites a newer one
    cell = d64 * NQ + q
    idx = _last_per_key(cell[valid])
    sel = np.flatnonzero(valid)[idx]
    newer = ~(st.last_ts[d64[sel], q[sel]] > ts[sel])
    sel = sel[newer]
    st.last_value[d64[sel], q[sel]] = v[sel]
    st.last_ts[d64[sel], q[sel]] = ts[sel]
    # last seen per device, and the learned read cadence (EWMA of the gap between reads) per device;
    # a NaN value is "not read", so it does not count as hearing from the device
    if valid.any():
        dv, tv = d64[valid], ts[valid]
        seen = _last_per_key(dv)
        st.last_seen[dv[seen]] = np.fmax(st.last_seen[dv[seen]], tv[seen])
        learn_cadence(eng, dv, tv)
    slots = eng.slots_for(ts)
    # energy registers: first and last reading per (interval, device)
    e_mask = (q == Q["e_fwd"]) & valid & (slots >= 0)
    if e_mask.any():
        es, ed, ev, et = slots[e_mask], d64[e_mask], v[e_mask], ts[e_mask]
        key = es * (n + 1) + ed
        f = _first_per_key(key)
        earlier = ~(st.e_first_ts[es[f], ed[f]] <= et[f])
        f = f[earlier]
        st.e_first[es[f], ed[f]] = ev[f]
        st.e_first_ts[es[f], ed[f]] = et[f]
        last = _last_per_key(key)
        later = ~(st.e_last_ts[es[last], ed[last]] > et[last])
        last = last[later]
        st.e_last[es[last], ed[last]] = ev[last]
        st.e_last_ts[es[last], ed[last]] = et[last]
    # Collection: a meter with a valid energy reading (live or frozen) timestamped in a day is collected
    # that day. Two rows (day parity) so readings of the next day that arrive while the current day waits
    # for its late readings are kept.
    day = eng.day_of_ts(ts)
    coll = valid & (d64 < n) & ((q == Q["e_fwd"]) | (q == Q["e_fwd_daily"])) \
        & (day >= st.day_index[0]) & (day <= st.day_index[0] + 1)
    st.day_collected[day[coll] % 2, d64[coll]] = True
    meter = d64 < n
    volt = meter & np.isin(q, VOLTAGES) & (slots >= 0)
    if volt.any():
        vp, op = eng.params.voltage, eng.params.outage
        nom = vp.nominal_v
        eng.ops["voltage"].accumulate_voltage(
            slots[volt], d64[volt], v[volt], nom * (1 + vp.low_pct / 100), nom * (1 + vp.high_pct / 100),
            nom * op.dead_voltage_pct / 100,
            st.u_min, st.u_max, st.u_sum, st.u_n, st.u_ok, st.u_dead)
    cur = meter & np.isin(q, CURRENTS) & valid & (slots >= 0)
    if cur.any():
        np.fmax.at(st.i_max, (slots[cur], d64[cur]), np.abs(v[cur]))
    # alarms only on readings not older than what the detectors have already seen (late ones are placed
    # in their interval statistics above, but cannot rewrite a persistence that already ran)
    volt_live = meter & np.isin(q, VOLTAGES) & valid & (ts >= st.watermark[0])
    if volt_live.any():
        _voltage_alarms(eng, d64[volt_live], v[volt_live], ts[volt_live])


def learn_cadence(eng: Engine, dev: I64, ts: F64) -> None:
    """Update each device's read cadence from the distinct read times in this batch (a meter's readings
    closer than ``meter_group_s`` are one read — its round's transactions, interleaved with other devices
    on a slow bus; the master's closer than ``master_group_s``). The previous read time is ``cadence_last``; one update per batch
    with the mean gap, at most twice the current estimate, so a long silence does not teach a slow cadence
    at once while a really slower cadence is still learned within a few reads. The first two gaps of a
    device set its cadence directly."""
    st = eng.state
    if eng.params.outage.cadence == "fixed":   # the reading plans say when each device is due
        return
    order = np.lexsort((ts, dev))
    d, t = dev[order], ts[order]
    group = np.where(d == eng.area.master_index, eng.params.master_group_s, eng.params.meter_group_s)
    first = np.empty(len(d), np.bool_)
    first[0] = True
    first[1:] = d[1:] != d[:-1]
    prev_t = np.where(first, st.cadence_last[d], np.roll(t, 1))
    gap = t - prev_t
    new_read = first | (gap > group)
    gap_ok = new_read & (gap > group) & np.isfinite(gap)
    d_read, t_read = d[new_read], t[new_read]
    st.cadence_last[d_read] = np.fmax(st.cadence_last[d_read], t_read)   # last occurrence wins (sorted)
    if not gap_ok.any():
        return
    cnt = np.bincount(d[gap_ok], minlength=len(st.gap_ewma_s))
    tot = np.bincount(d[gap_ok], weights=gap[gap_ok], minlength=len(st.gap_ewma_s))
    upd = np.flatnonzero(cnt)
    est = st.gap_ewma_s[upd]
    mean_gap = tot[upd] / cnt[upd]
    # the first gaps seen replace the configured default outright (a wrong default must not make the
    # device look silent for its first dozen reads); after that the clipped EWMA
    young = st.cadence_n[upd] < 2
    st.gap_ewma_s[upd] = np.where(young, mean_gap, 0.8 * est + 0.2 * np.minimum(mean_gap, 2.0 * est))
    st.cadence_n[upd] += cnt[upd]


def _voltage_alarms(eng: Engine, meter: I64, u: F64, ts: F64) -> None:
    """Per-meter low/high voltage. The phases a meter reports at one time form one event: low if the
    lowest live phase is low, high if the highest is high. A dead supply is outage logic, not low voltage."""
    vp, op = eng.params.voltage, eng.params.outage
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
    explained = eng.explained_meters()[m]
    valid = ~np.isnan(u_lo) & ~explained
    names = eng.area.meter_ids
    run_alarm(eng, "low_voltage@meter", subj=m, ts=t, on=u_lo < low, off=u_lo >= low + hyst, valid=valid,
              values=u_lo, threshold=low, unit="V", severity=lambda _x: "warning",
              evidence=lambda k: {"u_min_v": u_lo[k], "nominal_v": nom},
              describe=lambda s, i, x: (f"meter {names[i]} low voltage {x:.1f} V below {low:.1f} V for "
                                        f"{vp.persist_s / 60:g} min" if s != "cleared" else
                                        f"meter {names[i]} voltage back to {x:.1f} V"))
    run_alarm(eng, "high_voltage@meter", subj=m, ts=t, on=u_hi > high, off=u_hi <= high - hyst, valid=valid,
              values=u_hi, threshold=high, unit="V", severity=lambda _x: "warning",
              evidence=lambda k: {"u_max_v": u_hi[k], "nominal_v": nom},
              describe=lambda s, i, x: (f"meter {names[i]} high voltage {x:.1f} V above {high:.1f} V for "
                                        f"{vp.persist_s / 60:g} min" if s != "cleared" else
                                        f"meter {names[i]} voltage back to {x:.1f} V"))
