"""When an availability check can be skipped (``Engine._availability``), exactly.

Availability is judged at every ``outage.check_s`` of event time; most checks find what the one before
found. A check is skipped when it cannot find anything else: no alarm changed since the last full check,
no outage is active and no branch is being weighed (those checks update state with the time), no
reading came from a device the last check flagged (silent, overdue, with a dead voltage; every device
while the master is silent) nor with a dead voltage, and event time has not reached ``deadline``: the
first time at which one of ``silence``'s thresholds, or the windows after an outage, is crossed. A skipped
check would publish nothing and change no state (tested: the same output with and without skipping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.context import AreaContext
from detect.observe import AlarmView
from detect.stages.availability import VOLTS, AvailabilityState, Branches, Silence
from detect.stages.readings import Chunk, ReadingsState

__all__ = ["NONE", "Watch", "after_check", "deadline", "disturbs"]

B = npt.NDArray[np.bool_]
OUTAGES = ("outage_area@area", "outage_phase@phase", "outage_branch@branch")


@dataclass(frozen=True, eq=False)
class Watch:
    at: float           # event time of the full check it was made at
    devices: B          # (N+1,) readings from these devices can change what a check finds
    open: bool          # False: check at every point


NONE = Watch(at=-math.inf, devices=np.zeros(0, np.bool_), open=False)


def after_check(sil: Silence, br: Branches, alarms: AlarmView) -> Watch:
    """What the next checks watch, after a full check at ``sil.now``."""
    if br.in_question or any(alarms[key].any() for key in OUTAGES):
        return NONE
    devices = np.append(sil.silent | sil.overdue | sil.dead, sil.master_silent)
    if sil.master_silent:             # any meter heard changes whether the area is quiet
        devices[:] = True
    return Watch(at=sil.now, devices=devices, open=True)


def disturbs(ctx: AreaContext, watch: Watch, chunk: Chunk) -> bool:
    """Whether a chunk of readings can change what the next check finds: a reading from a watched device,
    or a meter voltage below the dead level."""
    if watch.devices[chunk.dev[chunk.valid]].any():
        return True
    dead_v = ctx.params.outage.dead_voltage_pct / 100 * ctx.params.voltage.nominal_v
    volts = (chunk.dev < ctx.n_meters) & np.isin(chunk.q, VOLTS) & chunk.valid
    return bool((chunk.v[volts] < dead_v).any())


def deadline(ctx: AreaContext, st: AvailabilityState, rd: ReadingsState, clock: EngineClock, after: float) -> float:
    """The first event time after ``after`` at which a check on the present readings crosses a threshold
    of ``availability``: the master's silence, a meter's overdue read, silence or voltage freshness, the
    end of the windows after an outage. Slightly early, never late."""
    n, op, prm = ctx.n_meters, ctx.params.outage, ctx.params
    since = clock.started_ts
    master_seen = rd.last_seen[n] if not math.isnan(rd.last_seen[n]) else since
    times = [np.array([master_seen + max(op.master_silent_s, 1.5 * rd.gap_ewma_s[n])])]
    if n:
        seen = np.where(np.isnan(rd.last_seen[:n]), since, rd.last_seen[:n])
        gap = rd.gap_ewma_s[:n]
        due = gap * 1.02 + prm.master_group_s
        rounds = op.meter_silent_rounds * gap + prm.lateness_s
        times += [seen + due, seen + rounds, (rd.last_ts[:n][:, VOLTS] + (gap * op.meter_silent_rounds)[:, None]).ravel(),
                  st.explained_ts + due, st.explained_ts + rounds]
    t = np.concatenate(times)
    ahead = t[t > after - 1e-6]            # one exactly at ``after`` is crossed just after it; NaN never
    return float(ahead.min()) - 1e-6 if len(ahead) else math.inf
