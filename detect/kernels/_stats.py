"""Statistics shared by several kernel topics (compiled once, used by mapping and suspect ranking)."""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel

__all__ = ["pair_corr"]


@kernel
def pair_corr(v, ref, ref_row, differenced, out_corr, out_n):
    """Pearson correlation of each row v[i] (N, T) with ref[ref_row[i]] over the samples where both are read
    (first differences when ``differenced``); out_n = samples used. Two-pass; NaN for zero variance."""
    n_t = v.shape[1]
    lag = 1 if differenced else 0
    for i in range(v.shape[0]):
        r = ref_row[i]
        s1 = 0.0
        s2 = 0.0
        n = 0
        for t in range(lag, n_t):
            a = v[i, t] - v[i, t - 1] if lag else v[i, t]
            b = ref[r, t] - ref[r, t - 1] if lag else ref[r, t]
            if math.isfinite(a) and math.isfinite(b):
                s1 += a
                s2 += b
                n += 1
        out_n[i] = n
        if n < 2:
            out_corr[i] = np.nan
            continue
        m1 = s1 / n
        m2 = s2 / n
        sab = 0.0
        saa = 0.0
        sbb = 0.0
        for t in range(lag, n_t):
            a = v[i, t] - v[i, t - 1] if lag else v[i, t]
            b = ref[r, t] - ref[r, t - 1] if lag else ref[r, t]
            if math.isfinite(a) and math.isfinite(b):
                sab += (a - m1) * (b - m2)
                saa += (a - m1) * (a - m1)
                sbb += (b - m2) * (b - m2)
        out_corr[i] = sab / math.sqrt(saa * sbb) if saa > 0.0 and sbb > 0.0 else np.nan
