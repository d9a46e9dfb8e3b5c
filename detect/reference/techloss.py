"""numpy reference of ``detect.kernels.techloss``: the textbook matrix form of RLS with forgetting."""

from __future__ import annotations

import numpy as np

from detect.kernels.techloss import (
    CLIP_SIGMA,
    CUSUM_CAP,
    P_MAX_TRACE,
    S_A,
    S_ALARM,
    S_B,
    S_CUSUM,
    S_LAST_ZERO,
    S_N,
    S_ONSET,
    S_P00,
    S_P01,
    S_P11,
    S_SEEN,
    S_VAR,
    VAR_FORGETTING,
)

__all__ = ["rls_step"]


def rls_step(loss, x, lam, warmup, k, h, state, out_tech, out_ntl, out_cusum, out_alarm):
    theta = np.array([state[S_A], state[S_B]])
    p = np.array([[state[S_P00], state[S_P01]], [state[S_P01], state[S_P11]]])
    for t in range(loss.size):
        phi = np.array([1.0, x[t]])
        out_tech[t] = theta @ phi if np.isfinite(x[t]) else np.nan
        out_cusum[t], out_alarm[t] = state[S_CUSUM], state[S_ALARM]
        if not (np.isfinite(loss[t]) and np.isfinite(x[t])):
            out_ntl[t] = np.nan
            continue
        e = loss[t] - theta @ phi
        out_ntl[t] = e
        state[S_SEEN] += 1
        sd = np.sqrt(state[S_VAR]) if np.isfinite(state[S_VAR]) and state[S_VAR] > 0 else np.nan
        trained = state[S_N] >= warmup
        if trained and np.isfinite(sd):
            c = float(np.clip(state[S_CUSUM] + e / sd - k, 0.0, CUSUM_CAP * h))
            if c == 0.0:
                state[S_LAST_ZERO], state[S_ALARM] = state[S_SEEN], 0.0
            elif c > h and state[S_ALARM] == 0.0:
                state[S_ALARM], state[S_ONSET] = 1.0, state[S_LAST_ZERO] + 1
            state[S_CUSUM] = out_cusum[t] = c
            out_alarm[t] = state[S_ALARM]
        if state[S_ALARM] != 0.0:
            continue
        eu = float(np.clip(e, -CLIP_SIGMA * sd, CLIP_SIGMA * sd)) if trained and np.isfinite(sd) else e
        gain = p @ phi / (lam + phi @ p @ phi)
        theta = theta + gain * eu
        p = (p - np.outer(gain, phi @ p)) / lam
        if np.trace(p) > P_MAX_TRACE:
            p *= P_MAX_TRACE / np.trace(p)
        state[S_A], state[S_B] = theta
        state[S_P00], state[S_P01], state[S_P11] = p[0, 0], p[0, 1], p[1, 1]
        state[S_N] += 1
        state[S_VAR] = eu * eu if not np.isfinite(state[S_VAR]) else VAR_FORGETTING * state[S_VAR] + (1 - VAR_FORGETTING) * eu * eu
