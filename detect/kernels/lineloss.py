"""Line-loss kernels (detection.md §1): interval energies from registers, area balance, bands, persistence.

Conventions: float64 arrays, NaN = not read. Devices are rows ``0..N-1`` (meters) and ``N`` (master).
Status codes: ``STATUS_COMPUTED`` (every meter measured), ``STATUS_ESTIMATED`` (some meters filled from their
own history, flagged), ``STATUS_NOT_COMPUTABLE``. Band codes: ``BAND_NONE`` (no loss value),
``BAND_QUALIFIED``, ``BAND_NEGATIVE``, ``BAND_HIGH``.
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
from detect.params import LineLossParams

__all__ = [
    "BAND_HIGH",
    "BAND_NEGATIVE",
    "BAND_NONE",
    "BAND_QUALIFIED",
    "DLT645_REGISTER_KWH",
    "JITTER_KWH",
    "PF_FLOOR",
    "ROLLOVER_WINDOW",
    "STATUS_COMPUTED",
    "STATUS_ESTIMATED",
    "STATUS_NAMES",
    "STATUS_NOT_COMPUTABLE",
    "Balance",
    "abnormal_runs",
    "area_balance",
    "balance",
    "bands",
    "daily_energies",
    "daily_energy",
    "estimate_from_history",
    "history_estimate",
    "interval_energies",
    "interval_energy",
    "loss_band",
    "persistent",
    "physics_loss",
    "register_at_bounds",
    "register_capacity_kwh",
    "service_loss",
]

STATUS_COMPUTED = 0
STATUS_ESTIMATED = 1
STATUS_NOT_COMPUTABLE = 2
STATUS_NAMES = ("computed", "estimated", "not_computable")

BAND_NONE = -1
BAND_QUALIFIED = 0
BAND_NEGATIVE = 1
BAND_HIGH = 2

# Below this power factor the reading is too poor to turn a drop times a current into a loss (a meter near no
# load reports pf from noise): the loss term is taken at this power factor.
PF_FLOOR = 0.5
# A register that goes down by less than this (half the 0.01 kWh display resolution) is jitter, not a reset.
JITTER_KWH = 0.005
# A decrease is a counter rollover when the wrapped advance is below this fraction of the register capacity
# (e.g. 999 998.7 → 1.3 on a 10^6 kWh register); any other decrease is a meter replacement.
ROLLOVER_WINDOW = 0.01


@kernel
def register_at_bounds(ts, reg, count, bounds, rollover_kwh, max_gap_s, out_value, out_segment):
    """Unwrapped register value of each device at each interval bound, by linear interpolation.

    ts, reg: (M, K) readings per device, sorted by ts, the first ``count[m]`` columns used; a NaN ts or value
    is skipped. bounds: (B,) increasing epoch seconds. rollover_kwh: (M,) register capacity, 0 = never rolls.
    A bound is interpolated only between two readings at most ``max_gap_s`` apart in the same segment
    (a meter replacement starts a new segment); a reading exactly at the bound (frozen data) is used as is.
    out_value (M, B): register relative to the device's first valid reading (keeps precision at +1e8 kWh
    offsets); out_segment (M, B): segment number, -1 where the value is unknown.
    """
    n_dev = ts.shape[0]
    n_b = bounds.shape[0]
    for m in range(n_dev):
        for b in range(n_b):
            out_value[m, b] = np.nan
            out_segment[m, b] = -1
        bi = 0
        have_prev = False
        pt = 0.0
        pv = 0.0
        pc = 0.0
        ps = 0
        roll = rollover_kwh[m]
        for j in range(count[m]):
            t = ts[m, j]
            v = reg[m, j]
            if not (math.isfinite(t) and math.isfinite(v)):
                continue
            if not have_prev:
                while bi < n_b and bounds[bi] < t:
                    bi += 1
                while bi < n_b and bounds[bi] == t:
                    out_value[m, bi] = 0.0
                    out_segment[m, bi] = 0
                    bi += 1
                have_prev = True
                pt = t
                pv = v
                pc = 0.0
                ps = 0
                continue
            d = v - pv
            s = ps
            if d < 0.0:
                if d >= -JITTER_KWH:
                    d = 0.0
                elif roll > 0.0 and 0.0 <= d + roll < ROLLOVER_WINDOW * roll:
                    d += roll
                else:
                    s = ps + 1
                    d = 0.0
            c = pc + d
            while bi < n_b and bounds[bi] <= t:
                bt = bounds[bi]
                if bt == t:
                    out_value[m, bi] = c
                    out_segment[m, bi] = s
                elif s == ps and t - pt <= max_gap_s:
                    out_value[m, bi] = pc + d * ((bt - pt) / (t - pt))
                    out_segment[m, bi] = s
                bi += 1
            pt = t
            pv = v
            pc = c
            ps = s


@kernel
def interval_energy(value, segment, out):
    """Energy of each interval between consecutive bounds: (M, B) → out (M, B-1); NaN across a gap or a
    meter replacement."""
    for m in range(value.shape[0]):
        for b in range(value.shape[1] - 1):
            s0 = segment[m, b]
            if s0 >= 0 and s0 == segment[m, b + 1]:
                out[m, b] = value[m, b + 1] - value[m, b]
            else:
                out[m, b] = np.nan


@kernel
def daily_energy(interval_e, frozen_start, frozen_end, rollover_kwh, out):
    """Energy of a day per device: the difference of the daily frozen registers (同期, synchronous) when both
    exist and are consistent, else the sum of the day's intervals when none is missing, else NaN.

    interval_e: (M, I); frozen_start, frozen_end, rollover_kwh: (M,); out: (M,).
    """
    for m in range(interval_e.shape[0]):
        a = frozen_start[m]
        b = frozen_end[m]
        val = np.nan
        if math.isfinite(a) and math.isfinite(b):
            d = b - a
            if d < 0.0 and d >= -JITTER_KWH:
                d = 0.0
            elif d < 0.0 and rollover_kwh[m] > 0.0 and 0.0 <= d + rollover_kwh[m] < ROLLOVER_WINDOW * rollover_kwh[m]:
                d += rollover_kwh[m]
            if d >= 0.0:
                val = d
        if not math.isfinite(val):
            acc = 0.0
            for i in range(interval_e.shape[1]):
                acc += interval_e[m, i]
            val = acc  # NaN if any interval is missing
        out[m] = val


@kernel
def history_estimate(hist, min_samples, out):
    """Gap filler from a meter's own history: mean of the finite values of each row of hist (N, D) (e.g. the
    same interval of the previous D days); NaN when fewer than ``min_samples`` are finite."""
    for i in range(hist.shape[0]):
        acc = 0.0
        n = 0
        for d in range(hist.shape[1]):
            x = hist[i, d]
            if math.isfinite(x):
                acc += x
                n += 1
        out[i] = acc / n if n >= min_samples and n > 0 else np.nan


@kernel
def area_balance(e_fwd, e_rev, pv, est_fwd, est_rev, min_coverage_pct,
                 out_supply, out_sales, out_loss_pct, out_coverage_pct, out_status):
    """Supply, sales, loss %, coverage % and status of T periods (intervals or days).

    e_fwd, e_rev: (T, N+1) energies per period (column N = master); pv: (N,) bool; est_fwd, est_rev: (T, N)
    history estimates for meters that were not read (NaN = none). Supply = master forward − master reverse
    + Σ reverse (export) of PV customers; sales = Σ customer forward. A master reverse of NaN counts as 0
    (masters without a reverse register); a non-PV customer's reverse energy is not part of the balance.
    """
    n = pv.shape[0]
    for t in range(e_fwd.shape[0]):
        mf = e_fwd[t, n]
        mr = e_rev[t, n]
        if not math.isfinite(mr):
            mr = 0.0
        sales = 0.0
        export = 0.0
        measured = 0
        unfilled = 0
        for i in range(n):
            f = e_fwd[t, i]
            r = e_rev[t, i] if pv[i] else 0.0
            if math.isfinite(f) and math.isfinite(r):
                measured += 1
            else:
                if not math.isfinite(f):
                    f = est_fwd[t, i]
                if not math.isfinite(r):
                    r = est_rev[t, i]
                if not (math.isfinite(f) and math.isfinite(r)):
                    unfilled += 1
                    continue
            sales += f
            export += r
        supply = mf - mr + export
        coverage = 100.0 * measured / n if n > 0 else 100.0
        out_coverage_pct[t] = coverage
        out_supply[t] = supply if unfilled == 0 else np.nan
        out_sales[t] = sales if unfilled == 0 else np.nan
        if not math.isfinite(mf) or unfilled > 0 or coverage < min_coverage_pct or not supply > 0.0:
            out_status[t] = STATUS_NOT_COMPUTABLE
            out_loss_pct[t] = np.nan
        else:
            out_status[t] = STATUS_COMPUTED if measured == n else STATUS_ESTIMATED
            out_loss_pct[t] = 100.0 * (supply - sales) / supply


@kernel
def loss_band(loss_pct, status, negative_pct, high_pct, out):
    """Band of each loss value: negative below ``negative_pct``, high above ``high_pct``, else qualified;
    BAND_NONE where the loss is not computable."""
    for t in range(loss_pct.shape[0]):
        x = loss_pct[t]
        if status[t] == STATUS_NOT_COMPUTABLE or not math.isfinite(x):
            out[t] = BAND_NONE
        elif x < negative_pct:
            out[t] = BAND_NEGATIVE
        elif x > high_pct:
            out[t] = BAND_HIGH
        else:
            out[t] = BAND_QUALIFIED


@kernel
def abnormal_runs(band, run_before, out):
    """Consecutive abnormal (negative or high) days ending at each day, continuing from ``run_before``.
    A qualified day resets the run; a day without a loss value (BAND_NONE) holds it, since a collection gap
    says nothing about the loss."""
    run = run_before
    for d in range(band.shape[0]):
        if band[d] == BAND_NEGATIVE or band[d] == BAND_HIGH:
            run += 1
        elif band[d] == BAND_QUALIFIED:
            run = 0
        out[d] = run


# ---------------------------------------------------------------------------------------------------------
# Thin wrappers: check shapes and units, allocate outputs, call the kernel (or its reference).

@dataclass(frozen=True, kw_only=True)
class Balance:
    """Area balance of T periods (intervals or days)."""

    supply_kwh: npt.NDArray[np.float64]
    sales_kwh: npt.NDArray[np.float64]
    loss_pct: npt.NDArray[np.float64]
    coverage_pct: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]


def interval_energies(ts: Any, reg: Any, bounds: Any, *, rollover_kwh: Any, max_gap_s: float,
                      count: Any = None, backend: str = "numba") -> npt.NDArray[np.float64]:
    """Energy (kWh) of each device in each interval between consecutive ``bounds`` from cumulative registers.

    ts, reg: (M, K) readings (epoch s, kWh), NaN-padded, any order within a row. rollover_kwh: scalar or
    (M,) register capacity (0 = none). Returns (M, B-1), NaN where a gap or a replacement hides the energy.
    """
    ts_a = as_f64("ts", ts, 2)
    reg_a = as_f64("reg", reg, 2)
    check_shape("reg", reg_a, ts_a.shape)
    b = as_f64("bounds", bounds, 1)
    if b.size < 2 or np.any(np.diff(b) <= 0):
        raise ValueError(f"bounds must be at least 2 strictly increasing times, got {b[:5]}...")
    check_range("max_gap_s", max_gap_s, 0, 7 * 86400, "s")
    m = ts_a.shape[0]
    roll = np.broadcast_to(np.asarray(rollover_kwh, dtype=np.float64), (m,)).copy()
    if np.any(roll < 0) or not np.all(np.isfinite(roll)):
        raise ValueError(f"rollover_kwh must be finite and >= 0, got {roll[(roll < 0) | ~np.isfinite(roll)][:3]}")
    cnt = (np.full(m, ts_a.shape[1], dtype=np.int64) if count is None
           else np.ascontiguousarray(count, dtype=np.int64))
    check_shape("count", cnt, (m,))
    if np.any(cnt < 0) or np.any(cnt > ts_a.shape[1]):
        raise ValueError(f"count must be within 0..{ts_a.shape[1]}, got {cnt.min()}..{cnt.max()}")
    # kernels need readings in time order; NaN times sort last
    order = np.argsort(np.where(np.isfinite(ts_a), ts_a, np.inf), axis=1, kind="stable")
    ts_s = np.take_along_axis(ts_a, order, axis=1)
    reg_s = np.take_along_axis(reg_a, order, axis=1)
    k = impl("lineloss", backend)
    value = np.empty((m, b.size))
    seg = np.empty((m, b.size), dtype=np.int64)
    k.register_at_bounds(ts_s, reg_s, cnt, b, roll, float(max_gap_s), value, seg)
    out = np.empty((m, b.size - 1))
    k.interval_energy(value, seg, out)
    return out


def balance(e_fwd: Any, e_rev: Any, pv: Any, est_fwd: Any = None, est_rev: Any = None, *,
            min_coverage_pct: float, backend: str = "numba") -> Balance:
    """Line loss of T periods from per-device energies (T, N+1) with the master in column N (kWh)."""
    f = as_f64("e_fwd", e_fwd, 2)
    r = as_f64("e_rev", e_rev, 2)
    check_shape("e_rev", r, f.shape)
    pv_a = np.ascontiguousarray(pv, dtype=np.bool_)
    t, n1 = f.shape
    check_shape("pv", pv_a, (n1 - 1,))
    ef = np.full((t, n1 - 1), np.nan) if est_fwd is None else as_f64("est_fwd", est_fwd, 2)
    er = np.full((t, n1 - 1), np.nan) if est_rev is None else as_f64("est_rev", est_rev, 2)
    check_shape("est_fwd", ef, (t, n1 - 1))
    check_shape("est_rev", er, (t, n1 - 1))
    check_range("min_coverage_pct", min_coverage_pct, 0, 100, "%")
    neg = np.flatnonzero(np.nan_to_num(f) < 0)
    if neg.size:
        raise ValueError(f"e_fwd must be >= 0 kWh: device column {neg[0] % n1} has {float(f.flat[neg[0]])!r}")
    out = Balance(supply_kwh=np.empty(t), sales_kwh=np.empty(t), loss_pct=np.empty(t),
                  coverage_pct=np.empty(t), status=np.empty(t, dtype=np.int8))
    impl("lineloss", backend).area_balance(f, r, pv_a, ef, er, float(min_coverage_pct), out.supply_kwh,
                                           out.sales_kwh, out.loss_pct, out.coverage_pct, out.status)
    return out


def bands(loss_pct: Any, status: Any, params: LineLossParams, *, backend: str = "numba") -> npt.NDArray[np.int8]:
    """Band code of each loss value with the configured bounds."""
    x = as_f64("loss_pct", loss_pct, 1)
    st = np.ascontiguousarray(status, dtype=np.int8)
    check_shape("status", st, x.shape)
    out = np.empty(x.size, dtype=np.int8)
    impl("lineloss", backend).loss_band(x, st, float(params.negative_pct), float(params.high_pct), out)
    return out


# DL/T 645-2007 energy registers are XXXXXX.XX kWh (dlt645.md §3.1): they wrap after 999 999.99 in meter units.
DLT645_REGISTER_KWH = 1_000_000.0


def register_capacity_kwh(ct_ratio: Any) -> npt.NDArray[np.float64]:
    """Rollover point of each meter's energy register in engineering units (meter units × CT ratio)."""
    ct = np.atleast_1d(np.asarray(ct_ratio, dtype=np.float64))
    if np.any(~np.isfinite(ct) | (ct < 1)):
        raise ValueError(f"ct_ratio must be >= 1, got {ct[~np.isfinite(ct) | (ct < 1)][:3]}")
    return DLT645_REGISTER_KWH * ct


def daily_energies(interval_e: Any, frozen_start: Any, frozen_end: Any, *, rollover_kwh: Any,
                   backend: str = "numba") -> npt.NDArray[np.float64]:
    """Day energy per device (M,): frozen-register difference (同期) if consistent, else Σ of the intervals."""
    ie = as_f64("interval_e", interval_e, 2)
    m = ie.shape[0]
    fs = as_f64("frozen_start", frozen_start, 1)
    fe = as_f64("frozen_end", frozen_end, 1)
    check_shape("frozen_start", fs, (m,))
    check_shape("frozen_end", fe, (m,))
    roll = np.broadcast_to(np.asarray(rollover_kwh, dtype=np.float64), (m,)).copy()
    out = np.empty(m)
    impl("lineloss", backend).daily_energy(ie, fs, fe, roll, out)
    return out


def estimate_from_history(hist: Any, *, min_samples: int = 3, backend: str = "numba") -> npt.NDArray[np.float64]:
    """Gap estimate per meter (N,) from its own history (N, D): the mean of the read values, NaN if too few."""
    h = as_f64("hist", hist, 2)
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")
    out = np.empty(h.shape[0])
    impl("lineloss", backend).history_estimate(h, int(min_samples), out)
    return out


def persistent(band: Any, params: LineLossParams, *, run_before: int = 0,
               backend: str = "numba") -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Consecutive abnormal days at each day and whether that reaches ``params.persistent_days``."""
    b = np.ascontiguousarray(band, dtype=np.int8)
    if b.ndim != 1:
        raise ValueError(f"band must be 1-D, got shape {b.shape}")
    if run_before < 0:
        raise ValueError(f"run_before must be >= 0, got {run_before}")
    runs = np.empty(b.size, dtype=np.int64)
    impl("lineloss", backend).abnormal_runs(b, int(run_before), runs)
    return runs, runs >= params.persistent_days


@kernel
def service_loss(du, cur, pf, phase, out_term, out_kw, out_n):
    """Technical loss by physics (docs/lineloss.md §1.3): each metering element's term du·cur / |pf| with the
    sign of pf (kW; du = master phase voltage − the element's voltage in V, cur its current in A, pf its
    signed power factor: negative while it exports) in out_term (NaN where an input is NaN), and per phase
    their sum (out_kw) and count (out_n). The exact loss is Σ Re(ΔV·conj(I)) (Tellegen); with magnitudes
    only, the drop along the current of a resistive path is du / |pf|."""
    for p in range(3):
        out_kw[p] = 0.0
        out_n[p] = 0
    for e in range(du.shape[0]):
        out_term[e] = np.nan
        if not (math.isfinite(du[e]) and math.isfinite(cur[e]) and math.isfinite(pf[e])):
            continue
        a = abs(pf[e])
        w = (1.0 if pf[e] >= 0.0 else -1.0) / (a if a > PF_FLOOR else PF_FLOOR)
        out_term[e] = du[e] * cur[e] * w / 1000.0
        out_kw[phase[e]] += out_term[e]
        out_n[phase[e]] += 1


def physics_loss(du: Any, cur: Any, pf: Any, phase: Any, *,
                 backend: str = "numba") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(each element's loss term (E,) kW, the loss per phase (3,) kW, the elements used per phase (3,)) from
    the elements' voltage drops, currents and power factors (E,); see ``service_loss``."""
    d = as_f64("du", du, 1)
    e = d.shape[0]
    c = as_f64("cur", cur, 1)
    f = as_f64("pf", pf, 1)
    check_shape("cur", c, (e,))
    check_shape("pf", f, (e,))
    ph = np.ascontiguousarray(phase, dtype=np.int64)
    check_shape("phase", ph, (e,))
    if e and (ph.min() < 0 or ph.max() > 2):
        raise ValueError(f"phase must be 0, 1 or 2, got {sorted(set(ph.tolist()) - {0, 1, 2})[:3]}")
    term, out, n = np.empty(e), np.empty(3), np.empty(3, np.int64)
    impl("lineloss", backend).service_loss(d, c, f, ph, term, out, n)
    return term, out, n
