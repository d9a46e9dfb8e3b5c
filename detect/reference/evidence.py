"""numpy reference of ``detect.kernels.evidence`` (vectorised over meters and elements where the kernel loops)."""

from __future__ import annotations

import numpy as np

from detect.kernels.evidence import (
    FEW_DAYS,
    RATIO_FLOOR,
    SD_FLOOR_FEW_DAYS,
    SD_FLOOR_FRACTION,
    WEEKLY_F,
    WEEKLY_MIN_DAYS,
)

__all__ = ["drop_match", "joint_share", "voltage_excess"]


def drop_match(x_base, total_base, class_base, x_since, total_since, class_since, excess_since, out_z, out_drop,
               out_explained):
    ok_b = np.isfinite(x_base) & np.isfinite(total_base)[:, None]
    nb = ok_b.sum(axis=0)
    sx = np.where(ok_b, x_base, 0.0).sum(axis=0)
    st = np.where(ok_b, total_base[:, None], 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_b, share_s, ss, dof, nbk = _shares(x_base, total_base, class_base, class_since, ok_b, sx, st, nb)
        sd = np.where(dof > 0, np.sqrt(ss / np.maximum(dof, 1)), 0.0)
        floor = np.where(nb >= FEW_DAYS, SD_FLOOR_FRACTION, SD_FLOOR_FEW_DAYS)
        sd = np.maximum(np.maximum(sd, floor * sx / nb), 1e-6)
        ok_s = np.isfinite(x_since) & np.isfinite(total_since)[:, None]
        ns = ok_s.sum(axis=0)
        drop = np.where(ok_s, share_s * total_since[:, None] - x_since, 0.0).sum(axis=0) / ns
        ex = np.nanmean(excess_since) if np.isfinite(excess_since).any() else np.nan
        z = np.maximum(drop / (sd / np.sqrt(ns)), _ratio_z(x_base, share_b * total_base[:, None], x_since,
                                                             share_s * total_since[:, None], sx / nb, floor))
        two = dof == nb - 2
        f1 = (ok_s & (class_since == 1)[:, None]).sum(axis=0) / ns
        extra = ns * ((1.0 - f1) ** 2 / nbk[0] + f1 ** 2 / nbk[1] - 1.0 / nb)
        z = np.where(two, z / np.sqrt(1.0 + np.maximum(np.where(two, extra, 0.0), 0.0)), z)
        explained = drop / ex if np.isfinite(ex) and ex > 0 else np.full_like(drop, np.nan)
    bad = (nb < 1) | ~(st > 0) | ~(sx > 0)
    out_z[:] = np.where(bad | (ns == 0), np.nan, z)
    out_drop[:] = np.where(bad | (ns == 0), np.nan, drop)
    out_explained[:] = np.where(bad | (ns == 0), np.nan, explained)


def _shares(xb, tb, cb, cs, ok_b, sx, st, nb):
    """Per meter: the share on each baseline day and each day since (rows × meters), Σ residual², dof, and
    the baseline days of each class."""
    share = sx / st
    r1 = np.where(ok_b, xb - share * tb[:, None], 0.0)
    ss1 = (r1 * r1).sum(axis=0)
    m = [ok_b & (cb == c)[:, None] for c in (0, 1)]
    nk = [mm.sum(axis=0) for mm in m]
    stk = [np.where(mm, tb[:, None], 0.0).sum(axis=0) for mm in m]
    sk = [np.where(mm, xb, 0.0).sum(axis=0) / t for mm, t in zip(m, stk, strict=True)]
    two = (nk[0] >= WEEKLY_MIN_DAYS) & (nk[1] >= WEEKLY_MIN_DAYS) & (stk[0] > 0) & (stk[1] > 0)
    per_day_b = np.where(cb[:, None] == 1, sk[1], sk[0])
    r2 = np.where(ok_b, xb - per_day_b * tb[:, None], 0.0)
    ss2 = (r2 * r2).sum(axis=0)
    f_crit = np.where(nb - 2 < len(WEEKLY_F), WEEKLY_F[np.clip(nb - 2, 0, len(WEEKLY_F) - 1)], 8.0)
    use = two & (ss1 - ss2 > f_crit * ss2 / np.maximum(nb - 2, 1))
    share_b = np.where(use, per_day_b, share)
    share_s = np.where(use, np.where(cs[:, None] == 1, sk[1], sk[0]), share)
    return share_b, share_s, np.where(use, ss2, ss1), np.where(use, nb - 2, nb - 1), nk


def _ratio_z(xb, eb, xs, es, mean_day, sd_floor):
    lo = np.maximum(RATIO_FLOOR * mean_day, 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok_b = np.isfinite(xb) & np.isfinite(eb) & (eb > 0)
        ok_s = np.isfinite(xs) & np.isfinite(es) & (es > 0)
        qb = np.where(ok_b, np.log(np.maximum(xb, lo) / np.where(ok_b, eb, 1.0)), 0.0)
        qs = np.where(ok_s, np.log(np.maximum(xs, lo) / np.where(ok_s, es, 1.0)), 0.0)
        nb, ns = ok_b.sum(axis=0), ok_s.sum(axis=0)
        m = qb.sum(axis=0) / np.maximum(nb, 1)
        sd = np.sqrt(np.where(ok_b, (qb - m) ** 2, 0.0).sum(axis=0) / np.maximum(nb - 1, 1))
        z = (m - qs.sum(axis=0) / np.maximum(ns, 1)) / (np.maximum(sd, sd_floor) / np.sqrt(ns))
    return np.where((nb < 2) | (ns == 0), -np.inf, z)


def voltage_excess(du, ncur, group, n_groups, also, use, min_rows, out_corr, out_beta, out_n):
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
        others = [a for a in also[g] if a >= 0]
        y, c = du[:, e], ncur[:, e]
        k = g_n[:, g] - fin[:, e]
        ok = np.isfinite(y) & np.isfinite(c) & (k >= 1)
        for a in others:
            ok &= g_n[:, a] >= 1
        out_n[e] = ok.sum()
        if ok.sum() < min_rows or np.ptp(y[ok]) <= 1e-9 * max(1.0, abs(y[ok].max())):
            continue
        p = (g_sum[ok, g] - y[ok]) / k[ok]
        zs = [p] + [g_sum[ok, o] / g_n[ok, o] for o in others]
        a = np.column_stack([np.ones(ok.sum())] + [z - z.mean() for z in zs])   # centred: large levels keep precision
        if np.linalg.matrix_rank(a[:, :2]) < 2:
            continue
        ry = y[ok] - a @ np.linalg.lstsq(a, y[ok], rcond=None)[0]
        rc = c[ok] - a @ np.linalg.lstsq(a, c[ok], rcond=None)[0]
        srr, scc = (ry * ry).sum(), (rc * rc).sum()
        if srr > 1e-12 * ((y[ok] - y[ok].mean()) ** 2).sum() and scc > 0:
            out_corr[e] = (ry * rc).sum() / np.sqrt(srr * scc)
            out_beta[e] = (ry * rc).sum() / scc


def joint_share(x, y, out_b, out_t):
    from detect.kernels.evidence import NNLS_MAX_ITER, NNLS_RIDGE

    n_h, n = x.shape
    out_b[:] = 0.0
    out_t[:] = 0.0
    if n == 0 or n_h < n + 2:
        return
    xc, yc = x - x.mean(axis=0), y - y.mean()
    g, gy = xc.T @ xc, xc.T @ yc
    g = g + NNLS_RIDGE * max(np.trace(g) / n, 1e-300) * np.eye(n)
    tol = 1e-10 * max(np.abs(gy).max(), 1e-300)
    passive, b = np.zeros(n, np.bool_), np.zeros(n)

    def solve(p):
        z = np.zeros(n)
        z[p] = np.linalg.solve(g[np.ix_(p, p)], gy[p])
        return z

    for _ in range(NNLS_MAX_ITER * n):
        w = np.where(passive, -np.inf, gy - g @ b)
        if w.max() <= tol:
            break
        passive[int(np.argmax(w))] = True
        for _ in range(NNLS_MAX_ITER * n):
            z = solve(passive)
            neg = passive & (z <= 0.0)
            if not neg.any():
                break
            d = b[neg] - z[neg]
            alpha = min(2.0, float(np.min(np.where(d > 0, b[neg] / np.where(d > 0, d, 1.0), 0.0))))
            b = b + alpha * (z - b)
            passive &= b > 1e-12
            b[~passive] = 0.0
        b = np.where(passive, z, 0.0)
    if not passive.any():
        return
    p = np.flatnonzero(passive)
    r = yc - xc @ b
    s2 = float(r @ r) / max(n_h - len(p) - 1, 1)
    inv_diag = np.diag(np.linalg.inv(g[np.ix_(p, p)]))
    se = np.sqrt(np.maximum(s2 * inv_diag, 0.0))
    out_b[p] = b[p]
    out_t[p] = np.where(se > 0, b[p] / np.where(se > 0, se, 1.0), 0.0)
