"""Customer demand: daily shapes by class, weekday/weekend, random variation, air conditioning, PV.

Everything is computed for one whole day at once as ``(steps, customers)`` arrays, so the day's demand
costs a handful of numpy operations whatever the number of customers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CLASS_COMMERCIAL", "CLASS_INDUSTRIAL", "CLASS_RESIDENTIAL", "DayDemand", "ambient_c",
           "day_demand"]

F64 = npt.NDArray[Any]

CLASS_RESIDENTIAL, CLASS_COMMERCIAL, CLASS_INDUSTRIAL = 0, 1, 2

# Hourly shapes (per unit of the customer's base kW), hour h = value at h:00, linearly interpolated.
_SHAPES = {
    (CLASS_RESIDENTIAL, False): [0.35, 0.3, 0.28, 0.27, 0.27, 0.3, 0.45, 0.75, 0.7, 0.5, 0.45, 0.5,
                                 0.6, 0.5, 0.45, 0.45, 0.55, 0.75, 1.0, 1.15, 1.2, 1.05, 0.8, 0.5],
    (CLASS_RESIDENTIAL, True): [0.4, 0.33, 0.3, 0.28, 0.28, 0.3, 0.38, 0.55, 0.75, 0.8, 0.75, 0.8,
                                0.85, 0.75, 0.7, 0.7, 0.75, 0.9, 1.1, 1.2, 1.2, 1.05, 0.85, 0.55],
    (CLASS_COMMERCIAL, False): [0.2, 0.2, 0.2, 0.2, 0.2, 0.22, 0.3, 0.5, 0.85, 1.0, 1.0, 1.0,
                                0.95, 1.0, 1.0, 1.0, 1.0, 0.95, 0.9, 0.85, 0.7, 0.5, 0.3, 0.22],
    (CLASS_COMMERCIAL, True): [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.35, 0.55, 0.7, 0.75, 0.75,
                               0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.7, 0.65, 0.55, 0.4, 0.28, 0.22],
    (CLASS_INDUSTRIAL, False): [0.25, 0.25, 0.25, 0.25, 0.25, 0.3, 0.5, 0.9, 1.0, 1.0, 1.0, 0.95,
                                0.8, 1.0, 1.0, 1.0, 0.95, 0.7, 0.4, 0.3, 0.28, 0.27, 0.26, 0.25],
    (CLASS_INDUSTRIAL, True): [0.2] * 24,
}
# Air conditioning: share of the AC capacity running by hour (occupancy), scaled by temperature.
_AC_USE = [0.6, 0.6, 0.55, 0.5, 0.5, 0.45, 0.3, 0.25, 0.3, 0.4, 0.5, 0.6,
           0.7, 0.75, 0.75, 0.7, 0.7, 0.75, 0.85, 0.95, 1.0, 1.0, 0.9, 0.75]


def _hourly(values: list[float], hour: F64) -> F64:
    ext = np.asarray([*values, values[0]], dtype=np.float64)
    return np.interp(hour, np.arange(25, dtype=np.float64), ext)


def ambient_c(hour: F64, *, mean_c: float, swing_c: float, offset_c: float | F64 = 0.0) -> F64:
    """Ambient temperature: coolest at 05:00, warmest at 15:00 (cosine), plus an offset (heat wave)."""
    return mean_c + swing_c * np.cos(2 * math.pi * (hour - 15.0) / 24.0) + offset_c


class DayDemand:
    """One day of demand: ``p_kw``/``q_kvar`` consumed and ``pv_kw`` generated, shape (steps, n)."""

    def __init__(self, p_kw: F64, q_kvar: F64, pv_kw: F64, t_amb_c: F64) -> None:
        self.p_kw, self.q_kvar, self.pv_kw, self.t_amb_c = p_kw, q_kvar, pv_kw, t_amb_c


def day_demand(*, hour: F64, weekend: bool, klass: npt.NDArray[np.int8], base_kw: F64, ac_kw: F64,
               pf: F64, pv_kwp: F64, t_amb_c: F64, rng: np.random.Generator,
               slot_steps: int) -> DayDemand:
    """Demand of every customer over one day sampled at ``hour`` (fractional hours, one per step).

    Variation: a per-customer day factor, a per-customer smoothed random walk over 15-min slots and
    a small per-step jitter; AC load grows linearly above 24 °C; PV follows a clear-sky half sine
    between 06:00 and 18:30 scaled by the day's cloudiness and slot-level cloud noise.
    """
    steps, n = hour.size, klass.size
    shape = np.empty((steps, n))
    for (kl, we), values in _SHAPES.items():
        if we != weekend:
            continue
        cols = klass == kl
        if cols.any():
            shape[:, cols] = _hourly(values, hour)[:, None]
    slots = -(-steps // slot_steps)
    walk = rng.normal(0.0, 0.12, size=(slots + 2, n))
    walk = (walk[:-2] + walk[1:-1] + walk[2:]) / 3.0            # smooth over neighbouring slots
    slot_noise = np.repeat(walk, slot_steps, axis=0)[:steps]
    day_factor = rng.lognormal(0.0, 0.15, size=n)
    jitter = rng.normal(0.0, 0.04, size=(steps, n))
    p = base_kw * day_factor * shape * np.clip(1.0 + slot_noise + jitter, 0.2, None)
    heat = np.clip((t_amb_c - 24.0) / 10.0, 0.0, 1.5)[:, None]
    p += ac_kw * heat * _hourly(_AC_USE, hour)[:, None] * np.clip(1.0 + slot_noise, 0.3, None)
    q = p * np.tan(np.arccos(pf))
    sun = np.clip(np.sin(math.pi * (hour - 6.0) / 12.5), 0.0, None)
    clouds = rng.uniform(0.55, 1.0)
    cloud_slot = np.repeat(np.clip(1.0 - np.abs(rng.normal(0, 0.12, size=slots)), 0.3, 1.0),
                           slot_steps)[:steps]
    pv = (sun * clouds * cloud_slot)[:, None] * pv_kwp * 0.85
    return DayDemand(p, q, pv, t_amb_c)
