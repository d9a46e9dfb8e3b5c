"""Suspect ranking when non-technical loss rises (detection.md §2.3, §2.5).

Three kernels over a window of W days, each giving one number per customer, then a combined score:

- ``diff_corr``: Pearson correlation between the first differences of a customer's interval energy and of
  the area NTL series. Differencing removes the daily cycle every household shares, so what is left is the
  customer's own switching, which a bypass makes the NTL follow.
- ``drop_cusum``: a one-sided CUSUM per customer on the daily drop below its own baseline, and one on the
  rise of the daily NTL; the score is the size match of drop and rise when both alarm within
  ``coincide_days`` of each other (1 = the customer's drop explains the NTL rise).
- ``balance_regression``: r(t) = Σ δ_i x_i(t) + c with δ ≥ 0, where r is the unexplained energy
  (supply − tech loss − Σ x); ridge toward δ = 0, solved by projected coordinate descent. The ranking fits
  it on first differences since the NTL onset, so a level step cannot masquerade as a negative k.
- ``shape_flattening``: a flattened profile (h5) keeps the daily total, so neither the drop nor the
  balance sees it; but the customer's within-day variance collapses and the NTL's grows by as much.
  k_i = 1 + δ_i > 1 means customer i under-reports by δ_i / (1 + δ_i) of its true use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_shape
from detect.kernels._stats import pair_corr
from detect.params import TheftParams

__all__ = ["Ranking", "balance_regression", "diff_corr", "drop_cusum", "map_at_k", "rank_suspects",
           "shape_flattening"]

SD_FLOOR_FRACTION = 0.05  # a baseline's standard deviation is at least 5 % of its mean ...
SD_FLOOR_KWH = 1e-3       # ... and at least this, so flat or idle series cannot give infinite z-scores
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
def _baseline(v, n_base):
    s = 0.0
    n = 0
    for d in range(n_base):
        if math.isfinite(v[d]):
            s += v[d]
            n += 1
    if n < 2:
        return np.nan, np.nan
    mu = s / n
    ss = 0.0
    for d in range(n_base):
        if math.isfinite(v[d]):
            ss += (v[d] - mu) * (v[d] - mu)
    sd = math.sqrt(ss / (n - 1))
    return mu, max(sd, SD_FLOOR_FRACTION * abs(mu), SD_FLOOR_KWH)


@kernel
def _cusum_onset(v, n_base, mu, sd, sign, k, h):
    """First alarm of the one-sided CUSUM of sign·(v − mu)/sd after the baseline and its change-point
    estimate (the day after the statistic last left zero); (-1, -1) without alarm."""
    s = 0.0
    last_zero = n_base - 1
    for d in range(n_base, v.shape[0]):
        if not math.isfinite(v[d]):
            continue
        s = max(0.0, s + sign * (v[d] - mu) / sd - k)
        if s == 0.0:
            last_zero = d
        elif s > h:
            return d, last_zero + 1
    return -1, -1


@kernel
def _mean_from(v, d0):
    s = 0.0
    n = 0
    for d in range(d0, v.shape[0]):
        if math.isfinite(v[d]):
            s += v[d]
            n += 1
    return s / n if n > 0 else np.nan


@kernel
def _refine(v, alarm, onset, mu, sign):
    """Sharpen a CUSUM change point: the first day from ``onset`` to ``alarm`` that is at least half-way
    from the baseline to the new level (noise lets the statistic leave zero a day or two early)."""
    half = mu + (_mean_from(v, onset) - mu) / 2.0
    for d in range(onset, alarm + 1):
        if math.isfinite(v[d]) and sign * (v[d] - half) >= 0.0:
            return d
    return onset


@kernel
def drop_cusum(x_daily, ntl_daily, n_base, k, h, coincide_days, out_score, out_onset, out_drop_kwh):
    """Per customer: onset day of a sustained drop below its own baseline (first ``n_base`` days), the mean
    daily drop since then (kWh), and the score min(drop, rise) / max(drop, rise) when the NTL rose within
    ``coincide_days`` of that onset (0 otherwise). x_daily: (N, D); ntl_daily: (D,).
    Returns the NTL onset day (-1 when the NTL did not rise)."""
    mu_l, sd_l = _baseline(ntl_daily, n_base)
    alarm_l, onset_l = _cusum_onset(ntl_daily, n_base, mu_l, sd_l, 1.0, k, h) if math.isfinite(mu_l) else (-1, -1)
    if onset_l >= 0:
        onset_l = _refine(ntl_daily, alarm_l, onset_l, mu_l, 1.0)
    rise = _mean_from(ntl_daily, onset_l) - mu_l if onset_l >= 0 else np.nan
    for i in range(x_daily.shape[0]):
        out_score[i] = 0.0
        out_onset[i] = -1
        out_drop_kwh[i] = np.nan
        mu, sd = _baseline(x_daily[i], n_base)
        if not math.isfinite(mu):
            continue
        alarm, onset = _cusum_onset(x_daily[i], n_base, mu, sd, -1.0, k, h)
        if alarm < 0:
            continue
        onset = _refine(x_daily[i], alarm, onset, mu, -1.0)
        drop = mu - _mean_from(x_daily[i], onset)
        out_onset[i] = onset
        out_drop_kwh[i] = drop
        if onset_l >= 0 and abs(onset - onset_l) <= coincide_days and drop > 0.0 and rise > 0.0:
            out_score[i] = min(drop, rise) / max(drop, rise)
    return onset_l


@kernel
def balance_regression(x, r, ridge, n_sweeps, out_delta):
    """Non-negative ridge fit of r (T,) on the rows of x (N, T), both centred over the periods where r is
    read (a constant absorbs technical and fixed loss); unread x values count as the row mean.
    Minimises ‖r − Σ δ_i x_i‖² + λ‖δ‖² with δ ≥ 0, λ = ridge · mean ‖x_i‖²."""
    n, n_t = x.shape
    ok = np.zeros(n_t, dtype=np.bool_)
    rc = np.zeros(n_t)
    nr = 0
    sr = 0.0
    for t in range(n_t):
        if math.isfinite(r[t]):
            ok[t] = True
            nr += 1
            sr += r[t]
    for i in range(n):
        out_delta[i] = 0.0
    if nr < 2:
        return
    for t in range(n_t):
        if ok[t]:
            rc[t] = r[t] - sr / nr
    xc = np.zeros((n, n_t))
    sq = np.zeros(n)
    for i in range(n):
        s = 0.0
        c = 0
        for t in range(n_t):
            if ok[t] and math.isfinite(x[i, t]):
                s += x[i, t]
                c += 1
        mean = s / c if c > 0 else 0.0
        for t in range(n_t):
            if ok[t] and math.isfinite(x[i, t]):
                xc[i, t] = x[i, t] - mean
            sq[i] += xc[i, t] * xc[i, t]
    lam = ridge * (sq.sum() / n) if n > 0 else 0.0
    e = rc.copy()  # residual r − Σ δ_i x_i, with δ = 0
    for _ in range(n_sweeps):
        for i in range(n):
            den = sq[i] + lam
            if den <= 0.0:
                continue
            g = 0.0
            for t in range(n_t):
                g += xc[i, t] * e[t]
            new = max(0.0, out_delta[i] + g / den - lam * out_delta[i] / den)
            step = new - out_delta[i]
            if step != 0.0:
                for t in range(n_t):
                    e[t] -= step * xc[i, t]
                out_delta[i] = new


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


@dataclass(frozen=True, kw_only=True)
class Ranking:
    """Per-customer components, combined score and the order (best suspect first)."""

    corr: npt.NDArray[np.float64]
    cusum: npt.NDArray[np.float64]
    onset_day: npt.NDArray[np.int64]
    drop_kwh: npt.NDArray[np.float64]
    k_balance: npt.NDArray[np.float64]
    physical: npt.NDArray[np.float64]
    shape: npt.NDArray[np.float64]      # within-day variance lost ↔ gained by the NTL (h5)
    ntl_onset_day: int                  # -1: no NTL step in the window
    ntl_swing_ratio: float              # NTL within-day variance, recent / baseline days (h5/h6 signature)
    score: npt.NDArray[np.float64]
    order: npt.NDArray[np.intp]


def _daily(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Day totals (rows, days) from (rows, days, intervals): the mean of the read intervals × intervals per
    day when at least half were read, else NaN (an unread interval is never a zero)."""
    per_day = a.shape[2]
    read = np.isfinite(a).sum(axis=2)
    total = np.where(np.isfinite(a), a, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.ascontiguousarray(np.where(2 * read >= per_day, total / read * per_day, np.nan))


def rank_suspects(x: Any, ntl: Any, params: TheftParams, *, intervals_per_day: int = 96,
                  physical: Any = None, n_sweeps: int = 30, backend: str = "numba") -> Ranking:
    """Rank customers over a window: x (N, T) interval energies (kWh), ntl (T,) area NTL per interval
    (supply − sales − technical loss, kWh), physical (N,) evidence in [0, 1] (e.g. share of the window with a
    physical check raised). T must be whole days of ``intervals_per_day``."""
    xa = as_f64("x", x, 2)
    na = as_f64("ntl", ntl, 1)
    n, t = xa.shape
    check_shape("ntl", na, (t,))
    if t % intervals_per_day:
        raise ValueError(f"x has {t} intervals, not whole days of {intervals_per_day}")
    days = t // intervals_per_day
    if days <= params.baseline_days:
        raise ValueError(f"window of {days} days must be longer than baseline_days = {params.baseline_days}")
    phys = np.zeros(n) if physical is None else as_f64("physical", physical, 1)
    check_shape("physical", phys, (n,))
    k = impl("suspects", backend)
    xd = _daily(xa.reshape(n, days, intervals_per_day))
    nd = _daily(na.reshape(1, days, intervals_per_day))[0]
    cusum, onset, drop = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n)
    ntl_onset = int(k.drop_cusum(xd, nd, params.baseline_days, params.cusum_k, params.cusum_h,
                                 params.coincide_days, cusum, onset, drop))
    # Correlation and regression assume one k_i over their window: after an NTL step, use the days since it
    # (at least two); without a step (theft older than the window, or none) the whole window.
    t0 = min(ntl_onset, days - 2) * intervals_per_day if ntl_onset >= 0 else 0
    seg_x, seg_ntl = np.ascontiguousarray(xa[:, t0:]), np.ascontiguousarray(na[t0:])
    corr = np.empty(n)
    k.diff_corr(seg_x, seg_ntl, intervals_per_day, corr)
    # the regression runs on first differences too: a level step (the onset itself, a tech-loss drift) must
    # not be read as a negative k; Δr = Σ δ_i Δx_i holds wherever r = Σ δ_i x_i + c does
    delta = np.empty(n)
    k.balance_regression(np.ascontiguousarray(np.diff(seg_x, axis=1)), np.diff(seg_ntl), params.ridge,
                         n_sweeps, delta)
    shape = np.empty(n)
    swing = float(k.shape_flattening(xa, na, intervals_per_day, params.baseline_days, SHAPE_RISE_FACTOR, shape))
    score = (params.weight_corr * np.clip(np.abs(np.nan_to_num(corr)), 0.0, 1.0) + params.weight_cusum * cusum
             + params.weight_shape * shape
             + params.weight_balance * np.clip(delta, 0.0, 1.0) + params.weight_physical * np.clip(phys, 0.0, 1.0))
    order = np.argsort(-score, kind="stable")
    return Ranking(corr=corr, cusum=cusum, onset_day=onset, drop_kwh=drop, k_balance=1.0 + delta,
                   physical=phys, shape=shape, ntl_onset_day=ntl_onset, ntl_swing_ratio=swing, score=score, order=order)


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
