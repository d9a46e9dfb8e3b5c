"""The engine's clock: event time, nothing else. detect/ never reads a wall clock.

Time moves only when ``Engine.advance(ts)`` is called: ``watermark`` is the event time the engine has
advanced to, ``first_open_k`` the oldest 15-min interval not closed yet, ``slot_k`` which interval each
open-interval slot (``k % n_slots``) holds. ``started_ts`` is the time of the first reading (or of the
first advance). Stages read it; only the engine moves it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.columns import Columns

__all__ = ["EngineClock"]


@dataclass(eq=False)
class EngineClock(Columns):
    PREFIX = "s."
    SCALARS = frozenset({"started_ts"})

    slot_k: npt.NDArray[np.int64]          # (S,) interval index held by the slot, -1 = free
    watermark: npt.NDArray[np.float64]     # (1,) event time the engine has advanced to
    first_open_k: npt.NDArray[np.int64]    # (1,) oldest interval not closed yet
    started_ts: float = math.nan           # in the snapshot header, not an array

    @classmethod
    def fresh(cls, n_slots: int) -> EngineClock:
        return cls(slot_k=np.full(n_slots, -1, np.int64), watermark=np.full(1, -math.inf),
                   first_open_k=np.full(1, -(2**62), np.int64))

    def slots_for(self, ts: npt.NDArray[np.float64], interval_s: float) -> npt.NDArray[np.int64]:
        """Open-interval slot of each timestamp, -1 where its interval is not open."""
        k = np.floor(ts / interval_s).astype(np.int64)
        slot = k % len(self.slot_k)
        return np.where(self.slot_k[slot] == k, slot, -1)

    def open_until(self, until: float, interval_s: float) -> list[int]:
        """Give every interval from the oldest open one up to ``until`` a slot; returns the slots newly
        given (their accumulators must be emptied)."""
        new = []
        for k in range(int(self.first_open_k[0]), int(until // interval_s) + 1):
            slot = k % len(self.slot_k)
            if self.slot_k[slot] != k:
                self.slot_k[slot] = k
                new.append(slot)
        return new

