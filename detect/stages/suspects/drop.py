"""Drop evidence: a meter's daily energy since a rising channel's change point against its baseline share
(docs/lineloss.md §4, drop row)."""

from __future__ import annotations

import math

import numpy as np

from detect.context import AreaContext
from detect.stages.ntl import NtlDay, _baseline
from detect.stages.suspects.base import (
    F64,
    I64,
    B,
    ChannelDrop,
    Evidence,
    SuspectState,
    _channel_energy,
    _ramp,
    _rows,
)

DROP_ALONE_Z = 3.5           # drop: the channel's strongest drop is listed from this z (drop_z's listing level is
DROP_ALONE_SHARE = (0.7, 1.5)  # 4.5) when it accounts for this share of the rise alone — and no other drop of
DROP_RIVAL = (2.0, 0.5)      # at least this z accounts for this share of it or more
BEHIND_Z = 6.0               # a step in what a listed share leaves of its phase's NTL: from this z of the days since
BEHIND_MIN_DAYS = 5          # ... against at least this many known days before it


def _drop(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence) -> dict[int, ChannelDrop]:
    """Drop evidence; returns each rising channel's drop per meter from its change point, for
    ``_onset_share``."""
    tp = ctx.params.theft
    out: dict[int, ChannelDrop] = {}
    # each rising channel from its change point; a second change point (a second theft on the channel) also
    # from there, against the level between the two (the first thief's drop explains the first rise) — and
    # first, so that a meter as strong from both is listed since the later one, its own
    again = np.flatnonzero(nd.rising & (nd.onset2 >= 0))
    windows: list[tuple[int, int, float, F64 | None]] = [
        (int(c), int(nd.onset2[c]), float(nd.level_pct[c]), None) for c in again]
    windows += [(int(c), int(nd.onset[c]), float(nd.baseline_pct[c]), None) for c in np.flatnonzero(nd.rising)]
    windows += _behind_share(ctx, st, nd)
    hold = np.zeros(ctx.n_meters)
    for c, on, from_pct, behind in windows:
        base, since = _rows(st, on - tp.baseline_days, on - 1), _rows(st, on, nd.day)
        if not len(base) or not len(since):
            continue
        total = st.d_sales[:, c] + st.d_ntl[:, c]
        excess = st.d_ntl[since, c] - from_pct / 100.0 * st.d_sup[since, c] if behind is None else behind
        cand = np.flatnonzero(np.isfinite(_channel_energy(ctx, np.ones(ctx.n_meters), c)))
        x = _channel_energy(ctx, st.d_e, c, st.d_split)[:, cand]
        z, drop, expl = (np.empty(len(cand)) for _ in range(3))
        ctx.ops["evidence"].drop_match(np.ascontiguousarray(x[base]), np.ascontiguousarray(total[base]),
                                       day_class(st.d_day[base]), np.ascontiguousarray(x[since]),
                                       np.ascontiguousarray(total[since]), day_class(st.d_day[since]),
                                       np.ascontiguousarray(excess), z, drop, expl)
        if on == int(nd.onset[c]):
            out[c] = ChannelDrop(*(np.full(ctx.n_meters, np.nan) for _ in range(3)))
            out[c].z[cand], out[c].kwh[cand], out[c].share[cand] = z, drop, expl
        share = np.nan_to_num(expl, nan=np.inf)
        within = _within_rise(share, z, tp.drop_max_explained)
        s = _ramp(z, tp.drop_z) * within * np.clip(share / max(tp.drop_min_share, 1e-9), 0, 1)
        s = _explain_in_turn(s, z, share, tp.drop_min_share)
        alone = _drop_alone(z, share, tp.drop_z)
        if alone >= 0 and s[alone] < tp.min_score:
            s[alone] = tp.min_score
        else:
            alone = -1
        # once seen, held while the drop stays at drop_z or more and within what the rise can explain:
        # a small theft's z hovers about the listing level (looked-at 11000, a 0.33 % shunt: z 4.5–4.7 on
        # the days listed, off the list 7 of 12 days between)
        prev = st.d_hold[cand]
        keep = (prev > s) & (np.nan_to_num(z, nan=0.0) >= tp.drop_z) & within
        s = np.where(keep, prev, s)
        hold[cand] = np.maximum(hold[cand], s)
        better = s > ev.strength["drop"][cand]
        if alone >= 0 and better[alone] and not keep[alone]:
            ev.put("drop_alone", cand[alone:alone + 1], z[alone:alone + 1])
        i = cand[better]
        ev.put("drop_held", cand[better & keep], s[better & keep])
        ev.strength["drop"][i] = s[better]
        ev.put("drop_z", i, z[better])
        ev.put("drop_kwh_per_day", i, drop[better])
        ev.put("drop_share_of_rise", i, expl[better])
        mean_excess = float(np.nanmean(excess)) if np.isfinite(excess).any() else np.nan
        ev.stolen[i] = np.clip(drop[better], 0.0, mean_excess if math.isfinite(mean_excess) else None)
        ev.onset[i] = on
    st.d_hold = hold
    return out


def _behind_share(ctx: AreaContext, st: SuspectState, nd: NtlDay) -> list[tuple[int, int, float, F64]]:
    """A second theft on a phase whose standing loss a listed share explains: (phase, the day its step began,
    the level before it in % of the phase's supply, the excess of each day since in kWh) for each phase in
    ``ntl_phase`` without a change point where what its shares listed yesterday leave of its daily NTL (the
    NTL less each one's coefficient × that day's energy, ``s_hold``/``s_b``) stepped up: the mean since the
    step at least ``BEHIND_Z`` deviations of that mean above the median of the days before (at least
    ``BEHIND_MIN_DAYS`` of them; the deviation their robust one, at least ``day_sd_floor_pp``), the step at
    least ``day_rise_min_pp``. The phase's own NTL carries the standing theft's swing with its customer's
    use from day to day, and a second, smaller theft hides in it: looked-at 32015, a 33 % shunt (0.32 % of
    the supply) from day 13.1 on a phase with a 44 % shunt from day 0 — the phase at 3.2–4.9 % before and
    4.3–5.3 % after, no change point, never listed in its 8 days; what the first shunt's share left stood at
    0.11–0.35 % before and 0.75–1.13 % after, and the second thief's use fell by 5.5 kWh a day against a
    step of 4.5. The drops are measured from that day as from a change point (``_drop``)."""
    tp, lp = ctx.params.theft, ctx.params.tech_loss
    out: list[tuple[int, int, float, F64]] = []
    rows = _rows(st, nd.day - len(st.d_day) + 1, nd.day)
    if len(rows) <= BEHIND_MIN_DAYS:
        return out
    for c in np.flatnonzero(nd.excess[:3] & ~nd.rising[:3] & (nd.onset[:3] < 0)):
        on = np.flatnonzero((ctx.area.meter_phase == c) & (st.s_hold >= tp.min_score))
        if not len(on):
            continue
        sup = st.d_sup[rows, c]
        left = st.d_ntl[rows, c] - (st.d_e[rows][:, on] * st.s_b[on]).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.where(sup > 0, 100.0 * left / sup, np.nan)
        best, at, level = 0.0, -1, math.nan
        for j in range(BEHIND_MIN_DAYS, len(rows)):
            after = pct[j:][np.isfinite(pct[j:])]
            if np.isfinite(pct[:j]).sum() < BEHIND_MIN_DAYS or not len(after):
                continue
            mu, sd = _baseline(pct[:j], ctx)    # the days before as ntl_rise's baseline: median, robust deviation
            step = float(after.mean()) - mu
            z = step / sd * math.sqrt(len(after))
            if step >= lp.day_rise_min_pp and z >= BEHIND_Z and z > best:
                best, at, level = z, j, mu
        if at >= 0:
            day = int(st.d_day[rows[at]])
            out.append((int(c), day, level, left[at:] - level / 100.0 * sup[at:]))
    return out


def _within_rise(share: F64, z: F64, most: float) -> B:
    """Whether a drop is at most ``most`` times the rise once one standard deviation of the meter's own daily
    scatter (its drop / z) is allowed for: drop − σ ≤ most × rise, a share of the rise up to ``most`` × z / (z − 1).
    A thief's own use varies from day to day as anyone's: on its first whole day its drop is its theft and
    that day's chance, measured against a rise of one day (looked-at 27000, a 0.37 % shunt from 20:00: z 7.3
    and 1.503 times the rise on its first whole day, listed a day later at 1.21). The drop listed below the
    drop's level on its own (``_drop_alone``) keeps the plain bound: with this one, an innocent listed by it
    at z 3.75 and 1.8 times a small rise took the rise from a 0.29 % shunt's share (looked-at 25020)."""
    zz = np.nan_to_num(z, nan=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.where(zz > 1.0, most * zz / (zz - 1.0), most)
    return np.asarray(share <= top, np.bool_)


def _drop_alone(z: F64, share: F64, drop_z: float) -> int:
    """The column whose drop is the strongest of its channel, z at least ``DROP_ALONE_Z`` (and ``drop_z``), and
    accounts for the rise alone (its share of it within ``DROP_ALONE_SHARE``), or −1. A shunt takes what its
    phase's loss gained: on the day after it began its drop is the rise, while its z is still below the
    drop's listing level (4.5) for a day or two — looked-at 15008, a 0.98 % shunt: z 3.86, 98 % of the rise,
    on its second day, listed on its third; 15003, 15011: z 3.78 and 4.24, 112 % and 87 %. An innocent's
    chance drop seldom both stands first and matches the rise; where another drop (z ≥ 2, ``DROP_RIVAL``) also
    accounts for half of it or more, the rise has two explanations and neither is listed this way (looked-at
    14011: an innocent at z 3.57 and 73 % of a small rise beside three others at z 2.3–2.4 and 79–124 % —
    listed two days early, it then ranked above a thief at the same score on all 8 days of its theft).
    Up to 1.5 times the rise, the most the drop evidence itself counts (``drop_max_explained``), not 1.3: a
    thief's own use falls by chance as well, and on its first day its drop is measured against a rise of
    one day (looked-at 18008, a 0.95 % shunt from 21:00: z 4.42 and 149 % of the rise on its first whole day,
    161 % and 128 % on the next two; listed on its second, at 2.1 d; 17012: z 3.71 and 131 % on its first
    day). No innocent's strongest unrivalled drop of z 3.5 or more was within 1.3–1.5 of the rise on any day
    of the looked-at 17000s and 18000s (those seen: 0.23, and 4.6–10 times it)."""
    zz = np.nan_to_num(z, nan=-np.inf)
    if not len(zz):
        return -1
    j = int(np.argmax(zz))
    lo, hi = DROP_ALONE_SHARE
    rival_z, rival_share = DROP_RIVAL
    rivals = (zz >= rival_z) & (share >= rival_share)
    rivals[j] = False
    return j if zz[j] >= max(DROP_ALONE_Z, drop_z) and lo <= float(share[j]) <= hi and not rivals.any() else -1


def day_class(days: I64) -> I64:
    """0 for a working day, 1 for a Saturday or Sunday (local day numbers; day 0, 1970-01-01, a Thursday).
    Public holidays and the working weekends that make up for them are not known: they count as their
    weekday (docs/lineloss.md §4)."""
    return (((days + 3) % 7) >= 5).astype(np.int64)


def _explain_in_turn(s: F64, z: F64, share: F64, min_share: float) -> F64:
    """The strongest drops explain the rise first: each next one counts only for what is left unexplained
    (an innocent's ordinary drift is not needed once the thief accounts for the whole rise)."""
    out = s.copy()
    explained = 0.0
    for i in np.argsort(-np.nan_to_num(z, nan=-np.inf)):
        if s[i] <= 0.0:
            continue
        out[i] = s[i] * min(max((1.0 - explained) / max(min_share, 1e-9), 0.0), 1.0)
        explained += min(max(float(share[i]), 0.0), 1.0)
    return out
