"""Joint-share evidence: a phase's hourly NTL regressed on all its meters' hourly energies, and the fit
across the phases in an area with CT-connected meters (docs/lineloss.md §4, share row)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC
from detect.context import AreaContext
from detect.stages.loss import LossState
from detect.stages.ntl import NtlDay
from detect.stages.suspects.base import (
    F64,
    B,
    Evidence,
    Fit,
    SuspectState,
    _flagged,
    _phase_onsets,
    _ramp,
    _registered,
    _rows,
)

SHARE_MIN_INTERVALS = 2      # joint share: an hour counts with this many intervals of its phase all read
SHARE_HOLD = 0.5             # joint share: a meter listed by it keeps its strength while t and b stay above this
                             # share of share_z and share_min_b
LEADER_Z = 0.75              # joint share: a clear leader is listed from this share of share_z (t 1.5; share_z's
LEADER_RATIO = 2.5           # own listing level is t 3) when its t is at least this many times every other
                             # meter's of the phase
SHARE_BEFORE_VOLTAGE = 5     # joint share: listed this many days before a never-registering meter's voltage evidence
                             # was first seen, it is not stopped by that evidence (``_after_share``)
OVERWHELM_T = 10.0           # joint share: on a phase whose only voltage suspects registered nothing on every day kept
OVERWHELM_RATIO = 10.0       # and never reached full strength (z < 2 × voltage_z), a share at this t and this many
                             # times every other meter's is fitted and listed all the same (``_overwhelms``)
ACROSS = 3                   # the key of ``_across_fit`` among a day's fits (0–2: the phases')
CONTRASTS = (np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0), np.array([1.0, 1.0, -2.0]) / math.sqrt(6.0))


def _share(ctx: AreaContext, st: SuspectState, ls: LossState, nd: NtlDay, k_end: int, ev: Evidence,
           fits: dict[int, Fit | None]) -> None:
    """Joint-share evidence on the phases that stand out without a change point (``ntl_phase`` and not
    ``ntl_rise``: a theft present from day 0; one that began inside the window is no one share of the whole
    of it, and has its drop): over the window, the phase's hourly NTL as a non-negative combination of its
    meters' hourly energies (three-phase meters a third each), from the intervals in which they were all read
    (``_hours``). The energies are the registers' (the line-loss stage's ring of interval energies) — what
    the NTL itself is computed from: a meter's sampled power is another, noisier quantity, and regressed on
    it the thief ranked first on 5 of 12 days instead of 12 of 12 (seed 1002, a 0.32 % shunt from day 0,
    days 12–23)."""
    tp, area = ctx.params.theft, ctx.area
    # a phase where a meter shows unmetered current in its voltage (a full bypass) is left out: that
    # load is no share of any metered series, and the fit would hand it to the meter most like it. Enough
    # to be listed by it alone: what is left of an empty house's drop once a shunt's explained current is
    # swept out can be a trace (looked-at 9018: strength 0.04, held, kept a 4.6 % shunt at t 90 off the
    # list for four days)
    # — a three-phase meter's on each of its phases (looked-at 29014: a 2.20 % three-phase bypass from day 0,
    # its load on phase A handed to an innocent there at t 3.8)
    volt = (ev.strength["voltage"] >= tp.min_score) & ~_after_share(ctx, st, nd, ev)
    bypassed = _phases_of(ctx, volt)
    # a bypass that began while monitored (its meter registered on an earlier day) is no part of a share
    # found before it; one that registered nothing on every day kept may be
    began = _phases_of(ctx, volt & _registered(st, tp.low_energy_kwh, nd.day))
    # a phase whose voltage suspects are only weak evidence of meters that never registered — an empty house
    # that picks up the feeder drop of a shunt's current as readily as a bypass — is still fitted, and an
    # overwhelming share on it listed
    weak = bypassed & ~began & ~_phases_of(ctx, volt & (ev.strength["voltage"] >= 1.0))
    hold, hold_b = np.zeros(area.n_meters), np.zeros(area.n_meters)
    for p in np.flatnonzero(_flagged(nd) & (nd.rising[:3] | bypassed) & (~bypassed | began) & ~weak):
        # its meters as in its fit: a three-phase meter is on every phase (its hold was lost on the first day
        # its phases rose — fresh seed 10011, a 4.5 % three-phase shunt at t 22 off the list from day 5 on)
        on = np.flatnonzero(((area.meter_phase == p) | (area.meter_phase == PHASE_ABC)) & (st.s_hold > 0))
        on = on[~_listed_since_change(ctx, st, nd, int(p), on)]
        hold[on], hold_b[on] = st.s_hold[on], st.s_b[on]
        ev.strength["share"][on] = np.maximum(ev.strength["share"][on], st.s_hold[on])
        ev.put("share_held", on, st.s_hold[on])
        ev.put("share_b", on, st.s_b[on])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            day = np.nanmean(st.d_e[_rows(st, nd.day - 6, nd.day)][:, on], axis=0) if len(on) else np.zeros(0)
        ev.stolen[on] = np.where(np.isfinite(ev.stolen[on]), ev.stolen[on], st.s_b[on] * day)
    for p in np.flatnonzero(_flagged(nd) & ~nd.rising[:3] & (~bypassed | weak)):
        if int(p) not in fits:
            fits[int(p)] = _fit(ctx, st, ls, int(p), k_end, fits)
        fit = fits[int(p)]
        if fit is None:
            continue
        cols, b, t, daily = fit
        s = _ramp(t, tp.share_z) * (b >= tp.share_min_b)
        lead = _clear_leader(t, b, tp.share_z, tp.share_min_b)
        if lead >= 0 and s[lead] < tp.min_score:
            s[lead] = tp.min_score
        prev = st.s_hold[cols]
        keep = (prev > s) & (t >= SHARE_HOLD * tp.share_z) & (b >= SHARE_HOLD * tp.share_min_b)
        if weak[p]:
            only = _overwhelms(t, b, tp.share_min_b)
            if only < 0:
                continue
            s = np.where(np.arange(len(cols)) == only, s, 0.0)
            keep &= np.arange(len(cols)) == only
        s = np.where(keep, prev, s)
        if lead >= 0 and s[lead] == tp.min_score and not keep[lead]:
            ev.put("share_leader", cols[lead:lead + 1], t[lead:lead + 1])
        better = s > hold[cols]
        hold[cols[better]], hold_b[cols[better]] = s[better], np.where(keep, st.s_b[cols], b)[better]
        for j in np.flatnonzero(s > ev.strength["share"][cols]):
            i = int(cols[j])
            if keep[j]:
                ev.put("share_held", np.array([i]), np.array([s[j]]))
            _put_share(ev, i, float(s[j]), float(b[j]), float(t[j]), float(daily[j]))
    st.s_hold, st.s_b = hold, hold_b


def _listed_since_change(ctx: AreaContext, st: SuspectState, nd: NtlDay, p: int, on: npt.NDArray[np.int64]) -> B:
    """(len(on),) which of the meters ``on`` were first listed on or after the day of phase ``p``'s own change
    point. A share is fitted only while its phase shows no change point; one found on the day a theft began,
    before ``ntl_rise`` named the change, was fitted over hours holding that theft's first hours and hands
    them to whichever meter's load is most like them — not a share of a theft present from the start, so it
    is not held once the change is known (fresh 35023: a 0.96 % full bypass began at 15:00; that day's fit
    listed an innocent of its phase at b 1.04, t 6.8, held at full strength for the 14 days left, and a
    0.53 % full bypass from day 0 on the same phase fell to fourth)."""
    if not nd.rising[p] or nd.onset[p] < 0:
        return np.zeros(len(on), np.bool_)
    since = st.since[on]
    listed = np.isfinite(since)
    day = ctx.days_of(np.where(listed, since, 0.0) - 1.0)
    return listed & (day >= nd.onset[p])


def _phases_of(ctx: AreaContext, meters: B) -> B:
    """(3,) the phases of the meters ``meters`` — all three for a three-phase meter's."""
    phase = ctx.area.meter_phase[meters]
    out = np.zeros(3, np.bool_)
    out[phase[phase < 3]] = True
    return out | bool((phase == PHASE_ABC).any())


def _after_share(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence) -> B:
    """(N,) the meters whose voltage evidence came after a share on their phase: a meter that has registered
    nothing on every day kept, its voltage evidence seen on fewer days than ``SHARE_BEFORE_VOLTAGE`` less than
    a meter of its phase has been listed with its share held (``s_hold``). A bypass present from the start
    draws its current from the first day, and a share that its phase's NTL had for days before is what the
    phase's unexplained current was; an empty house beside it picks up what the share's sweep leaves of it
    (looked-at 25010: a 0.86 % shunt from day 0 listed by its share at t 4–18 from day 2, an empty house of
    its phase at voltage z 2.9 on day 15 — taken for a bypass, it stopped the phase's fit, and the shunt was
    off the list for the last 9 days). Such evidence still lists the meter; it does not stop the fit."""
    tp, area = ctx.params.theft, ctx.area
    since = np.isfinite(st.since)
    listed = np.where((st.s_hold >= tp.min_score) & since,
                      nd.day - ctx.days_of(np.where(since, st.since, 0.0) - 1.0), 0)
    on = area.meter_phase < 3
    share_days = np.zeros(3)
    np.maximum.at(share_days, area.meter_phase[on], listed[on])
    never = ~_registered(st, tp.low_energy_kwh, nd.day)
    late = np.zeros(area.n_meters, np.bool_)
    late[on] = st.v_seen[on] + SHARE_BEFORE_VOLTAGE <= share_days[area.meter_phase[on]]
    return late & never & (ev.strength["voltage"] > 0)


def _clear_leader(t: F64, b: F64, share_z: float, min_b: float) -> int:
    """The column whose share stands clear of the phase's others — t at least ``LEADER_Z`` × ``share_z`` and
    ``LEADER_RATIO`` times every other column's with a coefficient of at least ``min_b``, its own coefficient
    at least ``min_b`` — or −1. A shunt present from the start is the one share its phase's unexplained loss
    has, and its t grows with the hours fitted: in its first days it is below share_z's listing level, but
    already alone (looked-at 14002, a 0.29 % shunt from day 0: t 1.5–2.8 on days 7–11, no other meter of the
    phase above 0.42, listed from day 12 — the phase's two empty houses were listed by the zero evidence
    meanwhile; 13002: t 2.34 on its second day, nobody else above 0.02). A coefficient under ``min_b`` is a
    meter's gain error, however sure — a large customer's 1 % is measured to t 2 — and no rival to a share
    (looked-at 17002: a 0.33 % shunt at t 1.5–1.7 on days 10–15 beside such a meter at t 0.9–2.2, b 0.01,
    unnamed until day 18)."""
    j, t_j, rival = _strongest(t, b, min_b)
    return j if j >= 0 and t_j >= LEADER_Z * share_z and t_j >= LEADER_RATIO * rival else -1


def _overwhelms(t: F64, b: F64, min_b: float) -> int:
    """The column whose share overwhelms its phase's others — t at least ``OVERWHELM_T`` and ``OVERWHELM_RATIO``
    times every other column's with a coefficient of at least ``min_b``, its own coefficient at least ``min_b``
    — or −1. On a phase with weak voltage evidence of a meter that never registered, a shunt present from the
    start is that share, and its phase's loss is no bypass's that the fit hands to the meter most like it:
    looked-at 29018, a 4.68 % shunt from day 0 (b 2.3) at t 30 on its second day, unnamed until day 4 (by its
    correlation) because an empty house on its phase showed its feeder drop at voltage z 1.6–2.5 from day 2.
    A bypass's load handed to an innocent reaches such t only when it is large (looked-at 27019: 5.95 %, t
    12–21), and then its meter's voltage evidence is strong."""
    j, t_j, rival = _strongest(t, b, min_b)
    return j if j >= 0 and t_j >= OVERWHELM_T and t_j >= OVERWHELM_RATIO * rival else -1


def _strongest(t: F64, b: F64, min_b: float) -> tuple[int, float, float]:
    """The column with the highest t among those with a coefficient of at least ``min_b``, its t, and the highest
    t of every other such column (0 for none); −1 with fewer than two columns or none at ``min_b``."""
    tt = np.nan_to_num(t, nan=0.0)
    if len(tt) < 2:
        return -1, 0.0, 0.0
    j = int(np.argmax(np.where(b >= min_b, tt, -1.0)))
    if b[j] < min_b:
        return -1, 0.0, 0.0
    return j, float(tt[j]), float(np.delete(np.where(b >= min_b, tt, 0.0), j).max())


def _leads(fit: Fit | None, share_z: float, min_b: float) -> bool:
    """Whether a phase's joint share (``_fit``) has a clear leader (``_clear_leader``)."""
    return fit is not None and _clear_leader(fit[2], fit[1], share_z, min_b) >= 0


def _fit(ctx: AreaContext, st: SuspectState, ls: LossState, p: int, k_end: int,
         fits: dict[int, Fit | None] | None = None) -> Fit | None:
    """``joint_share`` of phase ``p`` over the window's hours (``_hours``): its meters (three-phase ones a third
    each), their coefficients and t, and their mean daily energy (a three-phase meter's whole); None with
    too few hours. In an area with CT-connected meters, the phase's strongest share in the fit across the
    phases (``_across_fit``, kept in ``fits`` under ``ACROSS``; its highest t), which the CT registers' coarse
    steps do not blur, takes that fit's coefficient and t; the other meters keep their own phase's. What that
    fit sees more sharply is also what no share explains: a 95 % shunt's coefficient, fitted low from its own
    register's small steps, left part of its load to four meters like it, at t 3–4.5, listed and then held
    (looked-at 22018; a large customer at t 3.5, b 0.1, in 23002)."""
    cols, third, xh, yh = _hours(ctx, st, ls, p, k_end)
    got = _joint_share(ctx, xh, yh)
    if got is None:
        return None
    b, t = got
    across = None if fits is None else fits.get(ACROSS)
    if across is not None:
        where = np.full(ctx.area.n_meters, -1, np.int64)
        where[across[0]] = np.arange(len(across[0]))
        j = where[cols]
        lead = int(np.argmax(np.where(j >= 0, across[2][j], -np.inf)))
        if j[lead] >= 0:
            tp, mine = ctx.params.theft, j[j >= 0]
            t_lead = float(across[2][j[lead]])
            # below the listing level it leads only as the across fit's clear leader: beside the other meters'
            # t of their own phase's fit, which the steps blur, it would lead by that blur alone (the golden
            # theft scenario: an innocent at t 2.6, not clear of the others across the phases, listed on day 2)
            if t_lead < 1.5 * tp.share_z and _clear_leader(across[2][mine], across[1][mine], tp.share_z,
                                                            tp.share_min_b) < 0:
                t_lead = min(t_lead, float(t[lead]))
            b, t = b.copy(), t.copy()
            b[lead], t[lead] = across[1][j[lead]], t_lead
    return cols, b, t, xh.mean(axis=0) * 24.0 / third


def _across_phases(ctx: AreaContext, st: SuspectState, nd: NtlDay) -> B:
    """(3,) the phases ``_across_fit`` takes: in an area with CT-connected meters, those without a change point
    and without a meter its voltage evidence lists (held from yesterday) — a theft that began inside the window,
    or a bypass, is no constant share of any meter's series, and a share of one phase's NTL that no column of
    its own explains leaks into the other phases' through the contrasts (looked-at 23011: a 3.9 % bypass that
    began on phase C on day 9 gave five innocents of phase A coefficients of 2–5)."""
    out = ~nd.rising[:3] & (_phase_onsets(nd) < 0) & ~_phases_of(ctx, st.v_hold >= ctx.params.theft.min_score)
    return out if (ctx.area.meter_ct_ratio > 1.0).any() else np.zeros(3, np.bool_)


def _across_steady(today: Fit | None, before: Fit | None, share_z: float) -> Fit | None:
    """``today``'s fit across the phases with the t of each meter whose share the same fit a day earlier
    (``before``) put under ``SHARE_HOLD`` × ``share_z`` cut to that earlier t: a share present from the start
    was there yesterday; a load that appeared today is a theft beginning, before its change point is declared,
    and the meters whose hours are like it take it (looked-at 23019: on the first day of a 1 % bypass on phase
    C, four innocents of C at t 4–6 and b 0.4–1.1 — listed, then held for 14 days while its change point
    stopped the fit). Without an earlier fit (its first days), today's as it is."""
    if today is None or before is None:
        return today
    cols, b, t, daily = today
    weak = before[2] < SHARE_HOLD * share_z
    return cols, b, np.where(weak, np.minimum(t, before[2]), t), daily


def _across_fit(ctx: AreaContext, st: SuspectState, ls: LossState, k_end: int, phases: B) -> Fit | None:
    """``joint_share`` of the area's single-phase meters across the phases at once, on what differs between
    the phases' hourly NTL: the two contrasts (A − B)/√2 and (A + B − 2C)/√6, each meter's hourly
    energy entering them with its own phase's weight, each contrast centred on its own.

    A CT-connected meter's register counts 0.01 kWh on the secondary — a step of 0.5 kWh behind a 250/5 CT —
    and what its coarse reading misses of an hour lands in every phase's NTL alike (a three-phase meter,
    split by its phases' currents), so no contrast of the phases holds it. With three such meters (seed
    24002) that step was 0.35 kWh of the area's NTL in a 15-minute interval, and the hourly NTL of a phase
    scattered by 0.17 kWh about the shares of its meters; with their registers unfloored, by 0.03, and the
    area's 0.33 % shunt present from day 0, never listed in 21 days, stood at t 4.1 on its second day.
    Fitted across the phases, it stands at t 4–6 from its fifth day (0.5–1.8 on the NTL of its own phase).
    What is common to the phases is lost with it: a three-phase meter's share
    (its columns have no contrast; ``_fit`` keeps their own phase's fit), and a third of the hours' worth
    of each single-phase meter's. Only the ``phases`` given (``_across_phases``; two give their one contrast, the
    difference over √2), over the hours in which their meters and every three-phase meter were read (the NTL of each
    exact, over the same intervals). Columns: those phases' single-phase meters; None with too few hours or
    fewer than two phases."""
    area = ctx.area
    on = np.flatnonzero(phases)
    basis = CONTRASTS if len(on) == 3 else (np.array([1.0, -1.0]) / math.sqrt(2.0),) if len(on) == 2 else ()
    cols = np.flatnonzero(np.isin(area.meter_phase, on))
    if not basis or len(cols) == 0:
        return None
    read = np.flatnonzero(np.isin(area.meter_phase, on) | (area.meter_phase == PHASE_ABC))
    xh, yh = _hourly(ctx, st, ls, k_end, read, on)
    xh = xh[:, np.isin(read, cols)]
    if len(yh) < ctx.params.theft.share_min_hours:
        return None
    ph = np.searchsorted(on, area.meter_phase[cols])
    xs, ys = [], []
    for w in basis:
        yc = yh @ w
        xc = xh * w[ph]
        xs.append(xc - xc.mean(axis=0))
        ys.append(yc - yc.mean())
    got = _joint_share(ctx, np.concatenate(xs), np.concatenate(ys), min_hours=0)
    return None if got is None else (cols, got[0], got[1], xh.mean(axis=0) * 24.0)


def _joint_share(ctx: AreaContext, xh: F64, yh: F64, min_hours: int | None = None) -> tuple[F64, F64] | None:
    """``joint_share`` of the hourly NTL ``yh`` (H,) on the meters' hourly energies ``xh`` (H, M): the
    coefficients and their t; None with fewer than ``min_hours`` hours (``share_min_hours`` unless given) or
    not more hours than meters + 1."""
    least = ctx.params.theft.share_min_hours if min_hours is None else min_hours
    if len(yh) < max(least, xh.shape[1] + 2):
        return None
    b, t = np.empty(xh.shape[1]), np.empty(xh.shape[1])
    ctx.ops["evidence"].joint_share(np.ascontiguousarray(xh), np.ascontiguousarray(yh), b, t)
    return b, t


def _put_share(ev: Evidence, i: int, s: float, b: float, t: float, daily_kwh: float) -> None:
    """Meter ``i``'s joint-share evidence: strength ``s``, its coefficient and t, and (when no other evidence
    gave one) the stolen energy, ``b`` × its mean daily energy ``daily_kwh``."""
    ev.strength["share"][i] = s
    ev.put("share_b", np.array([i]), np.array([b]))
    ev.put("share_t", np.array([i]), np.array([t]))
    if not math.isfinite(ev.stolen[i]):
        ev.stolen[i] = b * daily_kwh


def _hours(ctx: AreaContext, st: SuspectState, ls: LossState, p: int, k_end: int, k_first: int = -1,
           k_stop: int | None = None) -> tuple[npt.NDArray[np.intp], F64, F64, F64]:
    """Phase ``p``'s meters (three-phase ones a third each), their weights (1 or ⅓), and over the window the
    hourly energies (H, M) and NTL (H,) of the hours with at least ``SHARE_MIN_INTERVALS`` intervals in which
    every one of those meters was read and the NTL is known — their mean per interval, as an hour.

    The NTL is the one with the registers not read counted as 0 (``c_ntl_read``), which on such an interval
    is exact whatever the other phases' meters did; where it is unknown, the engine's own (``c_ntl``: a
    state restored from before it was kept). No estimate enters: before the engine can estimate a gap (it
    needs earlier days at that time of day) its NTL is unknown wherever any meter missed a poll, and an
    estimate's error (a household's 15 minutes against the same 15 minutes of other days) is far above
    the fit's residual. Hours that needed every meter of the area read, or an estimate, cost a shunt
    present from day 0 its first days: seed 7018 (4.8 %) fitted 17 of its first 48 hours and was named on
    day 2 (3.0 d). Only the intervals from ``k_first`` on and before ``k_stop``, when given (``_onset_share``)."""
    cols, third = _phase_meters(ctx, p)
    xh, yh = _hourly(ctx, st, ls, k_end, cols, np.array([p]), third, k_first, k_stop)[:2]
    return cols, third, xh, yh[:, 0]


def _phase_meters(ctx: AreaContext, p: int) -> tuple[npt.NDArray[np.intp], F64]:
    """Phase ``p``'s meters and their weights on it: 1, a three-phase meter ⅓."""
    phase = ctx.area.meter_phase
    cols = np.flatnonzero((phase == p) | (phase == PHASE_ABC))
    return cols, np.where(phase[cols] == PHASE_ABC, 1.0 / 3.0, 1.0)


def _hourly(ctx: AreaContext, st: SuspectState, ls: LossState, k_end: int, cols: npt.NDArray[np.intp],
            phases: npt.NDArray[np.intp], weight: F64 | None = None, k_first: int = -1,
            k_stop: int | None = None, starts: bool = False) -> tuple[F64, ...]:
    """Over the window (from ``k_first``, before ``k_stop``), the hourly energies (H, len(cols)) of the meters
    ``cols`` (times ``weight``) and the NTL (H, len(phases)) of ``phases`` — each hour the mean per interval,
    as an hour, of its intervals in which all those meters were read and every one of those NTL is known,
    the hours with at least ``SHARE_MIN_INTERVALS`` of them (``_hours``); with ``starts``, also each such hour's
    first interval."""
    per_h = 3600 // ctx.params.interval_s
    ks = np.arange(k_end - len(st.c_k) // per_h * per_h, k_end)
    rows = ks % len(st.c_k)
    ok = (st.c_k[rows] == ks) & (ks >= k_first) & (ks < (k_end if k_stop is None else k_stop))
    e_rows = ks % len(ls.ring_k)
    got = ok & (ls.ring_k[e_rows] == ks)
    x = np.where(got[:, None], ls.ring_fwd[e_rows][:, cols], np.nan).astype(np.float64)
    if weight is not None:
        x = x * weight
    y = np.where(ok[:, None], st.c_ntl_read[rows][:, phases], np.nan).astype(np.float64)
    y = np.where(np.isfinite(y), y, np.where(ok[:, None], st.c_ntl[rows][:, phases], np.nan))
    use = np.asarray(np.isfinite(y).all(axis=1) & np.isfinite(x).all(axis=1), np.bool_)
    h = len(ks) // per_h
    n = use.reshape(h, per_h).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xh = np.where(use[:, None], x, 0.0).reshape(h, per_h, -1).sum(axis=1) / n[:, None] * per_h
        yh = np.where(use[:, None], y, 0.0).reshape(h, per_h, -1).sum(axis=1) / n[:, None] * per_h
    keep = n >= min(SHARE_MIN_INTERVALS, per_h)
    if starts:
        return xh[keep], yh[keep], ks[::per_h][keep].astype(np.float64)
    return xh[keep], yh[keep]
