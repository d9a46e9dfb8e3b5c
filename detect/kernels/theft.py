"""Meter physical checks (detection.md §2.4): vectorised rules over one interval's per-meter values.

Input is one (N, F) matrix with the columns ``F_*`` (NaN = not read); output is a boolean condition and one
evidence value per meter and check (columns ``C_*``, names in ``CHECKS``). These are instantaneous
conditions: persistence and clearing belong to the engine's alarm lifecycle.
Status-word bits (DL/T 645-2007, dlt645.md §3.3): SW1 b4 total active power reverse; SW3 b4 relay open;
SW4/5/6 (phase A/B/C) b0 voltage loss, b3 current loss; SW7 b9 meter cover open, b10 terminal cover open.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import KIND_SINGLE
from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_range, check_shape
from detect.params import TheftParams

__all__ = ["CHECKS", "FIELDS", "physical_checks", "run_physical_checks", "thresholds"]

FIELDS = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p_kw", "de_fwd_kwh", "de_rev_kwh", "p_int_kwh",
          "sw1", "sw3", "sw4", "sw5", "sw6", "sw7", "d_cover", "d_terminal", "expected_kwh")
F_U, F_I, F_I_N, F_P, F_DE_FWD, F_DE_REV, F_P_INT = 0, 3, 6, 7, 8, 9, 10
F_SW1, F_SW3, F_SW4, F_SW7, F_D_COVER, F_D_TERMINAL, F_EXPECTED = 11, 12, 13, 16, 17, 18, 19

CHECKS = ("cover_open", "terminal_cover_open", "neutral_mismatch", "voltage_loss", "current_loss",
          "reverse_energy", "relay_bypass", "zero_energy_with_current", "energy_power_mismatch")
C_COVER, C_TERMINAL, C_NEUTRAL, C_VLOSS, C_CLOSS, C_REVERSE, C_RELAY, C_ZERO, C_EP = range(9)

# thresholds vector (built by ``thresholds``): nominal V, then TheftParams in absolute units
T_UN, T_START_A, T_NEUTRAL, T_VLOSS_V, T_VLOSS_A, T_VOK_V, T_CLOSS_A, T_COTHERS_A = range(8)
T_REV_KWH, T_P_START_KW, T_RELAY_FRAC, T_ZERO_EPS_KWH, T_ZERO_MIN_KWH, T_EP_TOL, T_EP_MIN_KWH, T_NTL_KWH = range(8, 16)
T_NEUTRAL_MIN_A = 16
N_THRESHOLDS = 17
ZERO_EPS_KWH = 0.001  # an advance below this is "no energy" (registers count in 0.01 kWh)


def _bit(word: float, b: int) -> bool:
    return math.isfinite(word) and (int(word) >> b) & 1 == 1


_bit_jit = kernel(_bit)


@kernel
def physical_checks(meas, kind, pv, thr, out_cond, out_value):
    """Evaluate every check for every meter. meas: (N, 20) columns ``FIELDS``; kind: (N,) int8;
    pv: (N,) bool; thr: thresholds vector; out_cond (N, 9) bool and out_value (N, 9) float64 (evidence;
    NaN where the check did not fire)."""
    for m in range(meas.shape[0]):
        for c in range(out_cond.shape[1]):
            out_cond[m, c] = False
            out_value[m, c] = np.nan
        row = meas[m]
        n_ph = 1 if kind[m] == KIND_SINGLE else 3
        # covers: status word bit or a counter increment
        for c, b, f in ((C_COVER, 9, F_D_COVER), (C_TERMINAL, 10, F_D_TERMINAL)):
            inc = row[f]
            if math.isfinite(inc) and inc > 0:
                out_cond[m, c] = True
                out_value[m, c] = inc
            elif _bit_jit(row[F_SW7], b):
                out_cond[m, c] = True
                out_value[m, c] = 0.0
        i_max = -1.0
        u_max = -1.0
        for ph in range(n_ph):
            if math.isfinite(row[F_I + ph]) and abs(row[F_I + ph]) > i_max:
                i_max = abs(row[F_I + ph])
            if math.isfinite(row[F_U + ph]) and row[F_U + ph] > u_max:
                u_max = row[F_U + ph]
        # neutral vs phase current (single-phase meters measure both)
        il = row[F_I]
        inn = row[F_I_N]
        if n_ph == 1 and math.isfinite(il) and math.isfinite(inn):
            mx = max(abs(il), abs(inn))
            if mx > thr[T_START_A]:
                diff = abs(abs(il) - abs(inn))
                ratio = diff / mx
                if ratio > thr[T_NEUTRAL] and diff > thr[T_NEUTRAL_MIN_A]:
                    out_cond[m, C_NEUTRAL] = True
                    out_value[m, C_NEUTRAL] = ratio
        # voltage loss and current loss per phase: status word or measurement
        for ph in range(n_ph):
            u = row[F_U + ph]
            i = row[F_I + ph]
            sw = row[F_SW4 + ph]
            vl = _bit_jit(sw, 0) or (math.isfinite(u) and math.isfinite(i) and u < thr[T_VLOSS_V]
                                     and abs(i) > thr[T_VLOSS_A])
            if vl and not out_cond[m, C_VLOSS]:
                out_cond[m, C_VLOSS] = True
                out_value[m, C_VLOSS] = u
            others = 0.0
            for q in range(n_ph):
                if q != ph and math.isfinite(row[F_I + q]) and abs(row[F_I + q]) > others:
                    others = abs(row[F_I + q])
            cl = _bit_jit(sw, 3) or (n_ph == 3 and math.isfinite(i) and math.isfinite(u) and abs(i) < thr[T_CLOSS_A]
                                     and others > thr[T_COTHERS_A] and u >= thr[T_VOK_V])
            if cl and not out_cond[m, C_CLOSS]:
                out_cond[m, C_CLOSS] = True
                out_value[m, C_CLOSS] = i
        de = row[F_DE_FWD]
        dr = row[F_DE_REV]
        p = row[F_P]
        pint = row[F_P_INT]
        # reverse energy on a customer without generation
        if not pv[m] and ((math.isfinite(dr) and dr > thr[T_REV_KWH]) or _bit_jit(row[F_SW1], 4)
                          or (math.isfinite(p) and p < -thr[T_P_START_KW])):
            out_cond[m, C_REVERSE] = True
            out_value[m, C_REVERSE] = dr if math.isfinite(dr) else p
        # relay open while current flows, the register advances, or the area balance misses the load
        if _bit_jit(row[F_SW3], 4):
            exp = row[F_EXPECTED]
            if (i_max > thr[T_START_A] or (math.isfinite(de) and de > thr[T_REV_KWH])
                    or (math.isfinite(exp) and exp > thr[T_REV_KWH] and math.isfinite(thr[T_NTL_KWH])
                        and thr[T_NTL_KWH] >= thr[T_RELAY_FRAC] * exp)):
                out_cond[m, C_RELAY] = True
                out_value[m, C_RELAY] = max(i_max, 0.0)
        # register stands still while voltage, current and power are present
        if (math.isfinite(de) and de < thr[T_ZERO_EPS_KWH] and u_max >= thr[T_VLOSS_V] and i_max > thr[T_START_A]
                and math.isfinite(pint) and pint >= thr[T_ZERO_MIN_KWH]):
            out_cond[m, C_ZERO] = True
            out_value[m, C_ZERO] = pint
        # register advance vs integrated power
        if math.isfinite(de) and math.isfinite(pint) and pint >= thr[T_EP_MIN_KWH]:
            rel = abs(de - pint) / pint
            if rel > thr[T_EP_TOL]:
                out_cond[m, C_EP] = True
                out_value[m, C_EP] = rel


def thresholds(params: TheftParams, *, nominal_v: float, area_ntl_kwh: float = math.nan) -> npt.NDArray[np.float64]:
    """The thresholds vector in absolute units (V, A, kWh) from the parameters and the nominal voltage."""
    check_range("nominal_v", nominal_v, 50, 1000, "V")
    t = np.empty(N_THRESHOLDS)
    ib = params.basic_current_a
    t[T_UN] = nominal_v
    t[T_START_A] = params.start_current_a
    t[T_NEUTRAL] = params.neutral_mismatch_ratio
    t[T_VLOSS_V] = params.voltage_loss_pct / 100 * nominal_v
    t[T_VLOSS_A] = params.voltage_loss_current_pct / 100 * ib
    t[T_VOK_V] = params.voltage_recover_pct / 100 * nominal_v
    t[T_CLOSS_A] = params.current_loss_pct / 100 * ib
    t[T_COTHERS_A] = params.current_loss_others_pct / 100 * ib
    t[T_REV_KWH] = params.reverse_min_kwh
    t[T_P_START_KW] = params.start_current_a * nominal_v / 1000.0
    t[T_RELAY_FRAC] = params.relay_ntl_fraction
    t[T_ZERO_EPS_KWH] = ZERO_EPS_KWH
    t[T_ZERO_MIN_KWH] = params.zero_energy_min_kwh
    t[T_EP_TOL] = params.energy_power_tolerance
    t[T_EP_MIN_KWH] = params.energy_power_min_kwh
    t[T_NTL_KWH] = area_ntl_kwh
    t[T_NEUTRAL_MIN_A] = params.neutral_mismatch_min_a
    return t


def run_physical_checks(meas: Any, kind: Any, pv: Any, params: TheftParams, *, nominal_v: float,
                        area_ntl_kwh: float = math.nan, backend: str = "numba",
                        ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Conditions (N, 9) and evidence values (N, 9) of one interval; columns in ``CHECKS`` order."""
    x = as_f64("meas", meas, 2)
    n = x.shape[0]
    check_shape("meas", x, (n, len(FIELDS)))
    k = np.ascontiguousarray(kind, dtype=np.int8)
    pv_a = np.ascontiguousarray(pv, dtype=np.bool_)
    check_shape("kind", k, (n,))
    check_shape("pv", pv_a, (n,))
    u = x[:, F_U:F_U + 3]
    if np.any(u > 2 * nominal_v):
        m = int(np.argwhere(u > 2 * nominal_v)[0, 0])
        raise ValueError(f"meter row {m}: voltage {float(np.nanmax(u[m]))!r} V is above twice nominal "
                         f"{nominal_v} V (volts expected, kV given?)")
    cond = np.empty((n, len(CHECKS)), dtype=np.bool_)
    val = np.empty((n, len(CHECKS)))
    impl("theft", backend).physical_checks(x, k, pv_a, thresholds(params, nominal_v=nominal_v,
                                                                  area_ntl_kwh=area_ntl_kwh), cond, val)
    return cond, val
