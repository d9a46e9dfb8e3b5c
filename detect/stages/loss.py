"""Line loss per 15-min interval and per day (docs/lineloss.md): registers at the interval bounds, area
balance with PV export and master reverse flow, gap estimates from each meter's own history, the online
technical-loss model (NTL and its onset, ``ntl_rise``), daily bands, persistent-abnormal days and the
``line_loss_high`` / ``line_loss_negative`` conditions. The interval energies it finds feed the physical
checks (``theft``); its rings feed the suspect ranking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
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
from detect.kernels.techloss import S_A, S_B, S_CUSUM, S_N, new_state, track
from detect.observe import AlarmSpec, AlarmView, Condition, Seen
from detect.quantities import QUANTITY_CODE
from detect.stages._fmt import num
from detect.stages.meters import MeterState
from detect.stages.readings import Chunk

__all__ = ["LossInterval", "LossState", "alarms", "close_day", "close_interval", "new_day", "place", "ring_len"]

Q = QUANTITY_CODE
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
BAND_NAMES = {BAND_QUALIFIED: "qualified", BAND_NEGATIVE: "negative", BAND_HIGH: "high", BAND_NONE: "not_computable"}


@dataclass(eq=False)
class LossState(Columns):
    """Devices ``0..N`` (master ``N``). Open-interval slots follow the engine's numbering (``k % n_slots``)
    but carry their own interval index ``slot_k`` (reset when a reading first lands in them)."""

    PREFIX = "l."
    IN_EVERY_SNAPSHOT = False      # snapshots of the issue-7 engine have none: it starts fresh
    WHAT = "line-loss state"

    slot_k: I64            # (S,) interval held by the slot (this stage's accumulators), -1 = free
    r_first: F64           # (S, D) first / last e_rev reading in the open interval
    r_first_ts: F64
    r_last: F64
    r_last_ts: F64
    i2_sum: F64            # (S, 3) master Σ I² and count per phase
    i2_n: I64
    um_sum: F64            # (S, 3) master phase voltage sum and count
    um_n: I64
    p_sum: F64             # (S, N) meter active power samples (kW) for ∫P dt
    p_n: I64
    carry: F64             # (4, D) last reading before the bound being closed: fwd value, fwd ts, rev value, rev ts
    around: F64            # (8, D) readings around the last closed bound: fwd before v/t, after v/t, rev ...
    e_typ: F64             # (N,) EWMA of each meter's interval energy (kWh)
    ring_k: I64            # (W,) interval index held by each ring row
    ring_fwd: F32          # (W, N) customer forward interval energies (kWh), NaN = not read
    ring_rev_pv: F32       # (W, P) PV customers' reverse interval energies
    ring_ntl: F64          # (W,) area NTL per interval (kWh)
    techloss: F64          # (12,) RLS model of detect.kernels.techloss
    day_fwd: F64           # (D,) Σ of the day's interval energies, and intervals counted
    day_rev: F64
    day_n: I64             # (2, D) read intervals (fwd, rev)
    day_est_fwd: F64       # (N,) Σ measured-or-estimated energy, intervals covered
    day_est_rev: F64
    day_est_n: I64         # (2, N)
    day_tech: F64          # (2,) Σ technical loss, intervals with a value
    frozen: F64            # (4, N) e_fwd_daily: previous and latest value and ts
    ntl_days: F64          # (B,) daily NTL % of supply of the previous days (NaN: unknown or in alarm)
    abnormal_run: I64      # (1,) consecutive abnormal days

    @classmethod
    def fresh(cls, ctx: AreaContext, n_slots: int) -> LossState:
        n, s, w = ctx.n_meters, n_slots, ring_len(ctx)
        d, nan, n_pv = n + 1, np.nan, int(ctx.area.meter_pv.sum())
        return cls(
            slot_k=np.full(s, -1, np.int64),
            r_first=np.full((s, d), nan), r_first_ts=np.full((s, d), nan),
            r_last=np.full((s, d), nan), r_last_ts=np.full((s, d), nan),
            i2_sum=np.zeros((s, 3)), i2_n=np.zeros((s, 3), np.int64),
            um_sum=np.zeros((s, 3)), um_n=np.zeros((s, 3), np.int64),
            p_sum=np.zeros((s, n)), p_n=np.zeros((s, n), np.int64),
            carry=np.full((4, d), nan), around=np.full((8, d), nan), e_typ=np.full(n, nan),
            ring_k=np.full(w, -1, np.int64), ring_fwd=np.full((w, n), nan, np.float32),
            ring_rev_pv=np.full((w, n_pv), nan, np.float32), ring_ntl=np.full(w, nan),
            techloss=new_state(),
            day_fwd=np.zeros(d), day_rev=np.zeros(d), day_n=np.zeros((2, d), np.int64),
            day_est_fwd=np.zeros(n), day_est_rev=np.zeros(n), day_est_n=np.zeros((2, n), np.int64),
            day_tech=np.zeros(2), frozen=np.full((4, n), nan),
            ntl_days=np.full(ctx.params.tech_loss.day_baseline_days, nan), abnormal_run=np.zeros(1, np.int64))

    def reset_slot(self, slot: int, k: int) -> None:
        self.slot_k[slot] = k
        for name in ("r_first", "r_first_ts", "r_last", "r_last_ts"):
            getattr(self, name)[slot] = np.nan
        for name in ("i2_sum", "i2_n", "um_sum", "um_n", "p_sum", "p_n"):
            getattr(self, name)[slot] = 0


def ring_len(ctx: AreaContext) -> int:
    """Intervals in the energy rings: enough for the gap estimates and the suspect ranking window."""
    prm = ctx.params
    return max(prm.theft.window_days, prm.line_loss.estimate_days) * ctx.per_day


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key=key, subjects=1) for key in
            ("line_loss_high@area", "line_loss_negative@area", "ntl_rise@area")]


@dataclass(frozen=True, eq=False)
class LossInterval:
    e_fwd: F64              # (N,) customers' forward / reverse energy of the interval (kWh), NaN = not read
    e_rev: F64
    ntl_kwh: float          # the area's non-technical loss of the interval, NaN = unknown
    fields: dict[str, Any]  # the interval summary's line-loss fields


# ---- placement (every chunk of readings) ---------------------------------------------------------------
def place(ctx: AreaContext, ls: LossState, chunk: Chunk) -> LossState:
    """Keep what this stage needs beyond the meters' accumulators: e_rev first/last per open interval,
    master Σ I² and voltages per interval, meter power samples, the daily frozen registers."""
    n = ctx.n_meters
    interval = ctx.params.interval_s
    d64, q, v, ts, slots = chunk.dev, chunk.q, chunk.v, chunk.ts, chunk.slot
    ok = chunk.valid & (slots >= 0)
    if not ok.any():
        return ls
    k = np.floor(ts / interval).astype(np.int64)
    for s in np.unique(slots[ok]).tolist():
        kk = int(k[ok & (slots == s)][0])
        if ls.slot_k[s] != kk:
            ls.reset_slot(s, kk)
    m = ok & (q == Q["e_rev"])
    if m.any():
        es, ed, ev, et = slots[m], d64[m], v[m], ts[m]
        # time-sorted input: assign in reverse for "first", forward for "last"; keep older/newer ones
        idx = np.arange(len(es))[::-1]
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
    fz = chunk.valid & (d64 < n) & (q == Q["e_fwd_daily"])
    if fz.any():
        for i in np.flatnonzero(fz).tolist():        # once a day per meter: a loop is fine
            mi = int(d64[i])
            if not ls.frozen[3, mi] >= ts[i]:
                ls.frozen[0, mi], ls.frozen[2, mi] = ls.frozen[1, mi], ls.frozen[3, mi]
                ls.frozen[1, mi], ls.frozen[3, mi] = v[i], ts[i]

    return ls


# ---- interval close -------------------------------------------------------------------------------------
def _bound_energies(ctx: AreaContext, ls: LossState, meters: MeterState, clock: EngineClock,
                    k: int) -> tuple[F64, F64]:
    """Forward and reverse energy of every device in interval k from the registers interpolated to its
    bounds (the lineloss kernel: rollover, meter replacement, gaps)."""
    st, prm, area = meters, ctx.params, ctx.area
    interval = prm.interval_s
    n_s = len(clock.slot_k)
    slot, nxt = k % n_s, (k + 1) % n_s
    b0, b1 = float(k * interval), float((k + 1) * interval)
    d = area.n_meters + 1
    own = clock.slot_k[slot] == k
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
    nf = clock.slot_k[nxt] == k + 1
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
                          max_gap_s=1.5 * interval, backend=ctx.backend)
    return e[:d, 0], e[d:, 0]


def close_interval(ctx: AreaContext, ls: LossState, meters: MeterState, clock: EngineClock, k: int,
                   alarms: AlarmView) -> tuple[LossState, LossInterval]:
    """The line-loss fields of interval ``k``'s summary, and the interval energies for the next stages."""
    prm, area = ctx.params, ctx.area
    n = area.n_meters
    e_fwd, e_rev = _bound_energies(ctx, ls, meters, clock, k)
    est_f, est_r = _estimates(ctx, ls, k, e_fwd, e_rev)
    fwd_for_bal = np.where(np.isnan(e_fwd), np.nan, np.maximum(e_fwd, 0.0))
    bal = balance(fwd_for_bal[None, :], e_rev[None, :], area.meter_pv, est_f[None, :], est_r[None, :],
                  min_coverage_pct=prm.line_loss.min_coverage_pct, backend=ctx.backend)
    status = int(bal.status[0])
    supply, sales = float(bal.supply_kwh[0]), float(bal.sales_kwh[0])
    loss = supply - sales if math.isfinite(supply) and math.isfinite(sales) else math.nan
    # while the area is in NTL alarm the model does not learn, or it would absorb the theft as "technical"
    tech, ntl = _technical(ctx, ls, k, loss, learn=status == STATUS_COMPUTED and not alarms["ntl_rise@area"][0])
    fields = {
        "supply_kwh": num(supply), "sales_kwh": num(sales), "loss_kwh": num(loss),
        "loss_pct": num(float(bal.loss_pct[0])), "technical_loss_kwh": num(tech), "ntl_kwh": num(ntl),
        "status": STATUS_NAMES[status], "coverage_pct": num(float(bal.coverage_pct[0])),
    }
    # rings for estimates and the suspect ranking
    r = k % len(ls.ring_k)
    ls.ring_k[r] = k
    ls.ring_fwd[r] = e_fwd[:n]
    pv_idx = np.flatnonzero(area.meter_pv)
    if len(pv_idx):
        ls.ring_rev_pv[r] = e_rev[pv_idx]
    ls.ring_ntl[r] = ntl
    with np.errstate(invalid="ignore"):
        upd = np.isfinite(e_fwd[:n])
        ls.e_typ = np.where(np.isnan(ls.e_typ), e_fwd[:n], np.where(upd, 0.98 * ls.e_typ + 0.02 * e_fwd[:n],
                                                                    ls.e_typ))
    _day_sums(ls, e_fwd, e_rev, est_f, est_r, tech)
    return ls, LossInterval(e_fwd=e_fwd[:n], e_rev=e_rev[:n], ntl_kwh=ntl, fields=fields)


def _estimates(ctx: AreaContext, ls: LossState, k: int, e_fwd: F64, e_rev: F64) -> tuple[F64, F64]:
    """Gap estimates of the unread meters: the same interval of the previous days, from this stage's ring."""
    n, pv, pd, w = ctx.n_meters, ctx.area.meter_pv, ctx.per_day, len(ls.ring_k)
    pv_idx = np.flatnonzero(pv)
    est_f = np.full(n, np.nan)
    est_r = np.full(n, np.nan)
    unread = np.isnan(e_fwd[:n]) | (pv & np.isnan(e_rev[:n]))
    if not unread.any():
        return est_f, est_r
    rows = [(k - j * pd) % w for j in range(1, w // pd + 1)]
    rows = [r for r, j in zip(rows, range(1, w // pd + 1), strict=True) if ls.ring_k[r] == k - j * pd]
    if rows:
        min_days = ctx.params.line_loss.estimate_min_days
        um = np.flatnonzero(unread)
        hist = ls.ring_fwd[rows][:, um].T.astype(np.float64)
        est_f[um] = estimate_from_history(hist, min_samples=min_days, backend=ctx.backend)
        if len(pv_idx):
            histr = ls.ring_rev_pv[rows].T.astype(np.float64)
            est_r[pv_idx] = estimate_from_history(histr, min_samples=min_days, backend=ctx.backend)
    return est_f, est_r


def _technical(ctx: AreaContext, ls: LossState, k: int, loss: float, *, learn: bool) -> tuple[float, float]:
    """(technical loss, NTL) of interval ``k`` from the model L = a + b·ΣI², with x = Σ_φ mean I_φ² at the
    master over the interval; the model learns only from ``learn`` intervals."""
    area = ctx.area
    slot = k % len(ls.slot_k)
    i2 = math.nan
    if ls.slot_k[slot] == k and (ls.i2_n[slot] > 0).all():
        i2 = float((ls.i2_sum[slot] / ls.i2_n[slot]).sum())
    if learn:
        tl = track(np.array([loss]), np.array([i2 if math.isfinite(i2) else np.nan]), ls.techloss,
                   ctx.params.tech_loss, rated_current_a=area.rated_current_a, backend=ctx.backend)
        tech, ntl = float(tl.tech_kwh[0]), float(tl.ntl_kwh[0])
    else:
        # not trained on estimates (their error is far above the residual noise); the model still says
        # how much of the loss is load-driven
        x = i2 / (3.0 * area.rated_current_a ** 2)
        tech = float(ls.techloss[S_A] + ls.techloss[S_B] * x) if ls.techloss[S_N] >= 2 else math.nan
        ntl = loss - tech if math.isfinite(loss) else math.nan
    return (tech if math.isfinite(loss) else math.nan), ntl


def _day_sums(ls: LossState, e_fwd: F64, e_rev: F64, est_f: F64, est_r: F64, tech: float) -> None:
    """The day accumulators: measured energies, measured-or-estimated energies, technical loss."""
    n = len(est_f)
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


def _ntl_condition(ctx: AreaContext, ls: LossState, end: float, ntl_pct: float, date: str,
                   active: bool) -> Condition:
    """``ntl_rise``: the day's non-technical loss (loss − modelled technical loss, % of supply) rose above
    its own baseline (median of the previous days not in alarm) by ``day_rise_k`` robust deviations and at
    least ``day_rise_min_pp``. Judged per day: interval residuals carry load-correlated model error that a
    day averages out, and a theft shows on the first whole day."""
    tp = ctx.params.tech_loss
    hist = ls.ntl_days[np.isfinite(ls.ntl_days)]
    valid = math.isfinite(ntl_pct) and len(hist) >= 3
    base = float(np.median(hist)) if len(hist) else math.nan
    sd = max(1.4826 * float(np.median(np.abs(hist - base))), tp.day_sd_floor_pp) if len(hist) else math.nan
    rise = ntl_pct - base
    margin = max(tp.day_rise_k * sd, tp.day_rise_min_pp) if valid else math.nan
    on = valid and rise > margin
    off = valid and rise < margin / 2
    evidence = {"date": date, "ntl_pct": ntl_pct, "baseline_pct": base, "robust_sd_pp": sd,
                "cusum_sd": float(ls.techloss[S_CUSUM]), "a_kwh": float(ls.techloss[S_A]),
                "b_kwh": float(ls.techloss[S_B])}
    # the baseline keeps only days outside the alarm
    keep = ntl_pct if math.isfinite(ntl_pct) and not (on or active) else math.nan
    ls.ntl_days[:] = np.roll(ls.ntl_days, -1)
    ls.ntl_days[-1] = keep
    return Condition(key="ntl_rise@area", subj=[0], ts=[end], on=[on], off=[off], valid=[valid], values=[rise],
                     threshold=margin, unit="pp", severity=lambda _x: "major", updates=False,
                     evidence=lambda _k: dict(evidence),
                     describe=lambda st, _i, x: (f"non-technical loss rose by {x:.2f} pp of supply on {date} (more "
                                                 "loss than the load explains: theft, bypass or a metering fault?)"
                                                 if st != "cleared" else
                                                 f"non-technical loss back to its baseline on {date}"))


def _band_message(date: str, word: str, thr: float, run: int) -> Callable[[str, int, float], str]:
    def describe(state: str, _i: int, x: float) -> str:
        if state == "cleared":
            return f"line loss back to {x:.2f} % on {date}"
        tail = f" ({run} abnormal days in a row)" if run > 1 else ""
        return f"line loss {x:.2f} % on {date} {word} {thr:g} %{tail}"
    return describe


# ---- day close ------------------------------------------------------------------------------------------
def close_day(ctx: AreaContext, ls: LossState, end: float, date: str, partial: bool,
              alarms: AlarmView) -> tuple[LossState, Seen]:
    """The daily line-loss fields, band and persistent-abnormal count of the local day ending at ``end``;
    the ``ntl_rise``, ``line_loss_high`` and ``line_loss_negative`` conditions."""
    prm, area = ctx.params, ctx.area
    n = area.n_meters
    pd = ctx.per_day
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
                               backend=ctx.backend)
        fwd = np.append(fwd_m, fwd[n])
    est_f = np.where(ls.day_est_n[0] == pd, ls.day_est_fwd, np.nan)
    est_r = np.where(ls.day_est_n[1] == pd, ls.day_est_rev, np.nan)
    bal = balance(np.maximum(fwd, 0.0)[None, :], rev[None, :], area.meter_pv, est_f[None, :], est_r[None, :],
                  min_coverage_pct=prm.line_loss.min_coverage_pct, backend=ctx.backend)
    status = int(bal.status[0]) if not partial else 2
    loss_pct = float(bal.loss_pct[0]) if status != 2 else math.nan
    band = int(bands(np.array([loss_pct]), np.array([status], np.int8), prm.line_loss,
                     backend=ctx.backend)[0])
    supply, sales = float(bal.supply_kwh[0]), float(bal.sales_kwh[0])
    loss = supply - sales if status != 2 else math.nan
    tech = float(ls.day_tech[0]) if ls.day_tech[1] == pd and status != 2 else math.nan
    if band in (BAND_HIGH, BAND_NEGATIVE):
        ls.abnormal_run[0] += 1
    elif band != BAND_NONE:
        ls.abnormal_run[0] = 0
    run = int(ls.abnormal_run[0])
    persistent = run >= prm.line_loss.persistent_days
    fields = {
        "supply_kwh": num(supply) if status != 2 else None, "sales_kwh": num(sales) if status != 2 else None,
        "loss_kwh": num(loss), "loss_pct": num(loss_pct), "technical_loss_kwh": num(tech),
        "ntl_kwh": num(loss - tech), "band": BAND_NAMES[band], "status": STATUS_NAMES[status],
        "coverage_pct": num(float(bal.coverage_pct[0])), "abnormal_days": run, "persistent_abnormal": persistent,
    }
    lp = prm.line_loss
    conditions = [_ntl_condition(ctx, ls, end, (loss - tech) / supply * 100 if status != 2 and supply > 0
                                 else math.nan, date, bool(alarms["ntl_rise@area"][0]))]
    valid = band != BAND_NONE
    evidence = {"date": date, "supply_kwh": supply, "sales_kwh": sales, "status": STATUS_NAMES[status],
                "coverage_pct": float(bal.coverage_pct[0]), "abnormal_days": run, "persistent": persistent}
    for key, code, thr, word in (("line_loss_high@area", BAND_HIGH, lp.high_pct, "above"),
                                 ("line_loss_negative@area", BAND_NEGATIVE, lp.negative_pct, "below")):
        conditions.append(Condition(
            key=key, subj=[0], ts=[end], on=[band == code], off=[band != code], valid=[valid], values=[loss_pct],
            threshold=thr, unit="%", severity=lambda _x: "major" if persistent else "warning",
            evidence=lambda _k: dict(evidence), describe=_band_message(date, word, thr, run)))
    return ls, Seen(conditions=tuple(conditions), fields=fields)


def new_day(ls: LossState) -> LossState:
    for name in ("day_fwd", "day_rev", "day_n", "day_est_fwd", "day_est_rev", "day_est_n", "day_tech"):
        getattr(ls, name)[...] = 0
    return ls
