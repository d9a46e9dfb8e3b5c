"""numpy reference of ``detect.kernels.suspects`` (vectorised over customers where the kernel loops)."""

from __future__ import annotations

import numpy as np

from detect.kernels.suspects import SHAPE_MIN_LOSS_FRACTION

__all__ = ["diff_corr", "shape_flattening"]


def diff_corr(x, y, min_pairs, out):
    dx, dy = np.diff(x, axis=1), np.diff(y)
    for i in range(x.shape[0]):
        ok = np.isfinite(dx[i]) & np.isfinite(dy)
        if ok.sum() < max(min_pairs, 2):
            out[i] = np.nan
            continue
        a, b = dx[i, ok] - dx[i, ok].mean(), dy[ok] - dy[ok].mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        out[i] = (a * b).sum() / den if (a * a).sum() > 0 and (b * b).sum() > 0 else np.nan


def _mean_day_var(v: np.ndarray, d0: int, d1: int, per_day: int) -> np.ndarray:
    """Mean over days d0..d1-1 of each row's within-day variance (days with half the intervals read)."""
    days = v[..., d0 * per_day:d1 * per_day].reshape(v.shape[0], d1 - d0, per_day)
    n = np.isfinite(days).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(np.isfinite(days), days, 0.0).sum(axis=2)
        mean = s / n
        var = np.where(np.isfinite(days), (days - mean[..., None]) ** 2, 0.0).sum(axis=2) / n
        var = np.where((2 * n >= per_day) & (n >= 2), var, np.nan)
        cnt = np.isfinite(var).sum(axis=1)
        return np.where(cnt > 0, np.nansum(var, axis=1) / cnt, np.nan)


def shape_flattening(x, ntl, per_day, n_base, rise_factor, out):
    days = ntl.shape[0] // per_day
    nb = _mean_day_var(ntl[None, :], 0, n_base, per_day)[0]
    nr = _mean_day_var(ntl[None, :], n_base, days, per_day)[0]
    gained = nr - nb
    out[:] = 0.0
    ratio = float(nr / nb) if np.isfinite(gained) and nb > 0 else float("nan")
    if not (np.isfinite(gained) and nr > rise_factor * nb and gained > 0):
        return ratio
    vb = _mean_day_var(x, 0, n_base, per_day)
    lost = vb - _mean_day_var(x, n_base, days, per_day)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lost) & (lost > 0) & (lost >= SHAPE_MIN_LOSS_FRACTION * vb)
        out[:] = np.where(ok, np.minimum(lost, gained) / np.maximum(lost, gained), 0.0)
    return ratio
