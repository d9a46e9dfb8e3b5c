"""numpy reference of ``detect.kernels.evidence`` (vectorised over meters and elements where the kernel loops)."""

from __future__ import annotations

import numpy as np

from detect.kernels.evidence import FEW_DAYS, SD_FLOOR_FEW_DAYS, SD_FLOOR_FRACTION

__all__ = ["drop_match", "voltage_excess"]


def drop_match(x_base, total_base, x_since, total_since, excess_since, out_z, out_drop, out_explained):
    ok_b = np.isfinite(x_base) & np.isfinite(total_base)[:, None]
    nb = ok_b.sum(axis=0)
    sx = np.where(ok_b, x_base, 0.0).sum(axis=0)
    st = np.where(ok_b, total_base[:, None], 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = sx / st
        r = np.where(ok_b, x_base - share * total_base[:, None], 0.0)
        sd = np.where(nb > 1, np.sqrt((r * r).sum(axis=0) / np.maximum(nb - 1, 1)), 0.0)
        floor = np.where(nb >= FEW_DAYS, SD_FLOOR_FRACTION, SD_FLOOR_FEW_DAYS)
        sd = np.maximum(np.maximum(sd, floor * sx / nb), 1e-6)
        ok_s = np.isfinite(x_since) & np.isfinite(total_since)[:, None]
        ns = ok_s.sum(axis=0)
        drop = np.where(ok_s, share * total_since[:, None] - x_since, 0.0).sum(axis=0) / ns
        ex = np.nanmean(excess_since) if np.isfinite(excess_since).any() else np.nan
        z = drop / (sd / np.sqrt(ns))
        explained = drop / ex if np.isfinite(ex) and ex > 0 else np.full_like(drop, np.nan)
    bad = (nb < 1) | ~(st > 0)
    out_z[:] = np.where(bad | (ns == 0), np.nan, z)
    out_drop[:] = np.where(bad | (ns == 0), np.nan, drop)
    out_explained[:] = np.where(bad | (ns == 0), np.nan, explained)


def voltage_excess(du, ncur, group, n_groups, use, min_rows, out_corr, out_beta, out_n):
    fin = np.isfinite(du)
    g_sum = np.zeros((du.shape[0], n_groups))
    g_n = np.zeros((du.shape[0], n_groups), np.int64)
    for g in range(n_groups):
        cols = group == g
        g_sum[:, g] = np.where(fin[:, cols], du[:, cols], 0.0).sum(axis=1)
        g_n[:, g] = fin[:, cols].sum(axis=1)
    out_corr[:] = np.nan
    out_beta[:] = np.nan
    out_n[:] = 0
    for e in np.flatnonzero(use):
        g = group[e]
        y, c = du[:, e], ncur[:, e]
        k = g_n[:, g] - fin[:, e]
        ok = np.isfinite(y) & np.isfinite(c) & (k >= 1)
        out_n[e] = ok.sum()
        if ok.sum() < min_rows or np.ptp(y[ok]) <= 1e-9 * max(1.0, abs(y[ok].max())):
            continue
        p = (g_sum[ok, g] - y[ok]) / k[ok]
        a = np.column_stack([np.ones(ok.sum()), p])
        if np.linalg.matrix_rank(a) < 2:
            continue
        ry = y[ok] - a @ np.linalg.lstsq(a, y[ok], rcond=None)[0]
        rc = c[ok] - a @ np.linalg.lstsq(a, c[ok], rcond=None)[0]
        srr, scc = (ry * ry).sum(), (rc * rc).sum()
        if srr > 0 and scc > 0:
            out_corr[e] = (ry * rc).sum() / np.sqrt(srr * scc)
            out_beta[e] = (ry * rc).sum() / scc
