"""Master meter / TTU readings grouped into polls, with quantities a poll lacks held from earlier polls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.quantities import QUANTITIES, QUANTITY_CODE
from detect.stages.readings import ReadingsState

__all__ = ["Polls", "group"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Polls:
    ts: F64        # (G,) time of each poll: its last reading
    x: F64         # (G, Q) every quantity; held from earlier polls up to ``master_hold_s``, else NaN
    u: F64         # (G, 3) the phase voltages (columns of ``x``, side by side)
    raw: F64       # (G, Q) what each poll itself read (NaN where it lacks a quantity)

    def __len__(self) -> int:
        return len(self.ts)

    def col(self, name: str) -> F64:
        return self.x[:, QUANTITY_CODE[name]]

    def own(self, name: str) -> F64:
        """Each poll's own reading of ``name``, not held from earlier polls."""
        return self.raw[:, QUANTITY_CODE[name]]


def group(ctx: AreaContext, readings: ReadingsState, ts: F64, q: npt.NDArray[np.int16], v: F64) -> Polls:
    """Group time-sorted master readings (newer than the last poll processed) into polls. Readings closer
    than ``master_group_s`` are one poll; ``readings`` holds the master's values before these."""
    n, hold = ctx.area.master_index, ctx.params.master_hold_s
    new_poll = np.empty(len(ts), np.bool_)
    new_poll[0] = True
    new_poll[1:] = np.diff(ts) > ctx.params.master_group_s
    grp = np.cumsum(new_poll) - 1
    g = int(grp[-1]) + 1
    sample_ts = np.empty(g)
    sample_ts[grp] = ts                       # the last reading of each poll gives its time
    vals = np.full((g + 1, len(QUANTITIES)), np.nan)
    when = np.full((g + 1, len(QUANTITIES)), np.nan)
    vals[0], when[0] = readings.last_value[n], readings.last_ts[n]
    vals[grp + 1, q] = v
    when[grp + 1, q] = ts
    raw = vals[1:].copy()
    present = ~np.isnan(vals)
    idx = np.where(present, np.arange(g + 1)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    cols = np.arange(len(QUANTITIES))[None, :]
    filled, filled_ts = vals[idx, cols][1:], when[idx, cols][1:]
    stale = ~(sample_ts[:, None] - filled_ts <= hold)
    filled[stale] = np.nan
    u = np.stack([filled[:, QUANTITY_CODE[name]] for name in ("u_a", "u_b", "u_c")], axis=1)
    return Polls(ts=sample_ts, x=filled, u=u, raw=raw)
