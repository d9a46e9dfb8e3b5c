"""Voltage statistics per (interval slot, meter) from individual voltage readings (GB/T 12325, §5).

A reading below ``dead_v`` is a dead supply, not a low voltage: it is counted in ``n_dead`` only, so
outage logic sees it and the qualification rate does not. Qualified = ``low_v <= u <= high_v``.
NaN readings are ignored.
"""

from __future__ import annotations

import math

from detect.kernels import kernel


@kernel
def accumulate_voltage(slot, meter, u, low_v, high_v, dead_v, u_min, u_max, u_sum, n, n_ok, n_dead):  # pragma: no cover - jitted
    for k in range(u.shape[0]):
        v = u[k]
        if math.isnan(v):
            continue
        s = slot[k]
        m = meter[k]
        if v < dead_v:
            n_dead[s, m] += 1
            continue
        if n[s, m] == 0 or v < u_min[s, m]:
            u_min[s, m] = v
        if n[s, m] == 0 or v > u_max[s, m]:
            u_max[s, m] = v
        u_sum[s, m] += v
        n[s, m] += 1
        if low_v <= v <= high_v:
            n_ok[s, m] += 1
