"""Reference of ``detect.kernels.voltage`` with numpy unbuffered scatter operations."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def accumulate_voltage(slot: I64, meter: I64, u: F64, low_v: float, high_v: float, dead_v: float,
                       u_min: F64, u_max: F64, u_sum: F64, n: I64, n_ok: I64, n_dead: I64) -> None:
    """Add voltage readings to the per (slot, meter) min/max/sum/count/qualified/dead accumulators."""
    present = ~np.isnan(u)
    dead = present & (u < dead_v)
    live = present & ~dead
    np.add.at(n_dead, (slot[dead], meter[dead]), 1)
    s, m, v = slot[live], meter[live], u[live]
    fresh = n[s, m] == 0
    # Cells seen for the first time start from +inf/-inf so that min/max take the new readings.
    u_min[s[fresh], m[fresh]] = np.inf
    u_max[s[fresh], m[fresh]] = -np.inf
    np.minimum.at(u_min, (s, m), v)
    np.maximum.at(u_max, (s, m), v)
    np.add.at(u_sum, (s, m), v)
    np.add.at(n, (s, m), 1)
    np.add.at(n_ok, (s, m), ((v >= low_v) & (v <= high_v)).astype(n_ok.dtype))
