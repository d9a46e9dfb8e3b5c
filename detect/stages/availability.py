"""Outages told apart from communication failures, with the master meter as a physical sensor
(detection.md §6): ``outage_area`` (from silence), ``master_offline``, ``outage_branch``,
``meter_offline``, and which meters an active outage explains (their other alarms are held).

Silence is data here: ``silence`` turns the time since each device was last heard into a ``Silence``
record; three steps then judge it, the engine applying each step's conditions before the next (each step
needs what the previous one raised): ``area`` → ``branches`` → ``offline``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC
from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
from detect.observe import AlarmSpec, AlarmView, Clear, Condition, Seen
from detect.quantities import QUANTITY_CODE
from detect.stages.master import MasterState
from detect.stages.meters import MeterState
from detect.stages.readings import ReadingsState

__all__ = ["AvailabilityState", "Branches", "Silence", "alarms", "area", "branches", "offline", "silence"]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
Q = QUANTITY_CODE
VOLTS = [Q["u_a"], Q["u_b"], Q["u_c"]]
P = Q["p"]


@dataclass(eq=False)
class AvailabilityState(Columns):
    PREFIX = "s."
    KEYS: ClassVar[Mapping[str, str]] = {"explained": "x.explained"}
    OPTIONAL = frozenset({"explained_ts"})       # snapshots from before it restore it fresh

    explained_ts: F64      # (N,) last time an outage explained the meter (its silence counts from then)
    explained: B           # (N,) meters whose silence or dead voltage an active outage explains

    @classmethod
    def fresh(cls, ctx: AreaContext) -> AvailabilityState:
        return cls(explained_ts=np.full(ctx.n_meters, np.nan), explained=np.zeros(ctx.n_meters, np.bool_))


@dataclass(frozen=True, eq=False)
class Silence:
    """What the time since each device was last heard says at event time ``now``."""

    now: float
    master_seen: float       # last master reading (the start, if never)
    master_silent: bool      # no master poll for max(master_silent_s, 1.5 cadences)
    seen: F64                # (N,) last reading of each meter (the start, if never)
    gap: F64                 # (N,) learned read cadence
    silent: B                # (N,) missed ``meter_silent_rounds`` reads
    overdue: B               # (N,) missed the read its cadence made due
    dead: B                  # (N,) answered with no live phase voltage
    frac_down: float         # share of meters silent or dead
    due: int                 # meter reads due since the master's last poll
    heard_since: int         # meters heard since the master's last poll
    area_silent: bool        # master silent, and the meters quiet too


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="master_offline@transformer", subjects=1),
            AlarmSpec(key="outage_branch@branch", subjects=len(ctx.area.branches)),
            AlarmSpec(key="meter_offline@meter", subjects=ctx.n_meters)]


def silence(ctx: AreaContext, rd: ReadingsState, clock: EngineClock, now: float) -> Silence:
    n, op, prm = ctx.n_meters, ctx.params.outage, ctx.params
    since = clock.started_ts
    master_seen = rd.last_seen[n] if not math.isnan(rd.last_seen[n]) else since
    master_silent = now - master_seen > max(op.master_silent_s, 1.5 * rd.gap_ewma_s[n])
    seen = np.where(np.isnan(rd.last_seen[:n]), since, rd.last_seen[:n])
    gap = rd.gap_ewma_s[:n]
    silent = now - seen > op.meter_silent_rounds * gap + prm.lateness_s
    dead_v = op.dead_voltage_pct / 100 * prm.voltage.nominal_v
    u_last = rd.last_value[:n][:, VOLTS]
    u_fresh = (now - rd.last_ts[:n][:, VOLTS]) <= gap[:, None] * op.meter_silent_rounds
    u_live = np.where(u_fresh, u_last, np.nan)
    has_u = ~np.isnan(u_live).all(axis=1)
    dead = has_u & (np.nanmax(np.where(np.isnan(u_live), -1.0, u_live), axis=1) < dead_v)
    frac_down = float((silent | dead).mean()) if n else 0.0
    # one missed read (with a little jitter allowance) is enough to look at a branch: the master's
    # power decides between outage and communication, so a branch outage is found within one cadence
    overdue = now - seen > gap * 1.02 + prm.master_group_s
    # The whole area went quiet at once: since the master's last reading, enough meters missed the read
    # their own cadence made due (with a little jitter allowance) and not one was heard. Much faster than
    # waiting for every meter to be overdue, which takes a full meter round.
    next_due = seen + gap * 1.02 + prm.master_group_s
    due = int(np.sum((next_due > master_seen) & (next_due <= now)))
    heard_since = int(np.sum(seen > master_seen))
    quiet = due >= op.area_silent_min_due and heard_since == 0
    area_silent = master_silent and (frac_down >= op.area_silent_fraction or quiet)
    return Silence(now=now, master_seen=master_seen, master_silent=bool(master_silent), seen=seen, gap=gap,
                   silent=silent, overdue=overdue, dead=dead, frac_down=frac_down, due=due,
                   heard_since=heard_since, area_silent=bool(area_silent))


def area(ctx: AreaContext, sil: Silence) -> Seen:
    """``outage_area`` while the master is silent (judged on the meters), and ``master_offline``."""
    op = ctx.params.outage
    now, master_seen, frac_down = sil.now, sil.master_seen, sil.frac_down
    one = np.zeros(1, np.int64)
    tnow = np.array([now])
    out: list[Condition] = []
    if sil.master_silent:
        out.append(Condition(
            key="outage_area@area", subj=one, ts=tnow, on=[sil.area_silent], off=[not sil.area_silent],
            valid=[True], values=[frac_down * 100], threshold=op.area_silent_fraction * 100, unit="%",
            severity=lambda _x: "critical",
            evidence=lambda _k: {"source": "master and meters silent", "meters_down_pct": frac_down * 100,
                                 "master_silent_s": now - master_seen, "meter_reads_due": sil.due,
                                 "meters_heard_since": sil.heard_since},
            describe=lambda s, _i, x: (f"area outage: master silent and {x:.0f} % of meters silent"
                                       if s != "cleared" else "area supply restored (meters answering)")))
    out.append(Condition(
        key="master_offline@transformer", subj=one, ts=tnow, on=[sil.master_silent and not sil.area_silent],
        off=[not sil.master_silent], valid=[True], values=[now - master_seen], threshold=op.master_silent_s,
        unit="s", severity=lambda _x: "major", updates=False,
        evidence=lambda _k: {"meters_down_pct": frac_down * 100, "last_seen_s_ago": now - master_seen},
        describe=lambda s, _i, x: (f"master meter silent for {x:.0f} s while meters answer (communication)"
                                   if s != "cleared" else "master meter answering again")))
    return Seen(conditions=tuple(out))


@dataclass(frozen=True, eq=False)
class Branches:
    """What ``branches`` observed, and which meters an active area or phase outage explains (``offline``
    adds the branch outages the engine has applied since)."""

    conditions: tuple[Clear | Condition, ...]
    area_or_phase: B
    in_question: bool          # a branch has enough meters down: the master's power is being weighed


def _outages(ctx: AreaContext, alarms: AlarmView) -> tuple[bool, B]:
    """(area outage active, meters on a phase whose outage is active)."""
    phase_out = alarms["outage_phase@phase"]
    ph = ctx.area.meter_phase
    return bool(alarms["outage_area@area"][0]), np.where(ph == PHASE_ABC, phase_out.any(), phase_out[np.minimum(ph, 2)])


def branches(ctx: AreaContext, st: AvailabilityState, sil: Silence, rd: ReadingsState, meters: MeterState,
             master: MasterState, voltage_dead: bool, alarms: AlarmView) -> tuple[AvailabilityState, Branches]:
    """An area outage explains a ``master_offline``; then ``outage_branch`` on the meters no area or
    phase outage explains."""
    now = sil.now
    area_out, meter_phase_out = _outages(ctx, alarms)
    # A meter could not answer while an outage explained it: once the supply is back it is due again one
    # cadence later (its read is not overdue before), and it gets its own rounds before it counts as
    # silent. Without this, every meter of a restored area or phase is "overdue" until its next read and
    # the balance (which saw the outage) names their branches.
    in_outage = area_out | meter_phase_out | alarms["outage_branch@branch"][ctx.area.meter_branch]
    st.explained_ts[in_outage] = now
    restored = ~in_outage & (now - st.explained_ts <= sil.gap * 1.02 + ctx.params.master_group_s)
    overdue = sil.overdue & ~restored
    cond = _branch_condition(ctx, sil, overdue | sil.dead, overdue, area_out | meter_phase_out, rd, meters, master,
                             voltage_dead)
    asked = bool(_enough_down(ctx, (overdue | sil.dead) & ~(area_out | meter_phase_out)).any())
    if not area_out:
        return st, Branches(conditions=(cond,), area_or_phase=meter_phase_out, in_question=asked)
    # it looked like a communication failure until the meters went quiet too
    explain = Clear(key="master_offline@transformer", subjects=np.ones(1, np.bool_), ts=now,
                    message="explained by an area outage")
    return st, Branches(conditions=(explain, cond), area_or_phase=area_out | meter_phase_out, in_question=asked)


def _branch_condition(ctx: AreaContext, sil: Silence, down: B, silent: B, explained: B, rd: ReadingsState,
                      meters: MeterState, master: MasterState, voltage_dead: bool) -> Condition:
    """Branch outage: enough meters of one branch down while the master is fine, and the master's power
    dropped by their load (or their meters report no voltage). Otherwise it is a communication failure."""
    area, op, now = ctx.area, ctx.params.outage, sil.now
    nb = len(area.branches)
    br = area.meter_branch
    cand = down & ~explained
    cnt = np.bincount(br[cand], minlength=nb)
    size = np.bincount(br, minlength=nb)
    frac = np.divide(cnt, size, out=np.zeros(nb), where=size > 0)
    hit = _enough_down(ctx, cand) & (not sil.master_silent) & (not voltage_dead)
    is_out = np.zeros(nb, np.bool_)
    info: dict[int, dict[str, Any]] = {}
    for b in np.flatnonzero(hit).tolist():
        members = np.flatnonzero(cand & (br == b))
        dead_share = float(sil.dead[members].mean())
        # Silent meters were last read at t0 and missed their next read at t0 + cadence: the supply (if
        # it failed) failed in between, so compare the master before t0 with the master after t_miss.
        t0 = float(np.nanmedian(rd.last_seen[members])) if silent[members].any() else now
        t_miss = t0 + float(np.median(rd.gap_ewma_s[members])) if silent[members].any() else now
        expected = float(np.nansum(recent_kw(ctx, rd, meters, members)))
        # the master around the meters' last read, when their power readings were taken: a level from
        # a whole interval earlier drifts with the load curve (tens of % of a branch in 15 min)
        before = _mean_p(master, t0 - max(2 * rd.gap_ewma_s[area.n_meters], 120.0), t0)
        after = _mean_p(master, min(t_miss, now - 1.0), min(now, t_miss + ctx.params.interval_s))
        drop = before - after
        balance_says_out = expected >= op.balance_min_kw and drop >= op.balance_fraction * expected
        is_out[b] = dead_share >= 0.5 or balance_says_out
        info[b] = {"meters_down": len(members), "branch_meters": int(size[b]), "dead_voltage_share": dead_share,
                   "expected_drop_kw": expected, "master_p_before_kw": before, "master_p_after_kw": after,
                   "meters": [area.meter_ids[i] for i in members[:20]]}
    names = area.branches
    return Condition(key="outage_branch@branch", subj=np.arange(nb), ts=np.full(nb, now), on=is_out, off=~hit,
                     valid=np.ones(nb, np.bool_), values=frac * 100, threshold=op.branch_min_fraction * 100,
                     unit="%", severity=lambda _x: "critical", evidence=lambda k: info.get(k, {}),
                     describe=lambda s, i, x: (f"outage on branch {names[i]}: {x:.0f} % of its meters without "
                                               "supply while the master is fine" if s != "cleared"
                                               else f"branch {names[i]} supply restored"))


def _enough_down(ctx: AreaContext, cand: B) -> B:
    """Per branch: enough of its meters (``cand``) down to look at the master's power."""
    op, nb, br = ctx.params.outage, len(ctx.area.branches), ctx.area.meter_branch
    cnt = np.bincount(br[cand], minlength=nb)
    size = np.bincount(br, minlength=nb)
    frac = np.divide(cnt, size, out=np.zeros(nb), where=size > 0)
    return (cnt >= op.branch_min_meters) & (frac >= op.branch_min_fraction)


def offline(ctx: AreaContext, st: AvailabilityState, sil: Silence, br: Branches, meters: MeterState,
            alarms: AlarmView) -> tuple[AvailabilityState, Seen]:
    """Which meters an active outage explains (kept in the state for the other stages), and
    ``meter_offline`` for the silent ones it does not; an outage clears their ``meter_offline``."""
    area, op, now, n = ctx.area, ctx.params.outage, sil.now, ctx.n_meters
    explained = br.area_or_phase | alarms["outage_branch@branch"][area.meter_branch]
    st.explained = explained
    st.explained_ts[explained] = now
    gap, seen = sil.gap, sil.seen
    silent = sil.silent & ~(~explained & (now - st.explained_ts <= op.meter_silent_rounds * gap + ctx.params.lateness_s))
    idx = np.arange(n)
    names = area.meter_ids
    kw = typical_kw(ctx, meters, idx) if silent.any() else np.full(n, np.nan)
    cond = Condition(
        key="meter_offline@meter", subj=idx, ts=np.full(n, now), on=silent & ~explained, off=~silent,
        valid=~explained, values=now - seen, threshold=float(np.median(op.meter_silent_rounds * gap)) if n else 0.0,
        unit="s", severity=lambda _x: "warning", updates=False,
        evidence=lambda k: {"last_seen_s_ago": now - seen[k], "cadence_s": gap[k], "typical_kw": kw[k],
                            "master_online": not sil.master_silent},
        describe=lambda s, i, x: (f"meter {names[i]} silent for {x:.0f} s with supply present "
                                  "(communication failure)" if s != "cleared" else f"meter {names[i]} answering again"))
    if not explained.any():
        return st, Seen(conditions=(cond,))
    return st, Seen(conditions=(cond, Clear(key="meter_offline@meter", subjects=explained, ts=now,
                                            message="explained by an outage")))


def _mean_p(master: MasterState, t0: float, t1: float) -> float:
    sel = (master.master_ring_ts >= t0) & (master.master_ring_ts <= t1) & ~np.isnan(master.master_ring_p)
    return float(master.master_ring_p[sel].mean()) if sel.any() else math.nan


def typical_kw(ctx: AreaContext, meters: MeterState, idx: npt.NDArray[np.intp]) -> F64:
    """Mean power of each meter over the interval history (kW), NaN where it has none."""
    e = meters.h_e_kwh[:, idx]
    cnt = (~np.isnan(e)).sum(axis=0)
    tot = np.nansum(e, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1) * 3600.0 / ctx.params.interval_s, np.nan)


def recent_kw(ctx: AreaContext, rd: ReadingsState, meters: MeterState, idx: npt.NDArray[np.intp]) -> F64:
    """What each meter drew at its last read (kW): its ``p`` reading of that read, net of generation as
    the master sees it; ``typical_kw`` where the read had no ``p``. The daily mean is a poor guess at a
    given hour (an afternoon branch load is half its evening peak; PV exports around noon)."""
    p = rd.last_value[idx, P]
    fresh = np.abs(rd.last_ts[idx, P] - rd.last_seen[idx]) <= ctx.params.master_group_s
    return np.where(fresh & ~np.isnan(p), p, typical_kw(ctx, meters, idx))

