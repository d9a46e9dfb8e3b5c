"""The joint share since a rising phase's change point, fitted from the hour the theft most likely began and
believed where the meter's own drop bears it out (docs/lineloss.md §4, onset-share row)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.stages.loss import LossState
from detect.stages.ntl import NtlDay
from detect.stages.suspects import share
from detect.stages.suspects.base import F64, B, ChannelDrop, Evidence, SuspectState, _flagged, _ramp

ONSET_SHARE_DROP_Z = 1.0     # a share since a change point counts where the meter's drop agrees at this z
ONSET_SHARE_Z = 1.5          # a share since a change point: listed from t 2.25 (ramp 1.5 → 3), not share_z's 3
ONSET_SHARE_MIN_HOURS = 18   # a share since a change point: fitted from this many hours (share_min_hours: 36)
ONSET_REFITS = 2             # ... fitted again without the shares the meters' own drops do not bear out, this often,
ONSET_REFIT_AGREE = (2.0, 1.5)  # ... a share found then believed from this drop z, up to this many times its drop
ONSET_HOLD_Z = 2.0           # ... once listed, held while the meter's own drop since then stays at this z or more


def _start_hour(ctx: AreaContext, st: SuspectState, ls: LossState, p: int, k_on: int, k_end: int,
                mu_pct: float) -> int:
    """The first interval of the hour where phase ``p``'s theft most likely began, searched from the day before
    its change point's (``k_on``) to the end of that day: over the hours since then, the phase's hourly NTL
    above its baseline (``mu_pct`` % of the meters' energy) e_h and the meters' energy x_h, the hour j that
    maximises (Σ_{h≥j} e_h x_h)² / Σ_{h≥j} x_h² (the likelihood ratio of a loss proportional to the phase's
    load from j on against none: ``ntl._change_point`` for hours, the theft's shape taken as the phase's);
    ``k_on`` where no hour is known or none is above the baseline. The change point is a day, and the hours
    of that day before the theft began (the customer's whole consumption metered, no loss) set its metered
    energy against its own loss in the share since the change point; the twenty-third round left the whole
    of that day out instead, and with it the theft's first hours (looked-at 27020, a 0.36 % shunt from
    16:00: t 1.1 over its first whole day, 3.6 with the 8 hours before it; 26012, 27004: shunts from 19:00
    and 12:00, found to the hour; 27000, from 20:00 the day before its change point's, at 21:00). To the
    hour: a theft that began inside one has that hour's metered energy against part of its loss (in the
    noise-free crafted area of the tests, a 60 % shunt from 19:29 fitted from 19:00 gives b 1.1 for its 1.5;
    the simulator's thefts begin on the hour)."""
    cols, third = share._phase_meters(ctx, p)
    xs, ys, ks = share._hourly(ctx, st, ls, k_end, cols, np.array([p]), third, k_on - ctx.per_day, None, True)
    mu = mu_pct / 100.0 if math.isfinite(mu_pct) else 0.0
    load = xs.sum(axis=1)
    e = ys[:, 0] - mu * load
    ex, xx = np.cumsum((e * load)[::-1])[::-1], np.cumsum((load * load)[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where((ex > 0.0) & (xx > 0.0) & (ks < k_on + ctx.per_day), ex * ex / xx, 0.0)
    return int(ks[int(np.argmax(gain))]) if len(gain) and gain.max() > 0.0 else k_on


def _onset_share(ctx: AreaContext, st: SuspectState, ls: LossState, nd: NtlDay, k_end: int, ev: Evidence,
                 drops: dict[int, ChannelDrop]) -> None:
    """Joint-share evidence on a rising phase, from its change point on (docs/lineloss.md §4): after a shunt
    began, the phase's NTL is a fixed share of its meter's hourly series, which names it where its daily
    drop hides in its own scatter (looked-at 12008: a 19 % shunt on a 70 kWh/day customer, daily drop z under
    3 for 10 days).

    The fit (``_hours`` from the change point, ``joint_share``) takes only the meters whose daily energy on
    the phase fell since then (drop z ≥ ``ONSET_SHARE_DROP_Z``): a meter that registers no less than before
    is no shunt that began then, and with fewer columns the thief's hours stand out of the phase's common
    daily shape on fewer hours (12008: t 17 on the third day; 2.8 with every meter of the phase). From each
    coefficient, what the same meters' fit over the hours before the change point gave it is taken off: a
    share it had already is no new theft (looked-at 11010: a shunt present from day 0, not among the meters
    that fell, handed its share to one that did after a false change point, t 7–8).

    A share is believed only where the meter's own daily drop since the change point is at least half of
    ``b`` × its daily energy: fitted over the hours since a bypass began whose sag is not seen yet, the load
    no meter registers goes to the meters whose hours look most like it (looked-at 12003, 12007: innocents
    at t 3–12, b up to 1.6). Left out: phases where voltage evidence shows a bypass (as in ``_share``), and
    phases whose rise the listed drops already explain (their shares of it summing to 1 − ``drop_min_share``
    or more: looked-at 12013, an innocent whose consumption happened to fall by 21 kWh/day as a bypass
    began took its load, b 0.45, t 9). A share the meter's drop does not bear out is taken out of the fit,
    which is fitted again without it (``_onset_refit``)."""
    tp, area = ctx.params.theft, ctx.area
    bypassed = share._phases_of(ctx, ev.strength["voltage"] >= tp.min_score)
    listed = ev.strength["drop"] >= tp.min_score
    hold, hold_day, hold_b = np.zeros(area.n_meters), np.full(area.n_meters, -1.0), np.zeros(area.n_meters)
    held: list[tuple[npt.NDArray[np.intp], int, ChannelDrop]] = []
    for p in np.flatnonzero(_flagged(nd) & nd.rising[:3]):
        if p in drops:
            # once listed by it, held while the meter's own drop since the same change point stays at
            # ONSET_HOLD_Z or more and accounts for drop_min_share of the rise: a small shunt's fit over the
            # hours since the change point wanders below its listing level while its daily drop is still too
            # small to list it (looked-at 21020, a 0.33 % shunt from 09:00: t 2.27 on its first day, under
            # 1.5 on the next four while its drop stood at z 2.0–3.5 and 66–78 % of the rise — off the list
            # for four days)
            d = drops[int(p)]
            held.append((np.flatnonzero((st.o_hold > 0) & (st.o_day == float(nd.onset[p]))
                                        & (np.nan_to_num(d.z, nan=0.0) >= ONSET_HOLD_Z)
                                        & (np.nan_to_num(d.share, nan=0.0) >= tp.drop_min_share)),
                         int(nd.onset[p]), d))
        if p not in drops or bypassed[p]:
            continue
        if np.clip(np.nan_to_num(drops[int(p)].share[listed], nan=0.0), 0.0, 1.0).sum() >= 1.0 - tp.drop_min_share:
            continue
        k_on = ctx.first_interval(int(nd.onset[p]))
        # from the hour the theft most likely began (``_start_hour``), once ONSET_SHARE_MIN_HOURS have passed since
        k_from = _start_hour(ctx, st, ls, int(p), k_on, k_end, float(nd.baseline_pct[p]))
        cols, third, xh, yh = share._hours(ctx, st, ls, int(p), k_end, k_from)
        z, drop = drops[int(p)].z[cols], drops[int(p)].kwh[cols]
        fell = (np.nan_to_num(z, nan=0.0) >= ONSET_SHARE_DROP_Z) & (np.nan_to_num(drop, nan=0.0) > 0.0)
        cols, third, xh, drop = cols[fell], third[fell], xh[:, fell], drop[fell]
        # from the 18th hour on, not share_min_hours' 36: the columns are the few meters that fell, not the
        # phase's every meter, and a shunt that began late in the evening is due within 2 days on its first
        # whole day (looked-at 15004, a 0.53 % shunt from 23:00: t 4.3, b 0.53 over its first 24 hours,
        # drop 3.4 kWh/day against 5.8 implied; named a day later, at 3.0 d; 14020, 0.3 %: t 4.2 after 24
        # hours, its drop hidden in its scatter from the third day on)
        _, _, xp, yp = share._hours(ctx, st, ls, int(p), k_end, -1, min(k_on, k_from))
        # the drop is the mean over the whole days since the change point, the onset day's hours before the theft
        # with it: the share's implied drop is spread over the same days, the theft's hours a day (looked-at
        # 27004, a 0.50 % shunt from 12:00: b 0.32 at t 2.9 over its first 35 hours implied a little over twice
        # its drop at 24 hours a day)
        span_h = min(24.0 * (k_end - k_from) / ctx.per_day / max(nd.day - int(nd.onset[p]) + 1, 1), 24.0)
        got = _onset_refit(ctx, xh, yh, xp[:, fell], yp, drop, z[fell], span_h)
        if got is None:
            continue
        b, t, agree = got
        s = _ramp(t, ONSET_SHARE_Z) * (b >= tp.share_min_b) * agree
        for j in np.flatnonzero(s > ev.strength["share"][cols]):
            i = int(cols[j])
            share._put_share(ev, i, float(s[j]), float(b[j]), float(t[j]), float(xh[:, j].mean() * 24.0 / third[j]))
            ev.put("share_since_onset", np.array([i]), np.array([1.0]))
            if ev.onset[i] < 0:
                ev.onset[i] = int(nd.onset[p])
            if s[j] >= tp.min_score and s[j] > hold[i]:
                hold[i], hold_day[i], hold_b[i] = s[j], float(nd.onset[p]), b[j]
    # the holds go on after today's fits, where those give less
    for on, day, d in held:
        on = on[st.o_hold[on] > np.maximum(ev.strength["share"][on], hold[on])]
        if not len(on):
            continue
        ev.strength["share"][on] = st.o_hold[on]
        ev.put("share_held", on, st.o_hold[on])
        ev.put("share_since_onset", on, np.ones(len(on)))
        b_now = ev.detail["share_b"][on] if "share_b" in ev.detail else np.full(len(on), np.nan)
        ev.put("share_b", on, np.where(np.isfinite(b_now), b_now, st.o_b[on]))
        ev.onset[on] = np.where(ev.onset[on] < 0, day, ev.onset[on])
        ev.stolen[on] = np.where(np.isfinite(ev.stolen[on]), ev.stolen[on], d.kwh[on])
        hold[on], hold_day[on], hold_b[on] = st.o_hold[on], float(day), st.o_b[on]
    st.o_hold, st.o_day, st.o_b = hold, hold_day, hold_b


def _onset_fit(ctx: AreaContext, xh: F64, yh: F64, xp: F64, yp: F64, hours_a_day: float = 24.0) -> tuple[F64, F64, F64] | None:
    """``_onset_share``'s fit of the hours since the change point (``xh``, ``yh``) on the meters that fell: the
    coefficients less what the same meters' fit over the hours before it (``xp``, ``yp``) gave them, their t,
    and the drop each coefficient implies (kWh/day: ``hours_a_day`` of the theft's hours a day)."""
    got = share._joint_share(ctx, xh, yh, ONSET_SHARE_MIN_HOURS) if xh.shape[1] else None
    if got is None:
        return None
    b, t = got
    # the same meters' shares before the change point: a share they had already is no theft that began
    # then (looked-at 11010: a shunt present from day 0, not among the meters that fell, handed its share
    # to one that did, t 7–8, b 0.24 after a false change point; 0.31 before)
    before = share._joint_share(ctx, xp, yp)
    b = np.maximum(b - (0.0 if before is None else before[0]), 0.0)
    return b, t, b * xh.mean(axis=0) * hours_a_day


def _onset_refit(ctx: AreaContext, xh: F64, yh: F64, xp: F64, yp: F64, drop: F64, z: F64,
                 hours_a_day: float = 24.0) -> tuple[F64, F64, B] | None:
    """``_onset_fit``, and whether each meter's own drop since the change point (``drop``, kWh/day; ``z``)
    bears its share out — at least half the drop the share implies. A share it does not bear out is believed
    for no one, and while it stays in the fit it takes what a meter of the same hours would show: fitted
    again without it (at most ``ONSET_REFITS`` times), as long as a share found then is borne out more
    strictly (``ONSET_REFIT_AGREE``: the meter's drop at z 2 or more and at most 1.5 times what its share
    implies) — a second choice of the fit may be one more meter like it, or one whose consumption fell
    by far more for reasons of its own. Looked-at 22015: a 2 % shunt at b 0 beside an innocent of the same
    daily shape that took the share at t 3–8, its own drop 4 kWh/day against 10–14 implied (listed a day);
    the shunt's drop 8 kWh/day at z 2.5–4.9, not enough alone; t 6.6 once the innocent had left the fit, 5.3 d
    after the theft began. Refitted with the plain agreement, innocents took the share instead in 22000 (drop
    13 kWh/day at z 4.2, 2.3 times its share's) and 22021 (z 1.1; a bypass's load to a meter like it). The
    coefficients, t and agreement of every column (0, 0, False for those left out); None with too few hours."""
    tp = ctx.params.theft
    z_min, most = ONSET_REFIT_AGREE
    fitted = np.ones(xh.shape[1], np.bool_)
    got = None
    for attempt in range(ONSET_REFITS + 1):
        got = _onset_fit(ctx, xh[:, fitted], yh, xp[:, fitted], yp, hours_a_day)
        if got is None:
            return None
        d, expect = drop[fitted], got[2]
        agree = d >= 0.5 * expect
        if attempt:
            agree &= (np.nan_to_num(z[fitted], nan=0.0) >= z_min) & (d <= most * expect)
        out = (got[1] >= ONSET_SHARE_Z) & (got[0] >= tp.share_min_b) & ~agree
        if not out.any() or attempt == ONSET_REFITS:
            break
        fitted[np.flatnonzero(fitted)[out]] = False
    assert got is not None
    b, t, ok = np.zeros(len(fitted)), np.zeros(len(fitted)), np.zeros(len(fitted), np.bool_)
    b[fitted], t[fitted], ok[fitted] = got[0], got[1], agree
    return b, t, ok
