"""Reference of ``detect.kernels.load`` in vectorised numpy."""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def load_rates(i_a: F64, i_b: F64, i_c: F64, p_kw: F64, q_kvar: F64, rated_a: float,
               rated_kva: float) -> tuple[F64, F64, F64]:
    """(β_max %, β_S %, S kVA) per sample."""
    currents = np.abs(np.stack([i_a, i_b, i_c]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns give NaN, which is what we want
        hottest = np.nanmax(currents, axis=0)
    s_kva = np.hypot(p_kw, q_kvar)
    return hottest / rated_a * 100.0, s_kva / rated_kva * 100.0, s_kva


def imbalance_pct(i_a: F64, i_b: F64, i_c: F64, formula: int) -> F64:
    """Three-phase current imbalance in % by the selected formula; NaN when a phase is missing or all zero."""
    currents = np.abs(np.stack([i_a, i_b, i_c]))
    hi, lo, avg = currents.max(axis=0), currents.min(axis=0), currents.mean(axis=0)
    num = hi - (lo if formula in (0, 1) else avg)
    den = hi if formula == 0 else avg
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den * 100.0
    return np.where(hi > 0, out, np.nan)
