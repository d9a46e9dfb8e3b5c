"""Reference of ``detect.kernels.thermal``: the sub-step grid is built with numpy first (midpoint
interpolation of K and ambient), then the IEC 60076-7 difference equations are stepped in a plain loop;
time-to-limit evaluates the exponential response on the whole minute grid at once."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
S_THETA_O, S_D1, S_D2, S_LOL_H, S_T, S_K, S_AMB, S_INIT = range(8)


def ageing_rate(theta_h: float | F64, insulation: float) -> float | F64:
    """Relative ageing rate V: 2^((θh−98)/6) for normal paper, the Arrhenius form for upgraded paper."""
    if insulation == 0.0:
        return np.power(2.0, (np.asarray(theta_h) - 98.0) / 6.0)
    return np.exp(15000.0 / 383.0 - 15000.0 / (np.asarray(theta_h) + 273.0))


def _steady(kf: float, amb: float, p: F64) -> tuple[float, float, float]:
    dor, dhr, r, x, y, k21 = p[0], p[1], p[4], p[5], p[6], p[8]
    return (amb + ((1 + kf * kf * r) / (1 + r)) ** x * dor, k21 * dhr * kf ** y, (k21 - 1) * dhr * kf ** y)


def thermal_run(ts: F64, k: F64, amb: F64, state: F64, params: F64) -> tuple[F64, F64, F64]:
    """Top-oil, hot-spot and ageing rate at each sample; ``state`` is updated in place."""
    dor, dhr, tau_o, tau_w, r, x, y, k11, k21, k22, sub, ins = (float(v) for v in params)
    out = np.full((3, len(ts)), np.nan)
    for j in range(len(ts)):
        kj = state[S_K] if math.isnan(k[j]) else k[j]
        aj = state[S_AMB] if math.isnan(amb[j]) else amb[j]
        if not state[S_INIT]:
            if math.isnan(kj) or math.isnan(aj):
                continue
            state[S_THETA_O], state[S_D1], state[S_D2] = _steady(kj, aj, params)
            state[S_T], state[S_INIT] = ts[j], 1.0
        elif ts[j] > state[S_T]:
            dt = ts[j] - state[S_T]
            steps = math.ceil(dt / sub)
            h = dt / steps
            mid = (np.arange(steps) + 0.5) / steps
            kc = np.interp(mid, [0.0, 1.0], [state[S_K], kj])
            ac = np.interp(mid, [0.0, 1.0], [state[S_AMB], aj])
            o_in = ((1 + kc * kc * r) / (1 + r)) ** x * dor
            w_in = dhr * kc ** y
            th_o, d1, d2 = state[S_THETA_O], state[S_D1], state[S_D2]
            hot = np.empty(steps)
            for m in range(steps):
                th_o = th_o + h / (k11 * tau_o) * (o_in[m] - (th_o - ac[m]))
                d1 = d1 + h / (k22 * tau_w) * (k21 * w_in[m] - d1)
                d2 = d2 + h * k22 / tau_o * ((k21 - 1) * w_in[m] - d2)
                hot[m] = th_o + d1 - d2
            state[S_THETA_O], state[S_D1], state[S_D2] = th_o, d1, d2
            state[S_LOL_H] += float(np.sum(ageing_rate(hot, ins))) * h / 3600.0
            state[S_T] = ts[j]
        state[S_K], state[S_AMB] = kj, aj
        hs = state[S_THETA_O] + state[S_D1] - state[S_D2]
        out[:, j] = (state[S_THETA_O], hs, ageing_rate(hs, ins))
    return out[0], out[1], out[2]


def time_to_limit_min(theta_o: float, d1: float, d2: float, k: float, amb: float, params: F64,
                      limit_c: float, max_min: float) -> float:
    """Minutes until the hot-spot reaches ``limit_c`` at constant load (0 if there, inf if not in time)."""
    if math.isnan(theta_o) or math.isnan(k) or math.isnan(amb):
        return math.nan
    tau_o, tau_w, k11, k22 = params[2], params[3], params[7], params[9]
    o_ss, d1_ss, d2_ss = _steady(k, amb, params)
    now = theta_o + d1 - d2
    if now >= limit_c:
        return 0.0
    t = np.arange(0, int(max_min) + 1) * 60.0
    hot = (o_ss + (theta_o - o_ss) * np.exp(-t / (k11 * tau_o)) + d1_ss + (d1 - d1_ss) * np.exp(-t / (k22 * tau_w))
           - d2_ss - (d2 - d2_ss) * np.exp(-t * k22 / tau_o))
    hot[0] = now
    above = np.flatnonzero(hot >= limit_c)
    if not len(above):
        return math.inf
    m = int(above[0])
    return (m - 1) + (limit_c - hot[m - 1]) / (hot[m] - hot[m - 1])
