"""Transformer load rate and three-phase current imbalance per master sample (detection.md §3.1, §4).

β_max = hottest-phase current / rated current; β_S = √(P² + Q²) / S_rated; both in percent.
Imbalance formulas (``formula`` code): 0 (Imax − Imin)/Imax, 1 (Imax − Imin)/Iavg, 2 (Imax − Iavg)/Iavg.
Missing phases (NaN) are skipped for β_max; imbalance needs all three phases.
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel


@kernel
def load_rates(i_a, i_b, i_c, p_kw, q_kvar, rated_a, rated_kva):  # pragma: no cover - jitted
    n = i_a.shape[0]
    beta_max = np.empty(n)
    beta_s = np.empty(n)
    s_kva = np.empty(n)
    for k in range(n):
        m = -1.0
        for v in (i_a[k], i_b[k], i_c[k]):
            if not math.isnan(v) and abs(v) > m:
                m = abs(v)
        beta_max[k] = m / rated_a * 100.0 if m >= 0.0 else np.nan
        s = math.sqrt(p_kw[k] * p_kw[k] + q_kvar[k] * q_kvar[k])
        s_kva[k] = s
        beta_s[k] = s / rated_kva * 100.0
    return beta_max, beta_s, s_kva


@kernel
def imbalance_pct(i_a, i_b, i_c, formula):  # pragma: no cover - jitted
    n = i_a.shape[0]
    out = np.empty(n)
    for k in range(n):
        a = abs(i_a[k])
        b = abs(i_b[k])
        c = abs(i_c[k])
        hi = max(a, max(b, c))
        lo = min(a, min(b, c))
        avg = (a + b + c) / 3.0
        if math.isnan(a) or math.isnan(b) or math.isnan(c) or hi <= 0.0:
            out[k] = np.nan
        elif formula == 0:
            out[k] = (hi - lo) / hi * 100.0
        elif formula == 1:
            out[k] = (hi - lo) / avg * 100.0
        else:
            out[k] = (hi - avg) / avg * 100.0
    return out
