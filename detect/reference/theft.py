"""numpy reference of ``detect.kernels.theft``: each check as one vectorised expression."""

from __future__ import annotations

import numpy as np

from detect.area import KIND_SINGLE
from detect.kernels.theft import (
    C_CLOSS,
    C_COVER,
    C_EP,
    C_NEUTRAL,
    C_RELAY,
    C_REVERSE,
    C_TERMINAL,
    C_VLOSS,
    C_ZERO,
    F_D_COVER,
    F_D_TERMINAL,
    F_DE_FWD,
    F_DE_REV,
    F_EXPECTED,
    F_I,
    F_I_N,
    F_P,
    F_P_INT,
    F_SW1,
    F_SW3,
    F_SW4,
    F_SW7,
    F_U,
    T_CLOSS_A,
    T_COTHERS_A,
    T_EP_MIN_KWH,
    T_EP_TOL,
    T_NEUTRAL,
    T_NEUTRAL_MIN_A,
    T_NTL_KWH,
    T_P_START_KW,
    T_RELAY_FRAC,
    T_REV_KWH,
    T_START_A,
    T_VLOSS_A,
    T_VLOSS_V,
    T_VOK_V,
    T_ZERO_EPS_KWH,
    T_ZERO_MIN_KWH,
)

__all__ = ["physical_checks"]


def _bit(word: np.ndarray, b: int) -> np.ndarray:
    w = np.where(np.isfinite(word), word, 0).astype(np.int64)
    return np.isfinite(word) & ((w >> b) & 1 == 1)


def _first(cond: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Value at the first True column of each row (phases are scanned A, B, C)."""
    j = np.argmax(cond, axis=1)
    return np.take_along_axis(val, j[:, None], axis=1)[:, 0]


def physical_checks(meas, kind, pv, thr, out_cond, out_value):
    n = meas.shape[0]
    three = kind != KIND_SINGLE
    phase_on = np.ones((n, 3), bool)
    phase_on[~three, 1:] = False
    u = np.where(phase_on, meas[:, F_U:F_U + 3], np.nan)
    i = np.where(phase_on, meas[:, F_I:F_I + 3], np.nan)
    ai = np.abs(i)
    sw = meas[:, F_SW4:F_SW4 + 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        i_max = np.max(np.where(np.isfinite(ai), ai, -1.0), axis=1)
        u_max = np.max(np.where(np.isfinite(u), u, -1.0), axis=1)
        conds, vals = [], []
        for f, b in ((F_D_COVER, 9), (F_D_TERMINAL, 10)):
            inc = meas[:, f] > 0
            conds.append(inc | _bit(meas[:, F_SW7], b))
            vals.append(np.where(inc, meas[:, f], 0.0))
        il, inn = np.abs(meas[:, F_I]), np.abs(meas[:, F_I_N])
        mx = np.maximum(il, inn)
        ratio = np.abs(il - inn) / mx
        conds.append(~three & (mx > thr[T_START_A]) & (ratio > thr[T_NEUTRAL])
                     & (np.abs(il - inn) > thr[T_NEUTRAL_MIN_A]))
        vals.append(ratio)
        vl = np.stack([_bit(sw[:, k], 0) for k in range(3)], 1) | ((u < thr[T_VLOSS_V]) & (ai > thr[T_VLOSS_A]))
        vl &= phase_on
        conds.append(vl.any(axis=1))
        vals.append(_first(vl, u))
        ai0 = np.where(np.isfinite(ai), ai, 0.0)
        others = np.stack([np.max(np.delete(ai0, k, axis=1), axis=1) for k in range(3)], 1)
        cl = np.stack([_bit(sw[:, k], 3) for k in range(3)], 1) | (
            three[:, None] & (ai < thr[T_CLOSS_A]) & (others > thr[T_COTHERS_A]) & (u >= thr[T_VOK_V]))
        cl &= phase_on
        conds.append(cl.any(axis=1))
        vals.append(_first(cl, i))
        de, dr, p, pint = meas[:, F_DE_FWD], meas[:, F_DE_REV], meas[:, F_P], meas[:, F_P_INT]
        conds.append(~pv & ((dr > thr[T_REV_KWH]) | _bit(meas[:, F_SW1], 4) | (p < -thr[T_P_START_KW])))
        vals.append(np.where(np.isfinite(dr), dr, p))
        exp = meas[:, F_EXPECTED]
        conds.append(_bit(meas[:, F_SW3], 4) & ((i_max > thr[T_START_A]) | (de > thr[T_REV_KWH]) | (
            (exp > thr[T_REV_KWH]) & np.isfinite(thr[T_NTL_KWH]) & (thr[T_NTL_KWH] >= thr[T_RELAY_FRAC] * exp))))
        vals.append(np.maximum(i_max, 0.0))
        conds.append((de < thr[T_ZERO_EPS_KWH]) & (u_max >= thr[T_VLOSS_V]) & (i_max > thr[T_START_A])
                     & (pint >= thr[T_ZERO_MIN_KWH]))
        vals.append(pint)
        rel = np.abs(de - pint) / pint
        conds.append((pint >= thr[T_EP_MIN_KWH]) & (rel > thr[T_EP_TOL]))
        vals.append(rel)
    cond = np.stack(conds, 1)
    order = [C_COVER, C_TERMINAL, C_NEUTRAL, C_VLOSS, C_CLOSS, C_REVERSE, C_RELAY, C_ZERO, C_EP]
    out_cond[:, order] = cond
    out_value[:, order] = np.where(cond, np.stack(vals, 1), np.nan)
