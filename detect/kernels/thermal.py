"""Transformer heat: the IEC 60076-7 (oil) / IEC 60076-12 (dry type) differential equations, integrated
exactly (detection.md, "Transformer heat").

The model is three first-order components, each ``τ·dz/dt = u(t) − z``, and the hot-spot
``θh = z0 + z1 − z2``:

- z0, top oil: ``u0 = θa + A0·[(1 + K²R)/(1 + R)]^x`` with ``τ0 = k11·τo`` (dry type: ``z0 = θa``);
- z1, z2, the two terms of the hot-spot rise: ``u1 = A1·K^y`` with ``τ1 = k22·τw`` and
  ``u2 = A2·K^y`` with ``τ2 = τo/k22`` (A1 = k21·Δθhr, A2 = (k21 − 1)·Δθhr; dry type: A1 = Δθhr at rated
  load, y = q, A2 = 0).

``params`` (float64[13], ``detect.cooling.ThermalModel.kernel_params``): A0, A1, A2, τ0 s, τ1 s, τ2 s, R,
x, y, sub-step s, ageing reference °C, ageing law (0: V = 2^((θh − ref)/6); 1: Arrhenius with
B = 15000 K, IEC 60076-7 eq. 3), dry flag. ``state`` (float64[8]): z0, z1, z2, loss of life h, t of the
last sample, K and θa of the last sample, initialised flag.

Between two samples K and θa are linear in time; each sub-step of at most ``sub`` seconds (and at most
0.05 of load factor, so a sudden load step is resolved too) takes the inputs as linear over it and applies the exact solution of the linear equation (first-order hold):
``z ← u_b − (u_b − u_a)·(τ/h)·(1 − e^{−h/τ}) + (z − u_a)·e^{−h/τ}``. It is stable for every τ and every
step (``e^{−h/τ}`` ∈ (0, 1]); the sub-step only bounds the error of taking ``K^y`` as linear over it.
Loss of life is ∫V dt by Simpson's rule on each sub-step (the state at its middle from the same formula).
The first sample starts from the steady state of its load. A missing K or ambient (NaN) holds the last.
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel

S_Z0, S_Z1, S_Z2, S_LOL_H, S_T, S_K, S_AMB, S_INIT = range(8)
DK_MAX = 0.05        # a sub-step covers at most this change of the load factor


@kernel
def ageing_rate(theta_h, ref, law):  # pragma: no cover - jitted
    if law == 0.0:
        return 2.0 ** ((theta_h - ref) / 6.0)
    return math.exp(15000.0 / (ref + 273.0) - 15000.0 / (theta_h + 273.0))


@kernel
def _inputs(k, amb, p):  # pragma: no cover - jitted
    """(u0, u1, u2) at load factor ``k`` and ambient ``amb``."""
    w = k ** p[8]
    if p[12] != 0.0:
        return amb, p[1] * w, 0.0
    return amb + ((1.0 + k * k * p[6]) / (1.0 + p[6])) ** p[7] * p[0], p[1] * w, p[2] * w


@kernel
def _foh(z, ua, ub, tau, h):  # pragma: no cover - jitted
    """Exact value after ``h`` seconds of ``τ·dz/dt = u − z`` with ``u`` linear from ``ua`` to ``ub``."""
    e = math.exp(-h / tau)
    return ub - (ub - ua) * (tau / h) * (1.0 - e) + (z - ua) * e


@kernel
def _substep(state, k0, a0, k1, a1, h, p):  # pragma: no cover - jitted
    """Advance the state ``h`` s with K and θa linear from (k0, a0) to (k1, a1); returns ∫V dt (s)."""
    u0a, u1a, u2a = _inputs(k0, a0, p)
    u0b, u1b, u2b = _inputs(k1, a1, p)
    dry = p[12] != 0.0
    z0, z1, z2 = state[S_Z0], state[S_Z1], state[S_Z2]
    half = 0.5 * h
    m1 = _foh(z1, u1a, 0.5 * (u1a + u1b), p[4], half)
    m2 = _foh(z2, u2a, 0.5 * (u2a + u2b), p[5], half)
    m0 = 0.5 * (a0 + a1) if dry else _foh(z0, u0a, 0.5 * (u0a + u0b), p[3], half)
    n1 = _foh(z1, u1a, u1b, p[4], h)
    n2 = _foh(z2, u2a, u2b, p[5], h)
    n0 = a1 if dry else _foh(z0, u0a, u0b, p[3], h)
    v = (ageing_rate(z0 + z1 - z2, p[10], p[11]) + 4.0 * ageing_rate(m0 + m1 - m2, p[10], p[11])
         + ageing_rate(n0 + n1 - n2, p[10], p[11])) * h / 6.0
    state[S_Z0], state[S_Z1], state[S_Z2] = n0, n1, n2
    return v


@kernel
def thermal_run(ts, k, amb, state, params):  # pragma: no cover - jitted
    n = ts.shape[0]
    out_o = np.empty(n)
    out_h = np.empty(n)
    out_v = np.empty(n)
    sub = params[9]
    for j in range(n):
        kj = k[j] if not math.isnan(k[j]) else state[S_K]
        aj = amb[j] if not math.isnan(amb[j]) else state[S_AMB]
        if state[S_INIT] == 0.0:
            if math.isnan(kj) or math.isnan(aj):
                out_o[j] = np.nan
                out_h[j] = np.nan
                out_v[j] = np.nan
                continue
            state[S_Z0], state[S_Z1], state[S_Z2] = _inputs(kj, aj, params)
            state[S_T] = ts[j]
            state[S_INIT] = 1.0
        else:
            dt = ts[j] - state[S_T]
            if dt > 0.0:
                k0 = state[S_K]
                steps = max(math.ceil(dt / sub), math.ceil(abs(kj - k0) / DK_MAX))
                h = dt / steps
                a0 = state[S_AMB]
                for m in range(steps):
                    f0 = m / steps
                    f1 = (m + 1) / steps
                    state[S_LOL_H] += _substep(state, k0 + (kj - k0) * f0, a0 + (aj - a0) * f0,
                                               k0 + (kj - k0) * f1, a0 + (aj - a0) * f1, h, params) / 3600.0
                state[S_T] = ts[j]
        state[S_K] = kj
        state[S_AMB] = aj
        out_o[j] = np.nan if params[12] != 0.0 else state[S_Z0]
        out_h[j] = state[S_Z0] + state[S_Z1] - state[S_Z2]
        out_v[j] = ageing_rate(out_h[j], params[10], params[11])
    return out_o, out_h, out_v


@kernel
def time_to_limit_min(z0, z1, z2, k, amb, params, limit_c, max_min):  # pragma: no cover - jitted
    """Minutes until θh reaches ``limit_c`` if load and ambient stay as they are (the exact exponential
    response, scanned minute by minute, linear within the minute): 0 if already there, inf if not within
    ``max_min``."""
    if math.isnan(z0) or math.isnan(k) or math.isnan(amb):
        return np.nan
    u0, u1, u2 = _inputs(k, amb, params)
    dry = params[12] != 0.0
    prev = z0 + z1 - z2
    if prev >= limit_c:
        return 0.0
    for m in range(1, int(max_min) + 1):
        t = m * 60.0
        o = u0 if dry else u0 + (z0 - u0) * math.exp(-t / params[3])
        cur = o + u1 + (z1 - u1) * math.exp(-t / params[4]) - u2 - (z2 - u2) * math.exp(-t / params[5])
        if cur >= limit_c:
            return (m - 1) + (limit_c - prev) / (cur - prev)
        prev = cur
    return np.inf
