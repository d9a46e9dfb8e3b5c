"""Interval-level suspect evidence (docs/lineloss.md §4): what the 15-min series say, beside the daily drop
and the voltage evidence of ``detect.kernels.evidence``.

- ``diff_corr``: Pearson correlation between the first differences of a customer's interval energy and of
  its phase's NTL series. Differencing removes the daily cycle every household shares, so what is left is
  the customer's own switching, which a shunt makes the NTL follow (the NTL is a fixed share of its load).
- ``shape_flattening``: a flattened profile (Jokar h5) keeps the daily total, so no daily balance sees it;
  but the customer's within-day variance collapses and the NTL's grows by as much (``ntl_swing``).
- ``map_at_k``: the ranking measure of the evaluation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_shape
from detect.kernels._stats import pair_corr

__all__ = ["SHAPE_RISE_FACTOR", "diff_corr", "map_at_k", "shape_flattening", "swing"]

SHAPE_RISE_FACTOR = 2.0   # the NTL's within-day variance must at least double for the shape feature ...
SHAPE_MIN_LOSS_FRACTION = 0.5  # ... and the customer lose at least half of its own (not day-to-day noise)


@kernel
def diff_corr(x, y, min_pairs, out):
    """Pearson correlation of first differences of each row of x (N, T) with y (T,) over the pairs where
    all four values are read; NaN with fewer than ``min_pairs`` pairs or a zero variance."""
    n = x.shape[0]
    used = np.zeros(n, np.int64)
    pair_corr(x, np.ascontiguousarray(y).reshape(1, y.shape[0]), np.zeros(n, np.int64), True, out, used)
    for i in range(n):
        if used[i] < min_pairs:
            out[i] = np.nan


@kernel
def _day_var(v, d, per_day):
    """Variance of the read intervals of day d of series v; NaN with fewer than half read."""
    s = 0.0
    n = 0
    for k in range(d * per_day, (d + 1) * per_day):
        if math.isfinite(v[k]):
            s += v[k]
            n += 1
    if 2 * n < per_day or n < 2:
        return np.nan
    m = s / n
    ss = 0.0
    for k in range(d * per_day, (d + 1) * per_day):
        if math.isfinite(v[k]):
            ss += (v[k] - m) * (v[k] - m)
    return ss / n


@kernel
def _mean_day_var(v, d0, d1, per_day):
    s = 0.0
    n = 0
    for d in range(d0, d1):
        x = _day_var(v, d, per_day)
        if math.isfinite(x):
            s += x
            n += 1
    return s / n if n > 0 else np.nan


@kernel
def shape_flattening(x, ntl, per_day, n_base, rise_factor, out):
    """Flattened profile (h5: the day's total kept, its shape removed). Per customer the within-day
    variance lost since the baseline days, matched to the within-day variance the NTL gained:
    min(lost, gained) / max(lost, gained) when the NTL variance grew ``rise_factor``-fold and the customer
    lost at least half of its own, else 0. Returns the NTL's within-day variance ratio (recent / baseline):
    a swing that leaves the daily NTL unchanged (h5, h6) shows here and nowhere in the daily balance."""
    days = ntl.shape[0] // per_day
    nb = _mean_day_var(ntl, 0, n_base, per_day)
    nr = _mean_day_var(ntl, n_base, days, per_day)
    gained = nr - nb
    rose = math.isfinite(gained) and nr > rise_factor * nb and gained > 0.0
    ratio = nr / nb if math.isfinite(gained) and nb > 0.0 else np.nan
    for i in range(x.shape[0]):
        out[i] = 0.0
        if not rose:
            continue
        vb = _mean_day_var(x[i], 0, n_base, per_day)
        lost = vb - _mean_day_var(x[i], n_base, days, per_day)
        if math.isfinite(lost) and lost > 0.0 and lost >= SHAPE_MIN_LOSS_FRACTION * vb:
            out[i] = min(lost, gained) / max(lost, gained)
    return ratio


def swing(x: Any, ntl: Any, *, intervals_per_day: int, baseline_days: int,
          backend: str = "numba") -> tuple[float, npt.NDArray[np.float64]]:
    """The NTL's within-day variance ratio (recent days / the first ``baseline_days`` of the window) and each
    customer's flattened-shape match (``shape_flattening``): x (N, T) interval energies, ntl (T,), whole days."""
    xa = as_f64("x", x, 2)
    na = as_f64("ntl", ntl, 1)
    n, t = xa.shape
    check_shape("ntl", na, (t,))
    if t % intervals_per_day:
        raise ValueError(f"x has {t} intervals, not whole days of {intervals_per_day}")
    if t // intervals_per_day <= baseline_days:
        raise ValueError(f"window of {t // intervals_per_day} days must be longer than baseline_days = {baseline_days}")
    shape = np.empty(n)
    ratio = float(impl("suspects", backend).shape_flattening(xa, na, intervals_per_day, baseline_days,
                                                             SHAPE_RISE_FACTOR, shape))
    return ratio, shape


def map_at_k(ranked: Any, truth: Any, k: int) -> float:
    """MAP@k as used by Zheng et al. 2018: mean of precision@k_i over the true positives within the top k,
    where k_i is the rank of the i-th one; 0 when none is in the top k."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    positives = set(np.asarray(truth).tolist())
    hits = 0
    total = 0.0
    for rank, item in enumerate(np.asarray(ranked)[:k].tolist(), start=1):
        if item in positives:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0
