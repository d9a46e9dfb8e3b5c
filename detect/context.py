"""The area context every stage reads and none changes: the area, its parameters, the kernel modules of
the chosen backend, the calendar (local days) those parameters define, and an external ambient series
when one was given (``AmbientSeries``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from detect.area import Area
from detect.backend import TOPICS, kernels
from detect.params import Params

__all__ = ["DAY_S", "AmbientSeries", "AreaContext"]

DAY_S = 86400


@dataclass(frozen=True, eq=False)
class AmbientSeries:
    """Ambient temperature known ahead for the whole run (a weather service's export): sample times
    (epoch s, increasing) and values (°C)."""

    ts: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.ts.shape != self.value.shape or self.ts.ndim != 1:
            raise ValueError("ambient series: ts and value must be 1-D arrays of one length")
        if len(self.ts) > 1 and not (np.diff(self.ts) > 0).all():
            raise ValueError("ambient series: sample times must increase")

    def at(self, ts: npt.NDArray[np.float64], max_age_s: float) -> npt.NDArray[np.float64]:
        """The ambient at ``ts``: linear between two samples at most ``2·max_age_s`` apart, else the
        nearest sample if it is at most ``max_age_s`` away, else NaN."""
        out = np.full(len(ts), np.nan)
        if not len(self.ts):
            return out
        right = np.clip(np.searchsorted(self.ts, ts), 0, len(self.ts) - 1)
        left = np.clip(right - 1, 0, len(self.ts) - 1)
        tl, tr = self.ts[left], self.ts[right]
        span = tr - tl
        inside = (tl <= ts) & (ts <= tr) & (span > 0) & (span <= 2 * max_age_s)
        frac = np.divide(ts - tl, span, out=np.zeros(len(ts)), where=span > 0)
        out[inside] = (self.value[left] + (self.value[right] - self.value[left]) * frac)[inside]
        dl, dr = np.abs(ts - tl), np.abs(tr - ts)
        near = np.where(dl <= dr, self.value[left], self.value[right])
        hold = ~inside & (np.minimum(dl, dr) <= max_age_s)
        out[hold] = near[hold]
        return out


@dataclass(frozen=True, eq=False)
class AreaContext:
    area: Area
    params: Params
    backend: str                         # "numba" | "numpy"
    ops: Mapping[str, ModuleType]        # kernel module per topic (detect.backend.TOPICS)
    weather: AmbientSeries | None = None

    @classmethod
    def build(cls, area: Area, params: Params, backend: str, weather: AmbientSeries | None = None) -> AreaContext:
        """The context the stages read; a nominal voltage left at 0 becomes the area's LV system's."""
        if params.voltage.nominal_v <= 0:
            params = dataclasses.replace(params, voltage=dataclasses.replace(params.voltage, nominal_v=area.nominal_v))
        return cls(area=area, params=params, backend=backend, ops={t: kernels(t, backend) for t in TOPICS},
                   weather=weather)

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

    def first_interval(self, day: int) -> int:
        """Index (``ts // interval_s``) of the first interval of local day ``day``."""
        return int(day) * self.per_day - self.params.utc_offset_s // self.params.interval_s

    def ends_day(self, ts: float) -> bool:
        """Whether ``ts`` is a local midnight."""
        return (ts + self.params.utc_offset_s) % DAY_S == 0
