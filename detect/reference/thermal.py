"""Reference of ``detect.kernels.thermal`` (same model, same parameter and state layout): the sub-step
grid, the inputs at its points and the decay factors are built with numpy first, then the exact
first-order-hold recurrence runs in a plain loop; time-to-limit evaluates the response on the whole
minute grid at once."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
S_Z0, S_Z1, S_Z2, S_LOL_H, S_T, S_K, S_AMB, S_INIT = range(8)
DK_MAX = 0.05        # a sub-step covers at most this change of the load factor


def ageing_rate(theta_h: float | F64, ref: float, law: float) -> float | F64:
    """Relative ageing rate V: doubling every 6 K above ``ref`` (law 0) or the Arrhenius form (law 1)."""
    th = np.asarray(theta_h, dtype=np.float64)
    if law == 0.0:
        return np.power(2.0, (th - ref) / 6.0)
    return np.exp(15000.0 / (ref + 273.0) - 15000.0 / (th + 273.0))


def _inputs(k: F64, amb: F64, p: F64) -> F64:
    """(3, n): u0, u1, u2 at each (K, θa)."""
    w = np.power(k, p[8])
    if p[12]:
        return np.stack([amb, p[1] * w, np.zeros_like(w)])
    oil = amb + np.power((1.0 + k * k * p[6]) / (1.0 + p[6]), p[7]) * p[0]
    return np.stack([oil, p[1] * w, p[2] * w])


def _advance(z: F64, ua: F64, ub: F64, tau: F64, h: float) -> F64:
    """The three components after ``h`` s with inputs linear from ``ua`` to ``ub`` (exact)."""
    r = h / tau
    e = np.exp(-r)
    return ub - (ub - ua) * (1.0 - e) / r + (z - ua) * e


def thermal_run(ts: F64, k: F64, amb: F64, state: F64, params: F64) -> tuple[F64, F64, F64]:
    """Top-oil (NaN for a dry type), hot-spot and ageing rate at each sample; ``state`` updated in place."""
    p = np.asarray(params, dtype=np.float64)
    dry = bool(p[12])
    tau = np.array([p[3] if not dry else 1.0, p[4], p[5]])
    out = np.full((3, len(ts)), np.nan)
    for j in range(len(ts)):
        kj = state[S_K] if math.isnan(k[j]) else k[j]
        aj = state[S_AMB] if math.isnan(amb[j]) else amb[j]
        if not state[S_INIT]:
            if math.isnan(kj) or math.isnan(aj):
                continue
            state[S_Z0:S_Z2 + 1] = _inputs(np.array([kj]), np.array([aj]), p)[:, 0]
            state[S_T], state[S_INIT] = ts[j], 1.0
        elif ts[j] > state[S_T]:
            dt = ts[j] - state[S_T]
            steps = max(math.ceil(dt / p[9]), math.ceil(abs(kj - state[S_K]) / DK_MAX))
            h = dt / steps
            frac = np.arange(steps + 1) / steps
            kk = state[S_K] + (kj - state[S_K]) * frac
            aa = state[S_AMB] + (aj - state[S_AMB]) * frac
            u = _inputs(kk, aa, p)
            z = state[S_Z0:S_Z2 + 1].copy()
            hot = np.empty(2 * steps + 1)
            hot[0] = z[0] + z[1] - z[2]
            for m in range(steps):
                mid = _advance(z, u[:, m], 0.5 * (u[:, m] + u[:, m + 1]), tau, 0.5 * h)
                z = _advance(z, u[:, m], u[:, m + 1], tau, h)
                if dry:
                    mid[0], z[0] = 0.5 * (aa[m] + aa[m + 1]), aa[m + 1]
                hot[2 * m + 1] = mid[0] + mid[1] - mid[2]
                hot[2 * m + 2] = z[0] + z[1] - z[2]
            v = ageing_rate(hot, p[10], p[11])
            weights = np.tile([1.0, 4.0], steps + 1)[: 2 * steps + 1]      # Simpson: 1 4 2 4 … 2 4 1
            weights[2:-1:2] = 2.0
            weights[-1] = 1.0
            state[S_LOL_H] += float(np.dot(weights, v)) * h / 6.0 / 3600.0
            state[S_Z0:S_Z2 + 1] = z
            state[S_T] = ts[j]
        state[S_K], state[S_AMB] = kj, aj
        hs = state[S_Z0] + state[S_Z1] - state[S_Z2]
        out[:, j] = (math.nan if dry else state[S_Z0], hs, ageing_rate(hs, p[10], p[11]))
    return out[0], out[1], out[2]


def time_to_limit_min(z0: float, z1: float, z2: float, k: float, amb: float, params: F64, limit_c: float,
                      max_min: float) -> float:
    """Minutes until the hot-spot reaches ``limit_c`` at constant load (0 if there, inf if not in time)."""
    if math.isnan(z0) or math.isnan(k) or math.isnan(amb):
        return math.nan
    p = np.asarray(params, dtype=np.float64)
    u = _inputs(np.array([k]), np.array([amb]), p)[:, 0]
    now = z0 + z1 - z2
    if now >= limit_c:
        return 0.0
    t = np.arange(0, int(max_min) + 1) * 60.0
    top = np.full_like(t, u[0]) if p[12] else u[0] + (z0 - u[0]) * np.exp(-t / p[3])
    hot = top + u[1] + (z1 - u[1]) * np.exp(-t / p[4]) - u[2] - (z2 - u[2]) * np.exp(-t / p[5])
    hot[0] = now
    above = np.flatnonzero(hot >= limit_c)
    if not len(above):
        return math.inf
    m = int(above[0])
    return (m - 1) + (limit_c - hot[m - 1]) / (hot[m] - hot[m - 1])
