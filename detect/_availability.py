"""Outages told apart from communication failures, with the master meter as a physical sensor
(detection.md §6): master_offline, outage_area (silence), outage_branch, meter_offline, and the mask of
meters whose alarms an active outage explains (used to suppress per-meter alarms)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from detect._emit import force_clear, run_alarm
from detect.area import PHASE_ABC
from detect.quantities import QUANTITY_CODE

if TYPE_CHECKING:
    from detect.engine import Engine

Q = QUANTITY_CODE
VOLTS = [Q["u_a"], Q["u_b"], Q["u_c"]]
P = Q["p"]


def _mean_p(eng: Engine, t0: float, t1: float) -> float:
    st = eng.state
    sel = (st.master_ring_ts >= t0) & (st.master_ring_ts <= t1) & ~np.isnan(st.master_ring_p)
    return float(st.master_ring_p[sel].mean()) if sel.any() else math.nan


def typical_kw(eng: Engine, meters: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Mean power of each meter over the interval history (kW), NaN where it has none."""
    e = eng.state.h_e_kwh[:, meters]
    cnt = (~np.isnan(e)).sum(axis=0)
    tot = np.nansum(e, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1) * 3600.0 / eng.params.interval_s, np.nan)


def recent_kw(eng: Engine, meters: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """What each meter drew at its last read (kW): its ``p`` reading of that read, net of generation as
    the master sees it; ``typical_kw`` where the read had no ``p``. The daily mean is a poor guess at a
    given hour (an afternoon branch load is half its evening peak; PV exports around noon)."""
    st = eng.state
    p = st.last_value[meters, P]
    fresh = np.abs(st.last_ts[meters, P] - st.last_seen[meters]) <= eng.params.master_group_s
    return np.where(fresh & ~np.isnan(p), p, typical_kw(eng, meters))


def evaluate(eng: Engine, now: float) -> None:
    """Run the availability detectors at event time ``now``."""
    st, area, op = eng.state, eng.area, eng.params.outage
    n = area.n_meters
    since = eng.started_ts
    master_seen = st.last_seen[n] if not math.isnan(st.last_seen[n]) else since
    master_silent = now - master_seen > max(op.master_silent_s, 1.5 * st.gap_ewma_s[n])
    seen = np.where(np.isnan(st.last_seen[:n]), since, st.last_seen[:n])
    gap = st.gap_ewma_s[:n]
    silent = now - seen > op.meter_silent_rounds * gap + eng.params.lateness_s
    dead_v = op.dead_voltage_pct / 100 * eng.params.voltage.nominal_v
    u_last = st.last_value[:n][:, VOLTS]
    u_fresh = (now - st.last_ts[:n][:, VOLTS]) <= gap[:, None] * op.meter_silent_rounds
    u_live = np.where(u_fresh, u_last, np.nan)
    has_u = ~np.isnan(u_live).all(axis=1)
    dead = has_u & (np.nanmax(np.where(np.isnan(u_live), -1.0, u_live), axis=1) < dead_v)
    down = silent | dead
    frac_down = float(down.mean()) if n else 0.0
    # one missed read (with a little jitter allowance) is enough to look at a branch: the master's
    # power decides between outage and communication, so a branch outage is found within one cadence
    overdue = now - seen > gap * 1.02 + eng.params.master_group_s
    # The whole area went quiet at once: since the master's last reading, enough meters missed the read
    # their own cadence made due (with a little jitter allowance) and not one was heard. Much faster than
    # waiting for every meter to be overdue, which takes a full meter round.
    next_due = seen + gap * 1.02 + eng.params.master_group_s
    due = int(np.sum((next_due > master_seen) & (next_due <= now)))
    heard_since = int(np.sum(seen > master_seen))
    quiet = due >= op.area_silent_min_due and heard_since == 0
    area_silent = master_silent and (frac_down >= op.area_silent_fraction or quiet)
    one = np.zeros(1, np.int64)
    tnow = np.array([now])
    if master_silent:
        run_alarm(eng, "outage_area@area", subj=one, ts=tnow, on=[area_silent], off=[not area_silent], valid=[True],
                  values=[frac_down * 100], threshold=op.area_silent_fraction * 100, unit="%",
                  severity=lambda _x: "critical",
                  evidence=lambda _k: {"source": "master and meters silent", "meters_down_pct": frac_down * 100,
                                       "master_silent_s": now - master_seen, "meter_reads_due": due,
                                       "meters_heard_since": heard_since},
                  describe=lambda s, _i, x: (f"area outage: master silent and {x:.0f} % of meters silent"
                                             if s != "cleared" else "area supply restored (meters answering)"))
    run_alarm(eng, "master_offline@transformer", subj=one, ts=tnow, on=[master_silent and not area_silent],
              off=[not master_silent], valid=[True], values=[now - master_seen], threshold=op.master_silent_s,
              unit="s", severity=lambda _x: "major", updates=False,
              evidence=lambda _k: {"meters_down_pct": frac_down * 100, "last_seen_s_ago": now - master_seen},
              describe=lambda s, _i, x: (f"master meter silent for {x:.0f} s while meters answer (communication)"
                                         if s != "cleared" else "master meter answering again"))
    area_out = eng.trackers["outage_area@area"].active()[0]
    if area_out and eng.trackers["master_offline@transformer"].active()[0]:
        # it looked like a communication failure until the meters went quiet too
        force_clear(eng, "master_offline@transformer", np.zeros(1, np.intp), now, "explained by an area outage")
    phase_out = eng.trackers["outage_phase@phase"].active()
    ph = area.meter_phase
    meter_phase_out = np.where(ph == PHASE_ABC, phase_out.any(), phase_out[np.minimum(ph, 2)])
    # A meter could not answer while an outage explained it: once the supply is back it is due again one
    # cadence later (its read is not overdue before), and it gets its own rounds before it counts as
    # silent. Without this, every meter of a restored area or phase is "overdue" until its next read and
    # the balance (which saw the outage) names their branches.
    in_outage = area_out | meter_phase_out | eng.trackers["outage_branch@branch"].active()[area.meter_branch]
    st.explained_ts[in_outage] = now
    restored = ~in_outage & (now - st.explained_ts <= gap * 1.02 + eng.params.master_group_s)
    overdue &= ~restored
    _branches(eng, now, overdue | dead, dead, overdue, area_out | meter_phase_out, master_silent)
    branch_out = eng.trackers["outage_branch@branch"].active()[area.meter_branch]
    explained = area_out | meter_phase_out | branch_out
    eng.set_explained(explained)
    st.explained_ts[explained] = now
    silent &= ~(~explained & (now - st.explained_ts <= op.meter_silent_rounds * gap + eng.params.lateness_s))
    tk = eng.trackers["meter_offline@meter"]
    idx = np.arange(n)
    names = area.meter_ids
    kw = typical_kw(eng, idx) if silent.any() else np.full(n, np.nan)
    run_alarm(eng, "meter_offline@meter", subj=idx, ts=np.full(n, now), on=silent & ~explained, off=~silent,
              valid=~explained, values=now - seen, threshold=float(np.median(op.meter_silent_rounds * gap)) if n else 0.0,
              unit="s",
              severity=lambda _x: "warning", updates=False,
              evidence=lambda k: {"last_seen_s_ago": now - seen[k], "cadence_s": st.gap_ewma_s[k],
                                  "typical_kw": kw[k], "master_online": not master_silent},
              describe=lambda s, i, x: (f"meter {names[i]} silent for {x:.0f} s with supply present "
                                        "(communication failure)" if s != "cleared" else f"meter {names[i]} answering again"))
    stale = np.flatnonzero(tk.active() & explained)
    if len(stale):
        force_clear(eng, "meter_offline@meter", stale, now, "explained by an outage")


def _branches(eng: Engine, now: float, down: Any, dead: Any, silent: Any, explained: Any, master_silent: bool) -> None:
    """Branch outage: enough meters of one branch down while the master is fine, and the master's power
    dropped by their load (or their meters report no voltage). Otherwise it is a communication failure."""
    area, op = eng.area, eng.params.outage
    n_m = area.n_meters
    nb = len(area.branches)
    br = area.meter_branch
    cand = down & ~explained
    cnt = np.bincount(br[cand], minlength=nb)
    size = np.bincount(br, minlength=nb)
    frac = np.divide(cnt, size, out=np.zeros(nb), where=size > 0)
    hit = (cnt >= op.branch_min_meters) & (frac >= op.branch_min_fraction) & (not master_silent) \
        & (not eng.master_voltage_dead)
    is_out = np.zeros(nb, np.bool_)
    info: dict[int, dict[str, Any]] = {}
    for b in np.flatnonzero(hit).tolist():
        members = np.flatnonzero(cand & (br == b))
        dead_share = float(dead[members].mean())
        # Silent meters were last read at t0 and missed their next read at t0 + cadence: the supply (if
        # it failed) failed in between, so compare the master before t0 with the master after t_miss.
        t0 = float(np.nanmedian(eng.state.last_seen[members])) if silent[members].any() else now
        t_miss = t0 + float(np.median(eng.state.gap_ewma_s[members])) if silent[members].any() else now
        expected = float(np.nansum(recent_kw(eng, members)))
        # the master around the meters' last read, when their power readings were taken: a level from
        # a whole interval earlier drifts with the load curve (tens of % of a branch in 15 min)
        before = _mean_p(eng, t0 - max(2 * eng.state.gap_ewma_s[n_m], 120.0), t0)
        after = _mean_p(eng, min(t_miss, now - 1.0), min(now, t_miss + eng.params.interval_s))
        drop = before - after
        balance_says_out = expected >= op.balance_min_kw and drop >= op.balance_fraction * expected
        is_out[b] = dead_share >= 0.5 or balance_says_out
        info[b] = {"meters_down": len(members), "branch_meters": int(size[b]), "dead_voltage_share": dead_share,
                   "expected_drop_kw": expected, "master_p_before_kw": before, "master_p_after_kw": after,
                   "meters": [area.meter_ids[i] for i in members[:20]]}
    names = area.branches
    run_alarm(eng, "outage_branch@branch", subj=np.arange(nb), ts=np.full(nb, now), on=is_out,
              off=~hit, valid=np.ones(nb, np.bool_), values=frac * 100, threshold=op.branch_min_fraction * 100,
              unit="%", severity=lambda _x: "critical", evidence=lambda k: info.get(k, {}),
              describe=lambda s, i, x: (f"outage on branch {names[i]}: {x:.0f} % of its meters without supply "
                                        "while the master is fine" if s != "cleared"
                                        else f"branch {names[i]} supply restored"))
