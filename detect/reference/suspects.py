"""numpy reference of ``detect.kernels.suspects`` (vectorised over customers where the kernel loops)."""

from __future__ import annotations

import numpy as np

from detect.kernels.suspects import SD_FLOOR_FRACTION, SD_FLOOR_KWH, SHAPE_MIN_LOSS_FRACTION

__all__ = ["balance_regression", "diff_corr", "drop_cusum", "shape_flattening"]


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


def _baseline(v: np.ndarray, n_base: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and floored sample standard deviation of the first n_base columns (rows: series)."""
    base = v[:, :n_base]
    n = np.isfinite(base).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(base, axis=1) / n
        sd = np.sqrt(np.nansum((base - mu[:, None]) ** 2, axis=1) / (n - 1))
    sd = np.maximum(np.maximum(sd, SD_FLOOR_FRACTION * np.abs(mu)), SD_FLOOR_KWH)
    bad = n < 2
    return np.where(bad, np.nan, mu), np.where(bad, np.nan, sd)


def _cusum(v: np.ndarray, n_base: int, mu: np.ndarray, sd: np.ndarray, sign: float, k: float, h: float):
    """(alarm day, onset day) per row, -1 without alarm; the days run in a loop, rows are vectorised."""
    rows = v.shape[0]
    s = np.zeros(rows)
    last_zero = np.full(rows, n_base - 1)
    alarm = np.full(rows, -1)
    onset = np.full(rows, -1)
    for d in range(n_base, v.shape[1]):
        live = np.isfinite(v[:, d]) & (alarm < 0) & np.isfinite(mu)
        with np.errstate(invalid="ignore"):
            s = np.where(live, np.maximum(0.0, s + sign * (v[:, d] - mu) / sd - k), s)
        last_zero = np.where(live & (s == 0.0), d, last_zero)
        fire = live & (s > h)
        alarm = np.where(fire, d, alarm)
        onset = np.where(fire, last_zero + 1, onset)
    return alarm, onset


def _mean_from(v: np.ndarray, d0: np.ndarray) -> np.ndarray:
    cols = np.arange(v.shape[1])[None, :]
    keep = (cols >= d0[:, None]) & np.isfinite(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(keep, v, 0.0).sum(axis=1) / keep.sum(axis=1)


def _refine(v: np.ndarray, alarm: np.ndarray, onset: np.ndarray, mu: np.ndarray, sign: float) -> np.ndarray:
    """First day in [onset, alarm] at least half-way from the baseline to the level since onset."""
    half = mu + (_mean_from(v, np.maximum(onset, 0)) - mu) / 2
    cols = np.arange(v.shape[1])[None, :]
    with np.errstate(invalid="ignore"):
        ok = (cols >= onset[:, None]) & (cols <= alarm[:, None]) & (sign * (v - half[:, None]) >= 0)
    return np.where((onset >= 0) & ok.any(axis=1), np.argmax(ok, axis=1), onset)


def drop_cusum(x_daily, ntl_daily, n_base, k, h, coincide_days, out_score, out_onset, out_drop_kwh):
    y = ntl_daily[None, :]
    mu_l, sd_l = _baseline(y, n_base)
    alarm_l, onset_l = _cusum(y, n_base, mu_l, sd_l, 1.0, k, h)
    onset_l = _refine(y, alarm_l, onset_l, mu_l, 1.0)
    rise = (_mean_from(y, onset_l) - mu_l)[0] if onset_l[0] >= 0 else np.nan
    mu, sd = _baseline(x_daily, n_base)
    alarm, onset = _cusum(x_daily, n_base, mu, sd, -1.0, k, h)
    onset = _refine(x_daily, alarm, onset, mu, -1.0)
    drop = np.where(alarm >= 0, mu - _mean_from(x_daily, np.maximum(onset, 0)), np.nan)
    with np.errstate(invalid="ignore"):
        match = (onset_l[0] >= 0) & (alarm >= 0) & (np.abs(onset - onset_l[0]) <= coincide_days) & (drop > 0) & (rise > 0)
        out_score[:] = np.where(match, np.minimum(drop, rise) / np.maximum(drop, rise), 0.0)
    out_onset[:] = onset
    out_drop_kwh[:] = drop
    return int(onset_l[0])


def balance_regression(x, r, ridge, n_sweeps, out_delta):
    ok = np.isfinite(r)
    out_delta[:] = 0.0
    if ok.sum() < 2:
        return
    rc = np.where(ok, r - r[ok].mean(), 0.0)
    xm = np.where(ok[None, :] & np.isfinite(x), x, np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nan_to_num(np.nanmean(xm, axis=1))
    xc = np.where(np.isfinite(xm), xm - mean[:, None], 0.0)
    sq = (xc * xc).sum(axis=1)
    lam = ridge * sq.mean() if x.shape[0] else 0.0
    e = rc.copy()
    for _ in range(n_sweeps):
        for i in range(x.shape[0]):
            if sq[i] + lam <= 0:
                continue
            new = max(0.0, (xc[i] @ e + sq[i] * out_delta[i]) / (sq[i] + lam))
            e -= (new - out_delta[i]) * xc[i]
            out_delta[i] = new


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
