"""Line loss per 15-min interval and per day (docs/lineloss.md): registers at the interval bounds, area
balance with PV export and master reverse flow, gap estimates from each meter's own history, the online
technical loss by physics from the meters' own voltage drops and currents (``physics``; the online model
L = a + b·ΣI² where the meters do not give them), the per-phase balance of the master against the meters on
each phase, daily bands, persistent-abnormal days and the ``line_loss_high`` / ``line_loss_negative``
conditions. The day's NTL per phase goes to ``ntl`` (its alarms); the interval energies feed the physical
checks (``theft``) and the suspect ranking (``suspects``).
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
from detect.kernels.techloss import S_A, S_B, S_N, new_state, track
from detect.observe import AlarmSpec, AlarmView, Condition, Seen
from detect.quantities import QUANTITY_CODE
from detect.stages import physics
from detect.stages._fmt import num
from detect.stages.meters import MeterState
from detect.stages.readings import Chunk, ReadingsState

__all__ = ["LossDay", "LossInterval", "LossState", "alarms", "close_day", "close_interval", "new_day", "place",
           "ring_len"]

Q = QUANTITY_CODE
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
BAND_NAMES = {BAND_QUALIFIED: "qualified", BAND_NEGATIVE: "negative", BAND_HIGH: "high", BAND_NONE: "not_computable"}


def _fresh_fit(ctx: AreaContext) -> dict[str, F64]:
    f = physics.DropFit.fresh(len(physics.elements(ctx.area).meter))
    return {"drop_sxx": f.sxx, "drop_sxy": f.sxy, "drop_n": f.n, "drop_y": f.y}


@dataclass(eq=False)
class LossState(Columns):
    """Devices ``0..N`` (master ``N``). Open-interval slots follow the engine's numbering (``k % n_slots``)
    but carry their own interval index ``slot_k`` (reset when a reading first lands in them)."""

    PREFIX = "l."
    IN_EVERY_SNAPSHOT = False      # snapshots of the issue-7 engine have none: it starts fresh
    WHAT = "line-loss state"
    # added by issue 19: snapshots from before restore them fresh
    OPTIONAL = frozenset({"pm_sum", "pm_n", "um_first", "um_first_ts", "svc_held", "svc_k", "day_ch_sup", "day_ch_tech", "day_ch_n",
                          "day_split", "day_ph_part", "day_around", "drop_sxx", "drop_sxy", "drop_n", "drop_y"})

    slot_k: I64            # (S,) interval held by the slot (this stage's accumulators), -1 = free
    r_first: F64           # (S, D) first / last e_rev reading in the open interval
    r_first_ts: F64
    r_last: F64
    r_last_ts: F64
    i2_sum: F64            # (S, 3) master Σ I² and count per phase
    i2_n: I64
    um_sum: F64            # (S, 3) master phase voltage sum and count
    um_n: I64
    um_first: F64          # (S, 3) the master's phase voltages read first in the slot (at its start bound)
    um_first_ts: F64       # (S,) and when
    pm_sum: F64            # (S, 3) master phase active power sum and count (per-phase supply)
    pm_n: I64
    p_sum: F64             # (S, N) meter active power samples (kW) for ∫P dt
    p_n: I64
    carry: F64             # (4, D) last reading before the bound being closed: fwd value, fwd ts, rev value, rev ts
    around: F64            # (8, D) readings around the last closed bound: fwd before v/t, after v/t, rev ...
    day_around: F64        # (8, D) ``around`` the day's start bound: with ``around`` at its end, the day's
    #                        energy from the registers across any collection gap within the day
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
    abnormal_run: I64      # (1,) consecutive abnormal days
    svc_held: F64          # (N, 3) each meter's last technical-loss term by physics (kW per phase)
    svc_k: I64             # (N,) the interval it is from (-1: none)
    day_ch_sup: F64        # (4,) the day's supply per channel (phases A, B, C, area; kWh)
    day_ch_tech: F64       # (4,) the day's technical loss per channel (kWh)
    day_ch_n: I64          # (4,) intervals counted per channel
    day_split: F64         # (N, 3) Σ over the day's intervals of each meter's split over the phases
    day_ph_part: F64       # (3, 3) Σ per phase of the NTL and supply of the day's intervals with all three
    #                        phases' NTL known, and how many (row 2): the phase alarms of a day without a
    #                        balance (the first, partial day; too few meters read)
    drop_sxx: F64          # (E, 4, 4) each metering element's drop fit (physics.DropFit; nineteenth round)
    drop_sxy: F64          # (E, 4)
    drop_n: F64            # (E,)
    drop_y: F64            # (E,)

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
            pm_sum=np.zeros((s, 3)), pm_n=np.zeros((s, 3), np.int64),
            um_first=np.full((s, 3), nan), um_first_ts=np.full(s, nan),
            p_sum=np.zeros((s, n)), p_n=np.zeros((s, n), np.int64),
            carry=np.full((4, d), nan), around=np.full((8, d), nan), day_around=np.full((8, d), nan),
            e_typ=np.full(n, nan),
            ring_k=np.full(w, -1, np.int64), ring_fwd=np.full((w, n), nan, np.float32),
            ring_rev_pv=np.full((w, n_pv), nan, np.float32), ring_ntl=np.full(w, nan),
            techloss=new_state(),
            day_fwd=np.zeros(d), day_rev=np.zeros(d), day_n=np.zeros((2, d), np.int64),
            day_est_fwd=np.zeros(n), day_est_rev=np.zeros(n), day_est_n=np.zeros((2, n), np.int64),
            day_tech=np.zeros(2), frozen=np.full((4, n), nan), abnormal_run=np.zeros(1, np.int64),
            svc_held=np.zeros((n, 3)), svc_k=np.full(n, -1, np.int64), day_ch_sup=np.zeros(4),
            day_ch_tech=np.zeros(4), day_ch_n=np.zeros(4, np.int64), day_split=np.zeros((n, 3)),
            day_ph_part=np.zeros((3, 3)), **_fresh_fit(ctx))

    def reset_slot(self, slot: int, k: int) -> None:
        self.slot_k[slot] = k
        for name in ("r_first", "r_first_ts", "r_last", "r_last_ts", "um_first", "um_first_ts"):
            getattr(self, name)[slot] = np.nan
        for name in ("i2_sum", "i2_n", "um_sum", "um_n", "pm_sum", "pm_n", "p_sum", "p_n"):
            getattr(self, name)[slot] = 0


def ring_len(ctx: AreaContext) -> int:
    """Intervals in the energy rings: enough for the gap estimates and the suspect ranking window."""
    prm = ctx.params
    return max(prm.theft.window_days, prm.line_loss.estimate_days) * ctx.per_day


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key=key, subjects=1) for key in ("line_loss_high@area", "line_loss_negative@area")]


@dataclass(frozen=True, eq=False)
class LossInterval:
    e_fwd: F64              # (N,) customers' forward / reverse energy of the interval (kWh), NaN = not read
    e_rev: F64
    ntl_kwh: float          # the area's non-technical loss of the interval, NaN = unknown
    ntl_phase_kwh: F64      # (3,) per phase (NaN: the master gives no per-phase power, or too few meters)
    ntl_phase_read_kwh: F64  # (3,) per phase with every register not read in the interval counted as 0, no
                             # estimates: what is left for the unread meters' energy and the NTL together
    p_kwh: F64              # (N,) each meter's ∫P dt over the interval from its power readings (kWh)
    du: F64                 # (E,) each metering element's voltage drop below the master (V; physics.elements)
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
            # the first of each slot: time-sorted input, so the last assignment of the reversed order wins
            idx = np.flatnonzero(sel)[::-1]
            s, t = slots[idx], ts[idx]
            earlier = ~(ls.um_first_ts[s] < t) | np.isnan(ls.um_first[s, ph])
            ls.um_first[s[earlier], ph] = v[idx][earlier]
            ls.um_first_ts[s[earlier]] = np.fmin(ls.um_first_ts[s[earlier]], t[earlier])
    for ph, name in enumerate(("p_a", "p_b", "p_c")):
        sel = master & (q == Q[name])
        if sel.any():
            np.add.at(ls.pm_sum[:, ph], slots[sel], v[sel])
            np.add.at(ls.pm_n[:, ph], slots[sel], 1)
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
    e = _between(ctx, a, new, b0, b1)
    if ctx.day_of(b0) != ctx.day_of(b0 - 1.0):        # the day's first interval: its start bound's readings
        ls.day_around[:] = a
    ls.around[:] = new                                # (``a`` is this array)
    return e


def _between(ctx: AreaContext, at0: F64, at1: F64, b0: float, b1: float) -> tuple[F64, F64]:
    """(D,) forward and reverse energy of every device between bounds ``b0`` and ``b1`` from the readings
    around each (``at0``, ``at1``: (8, D) as ``LossState.around``), each bound's register interpolated between
    the two readings around it when they are at most 1.5 intervals apart (the lineloss kernel: rollover,
    meter replacement); what happened between the bounds needs no reading — the registers count."""
    d = ctx.area.n_meters + 1
    ts = np.empty((2 * d, 4))
    reg = np.empty((2 * d, 4))
    for blk in (0, 1):
        rows, r0 = slice(blk * d, (blk + 1) * d), 4 * blk
        for j, src in enumerate((at0, at1)):
            ts[rows, 2 * j], reg[rows, 2 * j] = src[r0 + 1], src[r0]
            ts[rows, 2 * j + 1], reg[rows, 2 * j + 1] = src[r0 + 3], src[r0 + 2]
    # the same reading seen twice (one reading in the interval, or none) must not count as two
    for j in (1, 2, 3):
        dup = np.zeros(2 * d, np.bool_)
        for i in range(j):
            dup |= ts[:, j] == ts[:, i]
        ts[dup, j] = np.nan
        reg[dup, j] = np.nan
    cap = np.append(register_capacity_kwh(np.maximum(ctx.area.meter_ct_ratio, 1.0)), ctx.params.register_rollover_kwh)
    e = interval_energies(ts, reg, np.array([b0, b1]), rollover_kwh=np.concatenate([cap, cap]),
                          max_gap_s=1.5 * ctx.params.interval_s, backend=ctx.backend)
    return e[:d, 0], e[d:, 0]


def close_interval(ctx: AreaContext, ls: LossState, meters: MeterState, clock: EngineClock, rd: ReadingsState,
                   k: int, alarms: AlarmView) -> tuple[LossState, LossInterval]:
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
    slot = k % len(ls.slot_k)
    mine = ls.slot_k[slot] == k
    phys = physics.interval_loss(ctx, rd, _master_u_at_end(ls, k), ls.svc_held, ls.svc_k, k,
                                 physics.DropFit(sxx=ls.drop_sxx, sxy=ls.drop_sxy, n=ls.drop_n, y=ls.drop_y))
    # the model learns only outside an NTL alarm, or it would absorb the theft as "technical"
    tech_m, _ = _technical(ctx, ls, k, loss, learn=status == STATUS_COMPUTED and not alarms["ntl_rise@area"][0])
    by_physics = bool(np.isfinite(phys.loss_kwh).all())
    tech_any = float(phys.loss_kwh.sum()) if by_physics else tech_m
    # the interval's technical loss is reported beside its balance; the day's counts it whenever it is known
    # (the day's balance may close over the registers where an interval's could not)
    tech = tech_any if math.isfinite(loss) else math.nan
    ntl = loss - tech if math.isfinite(loss) and math.isfinite(tech) else math.nan
    net = _net(area.meter_pv, e_fwd[:n], e_rev[:n], est_f, est_r)
    ntl_ph = _phase_ntl(ctx, ls, slot if mine else -1, net, phys)
    ntl_ph_read = _phase_ntl(ctx, ls, slot if mine else -1, _net(area.meter_pv, e_fwd[:n], e_rev[:n], 0.0, 0.0),
                             phys)
    if np.isfinite(ntl_ph).all():
        ls.day_ph_part[0] += ntl_ph
        ls.day_ph_part[1] += _phase_supply(ls, slot, ctx)
        ls.day_ph_part[2] += 1.0
    fields = {
        "supply_kwh": num(supply), "sales_kwh": num(sales), "loss_kwh": num(loss),
        "loss_pct": num(float(bal.loss_pct[0])), "technical_loss_kwh": num(tech), "ntl_kwh": num(ntl),
        "technical_loss_method": "physics" if by_physics else "model",
        "physics_coverage_pct": num(phys.coverage_pct),
        "physics_fitted_pct": num(phys.fitted_pct), "ntl_phase_kwh": [num(x) for x in ntl_ph],
        "status": STATUS_NAMES[status], "coverage_pct": num(float(bal.coverage_pct[0])),
    }
    _rings(ctx, ls, k, e_fwd, e_rev, ntl)
    _day_sums(ls, e_fwd, e_rev, est_f, est_r, tech_any, np.stack([
        np.append(_phase_supply(ls, slot if mine else -1, ctx), e_fwd[n]), np.append(phys.loss_kwh, tech_any)]))
    ls.day_split += phys.split
    with np.errstate(invalid="ignore", divide="ignore"):
        p_kwh = np.where(ls.p_n[slot] > 0, ls.p_sum[slot] / np.maximum(ls.p_n[slot], 1), np.nan) \
            * prm.interval_s / 3600.0 if mine else np.full(n, np.nan)
    return ls, LossInterval(e_fwd=e_fwd[:n], e_rev=e_rev[:n], ntl_kwh=ntl, ntl_phase_kwh=ntl_ph,
                            ntl_phase_read_kwh=ntl_ph_read, p_kwh=p_kwh,
                            du=phys.du, fields=fields)


def _net(pv: npt.NDArray[np.bool_], e_fwd: F64, e_rev: F64, fill_f: F64 | float, fill_r: F64 | float) -> F64:
    """(N,) each customer's net energy of the interval: forward (never below 0) less a PV meter's reverse,
    each register not read taken as ``fill_*`` (the gap estimates, or 0)."""
    return np.where(np.isfinite(e_fwd), np.maximum(e_fwd, 0.0), fill_f) - \
        np.where(pv, np.where(np.isfinite(e_rev), e_rev, fill_r), 0.0)


def _master_u_at_end(ls: LossState, k: int) -> F64:
    """(3,) the master's phase voltages at interval k's end bound, where the meters' samples are: its first
    reading in the next interval, else the interval's mean (NaN unknown)."""
    n_s = len(ls.slot_k)
    nxt, slot = (k + 1) % n_s, k % n_s
    if ls.slot_k[nxt] == k + 1 and np.isfinite(ls.um_first[nxt]).all():
        return ls.um_first[nxt].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ls.um_n[slot] > 0, ls.um_sum[slot] / np.maximum(ls.um_n[slot], 1), np.nan)
    return mean if ls.slot_k[slot] == k else np.full(3, np.nan)


def _phase_supply(ls: LossState, slot: int, ctx: AreaContext) -> F64:
    """(3,) the master's energy per phase over the interval from its mean phase power (NaN unknown)."""
    if slot < 0:
        return np.full(3, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ls.pm_n[slot] > 0, ls.pm_sum[slot] / np.maximum(ls.pm_n[slot], 1), np.nan) \
            * ctx.params.interval_s / 3600.0


def _phase_ntl(ctx: AreaContext, ls: LossState, slot: int, net: F64, phys: physics.PhysicsInterval) -> F64:
    """(3,) per-phase NTL of the interval: the master's phase energy − the meters' energy on that phase −
    the phase's technical loss by physics (NaN where unknown)."""
    if not np.isfinite(net).all():
        return np.full(3, np.nan)
    return _phase_supply(ls, slot, ctx) - (net[:, None] * phys.split).sum(axis=0) - phys.loss_kwh


def _rings(ctx: AreaContext, ls: LossState, k: int, e_fwd: F64, e_rev: F64, ntl: float) -> None:
    """Rings for the gap estimates and the suspect ranking; the meters' typical interval energy."""
    n, area = ctx.n_meters, ctx.area
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


def _day_sums(ls: LossState, e_fwd: F64, e_rev: F64, est_f: F64, est_r: F64, tech: float, ch: F64) -> None:
    """The day accumulators: measured energies, measured-or-estimated energies, technical loss, and ``ch``
    (2, 4): the supply and technical loss of each channel (phases A, B, C, area)."""
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
    known = np.asarray(np.isfinite(ch).all(axis=0))
    ls.day_ch_sup[known] += ch[0, known]
    ls.day_ch_tech[known] += ch[1, known]
    ls.day_ch_n[known] += 1


@dataclass(frozen=True, eq=False)
class LossDay:
    """What the day's close found beyond its summary fields: each meter's net energy that day and, per channel
    (phases A, B, C, area), the NTL, supply and metered consumption (kWh; NaN: not known all day)."""

    meter_kwh: F64
    meter_fwd_kwh: F64      # each meter's forward (consumed) energy that day
    ch_ntl: F64
    ch_sup: F64
    ch_sales: F64
    # per channel for the NTL alarms: ch_ntl / ch_sup, or on a day without a balance (the first, partial day
    # of monitoring; a day with too few meters read) the phases' over the intervals with all three phases'
    # NTL known, when they are at least half the day (NaN otherwise) — then ``alarm_partial``: compared
    # across the phases, never a baseline day
    alarm_ntl: F64
    alarm_sup: F64
    alarm_partial: bool = False
    meter_split: F64 | None = None   # (N, 3) each meter's share of its day's energy on each phase (NaN: none measured)


def _channels(ctx: AreaContext, ls: LossState, net: F64, fwd: F64, loss: float, supply: float,
              sales: float) -> LossDay:
    """The day's channels: per phase the master's phase energy − the meters' energy on it (their day's
    energy × their mean split) − the phase's technical loss; the area channel is the daily balance."""
    full = ls.day_ch_n == ctx.per_day
    sup = np.where(full, ls.day_ch_sup, np.nan)
    tech = np.where(full, ls.day_ch_tech, np.nan)
    split = ls.day_split / ctx.per_day
    ph_sales = (net[:, None] * split).sum(axis=0) if np.isfinite(net).all() else np.full(3, np.nan)
    sales_ch = np.append(ph_sales, sales)
    sup[3] = supply if full[3] else np.nan
    ntl = np.append(sup[:3] - ph_sales - tech[:3], loss - tech[3])
    return LossDay(meter_kwh=net, meter_fwd_kwh=fwd, ch_ntl=ntl, ch_sup=sup, ch_sales=sales_ch, alarm_ntl=ntl,
                   alarm_sup=sup, meter_split=_day_split(ls))


def _day_split(ls: LossState) -> F64:
    """(N, 3) each meter's split over the phases over the day, normalised (NaN where none was measured)."""
    tot = ls.day_split.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, ls.day_split / tot, np.nan)


def _partial(ctx: AreaContext, ls: LossState, net: F64, fwd: F64) -> LossDay:
    """A day without a balance (the first, partial day of monitoring, or too few meters read): the phases'
    NTL and supply over the intervals where all three were known, for the NTL alarms — a theft present from
    the start stands out on its phase in the share it takes, whatever part of the day was seen (at least
    half of it)."""
    nan4 = np.full(4, np.nan)
    ntl, sup = nan4.copy(), nan4.copy()
    if ls.day_ph_part[2, 0] >= ctx.per_day / 2:
        ntl[:3], sup[:3] = ls.day_ph_part[0], ls.day_ph_part[1]
    return LossDay(meter_kwh=net, meter_fwd_kwh=fwd, ch_ntl=nan4, ch_sup=nan4, ch_sales=nan4, alarm_ntl=ntl,
                   alarm_sup=sup, alarm_partial=True, meter_split=_day_split(ls))


def _band_message(date: str, word: str, thr: float, run: int) -> Callable[[str, int, float], str]:
    def describe(state: str, _i: int, x: float) -> str:
        if state == "cleared":
            return f"line loss back to {x:.2f} % on {date}"
        tail = f" ({run} abnormal days in a row)" if run > 1 else ""
        return f"line loss {x:.2f} % on {date} {word} {thr:g} %{tail}"
    return describe


# ---- day close ------------------------------------------------------------------------------------------
def close_day(ctx: AreaContext, ls: LossState, end: float, date: str, partial: bool,
              alarms: AlarmView) -> tuple[LossState, Seen, LossDay]:
    """The daily line-loss fields, band and persistent-abnormal count of the local day ending at ``end``;
    the ``ntl_rise``, ``line_loss_high`` and ``line_loss_negative`` conditions."""
    prm, area = ctx.params, ctx.area
    n = area.n_meters
    pd = ctx.per_day
    start = end - 86400.0
    full = ls.day_n == pd
    # every interval read, else the registers at the day's bounds: what a meter used across the readings it
    # missed within the day (a day's first interval never closed leaves ``day_around`` at another day's
    # start, whose readings bracket no bound of this one: NaN)
    reg_f, reg_r = _between(ctx, ls.day_around, ls.around, start, end)
    fwd = np.where(full[0], ls.day_fwd, reg_f)
    rev = np.where(full[1], ls.day_rev, reg_r)
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
    conditions = []
    valid = band != BAND_NONE
    evidence = {"date": date, "supply_kwh": supply, "sales_kwh": sales, "status": STATUS_NAMES[status],
                "coverage_pct": float(bal.coverage_pct[0]), "abnormal_days": run, "persistent": persistent}
    for key, code, thr, word in (("line_loss_high@area", BAND_HIGH, lp.high_pct, "above"),
                                 ("line_loss_negative@area", BAND_NEGATIVE, lp.negative_pct, "below")):
        conditions.append(Condition(
            key=key, subj=[0], ts=[end], on=[band == code], off=[band != code], valid=[valid], values=[loss_pct],
            threshold=thr, unit="%", severity=lambda _x: "major" if persistent else "warning",
            evidence=lambda _k: dict(evidence), describe=_band_message(date, word, thr, run)))
    # each meter's energy of the day: frozen registers or all intervals read, else measured-or-estimated
    got_f = np.where(np.isfinite(fwd[:n]), fwd[:n], est_f)
    got_r = np.where(np.isfinite(rev[:n]), rev[:n], est_r)
    net = np.maximum(got_f, 0.0) - np.where(area.meter_pv, got_r, 0.0)
    day = _channels(ctx, ls, net, got_f, loss, supply, sales) if status != 2 else _partial(ctx, ls, net, got_f)
    return ls, Seen(conditions=tuple(conditions), fields=fields), day


def new_day(ls: LossState) -> LossState:
    for name in ("day_fwd", "day_rev", "day_n", "day_est_fwd", "day_est_rev", "day_est_n", "day_tech", "day_ch_sup",
                 "day_ch_tech", "day_ch_n", "day_split", "day_ph_part"):
        getattr(ls, name)[...] = 0
    return ls
