"""Customer–transformer mapping check (docs/lineloss.md): each day, voltage correlation of every meter with
the master phases and its registered-phase neighbours over ``mapping.window_days`` of 15-min means;
``mapping_suspect`` per meter that does not follow this transformer."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from detect._emit import run_alarm
from detect.kernels.mapping import check_mapping

if TYPE_CHECKING:
    from detect.engine import Engine

F64 = npt.NDArray[np.float64]


def meter_voltage(eng: Engine, slot: int, k: int) -> F64:
    """Mean voltage of each meter over interval k (all its phases), NaN where it reported none."""
    st = eng.state
    if st.slot_k[slot] != k:
        return np.full(eng.area.n_meters, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(st.u_n[slot] > 0, st.u_sum[slot] / np.maximum(st.u_n[slot], 1), np.nan)


def master_voltage(eng: Engine, k: int) -> F64:
    """Mean master phase voltages over interval k."""
    ls = eng.loss
    slot = k % len(ls.slot_k)
    if ls.slot_k[slot] != k:
        return np.full(3, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ls.um_n[slot] > 0, ls.um_sum[slot] / np.maximum(ls.um_n[slot], 1), np.nan)


def daily(eng: Engine, end: float) -> None:
    """Run the mapping check over the last ``window_days`` and feed ``mapping_suspect``."""
    ls, prm, area = eng.loss, eng.params, eng.area
    mp = prm.mapping
    interval = prm.interval_s
    t = mp.window_days * (86400 // interval)
    k_end = int(end // interval)           # first interval after the day
    ks = np.arange(k_end - t, k_end)
    rows = ks % len(ls.ring_uk)
    have = ls.ring_uk[rows] == ks
    if have.sum() < mp.min_samples:
        return
    v = np.where(have[None, :], ls.ring_u[rows].T, np.nan).astype(np.float64)
    vm = np.where(have[None, :], ls.ring_um[rows].T, np.nan).astype(np.float64)
    with warnings.catch_warnings():     # meters without a single voltage in the window: no verdict (NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = check_mapping(v, vm, area.meter_phase, mp, backend=eng.kernel_backend)
    n = area.n_meters
    # Only the absolute score raises: a score far below the area median but still well correlated (the
    # kernel's robust-z flag) happens on healthy feeders ends and is kept as evidence.
    suspect = res.suspect & (res.score < mp.min_corr)
    verdict = np.isfinite(res.score)
    valid = verdict & ~eng.explained_meters()
    names = area.meter_ids
    phases = ("A", "B", "C", "ABC")
    run_alarm(eng, "mapping_suspect@meter", subj=np.arange(n), ts=np.full(n, end), on=suspect,
              off=~suspect, valid=valid, values=res.score, threshold=mp.min_corr, unit="",
              severity=lambda _x: "warning", updates=False,
              evidence=lambda i: {"score": float(res.score[i]), "corr_master": float(res.corr_master[i]),
                                  "corr_neighbours": float(res.corr_group[i]), "samples": int(res.samples[i]),
                                  "registered_phase": phases[int(area.meter_phase[i])],
                                  "best_phase": phases[int(res.best_phase[i])],
                                  "phase_mismatch": bool(res.phase_mismatch[i]), "window_days": mp.window_days,
                                  "robust_outlier": bool(res.suspect[i])},
              describe=lambda s, i, x: (f"meter {names[i]} voltage does not follow this transformer "
                                        f"(score {x:.2f} < {mp.min_corr:g}): check the customer–transformer record"
                                        if s != "cleared" and math.isfinite(x) else
                                        f"meter {names[i]} voltage follows this transformer again"))
