"""numpy reference of ``detect.kernels.drops``: same signatures, written for clarity, not speed."""

from __future__ import annotations

import numpy as np

from detect.kernels.drops import DELTA_MAX, N_REG, RIDGE
from detect.kernels.lineloss import PF_FLOOR

__all__ = ["fit_update_k", "phasor_loss_k", "regressors_k"]

_V = np.exp(-2j * np.pi / 3 * np.arange(3))       # phase voltage directions A, B, C


def regressors_k(cur, cosphi, sinphi, phase, branch, n_branch, out_x, out_q):
    ok = np.isfinite(cur) & np.isfinite(cosphi) & np.isfinite(sinphi)
    i = np.where(ok, cur * (cosphi - 1j * sinphi) * _V[phase], 0.0)        # |I|·e^(−jφ)·V̂
    bp = np.zeros((n_branch, 3), complex)
    np.add.at(bp, (branch, phase), i)
    frame = np.conj(_V[phase])
    own, ph, neu = i * frame, bp[branch, phase] * frame, bp.sum(axis=1)[branch] * frame
    out_x[:] = np.where(ok[:, None], np.column_stack([np.ones(len(cur)), own.real, ph.real, neu.real]), np.nan)
    out_q[:] = np.where(ok[:, None], np.column_stack([own.imag, ph.imag, neu.imag]), np.nan)


def fit_update_k(x, du, lam, sxx, sxy, cnt):
    ok = np.isfinite(du) & np.isfinite(x).all(axis=1)
    xs, ds = x[ok], du[ok]
    sxx[ok] = lam * sxx[ok] + xs[:, :, None] * xs[:, None, :]
    sxy[ok] = lam * sxy[ok] + xs * ds[:, None]
    cnt[ok] = lam * cnt[ok] + 1.0


def phasor_loss_k(ub, u, cur, cosphi, sinphi, q, sxx, sxy, cnt, min_n, phase, out_term, out_kw, out_n, out_fit,
                  out_y):
    ok = np.isfinite(ub) & np.isfinite(u) & np.isfinite(cur) & np.isfinite(cosphi) & np.isfinite(sinphi)
    out_term[:] = np.nan
    out_fit[:] = 0
    out_y[:] = np.nan
    for e in np.flatnonzero(ok):
        y = np.nan
        if cnt[e] >= min_n and u[e] > 0:
            a = sxx[e].copy()
            a[np.arange(1, N_REG), np.arange(1, N_REG)] += RIDGE * np.diag(sxx[e])[1:]
            try:
                coef = np.linalg.solve(a, sxy[e])
            except np.linalg.LinAlgError:
                coef = np.full(N_REG, np.nan)
            if np.isfinite(coef[1:]).all() and np.isfinite(q[e]).all():
                y = float(coef[1:] @ q[e])
        if np.isfinite(y):
            delta = np.arcsin(np.clip(-y / u[e], -DELTA_MAX, DELTA_MAX))
            out_term[e] = cur[e] * (ub[e] * np.cos(np.arctan2(sinphi[e], cosphi[e]) - delta)
                                    - u[e] * cosphi[e]) / 1000.0
            out_fit[e] = 1
            out_y[e] = y
        else:
            w = (1.0 if cosphi[e] >= 0 else -1.0) / max(abs(cosphi[e]), PF_FLOOR)
            out_term[e] = (ub[e] - u[e]) * cur[e] * w / 1000.0
    for p in range(3):
        sel = ok & (phase == p)
        out_kw[p] = out_term[sel].sum()
        out_n[p] = sel.sum()
