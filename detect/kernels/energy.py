"""Per-meter interval energy from cumulative registers (kWh), with rollover, reset and gap handling.

Convention: a meter's energy in an interval is the advance of its register from its last reading before
the interval (``prev``) to its last reading inside it (``last``). Codes per meter:
0 ok, 1 not read (NaN), 2 no baseline yet (NaN), 3 rollover (register wrapped at ``rollover_kwh``),
4 reset (register went back: meter replaced or cleared; only the advance seen after the reset is counted,
estimated), 5 gap (previous reading older than one interval before the start: the advance is prorated
to the part inside the interval, estimated).
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel

OK, NOT_READ, NO_BASELINE, ROLLOVER, RESET, GAP = 0, 1, 2, 3, 4, 5
# A register may read back a hair lower (rounding of the last digit): not a reset.
BACKSTEP_TOL_KWH = 0.011


@kernel
def interval_energy(prev, prev_ts, first, last, last_ts, start_ts, interval_s, rollover_kwh):  # pragma: no cover - jitted
    n = prev.shape[0]
    e = np.empty(n)
    code = np.zeros(n, np.int8)
    for i in range(n):
        if math.isnan(last[i]):
            e[i] = np.nan
            code[i] = NOT_READ
            continue
        if math.isnan(prev[i]):
            e[i] = np.nan
            code[i] = NO_BASELINE
            continue
        d = last[i] - prev[i]
        if d < -BACKSTEP_TOL_KWH:
            if prev[i] >= 0.9 * rollover_kwh and last[i] <= 0.1 * rollover_kwh:
                e[i] = d + rollover_kwh
                code[i] = ROLLOVER
            else:
                after = last[i] - first[i]
                e[i] = after if after >= 0.0 else 0.0
                code[i] = RESET
            continue
        if d < 0.0:
            d = 0.0
        if prev_ts[i] < start_ts - interval_s and last_ts[i] > prev_ts[i]:
            e[i] = d * (last_ts[i] - start_ts) / (last_ts[i] - prev_ts[i])
            code[i] = GAP
        else:
            e[i] = d
    return e, code
