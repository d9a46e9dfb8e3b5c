"""The daily alarms on non-technical loss (docs/lineloss.md §4), per phase: ``ntl_rise`` (a change point:
a phase's NTL left its own baseline) and ``ntl_phase`` (one phase loses far more than the others — a theft
already present when monitoring began has no change point, but it sits on one phase: ``phase_excess_pp``
above the phase that loses least (and above zero; a phase in ``ntl_rise`` at its level before its change
point) on ``phase_excess_days`` days in a row, or ``phase_excess_fast_pp``
on one day, as such a theft has no earlier day to wait for; a day without a balance — the first, partial
day of monitoring, or too few meters read — counts over its intervals with every phase known when they are
at least half the day, but never as an ``ntl_rise`` baseline day).

Channels: phases A, B, C (the master's per-phase energy against the meters on each phase), or the area
total when the master gives no per-phase values. Each channel's daily NTL is
in % of that channel's supply. ``ntl_rise`` runs a one-sided CUSUM per channel against the median of the
channel's previous days not in alarm, in robust deviations of those days (floored): thresholds from the
area's own measured noise, evidence accumulated over days. The baseline stops learning while a channel is
in alarm (the theft must not become the new normal), and the change point (the day after the statistic
last left zero) is what the suspect ranking measures drops from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import PHASES
from detect.columns import Columns
from detect.context import AreaContext
from detect.observe import AlarmSpec, Condition, Seen
from detect.params import TechLossParams

__all__ = ["CHANNELS", "NtlDay", "NtlState", "alarms", "close_day"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
CHANNELS = ("A", "B", "C", "area")
TOTAL = 3
LEVEL_CV = 0.1               # a baseline above zero varies by at least this share of its height,
LEVEL_CV_FEW = 0.25          # and by this share while it has fewer than LEVEL_FEW_DAYS known days, when the
#                              channel stood at LEVEL_FIRST_SHARE of its height or more on the first day it was known
LEVEL_FEW_DAYS = 3
LEVEL_FIRST_SHARE = 0.5
SECOND_MIN_DAYS = 3          # a second change point is looked for once the level in alarm has this many days


@dataclass(eq=False)
class NtlState(Columns):
    PREFIX = "n."
    IN_EVERY_SNAPSHOT = False      # snapshots from before issue 19 have none: it starts fresh
    WHAT = "NTL alarm state"

    base: F64              # (B, 4) previous days' NTL % per channel (NaN: unknown or in alarm), newest last
    cusum: F64             # (4,) CUSUM statistic per channel
    last0: I64             # (4,) day number when the statistic was last zero
    onset: I64             # (4,) day number of the change point while in alarm, -1 otherwise
    mu: F64                # (4,) baseline median frozen at the alarm (NaN while none)
    sd: F64                # (4,) baseline robust deviation frozen at the alarm
    excess_run: I64        # (3,) consecutive days a phase's NTL % stood ``phase_excess_pp`` above the reference
    # a second change point while in alarm (a second theft on the channel): the same CUSUM against the
    # level since the first change point
    level: F64             # (B, 4) the days in alarm's NTL % (NaN: unknown, not in alarm, or after a second rise)
    cusum2: F64            # (4,) its statistic
    last0_2: I64           # (4,) day number when it was last zero
    onset2: I64            # (4,) day number of the second change point, -1: none
    mu2: F64               # (4,) the level before it (NaN while none)
    level_run: I64         # (1,) consecutive days the area's NTL % stood at ``area_level_pp`` or more
    first: F64             # (4,) each channel's NTL % on the first day it was known (a partial day too)

    OPTIONAL = frozenset({"level", "cusum2", "last0_2", "onset2", "mu2", "level_run", "first"})

    @classmethod
    def fresh(cls, ctx: AreaContext) -> NtlState:
        b = ctx.params.tech_loss.day_baseline_days
        return cls(base=np.full((b, 4), np.nan), cusum=np.zeros(4), last0=np.full(4, -1, np.int64),
                   onset=np.full(4, -1, np.int64), mu=np.full(4, np.nan), sd=np.full(4, np.nan),
                   excess_run=np.zeros(3, np.int64), level=np.full((b, 4), np.nan), cusum2=np.zeros(4),
                   last0_2=np.full(4, -1, np.int64), onset2=np.full(4, -1, np.int64), mu2=np.full(4, np.nan),
                   level_run=np.zeros(1, np.int64), first=np.full(4, np.nan))


@dataclass(frozen=True, eq=False)
class NtlDay:
    """What the day's close found, for the suspect ranking."""

    day: int               # local day number
    pct: F64               # (4,) NTL % of each channel's supply today
    rising: npt.NDArray[np.bool_]   # (4,) channels in ntl_rise (after today)
    onset: I64             # (4,) their change-point day numbers (-1: none)
    baseline_pct: F64      # (4,) the baseline each rising channel is measured against
    onset2: I64            # (4,) a second change point while rising (-1: none)
    level_pct: F64         # (4,) ... measured from this level (the NTL % between the two)
    excess: npt.NDArray[np.bool_]   # (3,) phases in ntl_phase (after today)
    phase_excess_pp: F64   # (3,) each phase's NTL % above the reference (the least-losing phase, ≥ 0) today
    excess_days: I64       # (3,) days in a row each phase stood ``phase_excess_pp`` above the reference
    level: bool = False    # the area's NTL % at ``area_level_pp`` or more on ``phase_excess_days`` days in a row


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="ntl_rise@area", subjects=1), AlarmSpec(key="ntl_phase@phase", subjects=3),
            AlarmSpec(key="ntl_level@area", subjects=1)]


def _baseline(col: F64, ctx: AreaContext) -> tuple[float, float]:
    tp = ctx.params.tech_loss
    b = col[np.isfinite(col)]
    if len(b) < tp.day_min_baseline_days:
        return math.nan, math.nan
    mu = float(np.median(b))
    return mu, max(1.4826 * float(np.median(np.abs(b - mu))), tp.day_sd_floor_pp)


def _step(ctx: AreaContext, st: NtlState, c: int, v: float, day: int) -> None:
    """One day of channel ``c``'s CUSUM (value ``v``, NTL % of its supply). A channel whose baseline stands
    far above zero carries a theft present from the start, whose loss follows that customer's load from day
    to day: its deviation is at least ``LEVEL_CV`` of that height (seed 6018: a 4.6 % shunt from day 0 put
    phase C at 11.3 % on the first day and 12.7 % on the next — an ``ntl_rise`` against a one-day baseline,
    which stopped the joint share that names the thief for a day). The height is above zero, not above the
    phase that loses least: a theft on a three-phase meter raises that phase too (looked-at 16018: a 4.8 %
    shunt from day 0 at 4.5–6.8 % on all three phases on the first two days, 5.7–8.3 % on the third — a rise
    of phase C against the two days' median with their tiny spread, whose share since the change point then
    named an innocent). Until the baseline has ``LEVEL_FEW_DAYS`` known days its robust deviation measures
    nothing, and where the channel stood at half its baseline's height or more on the first day it was known
    (a theft there from the start of monitoring) the share such a theft takes varies as that one customer's
    load does, by a quarter from day to day (``LEVEL_CV_FEW``; looked-at 34015: a 2.16 % full bypass from day 0 stole 1.75–2.81 % of the
    supply over its first nine days, by the simulator's balance; its phase stood at 5.46 % on the first day,
    a hot one, and 9.08 % on the next — an ``ntl_rise`` against the one baseline day, after which the bypass
    was no voltage suspect and the share since then named an innocent for 20 days). A channel clean on its
    first day whose one baseline day already carries a theft that began that day is measured as before: the
    theft grows into its first whole day (the golden ``theft`` scenario: phase B at −0.09 % on the first,
    partial day, 1.93 % on the next, when its thefts began, 3.22 % on the third — a rise, whose change point
    names them)."""
    tp = ctx.params.tech_loss
    if not math.isfinite(v):
        return
    if st.onset[c] >= 0:                                   # in alarm: the baseline is frozen
        if v - st.mu[c] < tp.day_rise_min_pp / 2:
            st.onset[c], st.cusum[c], st.last0[c] = -1, 0.0, day
            st.mu[c] = st.sd[c] = math.nan
            _forget_second(st, c)
        else:
            _step_second(ctx, st, c, v, day)
        return
    mu, sd = _baseline(st.base[:, c], ctx)
    if math.isfinite(mu):
        few = np.isfinite(st.base[:, c]).sum() < LEVEL_FEW_DAYS and st.first[c] >= LEVEL_FIRST_SHARE * mu
        sd = max(sd, (LEVEL_CV_FEW if few else LEVEL_CV) * mu)
        st.cusum[c], st.last0[c], up = _cusum(tp, st.cusum[c], st.last0[c], v, mu, sd, day)
        if up:
            _raise(ctx, st, c, v, day)
            return
    st.base[:-1, c] = st.base[1:, c]
    st.base[-1, c] = v


def _forget_second(st: NtlState, c: int) -> None:
    st.level[:, c] = np.nan
    st.cusum2[c], st.last0_2[c], st.onset2[c], st.mu2[c] = 0.0, -1, -1, math.nan


def _step_second(ctx: AreaContext, st: NtlState, c: int, v: float, day: int) -> None:
    """A day in alarm: the CUSUM of ``_step`` against the level since the change point (its median over at
    least ``SECOND_MIN_DAYS`` days, the deviation at least the baseline's). A second theft on the channel
    raises the level again; its change point is what the suspect ranking measures the second thief's drop
    from, against that level (the first thief's drop already explains the first rise). One second change
    point per alarm."""
    tp = ctx.params.tech_loss
    if st.onset2[c] >= 0:
        return
    col = st.level[:, c]
    b = col[np.isfinite(col)]
    if len(b) >= SECOND_MIN_DAYS:
        mu = float(np.median(b))
        sd = max(1.4826 * float(np.median(np.abs(b - mu))), float(np.nan_to_num(st.sd[c])), tp.day_sd_floor_pp)
        st.cusum2[c], st.last0_2[c], up = _cusum(tp, st.cusum2[c], st.last0_2[c], v, mu, sd, day)
        if up:
            since = _since(col, int(st.last0_2[c]), day, v)
            st.onset2[c] = day - (len(since) - 1 - _change_point(since, mu))
            st.mu2[c] = mu
            return
    st.level[:-1, c] = col[1:]
    st.level[-1, c] = v


def _cusum(tp: TechLossParams, s: float, last0: int, v: float, mu: float, sd: float,
           day: int) -> tuple[float, int, bool]:
    """One day of a one-sided CUSUM: the new statistic, the day it was last zero, and whether it alarms."""
    s = max(0.0, s + (v - mu) / sd - tp.day_cusum_k)
    if s == 0.0:
        return s, day, False
    return s, last0, s >= tp.day_cusum_h and v - mu >= tp.day_rise_min_pp


def _since(col: F64, last0: int, day: int, v: float) -> F64:
    """The days since the statistic last left zero: the newest of ``col`` (one per day, newest last), then
    today's ``v``."""
    first = last0 + 1 if last0 >= 0 else day
    n_since = min(day - first, len(col))
    return np.append(col[len(col) - n_since:], v)


def _change_point(since: F64, mu: float) -> int:
    """Where in ``since`` the step from ``mu`` most likely began: the j that maximises n_j × (m_j − mu)², m_j
    the mean of the n_j known days from j on (a step in the mean, the variance the same on both sides: the
    likelihood ratio of a change at j against none, the baseline's mean known) — the last day when none is
    above ``mu``. Until the twenty-third round it was the first day at least half-way from ``mu`` to the mean
    of all of ``since``: a noisy day before a small step passes that mark, for the days before the step pull
    the mean down with them (looked-at 25007: a 0.57 % shunt from 01:00 on day 9 beside a shunt present from
    the start, phase A at 5.34, 4.39, 5.05, 6.09, 6.15 % on days 6–10 against a baseline of 4.42 — change
    point day 6, and the drops and share since then measured over three days without the theft; this gives
    day 9)."""
    best, at = 0.0, len(since) - 1
    for j in range(len(since)):
        tail = since[j:]
        tail = tail[np.isfinite(tail)]
        if not np.isfinite(since[j]) or not len(tail):
            continue
        gain = len(tail) * max(float(tail.mean()) - mu, 0.0) ** 2
        if gain > best:
            best, at = gain, j
    return at


def _raise(ctx: AreaContext, st: NtlState, c: int, v: float, day: int) -> None:
    """Channel ``c`` alarms today: the change point is the day since the statistic left zero where a step from
    the baseline most likely began (``_change_point``; noise lets the statistic leave zero a day or two
    early); those days leave the baseline, which is frozen from here on."""
    since = _since(st.base[:, c], int(st.last0[c]), day, v)  # the days before today already in the baseline, today
    n_since = len(since) - 1
    mu = float(np.nanmedian(st.base[:len(st.base) - n_since, c])) if n_since < len(st.base) else math.nan
    mu = mu if math.isfinite(mu) else _baseline(st.base[:, c], ctx)[0]
    j = _change_point(since, mu)
    onset = day - (len(since) - 1 - j)
    drop = day - onset                                        # baseline rows from the onset on
    if drop > 0:
        st.base[len(st.base) - drop:, c] = np.nan
    st.mu[c], st.sd[c] = _baseline(st.base[:, c], ctx) if np.isfinite(st.base[:, c]).sum() >= \
        ctx.params.tech_loss.day_min_baseline_days else (mu, ctx.params.tech_loss.day_sd_floor_pp)
    st.onset[c] = onset
    _forget_second(st, c)
    lv = since[j:]                                            # the level since the change point starts here
    st.level[len(st.level) - min(len(lv), len(st.level)):, c] = lv[-len(st.level):]


def close_day(ctx: AreaContext, st: NtlState, end: float, date: str, ntl_kwh: F64,
              supply_kwh: F64, partial: bool = False) -> tuple[NtlState, NtlDay, Seen]:
    """The day ending at ``end``: ``ntl_kwh`` and ``supply_kwh`` per channel (A, B, C, area; NaN unknown).
    A ``partial`` day (no day balance — the first of monitoring, or too few meters read —: its values over the
    intervals where the phases were known) is compared across the phases but does not enter the ``ntl_rise``
    baseline: a part of a day is no day to measure a change from."""
    tp = ctx.params.tech_loss
    day = ctx.day_of(end - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(supply_kwh > 0, 100.0 * ntl_kwh / supply_kwh, np.nan)
    was = st.onset >= 0
    phases_known = bool(np.isfinite(pct[:3]).all())
    st.first[:] = np.where(np.isnan(st.first), pct, st.first)
    # the phases when the master gives them (a theft is on one phase: three times the relative rise, and
    # the other phases' noise left out); the area total only where it does not
    for c in ((0, 1, 2) if phases_known else (TOTAL,)) if not partial else ():
        _step(ctx, st, c, float(pct[c]), day)
    rising = st.onset >= 0
    # the reference: the phase that loses least — a clean phase's level, as two of three phases may have a
    # theft (the median phase would then be a thief's) — but never from below zero: a phase that loses less
    # than nothing (a meter or master fault, not a level a theft could be measured from) makes no ordinary
    # phase stand out. A phase in ntl_rise counts at its level before its change point (its frozen baseline,
    # or today's where lower): what it loses since then is a theft that began, no clean phase's level. With a
    # later theft on each of the other two phases, the phase that loses least was one of them, and a theft
    # present from the start on the third no longer stood out (looked-at 33015: a 1.05 % shunt from day 0 on
    # phase A at 2.5–3.0 %, listed by its share on days 1–13, off the list for its last 8 days once B rose
    # with a 2 % shunt on day 13 and C stood at 2.3 % from a bypass since day 9 — A 0.2 pp above C)
    level = np.where(rising[:3] & np.isfinite(st.mu[:3]), np.fmin(pct[:3], st.mu[:3]), pct[:3])
    ref = max(float(np.min(level)), 0.0) if phases_known else math.nan
    spread = pct[:3] - ref
    over = phases_known & (spread >= tp.phase_excess_pp)
    st.excess_run[:] = np.where(over, st.excess_run + 1, 0)
    # one day is enough far above the others
    fast = phases_known & (spread >= tp.phase_excess_fast_pp) if phases_known else np.zeros(3, np.bool_)
    excess = (st.excess_run >= tp.phase_excess_days) | fast
    # the area's level against zero, not against a phase: a theft on a three-phase meter present from the
    # start raises every phase alike (fresh seeds 10007, 10011, 10018: 1.4–3.5 pp on each phase, none
    # standing out, no alarm for days or at all); the clean twins' NTL stays within ±0.3 pp. Only on a
    # day whose phases are known, which is a day with the technical loss by physics all day: the model
    # a + b·ΣI² learns the loss itself (from nothing, on the first days: all of the loss is "NTL" then)
    total = float(pct[TOTAL]) if phases_known else math.nan
    if not partial:                  # a day without a balance neither counts nor breaks the run
        high = tp.area_level_pp > 0 and math.isfinite(total) and total >= tp.area_level_pp
        st.level_run[0] = st.level_run[0] + 1 if high else 0
    out = NtlDay(day=day, pct=pct, rising=rising.copy(), onset=st.onset.copy(),
                 baseline_pct=st.mu.copy(), onset2=st.onset2.copy(), level_pct=st.mu2.copy(), excess=excess.copy(),
                 phase_excess_pp=spread,
                 excess_days=st.excess_run.copy(), level=bool(st.level_run[0] >= tp.phase_excess_days))
    conds = (_rise_condition(st, out, end, date, was, ntl_kwh, supply_kwh),
             _phase_condition(ctx, out, end, date, phases_known),
             _level_condition(ctx, out, end, date, partial or not phases_known))
    return st, out, Seen(conditions=conds, fields={"ntl_phase_pct": [_num(x) for x in pct[:3]]})


def _date(day: int) -> str:
    """The local date of a local day number."""
    return datetime.fromtimestamp(day * 86400.0, tz=timezone.utc).strftime("%Y-%m-%d")


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _rise_condition(st: NtlState, d: NtlDay, end: float, date: str, was: npt.NDArray[np.bool_],
                    ntl_kwh: F64, supply_kwh: F64) -> Condition:
    rise_pp = np.where(d.rising, d.pct - d.baseline_pct, np.nan)
    worst = int(np.nanargmax(rise_pp)) if d.rising.any() else TOTAL
    area_pp = (float(np.nansum(np.where(d.rising[:3], (d.pct[:3] - d.baseline_pct[:3]) / 100.0 * supply_kwh[:3], 0.0)))
               / supply_kwh[TOTAL] * 100.0) if d.rising[:3].any() and supply_kwh[TOTAL] > 0 else \
        float(rise_pp[TOTAL]) if d.rising[TOTAL] else math.nan
    on = bool(d.rising.any())
    valid = bool(np.isfinite(d.pct).any())
    up = [c for c in range(4) if d.rising[c]]
    # one entry per rising channel, in the order of "channels" (alert evidence holds no nested objects)
    evidence: dict[str, Any] = {"date": date, "channels": [CHANNELS[c] for c in up],
                                "rise_pp": [float(rise_pp[c]) for c in up],
                                "baseline_pct": [float(d.baseline_pct[c]) for c in up],
                                "since": [_date(int(d.onset[c])) for c in up],
                                "ntl_pct": [_num(x) for x in d.pct], "area_rise_pp": _num(area_pp),
                                "new": [CHANNELS[c] for c in up if not was[c]]}
    where = "the area" if worst == TOTAL else f"phase {CHANNELS[worst]}"
    return Condition(
        key="ntl_rise@area", subj=[0], ts=[end], on=[on], off=[not on], valid=[valid],
        values=[area_pp if math.isfinite(area_pp) else 0.0], threshold=math.nan, unit="pp", updates=False,
        severity=lambda _x: "major", evidence=lambda _k: dict(evidence),
        describe=lambda s, _i, x: (f"non-technical loss rose on {where} by {float(rise_pp[worst]):.2f} pp of its supply "
                                   f"({x:.2f} pp of the area's) on {date}: more loss than the physics explains "
                                   "(theft, bypass or a metering fault?)" if s != "cleared"
                                   else f"non-technical loss back to its baseline on {date}"))


def _level_condition(ctx: AreaContext, d: NtlDay, end: float, date: str, unjudged: bool) -> Condition:
    """``ntl_level``; ``unjudged``: a day without a balance or with its phases unknown (not valid)."""
    tp = ctx.params.tech_loss
    x = float(d.pct[TOTAL])
    known = math.isfinite(x) and not unjudged and tp.area_level_pp > 0
    return Condition(
        key="ntl_level@area", subj=[0], ts=[end], on=[d.level], off=[not (x >= tp.area_level_pp / 2)],
        valid=[known], values=[x if math.isfinite(x) else 0.0], threshold=tp.area_level_pp, unit="pp",
        updates=False, severity=lambda _x: "major",
        evidence=lambda _k: {"date": date, "ntl_pct": [_num(v) for v in d.pct], "level_pp": tp.area_level_pp},
        describe=lambda s, _i, v: (f"the area loses {v:.2f} % of its supply more than the physics explains on {date}, "
                                   "on every phase alike (unmetered load on a three-phase customer?)" if s != "cleared"
                                   else f"the area's non-technical loss back below {tp.area_level_pp / 2:.2f} % on {date}"))


def _phase_condition(ctx: AreaContext, d: NtlDay, end: float, date: str, known: bool) -> Condition:
    tp = ctx.params.tech_loss
    spread = d.phase_excess_pp
    return Condition(
        key="ntl_phase@phase", subj=np.arange(3), ts=np.full(3, end), on=d.excess,
        off=~(spread >= tp.phase_excess_pp / 2), valid=np.full(3, known), values=np.nan_to_num(spread),
        threshold=tp.phase_excess_pp, unit="pp", updates=False, severity=lambda _x: "major",
        evidence=lambda k: {"date": date, "ntl_pct": [_num(x) for x in d.pct[:3]], "above_reference_pp": float(spread[k]),
                            "reference_pct": _num(float(d.pct[k] - spread[k])), "days": int(d.excess_days[k])},
        describe=lambda s, k, x: (f"phase {PHASES[k]} loses {x:.2f} pp of its supply more than the phase that loses "
                                  f"least on {date} (unmetered load on that phase?)" if s != "cleared"
                                  else f"phase {PHASES[k]} loss back in line with the other phases on {date}"))
