"""The area context every stage reads and none changes: the area, its parameters, the kernel modules of
the chosen backend, and the calendar (local days) those parameters define."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from detect.area import Area
from detect.backend import TOPICS, kernels
from detect.params import Params

__all__ = ["DAY_S", "AreaContext"]

DAY_S = 86400


@dataclass(frozen=True, eq=False)
class AreaContext:
    area: Area
    params: Params
    backend: str                         # "numba" | "numpy"
    ops: Mapping[str, ModuleType]        # kernel module per topic (detect.backend.TOPICS)

    @classmethod
    def build(cls, area: Area, params: Params, backend: str) -> AreaContext:
        return cls(area=area, params=params, backend=backend, ops={t: kernels(t, backend) for t in TOPICS})

    @property
    def n_meters(self) -> int:
        return self.area.n_meters

    @property
    def per_day(self) -> int:
        """15-min (``interval_s``) intervals per day."""
        return DAY_S // self.params.interval_s

    def day_of(self, ts: float) -> int:
        """Local day number (days since the epoch in local time) of one timestamp."""
        return math.floor((ts + self.params.utc_offset_s) / DAY_S)

    def days_of(self, ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Local day number of each timestamp."""
        return np.floor((ts + self.params.utc_offset_s) / DAY_S).astype(np.int64)

    def ends_day(self, ts: float) -> bool:
        """Whether ``ts`` is a local midnight."""
        return (ts + self.params.utc_offset_s) % DAY_S == 0
