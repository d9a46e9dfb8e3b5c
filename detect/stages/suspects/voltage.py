"""Voltage evidence: a meter that registers nothing whose voltage drop follows its phase's unexplained
current (docs/lineloss.md §4, voltage row)."""

from __future__ import annotations

import math

import numpy as np

from detect.area import PHASE_ABC
from detect.context import AreaContext
from detect.stages.loss import LossState
from detect.stages.ntl import NtlDay
from detect.stages.physics import Elements, elements
from detect.stages.suspects import share
from detect.stages.suspects.base import (
    F64,
    I64,
    B,
    Evidence,
    Fit,
    SuspectState,
    _flagged,
    _phase_excess_kwh,
    _phase_onsets,
    _ramp,
    _registered,
)

U_NOMINAL_V = 230.0          # the phase's unexplained current is its NTL power over this voltage
MIN_HOURS = 24               # voltage evidence needs a day of hourly means
VOLTAGE_AGAINST_DAYS = 2     # voltage: held evidence seen on this many days or more goes when the plain fit
                             # contradicts it on as many days in a row (evidence seen on one day: on the first)
VOLTAGE_SURE_DAYS = 3        # voltage: evidence seen on this many days is not let go because a share found later
                             # explains it, only when the plain fit contradicts it (VOLTAGE_AGAINST_DAYS in a row)


def _voltage(ctx: AreaContext, st: SuspectState, ls: LossState, nd: NtlDay, k_end: int, ev: Evidence,
             fwd_kwh: F64, phase_sup: F64, fits: dict[int, Fit | None]) -> None:
    """Voltage evidence of the meters that registered (almost) no consumption today (``fwd_kwh``)."""
    tp, area = ctx.params.theft, ctx.area
    el = elements(area)
    low = np.nan_to_num(fwd_kwh, nan=np.inf) < tp.low_energy_kwh
    use = low[el.meter] & _flagged(nd)[el.phase]
    st.v_hold = np.where(np.bincount(el.meter, weights=use, minlength=area.n_meters) > 0, st.v_hold, 0.0)
    onset = _phase_onsets(nd)
    test = use.copy()
    against = np.zeros(area.n_meters)
    for ph in np.flatnonzero(onset >= 0):
        # a change point on the phase: its rise is a theft that began then, which a meter that registered
        # nothing before it as well cannot be — an empty house, or a bypass present from the start whose
        # current is in the level the rise is measured from (its evidence, if seen before, stays held).
        # Tested against the rise's current, an empty house's drop picked up the feeder drop of the
        # thief's current (looked-at seed 9004: z 2.5 → 5.6 over a week beside a shunt on its phase)
        on = use & (el.phase == ph)
        test[on] = _registered(st, tp.low_energy_kwh, int(onset[ph]) - 1)[el.meter[on]]
    if test.any():
        s, z, beta = _voltage_fit(ctx, st, k_end, el, test, onset, None)
        explained = _explained(ctx, st, ls, k_end, el, test, onset, fits)
        shared = np.asarray(np.isfinite(explained).any(axis=0))
        less = test & shared[el.phase]
        if less.any():
            # against the current no listed share explains; evidence that this takes away entirely was the
            # share's current, and what was held of it goes too (held from the first day, before the share
            # could be fitted, the empty house of looked-at seed 9019 stayed named for good). So does held
            # evidence that today's plain fit contradicts (z < 0: the drop moves against the phase's
            # unexplained current) and the swept one does not bear out (looked-at 13010: an empty house at
            # z 2.5 on the first day, −1 to −3 after, held for 23 days — and as a voltage suspect kept the
            # share off the phase, which named a 60 % shunt at t 4–7). Evidence that faded on both without
            # turning is still held: a bypass's slope sinks into the noise of its phase's current. Where the share
            # is its phase's clear leader, today's plain fit shows the evidence by its z alone: an empty house's
            # slope on a shunt's current can stay under voltage_min_ohm (looked-at 17010: z 2.8–3.2, 0.017 Ω,
            # swept z 0.3–1.4 against a 0.99 % shunt's share at t 3.3–6 and nobody else above 0.9 — held for 8
            # days, it kept that share off its phase). Not where shares are several: a bypass's load handed to
            # meters like it
            s2, z2, beta2 = _voltage_fit(ctx, st, k_end, el, less, onset, explained)
            plain = np.nan_to_num(z)
            lead = np.array([share._leads(fits.get(p), tp.share_z, tp.share_min_b) for p in range(3)])
            seen = (s > 0) | ((plain >= tp.voltage_z) & lead[el.phase])
            # evidence seen on VOLTAGE_SURE_DAYS days is not let go because a share found later explains it, only
            # where the plain fit contradicts it: a bypass's load goes to the meters whose hours are like it, and
            # such a share explains its current as well as a shunt's would (looked-at 22007: a 1.08 % bypass from
            # day 0 seen at z 4.9–7.4 on four days, swept to z 0.1 by an innocent's share at t 4 on the fifth —
            # let go, the innocent and two more like it were listed in its place for six days)
            sure = st.v_seen[el.meter] >= VOLTAGE_SURE_DAYS
            st.v_hold[el.meter[less & (s2 <= 0) & seen & ~sure]] = 0.0
            contra = (less & (s2 <= 0) & (~seen | sure) & (plain < 0)).astype(np.float64)
            against = np.bincount(el.meter, weights=contra, minlength=area.n_meters).astype(np.float64)
            s, z, beta = (np.where(less, b, a) for a, b in ((s, s2), (z, z2), (beta, beta2)))
        # a three-phase meter has an element on each phase: its evidence is its strongest phase's (each element
        # in turn once wrote over the one before — looked-at 29014, a 2.20 % three-phase bypass from day 0 at
        # z 4.2 on phase A on its second day, unlisted behind its phase C's 0.33)
        for e in np.flatnonzero(s > ev.strength["voltage"][el.meter]):
            i = el.meter[e]
            if s[e] <= ev.strength["voltage"][i]:
                continue
            ev.strength["voltage"][i] = s[e]
            ev.put("voltage_z", np.array([i]), np.array([z[e]]))
            ev.put("voltage_ohm", np.array([i]), np.array([beta[e]]))
    # evidence seen on several days goes on the second day in a row that contradicts it: the day after a second
    # theft began on the phase, before its change point is declared, the phase's unexplained current is mostly
    # the new thief's, and a bypass's drop does not follow it (looked-at 21019: a 0.92 % bypass from day 0,
    # seen on 6 days, z −3.3 on the day after a 2.5 % shunt began at 22:00 on its phase; let go, it was listed
    # only as 零电量户 from then on). Seen on one day only — an empty house on the first day, before the share
    # could be fitted (13010) — it goes on the first
    st.v_against = np.where(against > 0, st.v_against + 1.0, 0.0)
    need = np.where(st.v_seen >= VOLTAGE_AGAINST_DAYS, VOLTAGE_AGAINST_DAYS, 1)
    st.v_hold = np.where((st.v_against > 0) & (st.v_against >= need), 0.0, st.v_hold)
    fresh = ev.strength["voltage"] >= tp.min_score
    held = np.flatnonzero(st.v_hold > ev.strength["voltage"])
    ev.strength["voltage"][held] = st.v_hold[held]
    ev.put("voltage_held", held, st.v_hold[held])
    st.v_hold = ev.strength["voltage"].copy()
    st.v_seen = np.where(st.v_hold > 0, st.v_seen + fresh, 0.0)
    st.v_against = np.where(st.v_hold > 0, st.v_against, 0.0)
    # what such a meter takes: its phase's loss above the least-losing phase's, shared among the phase's meters
    # with voltage evidence (a meter that registers nothing has no drop to measure it by)
    found = np.flatnonzero(ev.strength["voltage"] > 0)
    for p in range(3):
        here = found[(area.meter_phase[found] == p) & ~np.isfinite(ev.stolen[found])]
        excess = _phase_excess_kwh(nd, phase_sup, p)
        if len(here) and math.isfinite(excess) and excess > 0:
            ev.stolen[here] = excess / len(here)


def _explained(ctx: AreaContext, st: SuspectState, ls: LossState, k_end: int, el: Elements, test: B,
               onset: I64, fits: dict[int, Fit | None]) -> F64:
    """(V, 3) over the voltage window, the part of each phase's interval NTL that its joint share's listed
    meters explain (their coefficient × their interval energy), on a phase without a change point where a
    meter is tested; NaN elsewhere (a column all NaN: no share to test against on that phase).

    A shunt present from the start hides a fixed share of its own metered series, and that current drops
    along the feeder past an empty house on its phase: the empty house's drop follows the phase's
    unexplained current as a bypass's would (looked-at seed 9019, z 5–11 from day 1 beside a 5 % shunt;
    fresh seeds 10010 and 10019 lost their shunts to it — a voltage suspect keeps the share off the
    phase). The current no listed share explains is what a bypass draws."""
    tp = ctx.params.theft
    ks = np.arange(k_end - len(st.v_k), k_end)
    out = np.full((len(ks), 3), np.nan)
    for p in np.flatnonzero(onset < 0):
        if not test[el.phase == p].any():
            continue
        if p not in fits:
            fits[int(p)] = share._fit(ctx, st, ls, int(p), k_end, fits)
        fit = fits[int(p)]
        if fit is None:
            continue
        cols, b, t, _ = fit
        on = _ramp(t, tp.share_z) * (b >= tp.share_min_b) >= tp.min_score     # the shares it would list
        if not on.any():
            continue
        third = np.where(ctx.area.meter_phase[cols[on]] == PHASE_ABC, 1.0 / 3.0, 1.0)
        rows = ks % len(ls.ring_k)
        x = np.where((ls.ring_k[rows] == ks)[:, None], ls.ring_fwd[rows][:, cols[on]], np.nan)
        out[:, p] = x.astype(np.float64) @ (b[on] * third)
    return out


def _voltage_fit(ctx: AreaContext, st: SuspectState, k_end: int, el: Elements, test: B, onset: I64,
                 explained: F64 | None) -> tuple[F64, F64, F64]:
    """``voltage_excess`` of the elements ``test`` over the last ``voltage_days`` of hours, against their
    phase's unexplained current, twice (against their own phase's peers, and with the branch's other phases
    too), and where ``explained`` has a phase's current that its listed shares explain, with that as one
    more covariate: the stronger fit's strength, z and slope per element."""
    tp = ctx.params.theft
    ks = np.arange(k_end - len(st.v_k), k_end)
    rows = ks % len(st.v_k)
    ok = st.v_k[rows] == ks
    du = np.where(ok[:, None], st.v_du[rows], np.nan).astype(np.float64)
    ntl = np.where(ok[:, None], st.v_ntl[rows], np.nan).astype(np.float64)
    per_h = 3600 // ctx.params.interval_s
    h = len(ks) // per_h
    du_h = _hourly_mean(du[len(du) - h * per_h:].reshape(h, per_h, -1), 1)
    # the phase's unexplained current: its mean interval NTL over the hour's known intervals (an interval
    # with a meter unread and not yet estimable has no NTL; half the hour known is enough)
    cur_h = _hourly_mean(ntl[len(ntl) - h * per_h:].reshape(h, per_h, 3), (per_h + 1) // 2) \
        / (ctx.params.interval_s / 3600.0) * 1000.0 / U_NOMINAL_V
    # on a phase with a change point only the hours from its day on: before it the unexplained current
    # holds no one's theft, and its step at the onset turns any drift of an empty house's drop into
    # correlation (looked-at seed 9001, an empty house: z 4.3 on the day after a bypass began elsewhere on
    # its phase, 0.8 and less after)
    hour_k = ks[len(ks) - h * per_h::per_h]
    for p in np.flatnonzero(onset >= 0):
        cur_h[hour_k < ctx.first_interval(int(onset[p])), p] = np.nan
    group = el.branch * 3 + el.phase
    n_g = int(group.max()) + 1
    cur = cur_h[:, el.phase]
    alone = np.full((n_g + 3, 3), -1, np.int64)
    siblings = alone.copy()
    siblings[:n_g, :2] = other_phases(group)
    if explained is not None:
        # the explained current enters as a column of its own group (n_g + phase) that is no one's peer,
        # named as a covariate of the phase's groups: swept out of both the drop and the current, what is
        # left is no listed share's — whatever error the share's coefficients have
        shared = np.flatnonzero(np.isfinite(explained).any(axis=0))
        ex_h = _hourly_mean(explained[len(explained) - h * per_h:].reshape(h, per_h, 3), (per_h + 1) // 2)
        du_h = np.concatenate([du_h, ex_h[:, shared]], axis=1)
        cur = np.concatenate([cur, np.zeros((h, len(shared)))], axis=1)
        group = np.concatenate([group, n_g + shared])
        test = np.concatenate([test, np.zeros(len(shared), np.bool_)])
        on = np.isin(np.arange(n_g) % 3, shared)
        alone[:n_g, 2] = siblings[:n_g, 2] = np.where(on, n_g + np.arange(n_g) % 3, -1)
    fits = []
    for also in (alone, siblings):
        corr, beta, n = np.empty(len(group)), np.empty(len(group)), np.empty(len(group), np.int64)
        ctx.ops["evidence"].voltage_excess(np.ascontiguousarray(du_h), np.ascontiguousarray(cur), group, n_g + 3,
                                           also, test, MIN_HOURS, corr, beta, n)
        z = (corr * np.sqrt(n))[:len(el.meter)]
        beta = beta[:len(el.meter)]
        fits.append((_ramp(z, tp.voltage_z) * (np.nan_to_num(beta) >= tp.voltage_min_ohm), z, beta))
    s, z, beta = (np.where(fits[1][0] > fits[0][0], b, a) for a, b in zip(*fits, strict=True))
    return s, z, beta


def other_phases(group: I64) -> I64:
    """(G, 2) for each branch-and-phase group (branch × 3 + phase) the same branch's other two phases' groups
    that have elements, −1 where there are none: the voltage evidence's neutral covariates."""
    n_groups = int(group.max()) + 1
    out = np.full((n_groups, 2), -1, np.int64)
    present = np.zeros(n_groups + 3, np.bool_)
    present[group] = True
    for g in range(n_groups):
        branch, phase = divmod(g, 3)
        sib = [branch * 3 + q for q in range(3) if q != phase and present[branch * 3 + q]]
        out[g, :len(sib)] = sib
    return out


def _hourly_mean(blocks: F64, min_read: int) -> F64:
    """(H, per_h, X) interval values → (H, X) hourly means of the known ones; NaN with fewer than
    ``min_read`` known."""
    read = np.isfinite(blocks).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(read >= max(min_read, 1), np.nansum(blocks, axis=1) / np.maximum(read, 1), np.nan)
