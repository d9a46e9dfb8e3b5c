"""numpy reference of ``detect.kernels.mapping``."""

from __future__ import annotations

import numpy as np

__all__ = ["loo_group_ref", "pair_corr"]


def pair_corr(v, ref, ref_row, differenced, out_corr, out_n):
    a_all = np.diff(v, axis=1) if differenced else v
    b_all = np.diff(ref, axis=1) if differenced else ref
    for i in range(v.shape[0]):
        a, b = a_all[i], b_all[ref_row[i]]
        ok = np.isfinite(a) & np.isfinite(b)
        out_n[i] = ok.sum()
        if ok.sum() < 2:
            out_corr[i] = np.nan
            continue
        a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
        saa, sbb = (a * a).sum(), (b * b).sum()
        out_corr[i] = (a * b).sum() / np.sqrt(saa * sbb) if saa > 0 and sbb > 0 else np.nan


def loo_group_ref(v, group, n_groups, out_ref):
    read = np.isfinite(v)
    for g in range(n_groups):
        rows = group == g
        s = np.where(read[rows], v[rows], 0.0).sum(axis=0)
        c = read[rows].sum(axis=0).astype(float)
        mine_s = np.where(read[rows], s - np.where(read[rows], v[rows], 0.0), s)
        mine_c = np.where(read[rows], c - 1, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            out_ref[rows] = np.where(mine_c > 0, mine_s / mine_c, np.nan)
