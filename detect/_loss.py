"""Line loss per 15-min interval and per day (docs/lineloss.md): registers at the interval bounds, area
balance with PV export and master reverse flow, gap estimates from each meter's own history, the online
technical-loss model (NTL and its onset, ``ntl_rise``), daily bands, persistent-abnormal days and the
``line_loss_high`` / ``line_loss_negative`` alerts. Physical checks, suspects and mapping: ``_theft``,
``_mapping`` (called from here so the engine needs one hook per interval and per day).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from detect import _mapping, _theft
from detect._emit import run_alarm
from detect._lossstate import LossState
from detect.kernels.lineloss import (
    BAND_HIGH,
    BAND_NEGATIVE,
    BAND_NONE,
    BAND_QUALIFIED,
    STATUS_COMPUTED,
    STATUS_NAMES,
    balance,
    bands,
    daily_energies,
    estimate_from_history,
    interval_energies,
    register_capacity_kwh,
)
from detect.kernels.techloss import S_A, S_B, S_CUSUM, S_N, track
from detect.quantities import QUANTITY_CODE

if TYPE_CHECKING:
    from detect.engine import Engine

Q = QUANTITY_CODE
F64 = npt.NDArray[np.float64]
BAND_NAMES = {BAND_QUALIFIED: "qualified", BAND_NEGATIVE: "negative", BAND_HIGH: "high", BAND_NONE: "not_computable"}


def tracker_specs(eng: Engine) -> list[tuple[str, int, float, float]]:
    """Alarm trackers of this stage (kind@subject, subjects, persistence on/off)."""
    n = eng.area.n_meters
    tp = eng.params.theft
    specs = [("line_loss_high@area", 1, 0.0, 0.0), ("line_loss_negative@area", 1, 0.0, 0.0),
             ("ntl_rise@area", 1, 0.0, 0.0), ("ntl_swing@area", 1, 0.0, 0.0),
             ("theft_suspect@meter", n, 0.0, 0.0), ("mapping_suspect@meter", n, 0.0, 0.0)]
    specs += [(f"{c}@meter", n, _theft.persist_of(c, tp), tp.physical_clear_s) for c in _theft.CHECKS]
    return specs


def new_state(eng: Engine, n_slots: int) -> LossState:
    return LossState.fresh(eng.area.n_meters, n_slots, ring_len(eng), int(eng.area.meter_pv.sum()),
                           eng.params.tech_loss.day_baseline_days, eng.params.mapping.window_days * per_day(eng))


def ring_len(eng: Engine) -> int:
    prm = eng.params
    days = max(prm.theft.window_days, prm.line_loss.estimate_days)
    return days * per_day(eng)


def per_day(eng: Engine) -> int:
    return 86400 // eng.params.interval_s


# ---- placement (every chunk of readings) ---------------------------------------------------------------
def place(eng: Engine, dev: npt.NDArray[np.int32], q: npt.NDArray[np.int16], v: F64, ts: F64) -> None:
    """Keep what this stage needs beyond the engine's own accumulators: e_rev first/last per open interval,
    master Σ I² per interval, meter power samples, the daily frozen registers."""
    ls = eng.loss
    n = eng.area.n_meters
    interval = eng.params.interval_s
    slots = eng.slots_for(ts)
    ok = ~np.isnan(v) & (slots >= 0)
    if not ok.any():
        return
    k = np.floor(ts / interval).astype(np.int64)
    for s in np.unique(slots[ok]).tolist():
        kk = int(k[ok & (slots == s)][0])
        if ls.slot_k[s] != kk:
            ls.reset_slot(s, kk)
    d64 = dev.astype(np.int64)
    m = ok & (q == Q["e_rev"])
    if m.any():
        es, ed, ev, et = slots[m], d64[m], v[m], ts[m]
        # time-sorted input: assign in reverse for "first", forward for "last"; keep older/newer ones
        for idx in (np.arange(len(es))[::-1],):
            cur = ls.r_first_ts[es[idx], ed[idx]]
            take = idx[~(cur <= et[idx])]
            ls.r_first[es[take], ed[take]] = ev[take]
            ls.r_first_ts[es[take], ed[take]] = et[take]
        cur = ls.r_last_ts[es, ed]
        take = np.flatnonzero(~(cur > et))
        ls.r_last[es[take], ed[take]] = ev[take]
        ls.r_last_ts[es[take], ed[take]] = et[take]
    master = ok & (d64 == n)
    for ph, name in enumerate(("i_a", "i_b", "i_c")):
        sel = master & (q == Q[name])
        if sel.any():
            np.add.at(ls.i2_sum[:, ph], slots[sel], v[sel] ** 2)
            np.add.at(ls.i2_n[:, ph], slots[sel], 1)
    for ph, name in enumerate(("u_a", "u_b", "u_c")):
        sel = master & (q == Q[name])
        if sel.any():
            np.add.at(ls.um_sum[:, ph], slots[sel], v[sel])
            np.add.at(ls.um_n[:, ph], slots[sel], 1)
    pm = ok & (d64 < n) & (q == Q["p"])
    if pm.any():
        np.add.at(ls.p_sum, (slots[pm], d64[pm]), v[pm])
        np.add.at(ls.p_n, (slots[pm], d64[pm]), 1)
    fz = ~np.isnan(v) & (d64 < n) & (q == Q["e_fwd_daily"])
    if fz.any():
        for i in np.flatnonzero(fz).tolist():        # once a day per meter: a loop is fine
            mi = int(d64[i])
            if not ls.frozen[3, mi] >= ts[i]:
                ls.frozen[0, mi], ls.frozen[2, mi] = ls.frozen[1, mi], ls.frozen[3, mi]
                ls.frozen[1, mi], ls.frozen[3, mi] = v[i], ts[i]


# ---- interval close -------------------------------------------------------------------------------------
def _bound_energies(eng: Engine, k: int) -> tuple[F64, F64]:
    """Forward and reverse energy of every device in interval k from the registers interpolated to its
    bounds (the lineloss kernel: rollover, meter replacement, gaps)."""
    st, ls, prm, area = eng.state, eng.loss, eng.params, eng.area
    interval = prm.interval_s
    n_s = len(st.slot_k)
    slot, nxt = k % n_s, (k + 1) % n_s
    b0, b1 = float(k * interval), float((k + 1) * interval)
    d = area.n_meters + 1
    own = st.slot_k[slot] == k
    mine = ls.slot_k[slot] == k
    # last reading before b1: the last one in the interval, else the carried one
    fl, flt = (st.e_last[slot], st.e_last_ts[slot]) if own else (np.full(d, np.nan), np.full(d, np.nan))
    rl, rlt = (ls.r_last[slot], ls.r_last_ts[slot]) if mine else (np.full(d, np.nan), np.full(d, np.nan))
    c = ls.carry
    got_f, got_r = ~np.isnan(fl), ~np.isnan(rl)
    c[0] = np.where(got_f, fl, c[0])
    c[1] = np.where(got_f, flt, c[1])
    c[2] = np.where(got_r, rl, c[2])
    c[3] = np.where(got_r, rlt, c[3])
    # first reading at/after b1 (the next interval's slot, open up to the lateness)
    nf = st.slot_k[nxt] == k + 1
    nr = ls.slot_k[nxt] == k + 1
    af, aft = (st.e_first[nxt], st.e_first_ts[nxt]) if nf else (np.full(d, np.nan), np.full(d, np.nan))
    ar, art = (ls.r_first[nxt], ls.r_first_ts[nxt]) if nr else (np.full(d, np.nan), np.full(d, np.nan))
    a = ls.around
    if own:     # the first reading in the interval is the one just after b0 (also right after a restart)
        need = np.isnan(a[3])
        a[2], a[3] = np.where(need, st.e_first[slot], a[2]), np.where(need, st.e_first_ts[slot], a[3])
    if mine:
        need = np.isnan(a[7])
        a[6], a[7] = np.where(need, ls.r_first[slot], a[6]), np.where(need, ls.r_first_ts[slot], a[7])
    new = np.stack([c[0], c[1], af, aft, c[2], c[3], ar, art])
    ts = np.empty((2 * d, 4))
    reg = np.empty((2 * d, 4))
    for blk, (old_rows, new_rows) in enumerate((((0, 2), (0, 2)), ((4, 6), (4, 6)))):
        rows = slice(blk * d, (blk + 1) * d)
        ts[rows, 0], reg[rows, 0] = a[old_rows[0] + 1], a[old_rows[0]]
        ts[rows, 1], reg[rows, 1] = a[old_rows[1] + 1], a[old_rows[1]]
        ts[rows, 2], reg[rows, 2] = new[new_rows[0] + 1], new[new_rows[0]]
        ts[rows, 3], reg[rows, 3] = new[new_rows[1] + 1], new[new_rows[1]]
    # the same reading seen twice (one reading in the interval, or none) must not count as two
    for j in (1, 2, 3):
        dup = np.zeros(2 * d, np.bool_)
        for i in range(j):
            dup |= ts[:, j] == ts[:, i]
        ts[dup, j] = np.nan
        reg[dup, j] = np.nan
    ls.around[:] = new
    cap = np.append(register_capacity_kwh(np.maximum(area.meter_ct_ratio, 1.0)), prm.register_rollover_kwh)
    e = interval_energies(ts, reg, np.array([b0, b1]), rollover_kwh=np.concatenate([cap, cap]),
                          max_gap_s=1.5 * interval, backend=eng.kernel_backend)
    return e[:d, 0], e[d:, 0]


def close_interval(eng: Engine, k: int, fields: dict[str, Any]) -> None:
    """Fill the line-loss fields of interval ``k``'s summary and run the per-interval checks."""
    ls, prm, area = eng.loss, eng.params, eng.area
    n = area.n_meters
    e_fwd, e_rev = _bound_energies(eng, k)
    pv = area.meter_pv
    pv_idx = np.flatnonzero(pv)
    w = len(ls.ring_k)
    pd = per_day(eng)
    # gap estimates: the same interval of the previous days, from this stage's ring
    est_f = np.full(n, np.nan)
    est_r = np.full(n, np.nan)
    unread = np.isnan(e_fwd[:n]) | (pv & np.isnan(e_rev[:n]))
    if unread.any():
        rows = [(k - j * pd) % w for j in range(1, w // pd + 1)]
        rows = [r for r, j in zip(rows, range(1, w // pd + 1), strict=True) if ls.ring_k[r] == k - j * pd]
        if rows:
            um = np.flatnonzero(unread)
            hist = ls.ring_fwd[rows][:, um].T.astype(np.float64)
            est_f[um] = estimate_from_history(hist, min_samples=prm.line_loss.estimate_min_days,
                                              backend=eng.kernel_backend)
            if len(pv_idx):
                histr = ls.ring_rev_pv[rows].T.astype(np.float64)
                er = estimate_from_history(histr, min_samples=prm.line_loss.estimate_min_days,
                                           backend=eng.kernel_backend)
                est_r[pv_idx] = er
    fwd_for_bal = np.where(np.isnan(e_fwd), np.nan, np.maximum(e_fwd, 0.0))
    bal = balance(fwd_for_bal[None, :], e_rev[None, :], pv, est_f[None, :], est_r[None, :],
                  min_coverage_pct=prm.line_loss.min_coverage_pct, backend=eng.kernel_backend)
    status = int(bal.status[0])
    supply, sales = float(bal.supply_kwh[0]), float(bal.sales_kwh[0])
    loss = supply - sales if math.isfinite(supply) and math.isfinite(sales) else math.nan
    # technical-loss model: Σ_φ mean I_φ² at the master over the interval
    slot = k % len(ls.slot_k)
    i2 = math.nan
    if ls.slot_k[slot] == k and (ls.i2_n[slot] > 0).all():
        i2 = float((ls.i2_sum[slot] / ls.i2_n[slot]).sum())
    # while the area is in NTL alarm the model does not learn, or it would absorb the theft as "technical"
    if status == STATUS_COMPUTED and not eng.trackers["ntl_rise@area"].active()[0]:
        tl = track(np.array([loss]), np.array([i2 if math.isfinite(i2) else np.nan]), ls.techloss,
                   prm.tech_loss, rated_current_a=area.rated_current_a, backend=eng.kernel_backend)
        tech, ntl = float(tl.tech_kwh[0]), float(tl.ntl_kwh[0])
    else:
        # not trained on estimates (their error is far above the residual noise); the model still says
        # how much of the loss is load-driven
        x = i2 / (3.0 * area.rated_current_a ** 2)
        tech = float(ls.techloss[S_A] + ls.techloss[S_B] * x) if ls.techloss[S_N] >= 2 else math.nan
        ntl = loss - tech if math.isfinite(loss) else math.nan
    tech = tech if math.isfinite(loss) else math.nan
    fields.update({
        "supply_kwh": _num(supply), "sales_kwh": _num(sales), "loss_kwh": _num(loss),
        "loss_pct": _num(float(bal.loss_pct[0])), "technical_loss_kwh": _num(tech), "ntl_kwh": _num(ntl),
        "status": STATUS_NAMES[status], "coverage_pct": _num(float(bal.coverage_pct[0])),
    })
    # rings for estimates, ranking and mapping
    r = k % w
    ls.ring_k[r] = k
    ls.ring_fwd[r] = e_fwd[:n]
    if len(pv_idx):
        ls.ring_rev_pv[r] = e_rev[pv_idx]
    ls.ring_ntl[r] = ntl
    rv = k % len(ls.ring_uk)
    ls.ring_uk[rv] = k
    ls.ring_u[rv] = _mapping.meter_voltage(eng, slot, k)
    ls.ring_um[rv] = _mapping.master_voltage(eng, k)
    with np.errstate(invalid="ignore"):
        upd = np.isfinite(e_fwd[:n])
        ls.e_typ = np.where(np.isnan(ls.e_typ), e_fwd[:n], np.where(upd, 0.98 * ls.e_typ + 0.02 * e_fwd[:n],
                                                                    ls.e_typ))
    # day accumulators
    for row, e in ((0, e_fwd), (1, e_rev)):
        got = np.isfinite(e)
        (ls.day_fwd if row == 0 else ls.day_rev)[got] += e[got]
        ls.day_n[row, got] += 1
    for row, e, est in ((0, e_fwd[:n], est_f), (1, e_rev[:n], est_r)):
        v = np.where(np.isfinite(e), e, est)
        got = np.isfinite(v)
        (ls.day_est_fwd if row == 0 else ls.day_est_rev)[got] += v[got]
        ls.day_est_n[row, got] += 1
    if math.isfinite(tech):
        ls.day_tech += (tech, 1)
    _theft.interval_checks(eng, k, e_fwd[:n], e_rev[:n], ntl)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _ntl_alarm(eng: Engine, end: float, ntl_pct: float, date: str) -> None:
    """``ntl_rise``: the day's non-technical loss (loss − modelled technical loss, % of supply) rose above
    its own baseline (median of the previous days not in alarm) by ``day_rise_k`` robust deviations and at
    least ``day_rise_min_pp``. Judged per day: interval residuals carry load-correlated model error that a
    day averages out, and a theft shows on the first whole day."""
    ls, tp = eng.loss, eng.params.tech_loss
    hist = ls.ntl_days[np.isfinite(ls.ntl_days)]
    active = bool(eng.trackers["ntl_rise@area"].active()[0])
    valid = math.isfinite(ntl_pct) and len(hist) >= 3
    base = float(np.median(hist)) if len(hist) else math.nan
    sd = max(1.4826 * float(np.median(np.abs(hist - base))), tp.day_sd_floor_pp) if len(hist) else math.nan
    rise = ntl_pct - base
    margin = max(tp.day_rise_k * sd, tp.day_rise_min_pp) if valid else math.nan
    on = valid and rise > margin
    off = valid and rise < margin / 2
    s = ls.techloss
    run_alarm(eng, "ntl_rise@area", subj=[0], ts=[end], on=[on], off=[off], valid=[valid], values=[rise],
              threshold=margin, unit="pp", severity=lambda _x: "major", updates=False,
              evidence=lambda _k: {"date": date, "ntl_pct": ntl_pct, "baseline_pct": base, "robust_sd_pp": sd,
                                   "cusum_sd": float(s[S_CUSUM]), "a_kwh": float(s[S_A]), "b_kwh": float(s[S_B])},
              describe=lambda st, _i, x: (f"non-technical loss rose by {x:.2f} pp of supply on {date} (more loss "
                                          "than the load explains: theft, bypass or a metering fault?)"
                                          if st != "cleared" else f"non-technical loss back to its baseline on {date}"))
    # the baseline keeps only days outside the alarm
    keep = ntl_pct if math.isfinite(ntl_pct) and not (on or active) else math.nan
    ls.ntl_days[:] = np.roll(ls.ntl_days, -1)
    ls.ntl_days[-1] = keep


def _band_message(date: str, word: str, thr: float, run: int) -> Callable[[str, int, float], str]:
    def describe(state: str, _i: int, x: float) -> str:
        if state == "cleared":
            return f"line loss back to {x:.2f} % on {date}"
        tail = f" ({run} abnormal days in a row)" if run > 1 else ""
        return f"line loss {x:.2f} % on {date} {word} {thr:g} %{tail}"
    return describe


# ---- day close ------------------------------------------------------------------------------------------
def close_day(eng: Engine, end: float, fields: dict[str, Any], partial: bool) -> None:
    """Fill the daily line-loss fields, bands and persistent-abnormal count; raise the day's alerts; run the
    suspect ranking and the mapping check."""
    ls, prm, area = eng.loss, eng.params, eng.area
    n = area.n_meters
    pd = per_day(eng)
    start = end - 86400.0
    full = ls.day_n == pd
    fwd = np.where(full[0], ls.day_fwd, np.nan)
    rev = np.where(full[1], ls.day_rev, np.nan)
    # frozen registers (同期) where both midnight freezes are on the day bounds
    fz = ls.frozen
    ok = (fz[2] == start) & (fz[3] == end)
    if ok.any():
        fwd_m = daily_energies(fwd[:n, None], np.where(ok, fz[0], np.nan), np.where(ok, fz[1], np.nan),
                               rollover_kwh=register_capacity_kwh(np.maximum(area.meter_ct_ratio, 1.0)),
                               backend=eng.kernel_backend)
        fwd = np.append(fwd_m, fwd[n])
    est_f = np.where(ls.day_est_n[0] == pd, ls.day_est_fwd, np.nan)
    est_r = np.where(ls.day_est_n[1] == pd, ls.day_est_rev, np.nan)
    bal = balance(np.maximum(fwd, 0.0)[None, :], rev[None, :], area.meter_pv, est_f[None, :], est_r[None, :],
                  min_coverage_pct=prm.line_loss.min_coverage_pct, backend=eng.kernel_backend)
    status = int(bal.status[0]) if not partial else 2
    loss_pct = float(bal.loss_pct[0]) if status != 2 else math.nan
    band = int(bands(np.array([loss_pct]), np.array([status], np.int8), prm.line_loss,
                     backend=eng.kernel_backend)[0])
    supply, sales = float(bal.supply_kwh[0]), float(bal.sales_kwh[0])
    loss = supply - sales if status != 2 else math.nan
    tech = float(ls.day_tech[0]) if ls.day_tech[1] == pd and status != 2 else math.nan
    if band in (BAND_HIGH, BAND_NEGATIVE):
        ls.abnormal_run[0] += 1
    elif band != BAND_NONE:
        ls.abnormal_run[0] = 0
    run = int(ls.abnormal_run[0])
    persistent = run >= prm.line_loss.persistent_days
    fields.update({
        "supply_kwh": _num(supply) if status != 2 else None, "sales_kwh": _num(sales) if status != 2 else None,
        "loss_kwh": _num(loss), "loss_pct": _num(loss_pct), "technical_loss_kwh": _num(tech),
        "ntl_kwh": _num(loss - tech), "band": BAND_NAMES[band], "status": STATUS_NAMES[status],
        "coverage_pct": _num(float(bal.coverage_pct[0])), "abnormal_days": run, "persistent_abnormal": persistent,
    })
    lp = prm.line_loss
    date = str(fields.get("date", ""))
    _ntl_alarm(eng, end, (loss - tech) / supply * 100 if status != 2 and supply > 0 else math.nan, str(date))
    valid = band != BAND_NONE
    for key, code, thr, word in (("line_loss_high@area", BAND_HIGH, lp.high_pct, "above"),
                                 ("line_loss_negative@area", BAND_NEGATIVE, lp.negative_pct, "below")):
        run_alarm(eng, key, subj=[0], ts=[end], on=[band == code], off=[band != code], valid=[valid],
                  values=[loss_pct], threshold=thr, unit="%",
                  severity=lambda _x: "major" if persistent else "warning",
                  evidence=lambda _k: {"date": date, "supply_kwh": supply, "sales_kwh": sales, "status":
                                       STATUS_NAMES[status], "coverage_pct": float(bal.coverage_pct[0]),
                                       "abnormal_days": run, "persistent": persistent},
                  describe=_band_message(date, word, thr, run))
    _theft.daily(eng, end, fields, fwd[:n])
    _mapping.daily(eng, end)
    ls.reset_day()
