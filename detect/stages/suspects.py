"""The daily suspect list (docs/lineloss.md §4): once a phase (or the area) has unexplained loss, every meter's
evidence, a score in 0–1, the estimated stolen energy per day and since when; ``theft_suspect`` alerts.

Evidence (each a strength in 0–1; the score is 1 − Π(1 − strength), so independent evidence adds up):

- **drop** (``detect.kernels.evidence.drop_match``): since the change point of a rising channel, the meter's
  daily energy on that channel against its baseline share of the channel's true consumption (metered +
  unexplained). The baseline is the days before the change point, so the evidence does not fade while the
  theft goes on. The channel's strongest drop that alone explains the rise is listed below the drop's
  listing level (``_drop_alone``, fourteenth round).
- **voltage** (``evidence.voltage_excess``): for meters that register (almost) nothing, the voltage drop
  beyond what their branch-and-phase peers' drops explain — or, fitted beside it, beyond what those and the
  branch's other phases' drops explain (the neutral's drop moves every phase's voltage: ``other_phases``),
  whichever shows more — against their phase's unexplained current — a bypassed meter's
  cable still carries the current, whether the theft began before monitoring or not. Once seen it is held
  (``SuspectState.v_hold``) for as long as the meter goes on registering nothing and its phase stays
  flagged: a second theft on the same phase, or a week whose unexplained current is mostly noise, makes
  the correlation fade although nothing about the bypass changed. Held evidence the plain fit contradicts
  goes — on the second day in a row when it was seen on several days (``VOLTAGE_AGAINST_DAYS``); evidence a
  listed share's current explains goes too, unless it was seen on ``VOLTAGE_SURE_DAYS`` days before.
- **share** (``evidence.joint_share``): the phase's hourly NTL regressed on all its meters' hourly energies
  at once, coefficients ≥ 0 — a shunt makes the NTL a fixed share of its own meter's series, present from
  day 0 or not, and the evidence lasts as long as the theft. Once listed by it, a meter keeps that strength
  (``SuspectState.s_hold``) while its fit stays above half the listing level, ``SHARE_HOLD`` (hysteresis: a
  small shunt's t wanders about the threshold from day to day), and while a change point on its phase (a
  second theft beginning) stops the fit, as long as the phase stays flagged (looked-at seed 5019: a shunt
  present from day 0 left the list for good when a bypass began on its phase on day 9.9) — also when that
  theft is a bypass, which excludes the phase from the fit. A bypass whose meter registered nothing on
  every day kept carries nothing: a share found before it was seen may be its own load (seed 5006). Such a
  meter's voltage evidence seen first days after a share of its phase was listed does not stop the fit
  (``_after_share``: a bypass present from the start draws its current from the first day).
  The phase's clear leader (``_clear_leader``) is listed below the share's listing level. In an area with
  CT-connected meters the phase's strongest share takes its coefficient and t from the fit across the phases
  without a change point (``_across_fit``), on the contrasts between their NTL, which a CT register's coarse
  step — common to every phase — does not blur. On a rising phase
  the same fit over the hours since its change point (``_onset_share``, eleventh round), believed only for
  a meter whose own daily drop since then agrees with it — fitted again without the meters whose drop does
  not (``_onset_refit``) — and held while that drop bears it out (``ONSET_HOLD_Z``).
- **correlation**: the meter's power changes interval by interval against its phase's NTL changes (a
  shunt makes the NTL a fixed share of its load).
- **zero** (``_zero``): on a flagged phase whose loss nothing above places, its meters that registered
  nothing all along (零电量户; at most ``zero_max``) — beside those listed when they place less than
  ``ZERO_BESIDE`` of the phase's excess, and on a rising phase for the excess it stood at before its change
  point (fifteenth round).
- **physical**: a physical-check alert active on the meter (``theft``).
- **shape**: while ``ntl_swing`` is raised, the within-day shape the meter lost to the NTL, or its
  time-reversed day matching the NTL (Jokar h5/h6, from ``theft.swing``).

Only meters on a flagged phase (``ntl_rise`` / ``ntl_phase``; all three with only an area ``ntl_rise`` or
``ntl_level``; three-phase meters always) are ranked; equal scores first those today's evidence lists on its
own (not only evidence held from earlier days), then by how long each has been listed (``_order``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC, PHASES
from detect.columns import Columns
from detect.context import AreaContext
from detect.observe import AlarmSpec, AlarmView, Condition, Seen
from detect.stages.loss import LossDay, LossInterval, LossState
from detect.stages.ntl import NtlDay
from detect.stages.physics import Elements, elements
from detect.stages.theft import CHECKS, Swing

__all__ = ["SuspectState", "alarms", "close_day", "interval"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
U_NOMINAL_V = 230.0          # the phase's unexplained current is its NTL power over this voltage
MIN_HOURS = 24               # voltage evidence needs a day of hourly means
MIN_PAIRS = 96               # correlation evidence needs a day of interval changes
SHARE_MIN_INTERVALS = 2      # joint share: an hour counts with this many intervals of its phase all read
Fit = tuple[npt.NDArray[np.intp], F64, F64, F64]   # a phase's joint share: meters, coefficients, t, daily kWh
RELIST_DAYS = 3              # a suspect listed again within this many days keeps its "since"
ONSET_SHARE_DROP_Z = 1.0     # a share since a change point counts where the meter's drop agrees at this z
ONSET_SHARE_Z = 1.5          # a share since a change point: listed from t 2.25 (ramp 1.5 → 3), not share_z's 3
SHARE_HOLD = 0.5             # joint share: a meter listed by it keeps its strength while t and b stay above this
                             # share of share_z and share_min_b
LEADER_Z = 0.75              # joint share: a clear leader is listed from this share of share_z (t 1.5; share_z's
LEADER_RATIO = 2.5           # own listing level is t 3) when its t is at least this many times every other
                             # meter's of the phase
ONSET_SHARE_MIN_HOURS = 18   # a share since a change point: fitted from this many hours (share_min_hours: 36)
ONSET_REFITS = 2             # ... fitted again without the shares the meters' own drops do not bear out, this often,
ONSET_REFIT_AGREE = (2.0, 1.5)  # ... a share found then believed from this drop z, up to this many times its drop
ONSET_HOLD_Z = 2.0           # ... once listed, held while the meter's own drop since then stays at this z or more
DROP_ALONE_Z = 3.5           # drop: the channel's strongest drop is listed from this z (drop_z's listing level is
DROP_ALONE_SHARE = (0.7, 1.5)  # 4.5) when it accounts for this share of the rise alone — and no other drop of
DROP_RIVAL = (2.0, 0.5)      # at least this z accounts for this share of it or more
VOLTAGE_AGAINST_DAYS = 2     # voltage: held evidence seen on this many days or more goes when the plain fit
                             # contradicts it on as many days in a row (evidence seen on one day: on the first)
VOLTAGE_SURE_DAYS = 3        # voltage: evidence seen on this many days is not let go because a share found later
                             # explains it, only when the plain fit contradicts it (VOLTAGE_AGAINST_DAYS in a row)
SHARE_BEFORE_VOLTAGE = 5     # joint share: listed this many days before a never-registering meter's voltage evidence
                             # was first seen, it is not stopped by that evidence (``_after_share``)
ACROSS = 3                   # the key of ``_across_fit`` among a day's fits (0–2: the phases')
CONTRASTS = (np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0), np.array([1.0, 1.0, -2.0]) / math.sqrt(6.0))
ZERO_BESIDE = 0.5            # zero: a phase's meters that registered nothing are listed beside those listed on it
                             # (by more than their share) when their stolen energy accounts for less than this
                             # share of the phase's excess


class ChannelDrop(NamedTuple):
    """A rising channel's drop evidence per meter from its change point (NaN: not on the channel)."""
    z: F64              # (N,) the drop's z in the meter's own daily scatter
    kwh: F64            # (N,) the drop, kWh/day
    share: F64          # (N,) the share of the channel's rise it explains


@dataclass(eq=False)
class SuspectState(Columns):
    PREFIX = "t."
    IN_EVERY_SNAPSHOT = False      # snapshots from before issue 19 have none: it starts fresh
    WHAT = "suspect-ranking state"
    OPTIONAL = frozenset({"last_listed", "v_hold", "s_hold", "s_b", "d_split", "c_ntl_read", "d_hold", "v_against", "v_seen", "o_hold", "o_day", "o_b"})

    d_day: I64             # (R,) local day number of each daily row (-1 free)
    d_e: F64               # (R, N) each meter's energy that day (kWh; NaN: unknown)
    d_split: F64           # (R, N, 3) each meter's share of that energy on each phase (NaN: not measured)
    d_ntl: F64             # (R, 4) NTL per channel that day (A, B, C, area; kWh)
    d_sup: F64             # (R, 4) supply per channel
    d_sales: F64           # (R, 4) metered consumption per channel
    v_k: I64               # (V,) interval of each voltage row (-1 free)
    v_du: F32              # (V, E) each element's drop below the master (V)
    v_ntl: F32             # (V, 3) each phase's NTL in the interval (kWh)
    c_k: I64               # (W,) interval of each correlation row
    c_p: F32               # (W, N) each meter's ∫P dt in the interval (kWh)
    c_ntl: F32             # (W, 4) NTL per channel in the interval (kWh)
    c_ntl_read: F32        # (W, 3) per phase with the registers not read counted as 0 (LossInterval)
    since: F64             # (N,) when the meter's current listing began (NaN: not listed)
    last_listed: F64       # (N,) the last day it was listed (a listing broken for ≤ RELIST_DAYS continues)
    v_hold: F64            # (N,) voltage evidence held while the meter registers nothing on a flagged phase
    v_against: F64         # (N,) days in a row the plain fit contradicted that held evidence (VOLTAGE_AGAINST_DAYS)
    v_seen: F64            # (N,) days that evidence was seen at its listing strength (not held) since it was first
    s_hold: F64            # (N,) joint-share evidence held while its fit stays above SHARE_HOLD of the limits
    s_b: F64               # (N,) ... and its coefficient, for the stolen energy while the fit is stopped
    d_hold: F64            # (N,) drop evidence held while its z stays at drop_z or more on a rising channel
    o_hold: F64            # (N,) share-since-the-change-point evidence held while the meter's drop bears it out
    o_day: F64             # (N,) ... the change point's day it was found from
    o_b: F64               # (N,) ... and its coefficient then

    @classmethod
    def fresh(cls, ctx: AreaContext) -> SuspectState:
        tp, n, pd = ctx.params.theft, ctx.n_meters, ctx.per_day
        r, e = tp.baseline_days + tp.window_days + 2, len(elements(ctx.area).meter)
        v, w = tp.voltage_days * pd, tp.window_days * pd
        nan = np.nan
        return cls(d_day=np.full(r, -1, np.int64), d_e=np.full((r, n), nan), d_split=np.full((r, n, 3), nan),
                   d_ntl=np.full((r, 4), nan), d_sup=np.full((r, 4), nan), d_sales=np.full((r, 4), nan),
                   v_k=np.full(v, -1, np.int64), v_du=np.full((v, e), nan, np.float32),
                   v_ntl=np.full((v, 3), nan, np.float32), c_k=np.full(w, -1, np.int64),
                   c_p=np.full((w, n), nan, np.float32), c_ntl=np.full((w, 4), nan, np.float32),
                   c_ntl_read=np.full((w, 3), nan, np.float32),
                   since=np.full(n, nan), last_listed=np.full(n, nan), v_hold=np.zeros(n), v_against=np.zeros(n), v_seen=np.zeros(n),
                   s_hold=np.zeros(n), s_b=np.zeros(n), d_hold=np.zeros(n),
                   o_hold=np.zeros(n), o_day=np.full(n, -1.0), o_b=np.zeros(n))


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="theft_suspect@meter", subjects=ctx.n_meters)]


def interval(ctx: AreaContext, st: SuspectState, li: LossInterval, k: int) -> SuspectState:
    """Interval ``k`` closed: keep its power-based energies, drops and NTL for the day's ranking."""
    r = k % len(st.v_k)
    st.v_k[r], st.v_du[r], st.v_ntl[r] = k, li.du, li.ntl_phase_kwh
    c = k % len(st.c_k)
    st.c_k[c], st.c_p[c] = k, li.p_kwh
    st.c_ntl[c] = np.append(li.ntl_phase_kwh, li.ntl_kwh)
    st.c_ntl_read[c] = li.ntl_phase_read_kwh
    return st


def _store_day(st: SuspectState, day: int, ld: LossDay) -> None:
    r = day % len(st.d_day)
    st.d_day[r] = day
    st.d_e[r], st.d_ntl[r], st.d_sup[r], st.d_sales[r] = ld.meter_kwh, ld.ch_ntl, ld.ch_sup, ld.ch_sales
    st.d_split[r] = np.nan if ld.meter_split is None else ld.meter_split


def _rows(st: SuspectState, first: int, last: int) -> I64:
    """Ring rows of the stored days ``first..last`` (days not stored are left out)."""
    days = np.arange(first, last + 1)
    rows = days % len(st.d_day)
    return rows[st.d_day[rows] == days]


@dataclass
class Evidence:
    """Per meter: each evidence's strength and the numbers behind it."""

    n: int
    strength: dict[str, F64]
    detail: dict[str, F64]
    stolen: F64
    onset: I64

    @classmethod
    def empty(cls, n: int, names: tuple[str, ...]) -> Evidence:
        return cls(n=n, strength={k: np.zeros(n) for k in names}, detail={}, stolen=np.full(n, np.nan),
                   onset=np.full(n, -1, np.int64))

    def put(self, name: str, i: npt.NDArray[np.intp], values: F64) -> None:
        col = self.detail.setdefault(name, np.full(self.n, np.nan))
        col[i] = values

    def score(self, without: str = "", today: bool = False) -> F64:
        """(N,) 1 − Π(1 − strength): independent evidence adds up, one strong piece is enough. ``without``: the
        score the other evidence gives; ``today``: the score of the evidence seen today, without what is only
        held from earlier days (an evidence's ``<name>_held`` detail)."""
        keep = np.ones(self.n)
        for name, s in self.strength.items():
            held = self.detail.get(f"{name}_held") if today else None
            if name != without:
                keep *= 1.0 - (s if held is None else np.where(np.isfinite(held), 0.0, s))
        return 1.0 - keep


def _phase_excess_kwh(nd: NtlDay, phase_sup: F64, p: int) -> float:
    """Phase ``p``'s loss today above the least-losing phase's (``ntl_phase``'s reference), in kWh."""
    return float(nd.phase_excess_pp[p]) / 100.0 * float(phase_sup[p])


def _ramp(z: F64, z0: float) -> F64:
    """0 below ``z0``, 1 from twice ``z0``, linear between."""
    return np.clip((np.nan_to_num(z, nan=0.0) - z0) / z0, 0.0, 1.0)


def _channel_energy(ctx: AreaContext, x: F64, c: int, split: F64 | None = None) -> F64:
    """A meter's energy on channel ``c``: its own on its phase; a three-phase meter's share on that phase as
    measured that day (``split``, (..., N, 3)), a third where none was measured."""
    ph = ctx.area.meter_phase
    if c == 3:
        return x
    third = np.full_like(x, 1.0 / 3.0) if split is None else np.nan_to_num(split[..., c], nan=1.0 / 3.0)
    return np.where(ph == c, x, np.where(ph == PHASE_ABC, x * third, np.nan))


def _drop(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence) -> dict[int, ChannelDrop]:
    """Drop evidence; returns each rising channel's drop per meter from its change point, for
    ``_onset_share``."""
    tp = ctx.params.theft
    out: dict[int, ChannelDrop] = {}
    # each rising channel from its change point; a second change point (a second theft on the channel) also
    # from there, against the level between the two (the first thief's drop explains the first rise) — and
    # first, so that a meter as strong from both is listed since the later one, its own
    again = np.flatnonzero(nd.rising & (nd.onset2 >= 0))
    windows = [(int(c), int(nd.onset2[c]), float(nd.level_pct[c])) for c in again]
    windows += [(int(c), int(nd.onset[c]), float(nd.baseline_pct[c])) for c in np.flatnonzero(nd.rising)]
    hold = np.zeros(ctx.n_meters)
    for c, on, from_pct in windows:
        base, since = _rows(st, on - tp.baseline_days, on - 1), _rows(st, on, nd.day)
        if not len(base) or not len(since):
            continue
        total = st.d_sales[:, c] + st.d_ntl[:, c]
        excess = st.d_ntl[since, c] - from_pct / 100.0 * st.d_sup[since, c]
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


def _flagged(nd: NtlDay, level: bool = True) -> B:
    """(3,) phases with unexplained loss; all three when only the area channel rose or (with ``level``) stands
    high (``ntl_level``: every phase alike, a three-phase customer's theft present from the start)."""
    ph = nd.rising[:3] | nd.excess
    return ph if ph.any() else np.full(3, bool(nd.rising[3] or (level and nd.level)))


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
            lead = np.array([_leads(fits.get(p), tp.share_z, tp.share_min_b) for p in range(3)])
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
        for e in np.flatnonzero(s > ev.strength["voltage"][el.meter]):
            i = el.meter[e]
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
            fits[int(p)] = _fit(ctx, st, ls, int(p), k_end, fits)
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


def _phase_onsets(nd: NtlDay) -> I64:
    """(3,) the day of each phase's change point (its own, else the area channel's), −1 for none."""
    out = np.full(3, -1, np.int64)
    for p in range(3):
        c = p if nd.rising[p] else 3
        if nd.rising[c] and nd.onset[c] >= 0:
            out[p] = int(nd.onset[c])
    return out


def _registered(st: SuspectState, low_kwh: float, last: int) -> B:
    """(N,) whether each meter registered at least ``low_kwh`` on a stored day up to ``last``."""
    rows = _rows(st, last - len(st.d_day) + 1, last)
    if not len(rows):
        return np.zeros(st.d_e.shape[1], np.bool_)
    return np.nan_to_num(st.d_e[rows], nan=0.0).max(axis=0) >= low_kwh


def _hourly_mean(blocks: F64, min_read: int) -> F64:
    """(H, per_h, X) interval values → (H, X) hourly means of the known ones; NaN with fewer than
    ``min_read`` known."""
    read = np.isfinite(blocks).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(read >= max(min_read, 1), np.nansum(blocks, axis=1) / np.maximum(read, 1), np.nan)


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
    volt = (ev.strength["voltage"] >= tp.min_score) & (area.meter_phase < 3) & ~_after_share(ctx, st, nd, ev)
    bypassed = np.zeros(3, np.bool_)
    bypassed[area.meter_phase[volt]] = True
    # a bypass that began while monitored (its meter registered on an earlier day) is no part of a share
    # found before it; one that registered nothing on every day kept may be
    began = np.zeros(3, np.bool_)
    began[area.meter_phase[volt & _registered(st, tp.low_energy_kwh, nd.day)]] = True
    hold, hold_b = np.zeros(area.n_meters), np.zeros(area.n_meters)
    for p in np.flatnonzero(_flagged(nd) & (nd.rising[:3] | bypassed) & (~bypassed | began)):
        # its meters as in its fit: a three-phase meter is on every phase (its hold was lost on the first day
        # its phases rose — fresh seed 10011, a 4.5 % three-phase shunt at t 22 off the list from day 5 on)
        on = np.flatnonzero(((area.meter_phase == p) | (area.meter_phase == PHASE_ABC)) & (st.s_hold > 0))
        hold[on], hold_b[on] = st.s_hold[on], st.s_b[on]
        ev.strength["share"][on] = np.maximum(ev.strength["share"][on], st.s_hold[on])
        ev.put("share_held", on, st.s_hold[on])
        ev.put("share_b", on, st.s_b[on])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            day = np.nanmean(st.d_e[_rows(st, nd.day - 6, nd.day)][:, on], axis=0) if len(on) else np.zeros(0)
        ev.stolen[on] = np.where(np.isfinite(ev.stolen[on]), ev.stolen[on], st.s_b[on] * day)
    for p in np.flatnonzero(_flagged(nd) & ~nd.rising[:3] & ~bypassed):
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
    tt = np.nan_to_num(t, nan=0.0)
    if len(tt) < 2:
        return -1
    j = int(np.argmax(np.where(b >= min_b, tt, -1.0)))
    others = np.delete(np.where(b >= min_b, tt, 0.0), j)
    ok = tt[j] >= LEADER_Z * share_z and tt[j] >= LEADER_RATIO * float(others.max()) and b[j] >= min_b
    return j if ok else -1


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
    area = ctx.area
    out = ~nd.rising[:3] & (_phase_onsets(nd) < 0)
    held = (st.v_hold >= ctx.params.theft.min_score) & (area.meter_phase < 3)
    out[area.meter_phase[held]] = False
    return out if (area.meter_ct_ratio > 1.0).any() else np.zeros(3, np.bool_)


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
    cols, third = _phase_meters(ctx, p)
    xs, ys, ks = _hourly(ctx, st, ls, k_end, cols, np.array([p]), third, k_on - ctx.per_day, None, True)
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
    volt = (ev.strength["voltage"] >= tp.min_score) & (area.meter_phase < 3)
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
        if p not in drops or (volt & (area.meter_phase == p)).any():
            continue
        if np.clip(np.nan_to_num(drops[int(p)].share[listed], nan=0.0), 0.0, 1.0).sum() >= 1.0 - tp.drop_min_share:
            continue
        k_on = ctx.first_interval(int(nd.onset[p]))
        # from the hour the theft most likely began (``_start_hour``), once ONSET_SHARE_MIN_HOURS have passed since
        k_from = _start_hour(ctx, st, ls, int(p), k_on, k_end, float(nd.baseline_pct[p]))
        cols, third, xh, yh = _hours(ctx, st, ls, int(p), k_end, k_from)
        z, drop = drops[int(p)].z[cols], drops[int(p)].kwh[cols]
        fell = (np.nan_to_num(z, nan=0.0) >= ONSET_SHARE_DROP_Z) & (np.nan_to_num(drop, nan=0.0) > 0.0)
        cols, third, xh, drop = cols[fell], third[fell], xh[:, fell], drop[fell]
        # from the 18th hour on, not share_min_hours' 36: the columns are the few meters that fell, not the
        # phase's every meter, and a shunt that began late in the evening is due within 2 days on its first
        # whole day (looked-at 15004, a 0.53 % shunt from 23:00: t 4.3, b 0.53 over its first 24 hours,
        # drop 3.4 kWh/day against 5.8 implied; named a day later, at 3.0 d; 14020, 0.3 %: t 4.2 after 24
        # hours, its drop hidden in its scatter from the third day on)
        _, _, xp, yp = _hours(ctx, st, ls, int(p), k_end, -1, min(k_on, k_from))
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
            _put_share(ev, i, float(s[j]), float(b[j]), float(t[j]), float(xh[:, j].mean() * 24.0 / third[j]))
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
    got = _joint_share(ctx, xh, yh, ONSET_SHARE_MIN_HOURS) if xh.shape[1] else None
    if got is None:
        return None
    b, t = got
    # the same meters' shares before the change point: a share they had already is no theft that began
    # then (looked-at 11010: a shunt present from day 0, not among the meters that fell, handed its share
    # to one that did, t 7–8, b 0.24 after a false change point; 0.31 before)
    before = _joint_share(ctx, xp, yp)
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


def _correlation(ctx: AreaContext, st: SuspectState, nd: NtlDay, k_end: int, ev: Evidence) -> None:
    tp, area = ctx.params.theft, ctx.area
    first = min((int(nd.onset[c]) for c in np.flatnonzero(nd.rising)), default=-1)
    w = len(st.c_k)
    k0 = max(k_end - w, ctx.first_interval(first)) if first >= 0 else k_end - w
    ks = np.arange(k0, k_end)
    rows = ks % w
    ok = st.c_k[rows] == ks
    x = np.where(ok[:, None], st.c_p[rows], np.nan).astype(np.float64).T
    ref = np.where(ok[:, None], st.c_ntl[rows], np.nan).astype(np.float64).T
    ref_row = np.where(area.meter_phase == PHASE_ABC, 3, area.meter_phase).astype(np.int64)
    corr, n = np.empty(area.n_meters), np.empty(area.n_meters, np.int64)
    ctx.ops["mapping"].pair_corr(np.ascontiguousarray(x), np.ascontiguousarray(ref), ref_row, True, corr, n)
    z = np.where(n >= MIN_PAIRS, corr * np.sqrt(n), np.nan)
    # not on phases flagged by the area's level alone: a standing NTL that is no one's theft (a load on no
    # meter, meters' own consumption) leaves the interval NTL's load-following errors, and every meter of
    # the crafted healthy area correlated with them at z 6–12; the joint share, a fixed share of one
    # meter's series, is what names a theft present from the start
    flag = _flagged(nd, level=False)
    s = _ramp(z, tp.corr_z) * flag[np.minimum(ref_row, 2)]
    s = np.where(area.meter_phase == PHASE_ABC, _ramp(z, tp.corr_z) * flag.any(), s)
    ev.strength["correlation"] = s
    ev.put("corr_z", np.arange(area.n_meters), z)
    # a shunt passing a share δ of the metered energy: the NTL changes by δ per unit of the meter's changes
    dx, dy = np.diff(x, axis=1), np.diff(ref[ref_row], axis=1)
    both = np.isfinite(dx) & np.isfinite(dy)
    cnt = np.maximum(both.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = [(np.where(both, v, 0.0) ** 2).sum(axis=1) / cnt - (np.where(both, v, 0.0).sum(axis=1) / cnt) ** 2
               for v in (dx, dy)]
        delta = corr * np.sqrt(var[1] / var[0])
        got = np.isfinite(x)
        daily = np.where(got, x, 0.0).sum(axis=1) / np.maximum(got.sum(axis=1), 1) * ctx.per_day
    take = (s > 0) & ~np.isfinite(ev.stolen)
    ev.stolen[take] = np.clip(delta * daily, 0.0, None)[take]


def close_day(ctx: AreaContext, st: SuspectState, nd: NtlDay, swing: Swing, ld: LossDay, ls: LossState,
              end: float, alarms: AlarmView) -> tuple[SuspectState, Seen]:
    """The day's suspects (``fields["suspects"]``) and the ``theft_suspect`` conditions."""
    tp, area, n = ctx.params.theft, ctx.area, ctx.n_meters
    _store_day(st, nd.day, ld)
    # a phase stays flagged while its ntl_phase alarm is on (it clears below half the margin), not only on
    # the days it meets the raise condition: a theft present from day 0 goes on while its phase's excess
    # wanders about the margin, and so does its listing
    nd = dataclasses.replace(nd, excess=nd.excess | alarms["ntl_phase@phase"],
                             level=bool(nd.level or alarms["ntl_level@area"][0]))
    signal = bool(nd.rising.any() or nd.excess.any() or nd.level or alarms["ntl_swing@area"][0]
                  or alarms["line_loss_high@area"][0])
    ev = Evidence.empty(n, ("drop", "voltage", "share", "correlation", "zero", "physical", "shape"))
    k_end = int(end // ctx.params.interval_s)
    if not signal:
        st.v_hold, st.s_hold, st.s_b, st.d_hold = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        st.v_against, st.v_seen, st.o_hold = np.zeros(n), np.zeros(n), np.zeros(n)
    if signal:
        drops = _drop(ctx, st, nd, ev)
        fits: dict[int, Fit | None] = {}          # each phase's joint share, fitted at most once a day
        across = _across_phases(ctx, st, nd)
        if across.any():
            fits[ACROSS] = _across_steady(_across_fit(ctx, st, ls, k_end, across),
                                          _across_fit(ctx, st, ls, k_end - ctx.per_day, across), tp.share_z)
        _voltage(ctx, st, ls, nd, k_end, ev, ld.meter_fwd_kwh, ld.ch_sup[:3], fits)
        _share(ctx, st, ls, nd, k_end, ev, fits)
        _onset_share(ctx, st, ls, nd, k_end, ev, drops)
        _correlation(ctx, st, nd, k_end, ev)
        _zero(ctx, st, nd, ev, ld.meter_fwd_kwh, ld.ch_sup[:3])
    for check in CHECKS:
        ev.strength["physical"] = np.maximum(ev.strength["physical"],
                                             tp.weight_physical * alarms[f"{check}@meter"].astype(np.float64))
    if alarms["ntl_swing@area"][0] and swing.shape is not None and swing.reversal is not None:
        ev.strength["shape"] = np.clip(tp.weight_shape * (swing.shape + swing.reversal), 0.0, 1.0)
        ev.put("shape", np.arange(n), swing.shape)
        ev.put("reversal", np.arange(n), swing.reversal)
    score = ev.score()
    if _flagged(nd).any() and not alarms["ntl_swing@area"][0]:
        on_flagged = _flagged(nd)[np.minimum(area.meter_phase, 2)] | (area.meter_phase == PHASE_ABC)
        score = np.where(on_flagged | (ev.strength["physical"] > 0), score, 0.0)
    # equal scores (strong evidence saturates at 1) rank by how long each has been listed: an inspector's
    # list keeps its order from day to day, and a suspect found later does not push one found earlier out
    # of the top (looked-at 14011: a 0.96 % shunt, fourth of four at score 1 by meter number behind an
    # innocent listed a day after it, out of the top 3 on all 8 days of its theft) — after those whose
    # evidence seen today lists them (``_order``)
    fresh = np.isnan(st.since) | ~(end - st.last_listed <= (RELIST_DAYS + 1) * 86400.0)
    order = _order(ev, score, np.where(fresh, np.inf, st.since), tp.min_score)
    top = order[:tp.top_k]
    top = top[score[top] >= tp.min_score] if signal else top[:0]
    listed = np.zeros(n, np.bool_)
    listed[top] = True
    st.since = np.where(listed, np.where(fresh, end, st.since), st.since)
    st.last_listed = np.where(listed, end, st.last_listed)
    return st, _seen(ctx, st, ev, score, top, end)


def _order(ev: Evidence, score: F64, since: F64, min_score: float) -> I64:
    """The meters by score; equal scores (strong evidence saturates at 1) first those whose evidence seen today
    alone — without what is only held from earlier days (``share_held``, ``voltage_held``, ``drop_held``) —
    reaches ``min_score``, then by how long each has been listed (``since``, the time its listing began; inf
    for none). Held evidence keeps a suspect listed where today's fit wanders; it does not rank a suspect
    above one that today's evidence names as strongly (looked-at 23019: a 94 % shunt, 4.33 % of the supply,
    listed from its first whole day at score 1 by its drop at z 14–42, fourth on all 8 days of its theft
    behind three listed before it — among them an innocent held by a share at b 0.26 and a thief held by
    its share)."""
    return np.lexsort((since, ev.score(today=True) < min_score, -score))


def _zero(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence, fwd_kwh: F64, phase_sup: F64) -> None:
    """The meters that registered nothing on a phase whose unexplained loss no evidence places.

    A bypass present from the start registers nothing from the first day, as an empty house does; its voltage
    sags with its current, but a small one's sag is lost in the meters' 0.1 V steps for weeks (looked-at
    seed 11022: a 1.1 % bypass, voltage z below 1.5 for 18 days while its phase stood 3 % above the others
    from day 1). The loss is someone's on that phase, and a meter that has registered nothing all along is
    where an inspector looks first (零电量户): on a phase in ``ntl_phase`` without a change point where no
    one is listed, its meters that registered less than ``low_energy_kwh`` on every stored day — read at
    least on the day — are listed at the listing score, when there are at most ``zero_max`` of them (more:
    vacant flats, nothing to tell them apart by). Their voltage does not order them: against the phase's
    unexplained current an empty house's drop beyond its peers' follows the peers' own load, the same
    daily shape, and its z came out as often below a bypass's as above. For the same reason a meter that
    registered nothing all along and is listed only by voltage evidence held from an earlier day does not
    place the loss: the phase's other such meters are listed beside it (looked-at 13006: an empty house at z
    2.3 on the third day, held, and the 0.58 % bypass on its phase, z under 1.5, unlisted until day 17).
    A rise has its own change point: a meter registering nothing before it as well did not begin it — but
    where the phase stood above the reference before the change point as far as ``ntl_phase`` asks (its
    frozen baseline), that standing excess is still someone's, and its meters that registered nothing stay
    listed for it whoever the rise lists (looked-at 16011: a 0.66 % bypass from day 0 on phase A, listed from
    day 1, off the list on the 9 days after a 4.9 % bypass began on the same phase on day 14).

    Beside those listed on the phase by their joint share alone, and beside the others when what they are
    estimated to take accounts for less than ``ZERO_BESIDE`` of the phase's excess (the loss is still mostly
    no one's): a bypass's load goes to the meters whose hours are like it, at a tenth of a customer's energy
    (looked-at 16006: a 0.61 % bypass from day 0, off the list on 12 of its 21 days behind innocents listed by
    shares with b 0.06–0.5) or at all of the phase's excess (looked-at 27006, 27014, 26006, 26022: day-0
    bypasses of 0.43–1.9 %, off the list on 2–7 of their 21 days behind innocents listed by shares at t 3–21
    that placed it all). Below a shunt present from the start, listed by its share, its phase's empty houses
    stay listed too: mostly they were listed before the share could be fitted, and an inspector who finds
    no shunt there looks at them next."""
    tp, area = ctx.params.theft, ctx.area
    if tp.zero_max <= 0:
        return
    e = st.d_e[_rows(st, nd.day - len(st.d_day) + 1, nd.day)]
    never = ~_registered(st, tp.low_energy_kwh, nd.day) & np.isfinite(fwd_kwh) & (fwd_kwh < tp.low_energy_kwh)
    nan = np.full(ev.n, np.nan)
    held = np.isfinite(ev.detail.get("voltage_held", nan))
    held_only = never & held & (ev.score(without="voltage") < tp.min_score)
    # nor does a meter listed by its share alone, whatever the share places: a bypass's load goes to the meter
    # whose hours are most like it, and what the zero evidence lists stays listed below it (looked-at 14011:
    # an innocent led at t 1.9, b 1.9, on days 2–4 beside a full bypass; 27006: a 0.43 % bypass off the list
    # on 7 of its 21 days behind an innocent at t 3.2–4.6, b 0.2–0.3, that placed all of its phase's excess)
    share_only = (ev.strength["share"] > 0.0) & (ev.score(without="share") < tp.min_score)
    listed = (ev.score() >= tp.min_score) & ~held_only & ~share_only
    onset = _phase_onsets(nd)
    # a rising phase that stood above the reference before its change point as far as ``ntl_phase`` asks
    standing = np.where(nd.rising[:3], nd.baseline_pct[:3] - (nd.pct[:3] - nd.phase_excess_pp), np.nan)
    carried = (onset >= 0) & (standing >= ctx.params.tech_loss.phase_excess_pp)
    for p in np.flatnonzero(((nd.rising[:3] | nd.excess) & (onset < 0)) | carried):
        on = area.meter_phase == p
        here = np.flatnonzero(on & never)
        if not 0 < len(here) <= tp.zero_max:
            continue
        if carried[p]:               # the rise's own evidence names its thief; the standing excess is apart
            excess = float(standing[p]) / 100.0 * float(phase_sup[p])
        else:
            excess = _phase_excess_kwh(nd, phase_sup, int(p))
            if listed[on].any() and not _placed_below(ev, on & listed, excess):
                continue
        ev.strength["zero"][here] = np.maximum(ev.strength["zero"][here], tp.min_score)
        ev.put("zero_days", here, np.isfinite(e[:, here]).sum(axis=0).astype(np.float64))
        take = here[~np.isfinite(ev.stolen[here])]
        if math.isfinite(excess) and excess > 0:
            ev.stolen[take] = excess / len(here)


def _placed_below(ev: Evidence, listed: B, excess: float) -> bool:
    """Whether the ``listed`` meters' estimated stolen energy accounts for less than ``ZERO_BESIDE`` of a
    phase's ``excess`` (kWh) — not when any of theirs is unknown, nor without an excess to place."""
    took = ev.stolen[listed]
    return math.isfinite(excess) and excess > 0 and bool(np.isfinite(took).all()) \
        and float(took.sum()) < ZERO_BESIDE * excess


def _since(ctx: AreaContext, ev: Evidence, st: SuspectState, i: int) -> str:
    """The local date the meter's theft began as far as the evidence says: the change point's day, else the
    first day it was listed."""
    day = int(ev.onset[i]) if ev.onset[i] >= 0 else ctx.day_of(float(st.since[i]) - 1.0)
    return datetime.fromtimestamp(day * 86400.0, tz=timezone.utc).strftime("%Y-%m-%d")


def _seen(ctx: AreaContext, st: SuspectState, ev: Evidence, score: F64, top: npt.NDArray[np.intp],
          end: float) -> Seen:
    names, n = ctx.area.meter_ids, ctx.n_meters
    rank_of = np.zeros(n, np.int64)
    rank_of[top] = np.arange(1, len(top) + 1)

    def evidence(i: int) -> dict[str, Any]:
        out: dict[str, Any] = {f"{k}_strength": round(float(v[i]), 3) for k, v in ev.strength.items() if v[i] > 0}
        out |= {k: round(float(v[i]), 4) for k, v in ev.detail.items() if math.isfinite(v[i])}
        ph = int(ctx.area.meter_phase[i])
        out["phase"] = PHASES[ph] if ph < 3 else "ABC"
        return out

    def entry(j: int, i: int) -> dict[str, Any]:
        stolen = float(ev.stolen[i])
        return {"meter": names[i], "rank": j + 1, "score": round(float(score[i]), 4),
                "stolen_kwh_per_day": round(stolen, 3) if math.isfinite(stolen) else None,
                "since": _since(ctx, ev, st, i), "evidence": evidence(i)}

    on = np.zeros(n, np.bool_)
    on[top] = True
    cond = Condition(key="theft_suspect@meter", subj=np.arange(n), ts=np.full(n, end), on=on, off=~on,
                     valid=np.ones(n, np.bool_), values=score, threshold=ctx.params.theft.min_score, unit="",
                     updates=False, severity=lambda _x: "warning",
                     evidence=lambda i: {"rank": int(rank_of[i]), "score": float(score[i]), **evidence(i)},
                     describe=lambda s, i, x: (f"meter {names[i]} theft suspect rank {rank_of[i]} (score {x:.2f})"
                                               if s != "cleared" else f"meter {names[i]} no longer a theft suspect"))
    return Seen(conditions=(cond,), fields={"suspects": [entry(j, int(i)) for j, i in enumerate(top.tolist())]})
