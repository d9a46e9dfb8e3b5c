"""IEC 60076-7 thermal model: difference equations, sub-stepped (detection.md §3.3).

``params`` (float64[12]): Δθor K, Δθhr K, τo s, τw s, R, x, y, k11, k21, k22, substep s, insulation
(0 normal paper, 1 thermally upgraded). ``state`` (float64[8]): θo °C, Δθ1 K, Δθ2 K, loss of life h,
t of the last sample, K of the last sample, θa of the last sample, initialised flag.

Between two samples the load factor K and the ambient are interpolated linearly and integrated with
explicit Euler steps of at most ``substep`` seconds, so the result does not depend on the poll cadence.
The first sample starts from the steady state of its load. A missing K or ambient (NaN) holds the last.
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel

S_THETA_O, S_D1, S_D2, S_LOL_H, S_T, S_K, S_AMB, S_INIT = range(8)


@kernel
def ageing_rate(theta_h, insulation):  # pragma: no cover - jitted
    if insulation == 0.0:
        return 2.0 ** ((theta_h - 98.0) / 6.0)
    return math.exp(15000.0 / 383.0 - 15000.0 / (theta_h + 273.0))


@kernel
def thermal_run(ts, k, amb, state, params):  # pragma: no cover - jitted
    dor, dhr, tau_o, tau_w, r, x, y, k11, k21, k22, sub, ins = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6], params[7],
        params[8], params[9], params[10], params[11])
    n = ts.shape[0]
    out_o = np.empty(n)
    out_h = np.empty(n)
    out_v = np.empty(n)
    for j in range(n):
        kj = k[j] if not math.isnan(k[j]) else state[S_K]
        aj = amb[j] if not math.isnan(amb[j]) else state[S_AMB]
        if state[S_INIT] == 0.0:
            if math.isnan(kj) or math.isnan(aj):
                out_o[j] = np.nan
                out_h[j] = np.nan
                out_v[j] = np.nan
                continue
            state[S_THETA_O] = aj + ((1.0 + kj * kj * r) / (1.0 + r)) ** x * dor
            state[S_D1] = k21 * kj ** y * dhr
            state[S_D2] = (k21 - 1.0) * kj ** y * dhr
            state[S_T] = ts[j]
            state[S_INIT] = 1.0
        else:
            dt = ts[j] - state[S_T]
            if dt > 0.0:
                steps = math.ceil(dt / sub)
                h = dt / steps
                k0 = state[S_K]
                a0 = state[S_AMB]
                for m in range(steps):
                    f = (m + 0.5) / steps
                    kc = k0 + (kj - k0) * f
                    ac = a0 + (aj - a0) * f
                    th_o = state[S_THETA_O]
                    state[S_THETA_O] = th_o + h / (k11 * tau_o) * (
                        ((1.0 + kc * kc * r) / (1.0 + r)) ** x * dor - (th_o - ac))
                    d1 = state[S_D1]
                    state[S_D1] = d1 + h / (k22 * tau_w) * (k21 * dhr * kc ** y - d1)
                    d2 = state[S_D2]
                    state[S_D2] = d2 + h / (tau_o / k22) * ((k21 - 1.0) * dhr * kc ** y - d2)
                    th_h = state[S_THETA_O] + state[S_D1] - state[S_D2]
                    state[S_LOL_H] += ageing_rate(th_h, ins) * h / 3600.0
                state[S_T] = ts[j]
        state[S_K] = kj
        state[S_AMB] = aj
        out_o[j] = state[S_THETA_O]
        out_h[j] = state[S_THETA_O] + state[S_D1] - state[S_D2]
        out_v[j] = ageing_rate(out_h[j], ins)
    return out_o, out_h, out_v


@kernel
def time_to_limit_min(theta_o, d1, d2, k, amb, params, limit_c, max_min):  # pragma: no cover - jitted
    """Minutes until θh reaches ``limit_c`` if load and ambient stay as they are (closed-form exponential
    response, scanned minute by minute): 0 if already there, inf if not within ``max_min``."""
    dor, dhr, tau_o, tau_w, r, x, y, k11, k21, k22 = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6], params[7],
        params[8], params[9])
    if math.isnan(theta_o) or math.isnan(k) or math.isnan(amb):
        return np.nan
    o_ss = amb + ((1.0 + k * k * r) / (1.0 + r)) ** x * dor
    d1_ss = k21 * dhr * k ** y
    d2_ss = (k21 - 1.0) * dhr * k ** y
    prev = theta_o + d1 - d2
    if prev >= limit_c:
        return 0.0
    for m in range(1, int(max_min) + 1):
        t = m * 60.0
        cur = (o_ss + (theta_o - o_ss) * math.exp(-t / (k11 * tau_o))
               + d1_ss + (d1 - d1_ss) * math.exp(-t / (k22 * tau_w))
               - d2_ss - (d2 - d2_ss) * math.exp(-t * k22 / tau_o))
        if cur >= limit_c:
            return (m - 1) + (limit_c - prev) / (cur - prev)
        prev = cur
    return np.inf
