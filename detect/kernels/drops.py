"""Technical loss per phase with the neutral placed (docs/lineloss.md §1.3, nineteenth round).

The loss of a metering element is Re(ΔV·conj(I)) (Tellegen), ΔV its drop below the master's phase voltage.
Meters give magnitudes: the drop's component along the phase voltage, ``du`` = |U_master| − |U|, and the
current's angle to its own voltage (from p and q). Writing ΔV = (x + j·y)·V̂ and I = |I|·e^(−jφ)·V̂:

    Re(ΔV·conj(I)) = |I|·(x·cos φ − y·sin φ)

``x`` is about ``du``; the quadrature ``y`` is not measured. The magnitude method ``du·|I| / |pf|``
(``service_loss``) assumes the drop lies along the element's own current, which holds for its service cable
but not for the neutral, whose drop lies along the imbalance of the three phases' currents: its loss goes
partly to the wrong phases (``bench/techloss_phases.py``). Here each element's drop is modelled, per interval, as

    ΔV ≈ c0 + a_own·I + a_ph·I_branch,phase + a_n·I_branch        (phasors in the element's phase frame)

— its own current (service cable), its branch's current on its phase (the phase conductors) and its branch's
current summed over the phases (what the neutral carries back) — each current phasor built from a meter's
magnitude and angle, the master's phase voltages taken 120° apart. ``c0`` takes the meter's voltage gain
error. The coefficients (Ω) are fitted on the drop's in-phase part against the currents' in-phase parts
(recursive least squares with forgetting, per element); the fitted model then gives ``y`` from the quadrature
parts. With ``y`` known the loss needs no small-drop approximation: the element's voltage stands at
δ = asin(−y/|U|) from the master's, its current at δ − φ, and

    Re(ΔV·conj(I)) = |I|·(|U_master|·cos(φ − δ) − |U|·cos φ)

(heavily loaded feeders, drops of tens of volts: the golden ``heatwave`` area, 5–14 % technical loss). The
caller turns each element's current by the δ of its previous interval before building the regressors, and
fits |U_master| − √(|U|² − y²). An element without a fit yet (the first hours, a meter that never reads)
gets the magnitude method.

Conventions: float64, NaN = unknown. Elements ``E``; ``phase`` 0/1/2, ``branch`` 0..B−1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_shape
from detect.kernels.lineloss import PF_FLOOR

__all__ = ["DELTA_MAX", "N_REG", "RIDGE", "fit_update", "interval_terms", "phasor_loss", "regressors"]

N_REG = 4                  # c0, own, branch-phase, branch (neutral)
RIDGE = 1e-3               # of each regressor's own sum of squares: keeps a 4×4 fit of collinear currents solvable
DELTA_MAX = 0.5            # |sin δ| at most: a fit that puts an element's voltage 30° off the master's is no fit
_SQ3 = math.sqrt(3.0) / 2.0
# the phase voltage directions (A, B, C at 0°, −120°, +120°): cos, sin
_VC = (1.0, -0.5, -0.5)
_VS = (0.0, -_SQ3, _SQ3)


@kernel
def regressors_k(cur, cosphi, sinphi, phase, branch, n_branch, out_x, out_q):
    """In-phase (``out_x`` (E, 4): 1, own, branch-phase, branch) and quadrature (``out_q`` (E, 3)) parts of
    each element's current terms in its own phase's frame; NaN rows where its current or angle is unknown.
    Elements with an unknown current are left out of the branch sums."""
    e_n = cur.shape[0]
    bp_re = np.zeros((n_branch, 3))
    bp_im = np.zeros((n_branch, 3))
    for e in range(e_n):
        if not (math.isfinite(cur[e]) and math.isfinite(cosphi[e]) and math.isfinite(sinphi[e])):
            continue
        p = phase[e]
        # I = |I|·e^(−jφ)·V̂_p
        ir = cur[e] * cosphi[e]
        ii = -cur[e] * sinphi[e]
        bp_re[branch[e], p] += ir * _VC[p] - ii * _VS[p]
        bp_im[branch[e], p] += ir * _VS[p] + ii * _VC[p]
    for e in range(e_n):
        if not (math.isfinite(cur[e]) and math.isfinite(cosphi[e]) and math.isfinite(sinphi[e])):
            for j in range(4):
                out_x[e, j] = np.nan
            for j in range(3):
                out_q[e, j] = np.nan
            continue
        p = phase[e]
        b = branch[e]
        # a phasor z in the frame of V̂_p: z·conj(V̂_p)
        pr = bp_re[b, p] * _VC[p] + bp_im[b, p] * _VS[p]
        pi = bp_im[b, p] * _VC[p] - bp_re[b, p] * _VS[p]
        nre = 0.0
        nim = 0.0
        for f in range(3):
            nre += bp_re[b, f]
            nim += bp_im[b, f]
        nr = nre * _VC[p] + nim * _VS[p]
        ni = nim * _VC[p] - nre * _VS[p]
        out_x[e, 0] = 1.0
        out_x[e, 1] = cur[e] * cosphi[e]
        out_x[e, 2] = pr
        out_x[e, 3] = nr
        out_q[e, 0] = -cur[e] * sinphi[e]
        out_q[e, 1] = pi
        out_q[e, 2] = ni


@kernel
def fit_update_k(x, du, lam, sxx, sxy, cnt):
    """Per element with a known row and drop: Sxx ← λ·Sxx + x·xᵀ, Sxy ← λ·Sxy + x·du, n ← λ·n + 1."""
    for e in range(x.shape[0]):
        ok = math.isfinite(du[e])
        for j in range(N_REG):
            ok = ok and math.isfinite(x[e, j])
        if not ok:
            continue
        for i in range(N_REG):
            sxy[e, i] = lam * sxy[e, i] + x[e, i] * du[e]
            for j in range(N_REG):
                sxx[e, i, j] = lam * sxx[e, i, j] + x[e, i] * x[e, j]
        cnt[e] = lam * cnt[e] + 1.0


@kernel
def _solve_ridge(sxx, sxy, a, r):
    """One element's fit: (Sxx + RIDGE·diag(Sxx) on the currents' columns) r = Sxy by Gaussian elimination with
    partial pivoting into ``r`` (``a`` scratch (4, 4)); False where a pivot vanishes or a coefficient of the
    currents is not finite."""
    for i in range(N_REG):
        r[i] = sxy[i]
        for j in range(N_REG):
            a[i, j] = sxx[i, j]
        a[i, i] += RIDGE * sxx[i, i] if i > 0 else 0.0
    for c in range(N_REG):
        piv = c
        for i in range(c + 1, N_REG):
            if abs(a[i, c]) > abs(a[piv, c]):
                piv = i
        if not abs(a[piv, c]) > 1e-12 * (1.0 + abs(sxx[c, c])):
            return False
        if piv != c:
            for j in range(N_REG):
                t = a[c, j]
                a[c, j] = a[piv, j]
                a[piv, j] = t
            t = r[c]
            r[c] = r[piv]
            r[piv] = t
        for i in range(c + 1, N_REG):
            f = a[i, c] / a[c, c]
            for j in range(c, N_REG):
                a[i, j] -= f * a[c, j]
            r[i] -= f * r[c]
    for c in range(N_REG - 1, -1, -1):
        s = r[c]
        for j in range(c + 1, N_REG):
            s -= a[c, j] * r[j]
        r[c] = s / a[c, c]
    return math.isfinite(r[1]) and math.isfinite(r[2]) and math.isfinite(r[3])


@kernel
def phasor_loss_k(ub, u, cur, cosphi, sinphi, q, sxx, sxy, cnt, min_n, phase, out_term, out_kw, out_n, out_fit,
                  out_y):
    """Each element's loss term (kW) — |I|·(ub·cos(φ − δ) − u·cos φ), δ = asin(−y/u), with y from its fit
    where it has one (``cnt`` ≥ ``min_n`` and a solvable system; ``out_fit`` 1, ``out_y`` y in V), else
    (ub − u)·|I| / max(|cos φ|, PF_FLOOR) with the sign of cos φ (``out_fit`` 0, ``out_y`` NaN) — and per
    phase their sum and count."""
    a = np.empty((N_REG, N_REG))
    r = np.empty(N_REG)
    for p in range(3):
        out_kw[p] = 0.0
        out_n[p] = 0
    for e in range(ub.shape[0]):
        out_term[e] = np.nan
        out_fit[e] = 0
        out_y[e] = np.nan
        if not (math.isfinite(ub[e]) and math.isfinite(u[e]) and math.isfinite(cur[e])
                and math.isfinite(cosphi[e]) and math.isfinite(sinphi[e])):
            continue
        solved = cnt[e] >= min_n and u[e] > 0.0 and _solve_ridge(sxx[e], sxy[e], a, r) \
            and math.isfinite(q[e, 0]) and math.isfinite(q[e, 1]) and math.isfinite(q[e, 2])
        if solved:
            y = r[1] * q[e, 0] + r[2] * q[e, 1] + r[3] * q[e, 2]
            sd = min(max(-y / u[e], -DELTA_MAX), DELTA_MAX)
            cd = math.sqrt(1.0 - sd * sd)
            # cos(φ − δ) = cos φ·cos δ + sin φ·sin δ
            out_term[e] = cur[e] * (ub[e] * (cosphi[e] * cd + sinphi[e] * sd) - u[e] * cosphi[e]) / 1000.0
            out_fit[e] = 1
            out_y[e] = y
        else:
            c_ = abs(cosphi[e])
            w = (1.0 if cosphi[e] >= 0.0 else -1.0) / (c_ if c_ > PF_FLOOR else PF_FLOOR)
            out_term[e] = (ub[e] - u[e]) * cur[e] * w / 1000.0
        out_kw[phase[e]] += out_term[e]
        out_n[phase[e]] += 1


def _phase(phase: Any, e: int) -> npt.NDArray[np.int64]:
    ph = np.ascontiguousarray(phase, dtype=np.int64)
    check_shape("phase", ph, (e,))
    if e and (ph.min() < 0 or ph.max() > 2):
        raise ValueError(f"phase must be 0, 1 or 2, got {sorted(set(ph.tolist()) - {0, 1, 2})[:3]}")
    return ph


def regressors(cur: Any, cosphi: Any, sinphi: Any, phase: Any, branch: Any, *,
               backend: str = "numba") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(in-phase rows (E, 4), quadrature parts (E, 3)) of the elements' current terms; see the module."""
    c = as_f64("cur", cur, 1)
    e = c.shape[0]
    cp, sp = as_f64("cosphi", cosphi, 1), as_f64("sinphi", sinphi, 1)
    check_shape("cosphi", cp, (e,))
    check_shape("sinphi", sp, (e,))
    ph = _phase(phase, e)
    br = np.ascontiguousarray(branch, dtype=np.int64)
    check_shape("branch", br, (e,))
    if e and br.min() < 0:
        raise ValueError("branch must be ≥ 0")
    n_branch = int(br.max()) + 1 if e else 1
    x, q = np.empty((e, N_REG)), np.empty((e, 3))
    impl("drops", backend).regressors_k(c, cp, sp, ph, br, n_branch, x, q)
    return x, q


def fit_update(x: Any, du: Any, lam: float, sxx: npt.NDArray[np.float64], sxy: npt.NDArray[np.float64],
               cnt: npt.NDArray[np.float64], *, backend: str = "numba") -> None:
    """Fold one interval's rows and drops into the per-element sums (in place), forgetting by ``lam``."""
    xx = np.ascontiguousarray(x, dtype=np.float64)
    d = as_f64("du", du, 1)
    e = d.shape[0]
    check_shape("x", xx, (e, N_REG))
    check_shape("sxx", sxx, (e, N_REG, N_REG))
    check_shape("sxy", sxy, (e, N_REG))
    check_shape("cnt", cnt, (e,))
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lam must be in (0, 1], got {lam!r}")
    impl("drops", backend).fit_update_k(xx, d, float(lam), sxx, sxy, cnt)


def phasor_loss(ub: Any, u: Any, cur: Any, cosphi: Any, sinphi: Any, q: Any, sxx: npt.NDArray[np.float64],
                sxy: npt.NDArray[np.float64], cnt: npt.NDArray[np.float64], min_n: float, phase: Any, *,
                backend: str = "numba") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                                                 npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                 npt.NDArray[np.float64]]:
    """(each element's loss term (E,) kW, the loss per phase (3,) kW, the elements used per phase (3,), which
    elements had a fit (E,) 0/1, their drop's quadrature y (E,) V, NaN without a fit) from the master's phase
    voltage ``ub`` and the element's voltage ``u``, current and angle (E,); see the module."""
    b = as_f64("ub", ub, 1)
    e = b.shape[0]
    arrs = [as_f64(name, v, 1) for name, v in (("u", u), ("cur", cur), ("cosphi", cosphi), ("sinphi", sinphi))]
    for name, v in zip(("u", "cur", "cosphi", "sinphi"), arrs, strict=True):
        check_shape(name, v, (e,))
    qq = np.ascontiguousarray(q, dtype=np.float64)
    check_shape("q", qq, (e, 3))
    check_shape("sxx", sxx, (e, N_REG, N_REG))
    check_shape("sxy", sxy, (e, N_REG))
    check_shape("cnt", cnt, (e,))
    ph = _phase(phase, e)
    term, kw, n, fit = np.empty(e), np.empty(3), np.empty(3, np.int64), np.empty(e, np.int64)
    y = np.empty(e)
    impl("drops", backend).phasor_loss_k(b, *arrs, qq, sxx, sxy, cnt, float(min_n), ph, term, kw, n, fit, y)
    return term, kw, n, fit, y


def interval_terms(ub: Any, u: Any, cur: Any, cosphi: Any, sinphi: Any, phase: Any, branch: Any,
                   sxx: npt.NDArray[np.float64], sxy: npt.NDArray[np.float64], cnt: npt.NDArray[np.float64],
                   y: npt.NDArray[np.float64], lam: float, min_n: float, *,
                   backend: str = "numba") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """One interval of the method (the engine's physics stage and ``bench/techloss_phases.py``): each current
    turned by the δ of its element's last fitted interval (``y``: its voltage's angle off the master's), the
    fits updated on this interval's drops (in place), then the terms; ``y`` updated in place where a fit gave
    one. Returns (each element's loss term (E,) kW, which elements had a fit (E,) 0/1)."""
    b, uu = as_f64("ub", ub, 1), as_f64("u", u, 1)
    cp, sp = as_f64("cosphi", cosphi, 1), as_f64("sinphi", sinphi, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        y0 = np.clip(y, -DELTA_MAX * uu, DELTA_MAX * uu)
        sd = np.where(uu > 0, -y0 / uu, 0.0)
    cd = np.sqrt(1.0 - sd * sd)
    # the current's angle against the master's phase voltage: φ − δ
    x, quad = regressors(cur, cp * cd + sp * sd, sp * cd - cp * sd, phase, branch, backend=backend)
    fit_update(x, b - np.sqrt(np.maximum(uu * uu - y0 * y0, 0.0)), lam, sxx, sxy, cnt, backend=backend)
    term, _, _, used, y_now = phasor_loss(b, uu, cur, cp, sp, quad, sxx, sxy, cnt, min_n, phase, backend=backend)
    y[:] = np.where(np.isfinite(y_now), y_now, y)
    return term, used
