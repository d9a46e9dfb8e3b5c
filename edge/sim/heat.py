"""The simulated transformer's own heat: ground truth for the hot-spot alarm.

The simulator's transformer is an ONAN distribution transformer. Its top-oil and hot-spot temperatures
follow the IEC 60076-7 differential equations driven by the simulated load (hottest phase current over
rated current) and ambient, one simulation step at a time with load and ambient held over the step (the
exact solution of each first-order equation over the step). This is the simulator's physics, written
apart from ``detect/``: the engine only ever sees the exported readings.

``TransformerHeat.day`` carries the state from day to day; ``episodes`` are the spans in which the
hot-spot is at or above the IEC 60076-7 normal cyclic limit (120 °C), each with its peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["HOTSPOT_LIMIT_C", "Episode", "TransformerHeat"]

F64 = npt.NDArray[np.float64]
HOTSPOT_LIMIT_C = 120.0
# IEC 60076-7 distribution transformer, ONAN: Δθor, H·gr (K), τo, τw (min), R, x, y, k11, k21, k22
DTOR, DTHR, TAU_O, TAU_W, R, X, Y, K11, K21, K22 = 55.0, 23.0, 180.0, 4.0, 5.0, 0.8, 1.6, 1.0, 1.0, 2.0


@dataclass
class Episode:
    start: float
    end: float
    peak_c: float


@dataclass
class TransformerHeat:
    """Top-oil θo and the two hot-spot rise terms, carried across days; the episodes found so far."""

    step_s: float
    state: F64 | None = None                  # θo, Δθ1, Δθ2
    episodes: list[Episode] = field(default_factory=list)
    _open: Episode | None = None

    def day(self, t: F64, beta: F64, t_amb: F64) -> F64:
        """Hot-spot at each step of one day (``t`` step starts, ``beta`` hottest-phase load factor)."""
        e_o = math.exp(-self.step_s / (K11 * TAU_O * 60.0))
        e_1 = math.exp(-self.step_s / (K22 * TAU_W * 60.0))
        e_2 = math.exp(-self.step_s / (TAU_O * 60.0 / K22))
        oil = t_amb + ((1.0 + beta ** 2 * R) / (1.0 + R)) ** X * DTOR
        w1, w2 = K21 * DTHR * beta ** Y, (K21 - 1.0) * DTHR * beta ** Y
        if self.state is None:
            self.state = np.array([oil[0], w1[0], w2[0]])
        hot = np.empty(len(t))
        o, d1, d2 = self.state
        for k in range(len(t)):
            hot[k] = o + d1 - d2
            o = oil[k] + (o - oil[k]) * e_o
            d1 = w1[k] + (d1 - w1[k]) * e_1
            d2 = w2[k] + (d2 - w2[k]) * e_2
        self.state = np.array([o, d1, d2])
        self._track(t, hot)
        return hot

    def _track(self, t: F64, hot: F64) -> None:
        for k in range(len(t)):
            over = hot[k] >= HOTSPOT_LIMIT_C
            if over and self._open is None:
                self._open = Episode(start=float(t[k]), end=float(t[k]) + self.step_s, peak_c=float(hot[k]))
            elif over and self._open is not None:
                self._open.end = float(t[k]) + self.step_s
                self._open.peak_c = max(self._open.peak_c, float(hot[k]))
            elif not over and self._open is not None:
                self.episodes.append(self._open)
                self._open = None

    def close(self) -> list[Episode]:
        """Every episode, an open one ending at the end of the data."""
        if self._open is not None:
            self.episodes.append(self._open)
            self._open = None
        return self.episodes
