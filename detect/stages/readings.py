"""The latest reading of every device and quantity, when each device was last heard, and each device's
learned read cadence. The first stage every chunk of readings passes; later stages read this state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
from detect.quantities import QUANTITIES

__all__ = ["Chunk", "ReadingsState", "last_per_key", "place"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
NQ = len(QUANTITIES)
CADENCE_GAPS = 8          # a device's cadence is the longest of its last this many gaps


@dataclass(frozen=True, eq=False)
class Chunk:
    """New readings in time order (their intervals open), with what every stage derives from them
    computed once."""

    dev: I64                         # device index (meters 0..N-1, master N)
    q: npt.NDArray[np.int16]         # quantity code
    v: F64                           # value, NaN = not read
    ts: F64                          # event time
    valid: npt.NDArray[np.bool_]     # a value was read
    slot: I64                        # open-interval slot of each reading (-1: its interval is not open)

    @classmethod
    def of(cls, clock: EngineClock, interval_s: float, dev: npt.NDArray[np.int32], q: npt.NDArray[np.int16],
           v: F64, ts: F64) -> Chunk:
        return cls(dev=dev.astype(np.int64), q=q, v=v, ts=ts, valid=~np.isnan(v),
                   slot=clock.slots_for(ts, interval_s))

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(eq=False)
class ReadingsState(Columns):
    PREFIX = "s."

    last_value: F64                # (D, Q) latest value per device and quantity
    last_ts: F64                   # (D, Q) and its time
    last_seen: F64                 # (D,) last reading of any quantity
    gap_ewma_s: F64                # (D,) read cadence of each device: the longest of its recent gaps
    cadence_last: F64              # (D,) time of the last distinct read (cadence learning)
    cadence_n: I64                 # (D,) gaps learned so far
    cadence_ring: F64              # (D, CADENCE_GAPS) the last gaps
    cadence_miss: I64              # (D,) missed reads in a row

    OPTIONAL = frozenset({"cadence_ring", "cadence_miss"})      # snapshots before issue 18

    @classmethod
    def fresh(cls, ctx: AreaContext) -> ReadingsState:
        d, n, op = ctx.n_meters + 1, ctx.n_meters, ctx.params.outage
        return cls(last_value=np.full((d, NQ), np.nan), last_ts=np.full((d, NQ), np.nan),
                   last_seen=np.full(d, np.nan),
                   gap_ewma_s=np.append(np.full(n, float(op.meter_cadence_s)), float(op.master_cadence_s)),
                   cadence_last=np.full(d, np.nan), cadence_n=np.zeros(d, np.int64),
                   cadence_ring=np.full((d, CADENCE_GAPS), np.nan), cadence_miss=np.zeros(d, np.int64))

    def fix_cadences(self, ctx: AreaContext) -> None:
        """After a restore: with ``outage.cadence = "fixed"`` the configured cadences win over what a run
        learned; a snapshot from before the gap ring starts it with the cadence it had learned."""
        if ctx.params.outage.cadence == "fixed":
            self.gap_ewma_s[: ctx.n_meters] = ctx.params.outage.meter_cadence_s
            self.gap_ewma_s[ctx.n_meters] = ctx.params.outage.master_cadence_s
        empty = np.isnan(self.cadence_ring).all(axis=1) & (self.cadence_n > 0)
        self.cadence_ring[empty] = self.gap_ewma_s[empty, None]


def last_per_key(key: I64) -> I64:
    """Index of the last occurrence of each distinct key (input is in time order)."""
    rev = key[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)
    return len(key) - 1 - first_in_rev


def place(ctx: AreaContext, st: ReadingsState, chunk: Chunk) -> ReadingsState:
    """Take time-sorted readings: latest values (an older reading never overwrites a newer one), last
    seen, read cadence. A NaN value is "not read": it does not count as hearing from the device."""
    if not len(chunk):
        return st
    d64, q, v, ts, valid = chunk.dev, chunk.q, chunk.v, chunk.ts, chunk.valid
    cell = d64 * NQ + q
    idx = last_per_key(cell[valid])
    sel = np.flatnonzero(valid)[idx]
    newer = ~(st.last_ts[d64[sel], q[sel]] > ts[sel])
    sel = sel[newer]
    st.last_value[d64[sel], q[sel]] = v[sel]
    st.last_ts[d64[sel], q[sel]] = ts[sel]
    if valid.any():
        dv, tv = d64[valid], ts[valid]
        seen = last_per_key(dv)
        st.last_seen[dv[seen]] = np.fmax(st.last_seen[dv[seen]], tv[seen])
        _learn_cadence(ctx, st, dv, tv)
    return st


def _learn_cadence(ctx: AreaContext, st: ReadingsState, dev: I64, ts: F64) -> None:
    """Each device's read cadence from its distinct reads, one by one (``cadence`` kernel: the longest of
    its last gaps). A meter's readings closer than ``meter_group_s`` are one read — its round's
    transactions, interleaved with other devices on a slow bus; the master's closer than
    ``master_group_s``. Read by read, so the result does not depend on how readings were batched."""
    prm = ctx.params
    if prm.outage.cadence == "fixed":   # the reading plans say when each device is due
        return
    order = np.lexsort((ts, dev))
    n = ctx.n_meters
    group = np.full(n + 1, prm.meter_group_s)
    group[n] = prm.master_group_s
    default = np.full(n + 1, float(prm.outage.meter_cadence_s))
    default[n] = prm.outage.master_cadence_s
    ctx.ops["cadence"].learn(dev[order], ts[order], group, st.cadence_last, st.gap_ewma_s, st.cadence_n,
                             st.cadence_ring, st.cadence_miss, default)
