"""Reference of ``detect.kernels.energy`` with numpy masks (codes and conventions documented there)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
OK, NOT_READ, NO_BASELINE, ROLLOVER, RESET, GAP = 0, 1, 2, 3, 4, 5
BACKSTEP_TOL_KWH = 0.011


def interval_energy(prev: F64, prev_ts: F64, first: F64, last: F64, last_ts: F64, start_ts: float,
                    interval_s: float, rollover_kwh: float) -> tuple[F64, npt.NDArray[np.int8]]:
    """Interval energy per meter and its quality code."""
    d = last - prev
    not_read = np.isnan(last)
    no_base = ~not_read & np.isnan(prev)
    back = ~not_read & ~no_base & (d < -BACKSTEP_TOL_KWH)
    rollover = back & (prev >= 0.9 * rollover_kwh) & (last <= 0.1 * rollover_kwh)
    reset = back & ~rollover
    fine = ~not_read & ~no_base & ~back
    gap = fine & (prev_ts < start_ts - interval_s) & (last_ts > prev_ts)
    e = np.clip(d, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(gap, e * (last_ts - start_ts) / (last_ts - prev_ts), e)
    e = np.where(rollover, d + rollover_kwh, e)
    e = np.where(reset, np.nan_to_num(np.clip(last - first, 0.0, None), nan=0.0), e)
    e = np.where(not_read | no_base, np.nan, e)
    code = np.select([not_read, no_base, rollover, reset, gap], [NOT_READ, NO_BASELINE, ROLLOVER, RESET, GAP], OK)
    return e, code.astype(np.int8)
