"""numpy reference of ``detect.kernels.lineloss``: same signatures, written for clarity, not speed."""

from __future__ import annotations

import numpy as np

from detect.kernels.lineloss import (
    BAND_HIGH,
    BAND_NEGATIVE,
    BAND_NONE,
    BAND_QUALIFIED,
    JITTER_KWH,
    PF_FLOOR,
    ROLLOVER_WINDOW,
    STATUS_COMPUTED,
    STATUS_ESTIMATED,
    STATUS_NOT_COMPUTABLE,
)

__all__ = ["abnormal_runs", "area_balance", "daily_energy", "history_estimate", "interval_energy",
           "loss_band", "register_at_bounds", "service_loss"]


def _unwrap(v: np.ndarray, roll: float) -> tuple[np.ndarray, np.ndarray]:
    """Advances between readings with jitter clamped and rollovers undone; replacements start a segment."""
    d = np.diff(v)
    jitter = (d < 0) & (d >= -JITTER_KWH)
    rolled = (d < -JITTER_KWH) & (roll > 0) & (d + roll >= 0) & (d + roll < ROLLOVER_WINDOW * roll)
    replaced = (d < -JITTER_KWH) & ~rolled
    d = np.where(jitter | replaced, 0.0, np.where(rolled, d + roll, d))
    cont = np.concatenate([[0.0], np.cumsum(d)])
    seg = np.concatenate([[0], np.cumsum(replaced)])
    return cont, seg


def register_at_bounds(ts, reg, count, bounds, rollover_kwh, max_gap_s, out_value, out_segment):
    out_value[:] = np.nan
    out_segment[:] = -1
    for m in range(ts.shape[0]):
        t = ts[m, : count[m]]
        v = reg[m, : count[m]]
        ok = np.isfinite(t) & np.isfinite(v)
        t, v = t[ok], v[ok]
        if t.size == 0:
            continue
        # cumulative sums in the relative frame keep precision at +1e8 offsets
        cont, seg = _unwrap(v, rollover_kwh[m])
        for b, bt in enumerate(bounds):
            hit = np.flatnonzero(t == bt)
            if hit.size:
                k = hit[0]  # duplicates at the bound: the first reading wins (as in the kernel)
                out_value[m, b], out_segment[m, b] = cont[k], seg[k]
                continue
            j = np.searchsorted(t, bt)  # t[j-1] < bt < t[j]
            if 0 < j < t.size and seg[j - 1] == seg[j] and t[j] - t[j - 1] <= max_gap_s:
                w = (bt - t[j - 1]) / (t[j] - t[j - 1])
                out_value[m, b] = cont[j - 1] + (cont[j] - cont[j - 1]) * w
                out_segment[m, b] = seg[j]


def interval_energy(value, segment, out):
    same = (segment[:, :-1] >= 0) & (segment[:, :-1] == segment[:, 1:])
    out[:] = np.where(same, value[:, 1:] - value[:, :-1], np.nan)


def daily_energy(interval_e, frozen_start, frozen_end, rollover_kwh, out):
    d = frozen_end - frozen_start
    d = np.where((d < 0) & (d >= -JITTER_KWH), 0.0, d)
    rolled = (d < 0) & (rollover_kwh > 0) & (d + rollover_kwh >= 0) & (d + rollover_kwh < ROLLOVER_WINDOW * rollover_kwh)
    d = np.where(rolled, d + rollover_kwh, d)
    frozen_ok = np.isfinite(d) & (d >= 0)
    out[:] = np.where(frozen_ok, d, interval_e.sum(axis=1))


def history_estimate(hist, min_samples, out):
    n = np.isfinite(hist).sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(hist, axis=1) / n
    out[:] = np.where((n >= min_samples) & (n > 0), mean, np.nan)


def area_balance(e_fwd, e_rev, pv, est_fwd, est_rev, min_coverage_pct,
                 out_supply, out_sales, out_loss_pct, out_coverage_pct, out_status):
    n = pv.shape[0]
    fwd, rev = e_fwd[:, :n], np.where(pv, e_rev[:, :n], 0.0)
    measured = np.isfinite(fwd) & np.isfinite(rev)
    fwd_f = np.where(np.isfinite(fwd), fwd, est_fwd)
    rev_f = np.where(np.isfinite(rev), rev, est_rev)
    filled = np.isfinite(fwd_f) & np.isfinite(rev_f)
    all_filled = filled.all(axis=1)
    master_rev = np.nan_to_num(e_rev[:, n], nan=0.0)
    supply = e_fwd[:, n] - master_rev + np.where(filled, rev_f, 0.0).sum(axis=1)
    sales = np.where(filled, fwd_f, 0.0).sum(axis=1)
    coverage = 100.0 * measured.sum(axis=1) / n if n else np.full(e_fwd.shape[0], 100.0)
    ok = np.isfinite(e_fwd[:, n]) & all_filled & (coverage >= min_coverage_pct) & (supply > 0)
    out_supply[:] = np.where(all_filled, supply, np.nan)
    out_sales[:] = np.where(all_filled, sales, np.nan)
    out_coverage_pct[:] = coverage
    with np.errstate(invalid="ignore", divide="ignore"):
        out_loss_pct[:] = np.where(ok, 100.0 * (supply - sales) / supply, np.nan)
    out_status[:] = np.where(~ok, STATUS_NOT_COMPUTABLE,
                             np.where(measured.all(axis=1), STATUS_COMPUTED, STATUS_ESTIMATED))


def loss_band(loss_pct, status, negative_pct, high_pct, out):
    band = np.select([loss_pct < negative_pct, loss_pct > high_pct], [BAND_NEGATIVE, BAND_HIGH], BAND_QUALIFIED)
    out[:] = np.where((status == STATUS_NOT_COMPUTABLE) | ~np.isfinite(loss_pct), BAND_NONE, band)


def abnormal_runs(band, run_before, out):
    run = run_before
    for d, b in enumerate(band):
        run = run + 1 if b in (BAND_NEGATIVE, BAND_HIGH) else (0 if b == BAND_QUALIFIED else run)
        out[d] = run


def service_loss(du, cur, pf, phase, out_term, out_kw, out_n):
    ok = np.isfinite(du) & np.isfinite(cur) & np.isfinite(pf)
    w = np.where(pf >= 0, 1.0, -1.0) / np.maximum(np.abs(np.where(ok, pf, 1.0)), PF_FLOOR)
    out_term[:] = np.where(ok, du * cur * w / 1000.0, np.nan)
    for p in range(3):
        out_kw[p] = np.where(ok & (phase == p), out_term, 0.0).sum()
        out_n[p] = (ok & (phase == p)).sum()
