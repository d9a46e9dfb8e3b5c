"""Customer–transformer mapping check (户变关系, detection.md §1.4) by voltage correlation.

A meter fed by this transformer sees the voltage at the master (on its phase) minus its own line drop, so
their voltage series move together; a meter fed by another transformer follows that one. Per meter over a
window of W days:

- ``corr_master``: Pearson correlation with the master voltage of each phase (three-phase meters: with the
  master's phase mean); the best of the three is the master score, and a best phase other than the
  registered one is reported (wrong phase in the archive) for meters that do belong to the area.
- ``corr_group``: correlation with the mean of the other meters on the same registered phase
  (leave-one-out), so the check still works when the master voltage is missing.
- score = mean of the two available correlations; ``mapping_suspect`` when the score is below ``min_corr``
  or more than ``robust_z`` robust deviations (MAD) below the area median.

Series are first-differenced by default: a meter's level offset (its line drop, calibration) and slow
drifts shared by a whole feeder do not count; load switching behind this transformer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC
from detect.backend import kernels as impl
from detect.kernels import kernel
from detect.kernels._check import as_f64, check_shape
from detect.kernels._stats import pair_corr
from detect.params import MappingParams

__all__ = ["Mapping", "check_mapping", "loo_group_ref", "pair_corr"]

MAD_FLOOR = 0.02  # robust spread floor, so a very uniform area does not flag tiny differences


@kernel
def loo_group_ref(v, group, n_groups, out_ref):
    """Leave-one-out mean of the other read meters of the same group at each time; NaN where none."""
    n, n_t = v.shape
    s = np.zeros((n_groups, n_t))
    c = np.zeros((n_groups, n_t))
    for i in range(n):
        g = group[i]
        for t in range(n_t):
            if math.isfinite(v[i, t]):
                s[g, t] += v[i, t]
                c[g, t] += 1.0
    for i in range(n):
        g = group[i]
        for t in range(n_t):
            x = v[i, t]
            if math.isfinite(x):
                out_ref[i, t] = (s[g, t] - x) / (c[g, t] - 1.0) if c[g, t] > 1.0 else np.nan
            else:
                out_ref[i, t] = s[g, t] / c[g, t] if c[g, t] > 0.0 else np.nan


@dataclass(frozen=True, kw_only=True)
class Mapping:
    corr_master: npt.NDArray[np.float64]   # with the master phase the meter follows best
    best_phase: npt.NDArray[np.int8]       # 0/1/2 = A/B/C, 3 = phase mean (three-phase meters)
    corr_group: npt.NDArray[np.float64]
    samples: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]
    suspect: npt.NDArray[np.bool_]         # mapping_suspect
    phase_mismatch: npt.NDArray[np.bool_]  # follows another master phase than the registered one


def check_mapping(v_meter: Any, v_master: Any, phase: Any, params: MappingParams, *, differenced: bool = True,
                  backend: str = "numba") -> Mapping:
    """v_meter (N, T) meter voltages (V; three-phase meters: mean of their phases), v_master (3, T) master
    phase voltages, phase (N,) registered phase 0/1/2 or 3 (three-phase), on the same time grid."""
    v = as_f64("v_meter", v_meter, 2)
    vm = as_f64("v_master", v_master, 2)
    n, t = v.shape
    check_shape("v_master", vm, (3, t))
    ph = np.ascontiguousarray(phase, dtype=np.int64)
    check_shape("phase", ph, (n,))
    if np.any((ph < 0) | (ph > PHASE_ABC)):
        bad = int(np.flatnonzero((ph < 0) | (ph > PHASE_ABC))[0])
        raise ValueError(f"phase of meter row {bad} is {int(ph[bad])}, expected 0, 1, 2 or {PHASE_ABC}")
    for name, arr in (("v_meter", v), ("v_master", vm)):
        if np.nanmax(np.abs(arr), initial=0.0) > 2000:
            raise ValueError(f"{name} has {float(np.nanmax(np.abs(arr)))!r}: volts expected (phase-to-neutral)")
    k = impl("mapping", backend)
    ref = np.vstack([vm, vm.mean(axis=0, keepdims=True)])  # row 3: phase mean, for three-phase meters
    corr = np.full((4, n), np.nan)
    cnt = np.zeros((4, n), dtype=np.int64)
    for r in range(4):
        k.pair_corr(v, ref, np.full(n, r, dtype=np.int64), differenced, corr[r], cnt[r])
    three = ph == PHASE_ABC
    masked = np.where(np.isfinite(corr[:3]), corr[:3], -np.inf)
    best = np.where(three, PHASE_ABC, np.argmax(masked, axis=0)).astype(np.int8)
    corr_master = np.where(three, corr[3], corr[best.clip(0, 2), np.arange(n)])
    samples = cnt[np.where(three, 3, best).astype(np.int64), np.arange(n)]
    loo = np.empty_like(v)
    k.loo_group_ref(v, ph, PHASE_ABC + 1, loo)
    corr_group = np.empty(n)
    gcnt = np.empty(n, dtype=np.int64)
    k.pair_corr(v, loo, np.arange(n, dtype=np.int64), differenced, corr_group, gcnt)
    with np.errstate(invalid="ignore"):
        score = np.nanmean(np.vstack([corr_master, corr_group]), axis=0) if n else np.empty(0)
    enough = (np.maximum(samples, gcnt) >= params.min_samples) & np.isfinite(score)
    score = np.where(enough, score, np.nan)
    if enough.any():
        med = float(np.median(score[enough]))
        mad = max(1.4826 * float(np.median(np.abs(score[enough] - med))), MAD_FLOOR)
    else:
        med, mad = 1.0, MAD_FLOOR
    with np.errstate(invalid="ignore"):
        suspect = enough & ((score < params.min_corr) | ((med - score) / mad > params.robust_z))
        reg = corr[np.clip(ph, 0, 2), np.arange(n)]
        phase_mismatch = enough & ~suspect & ~three & (best != ph) & (corr_master - reg > 0.2)
    return Mapping(corr_master=corr_master, best_phase=best, corr_group=corr_group, samples=samples, score=score,
                   suspect=suspect, phase_mismatch=phase_mismatch)
