"""Online technical-loss model and NTL onset (detection.md §1.3).

Per interval: loss L = supply − sales (kWh) is fitted as L = a + b·x with x = ΣI² / (3·I_rated²), the mean
squared phase currents at the master relative to rated (R_eq·ΣI² copper loss of the LV lines; ``a`` = meter
and terminal self-consumption). Recursive least squares with a forgetting factor λ tracks a and b; the
residual L − (a + b·x) is the non-technical loss (NTL). A one-sided CUSUM on the residual in units of its
running standard deviation marks the onset; while it is in alarm the model stops learning, so theft is not
absorbed into the constant. Residuals feed the update clipped to ±3σ (one bad interval cannot drag the fit).

State is one float64 vector (``STATE_LEN``; part of the engine snapshot), created by ``new_state``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_range, check_shape
from detect.kernels.lineloss import STATUS_COMPUTED
from detect.params import TechLossParams

__all__ = ["STATE_LEN", "TechLoss", "new_state", "rls_step", "track"]

S_A, S_B, S_P00, S_P01, S_P11, S_N, S_VAR, S_CUSUM, S_ALARM, S_ONSET, S_SEEN, S_LAST_ZERO = range(12)
STATE_LEN = 12
P_INIT = 1e4          # initial covariance: the first few intervals set a and b
P_MAX_TRACE = 1e8     # bound against covariance wind-up when the load does not vary (λ < 1)
VAR_FORGETTING = 0.99 # residual variance memory ≈ 1 day of 15-min intervals
CLIP_SIGMA = 3.0
CUSUM_CAP = 10.0      # × h: the statistic can come back down when the NTL ends


def new_state() -> npt.NDArray[np.float64]:
    s = np.zeros(STATE_LEN)
    s[S_P00] = s[S_P11] = P_INIT
    s[S_VAR] = np.nan
    s[S_ONSET] = -1
    return s


@kernel
def rls_step(loss, x, lam, warmup, k, h, state, out_tech, out_ntl, out_cusum, out_alarm):
    """Advance the model over T intervals: loss, x (T,) (NaN = not computable: the interval is skipped).
    Writes technical loss a + b·x, NTL residual, CUSUM statistic and alarm (0/1) per interval."""
    for t in range(loss.shape[0]):
        xt = x[t]
        a = state[S_A]
        b = state[S_B]
        out_tech[t] = a + b * xt if math.isfinite(xt) else np.nan
        out_cusum[t] = state[S_CUSUM]
        out_alarm[t] = state[S_ALARM]
        if not (math.isfinite(loss[t]) and math.isfinite(xt)):
            out_ntl[t] = np.nan
            continue
        e = loss[t] - (a + b * xt)
        out_ntl[t] = e
        state[S_SEEN] += 1.0
        var = state[S_VAR]
        sd = math.sqrt(var) if math.isfinite(var) and var > 0.0 else np.nan
        if state[S_N] >= warmup and math.isfinite(sd):
            c = max(0.0, min(state[S_CUSUM] + e / sd - k, CUSUM_CAP * h))
            if c == 0.0:
                state[S_LAST_ZERO] = state[S_SEEN]
                state[S_ALARM] = 0.0
            elif c > h and state[S_ALARM] == 0.0:
                state[S_ALARM] = 1.0
                state[S_ONSET] = state[S_LAST_ZERO] + 1.0
            state[S_CUSUM] = c
            out_cusum[t] = c
            out_alarm[t] = state[S_ALARM]
        if state[S_ALARM] != 0.0:
            continue
        eu = e
        if math.isfinite(sd) and state[S_N] >= warmup:
            eu = max(-CLIP_SIGMA * sd, min(CLIP_SIGMA * sd, e))
        # RLS with forgetting on phi = (1, x)
        p00 = state[S_P00]
        p01 = state[S_P01]
        p11 = state[S_P11]
        g0 = p00 + p01 * xt
        g1 = p01 + p11 * xt
        den = lam + g0 + g1 * xt
        k0 = g0 / den
        k1 = g1 / den
        state[S_A] = a + k0 * eu
        state[S_B] = b + k1 * eu
        n00 = (p00 - k0 * g0) / lam
        n01 = (p01 - k0 * g1) / lam
        n11 = (p11 - k1 * g1) / lam
        tr = n00 + n11
        if tr > P_MAX_TRACE:
            n00 *= P_MAX_TRACE / tr
            n01 *= P_MAX_TRACE / tr
            n11 *= P_MAX_TRACE / tr
        state[S_P00] = n00
        state[S_P01] = n01
        state[S_P11] = n11
        state[S_N] += 1.0
        state[S_VAR] = eu * eu if not math.isfinite(var) else VAR_FORGETTING * var + (1.0 - VAR_FORGETTING) * eu * eu


@dataclass(frozen=True, kw_only=True)
class TechLoss:
    tech_kwh: npt.NDArray[np.float64]
    ntl_kwh: npt.NDArray[np.float64]
    cusum: npt.NDArray[np.float64]
    alarm: npt.NDArray[np.float64]
    a_kwh: float                 # constant loss per interval (self-consumption)
    b_kwh: float                 # loss per interval at rated current on all phases
    onset_update: int            # update count at the NTL onset, -1 when none


def track(loss_kwh: Any, i2_a2: Any, state: npt.NDArray[np.float64], params: TechLossParams, *,
          rated_current_a: float, status: Any = None, backend: str = "numba") -> TechLoss:
    """Feed T intervals of loss (kWh) and mean Σ_φ I_φ² at the master (A²); ``state`` is updated in place.

    With ``status`` (line-loss status per interval) only ``computed`` intervals are used: an estimated
    interval carries the estimate's error (a household's usual energy, often ± tenths of a kWh), far above
    the residual noise, and would raise false NTL onsets.
    """
    loss = as_f64("loss_kwh", loss_kwh, 1)
    if status is not None:
        st = np.asarray(status)
        check_shape("status", st, loss.shape)
        loss = np.where(st == STATUS_COMPUTED, loss, np.nan)
    i2 = as_f64("i2_a2", i2_a2, 1)
    check_shape("i2_a2", i2, loss.shape)
    check_shape("state", state, (STATE_LEN,))
    check_range("rated_current_a", rated_current_a, 1, 1e5, "A")
    if np.any(i2 < 0):
        raise ValueError(f"i2_a2 must be >= 0 A², got {float(i2[i2 < 0][0])!r}")
    x = i2 / (3.0 * rated_current_a**2)
    n = loss.size
    out = [np.empty(n) for _ in range(4)]
    impl("techloss", backend).rls_step(loss, x, params.forgetting, params.warmup_intervals, params.cusum_k,
                                       params.cusum_h, state, *out)
    return TechLoss(tech_kwh=out[0], ntl_kwh=out[1], cusum=out[2], alarm=out[3], a_kwh=float(state[S_A]),
                    b_kwh=float(state[S_B]), onset_update=int(state[S_ONSET]))
