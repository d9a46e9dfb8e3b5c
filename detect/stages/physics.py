"""Technical loss by physics, per interval and phase (docs/lineloss.md §1.3): every metering element's voltage
drop below the master's phase voltage times its current (``detect.kernels.lineloss.service_loss``), and what
the per-phase balance needs — each meter's split over the phases and the elements' drops for the voltage
evidence of the suspect ranking.

Elements: a single-phase meter registers its one element as ``u_a``/``i_a`` on its own phase; a three-phase
meter has elements A, B, C. A meter's samples are its latest ``u_*``, ``i_*`` and ``p`` within one read cadence
of the interval's end; the master's phase voltages are those read at that bound (its first reading of the
next interval; else its mean over the interval); the interval's loss is
the mean of the terms at its two bounds (the samples are instants). A meter unread in an interval keeps
its last loss term for up to ``HOLD_INTERVALS`` (a collection gap must not look like a
drop in technical loss); after that it counts as missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC, Area
from detect.context import AreaContext
from detect.kernels.drops import N_REG, interval_terms
from detect.kernels.lineloss import physics_loss
from detect.quantities import QUANTITY_CODE
from detect.stages.readings import ReadingsState

__all__ = ["HOLD_INTERVALS", "DropFit", "Elements", "PhysicsInterval", "elements", "interval_loss"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Q = QUANTITY_CODE
HOLD_INTERVALS = 4
U_COLS = np.array([Q["u_a"], Q["u_b"], Q["u_c"]])
I_COLS = np.array([Q["i_a"], Q["i_b"], Q["i_c"]])


@dataclass(frozen=True, eq=False)
class Elements:
    meter: I64          # (E,) meter index of each metering element
    phase: I64          # (E,) its phase 0/1/2
    col: I64            # (E,) which of u_a/u_b/u_c (i_a/i_b/i_c) it registers
    branch: I64         # (E,) the meter's branch


@cache
def _elements(ids: tuple[str, ...], phase: bytes, branch: bytes) -> Elements:
    ph = np.frombuffer(phase, np.int8).astype(np.int64)
    br = np.frombuffer(branch, np.int64)
    meter, phs, col = [], [], []
    for i, p in enumerate(ph.tolist()):
        if p == PHASE_ABC:
            meter += [i, i, i]
            phs += [0, 1, 2]
            col += [0, 1, 2]
        else:
            meter.append(i)
            phs.append(p)
            col.append(0)
    m = np.array(meter, np.int64)
    return Elements(meter=m, phase=np.array(phs, np.int64), col=np.array(col, np.int64), branch=br[m])


def elements(area: Area) -> Elements:
    """The metering elements of ``area`` (computed once per area)."""
    return _elements(area.meter_ids, area.meter_phase.astype(np.int8).tobytes(),
                     area.meter_branch.astype(np.int64).tobytes())


@dataclass(frozen=True, eq=False)
class DropFit:
    """Each metering element's drop fit (``detect.kernels.drops``), updated in place: Σ x·xᵀ (E, 4, 4),
    Σ x·drop (E, 4) and the intervals counted (E,), all with forgetting, and the drop's quadrature y (E,) V
    of the element's last interval with a fit (0 before)."""

    sxx: F64
    sxy: F64
    n: F64
    y: F64

    @classmethod
    def fresh(cls, n_elements: int) -> DropFit:
        return cls(sxx=np.zeros((n_elements, N_REG, N_REG)), sxy=np.zeros((n_elements, N_REG)),
                   n=np.zeros(n_elements), y=np.zeros(n_elements))


@dataclass(frozen=True, eq=False)
class PhysicsInterval:
    loss_kwh: F64       # (3,) technical loss per phase over the interval (NaN: not enough meters)
    coverage_pct: float  # meters with a loss term (read now or held)
    du: F64             # (E,) each element's drop below the master's phase voltage (V), NaN = unknown
    split: F64          # (N, 3) each meter's share of its energy on each phase
    fitted_pct: float = math.nan  # elements with a term whose drop fit placed the neutral (else the magnitude method)


def interval_loss(ctx: AreaContext, rd: ReadingsState, um: F64, held: F64, held_k: I64, k: int,
                  fit: DropFit | None = None) -> PhysicsInterval:
    """Interval ``k``: the loss per phase from the elements' drops below ``um`` (3,) and their currents; ``held`` (N, 3) and
    ``held_k`` (N,) are each meter's last loss term (kW per phase) and its interval, updated in place; ``fit``
    the elements' drop fits (updated in place; None, or ``tech_loss.drop_fit_days`` 0: the magnitude method)."""
    prm, area = ctx.params, ctx.area
    n = area.n_meters
    el = elements(area)
    now = float((k + 1) * prm.interval_s) + prm.lateness_s
    max_age = prm.interval_s + prm.lateness_s
    vals, age = rd.last_value[:n], now - rd.last_ts[:n]
    fresh = lambda cols: np.where(age[:, cols] <= max_age, vals[:, cols], np.nan)  # noqa: E731
    u, cur, p = fresh(U_COLS), fresh(I_COLS), fresh(np.array([Q["p"]]))[:, 0]
    q = fresh(np.array([Q["q"]]))[:, 0]
    u_el, i_el = u[el.meter, el.col], cur[el.meter, el.col]
    du = um[el.phase] - u_el
    s_kva = np.bincount(el.meter, weights=np.nan_to_num(u_el * i_el) / 1000.0, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        pf = np.where(s_kva > 1e-3, p / np.maximum(s_kva, 1e-3), np.where(np.isfinite(p), 1.0, np.nan))
    pf = np.clip(pf, -1.0, 1.0)
    fitted_pct = math.nan
    if fit is None or prm.tech_loss.drop_fit_days <= 0:
        el_term, _, _ = physics_loss(du, i_el, pf[el.meter], el.phase, backend=ctx.backend)
    else:
        el_term, fitted_pct = _fitted(ctx, el, fit, um[el.phase], u_el, i_el, *_angle(p, q, pf))
    ok = np.isfinite(el_term)
    term = np.bincount(el.meter[ok] * 3 + el.phase[ok], weights=el_term[ok], minlength=3 * n).reshape(n, 3)
    read = np.zeros(n, np.bool_)
    read[el.meter[ok]] = True
    # the interval's loss from the samples at both its bounds (the previous one is the meter's held term)
    both = read & (held_k == k - 1)
    used = np.where(both[:, None], 0.5 * (held + term), np.where(read[:, None], term, held))
    held[read] = term[read]
    held_k[read] = k
    usable = (k - held_k) <= HOLD_INTERVALS
    coverage = 100.0 * float(usable.sum()) / n if n else math.nan
    loss = np.where(usable[:, None], used, 0.0).sum(axis=0) * prm.interval_s / 3600.0
    if coverage < prm.tech_loss.physics_min_coverage_pct or not np.isfinite(um).all():
        loss = np.full(3, np.nan)
    return PhysicsInterval(loss_kwh=loss, coverage_pct=coverage, du=du, split=_split(area, el, u, cur),
                           fitted_pct=fitted_pct)


def _fitted(ctx: AreaContext, el: Elements, fit: DropFit, ub: F64, u: F64, cur: F64, cosphi: F64,
            sinphi: F64) -> tuple[F64, float]:
    """(each element's loss term (E,) kW, the share of those with a term that came from its fit) by the drop
    fit (``detect.kernels.drops.interval_terms``)."""
    prm = ctx.params
    lam = 1.0 - prm.interval_s / (prm.tech_loss.drop_fit_days * 86400.0)
    term, used = interval_terms(ub, u, cur, cosphi[el.meter], sinphi[el.meter], el.phase, el.branch, fit.sxx,
                                fit.sxy, fit.n, fit.y, lam, prm.tech_loss.drop_fit_min_intervals,
                                backend=ctx.backend)
    known = np.isfinite(term)
    return term, (100.0 * float(used[known].sum()) / int(known.sum()) if known.any() else math.nan)


def _angle(p: F64, q: F64, pf: F64) -> tuple[F64, F64]:
    """(cos φ, sin φ) of each meter's current against its voltage: from p and q where both are read (φ > 0
    lagging, |φ| > 90° exporting), else from its power factor, taken as lagging."""
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.hypot(p, q)
        by_pq = np.isfinite(s) & (s > 1e-6)
        cos = np.where(by_pq, p / np.where(by_pq, s, 1.0), pf)
        sin = np.where(by_pq, q / np.where(by_pq, s, 1.0), np.sqrt(np.clip(1.0 - pf * pf, 0.0, 1.0)))
    return cos, sin


def _split(area: Area, el: Elements, u: F64, cur: F64) -> F64:
    """(N, 3): a single-phase meter's energy is on its phase; a three-phase meter's in proportion to its
    elements' u·i (equal thirds when they are unknown)."""
    n = area.n_meters
    out = np.zeros((n, 3))
    three = area.meter_phase == PHASE_ABC
    single = np.flatnonzero(~three)
    out[single, area.meter_phase[single].astype(np.int64)] = 1.0
    if three.any():
        s = np.nan_to_num(u[three] * cur[three])
        tot = s.sum(axis=1, keepdims=True)
        out[three] = np.where(tot > 0, s / np.maximum(tot, 1e-9), 1.0 / 3.0)
    return out
