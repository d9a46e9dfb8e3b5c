"""State of the line-loss, theft and mapping stage (issue 8): plain arrays, snapshot-able field by field.

Kept apart from ``detect.state.EngineState`` so the two stages evolve independently; the engine snapshot
stores these arrays under the ``l.`` prefix. Devices ``0..N`` (master ``N``); open-interval slots share the
engine's slot numbering (``k % n_slots``) but carry their own interval index ``slot_k``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.kernels.techloss import new_state

__all__ = ["LossState"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


@dataclass(eq=False)
class LossState:
    slot_k: I64            # (S,) interval held by the slot (this stage's accumulators), -1 = free
    r_first: F64           # (S, D) first / last e_rev reading in the open interval
    r_first_ts: F64
    r_last: F64
    r_last_ts: F64
    i2_sum: F64            # (S, 3) master Σ I² and count per phase
    i2_n: I64
    um_sum: F64            # (S, 3) master phase voltage sum and count
    um_n: I64
    p_sum: F64             # (S, N) meter active power samples (kW) for ∫P dt
    p_n: I64
    carry: F64             # (4, D) last reading before the bound being closed: fwd value, fwd ts, rev value, rev ts
    around: F64            # (8, D) readings around the last closed bound: fwd before v/t, after v/t, rev ...
    evt_prev: F64          # (2, N) cover / terminal event counters at the previous check
    e_typ: F64             # (N,) EWMA of each meter's interval energy (kWh)
    ring_k: I64            # (W,) interval index held by each ring row
    ring_fwd: F32          # (W, N) customer forward interval energies (kWh), NaN = not read
    ring_rev_pv: F32       # (W, P) PV customers' reverse interval energies
    ring_uk: I64           # (V,) interval held by each voltage ring row (mapping window only)
    ring_u: F32            # (V, N) meter mean voltage per interval (mean of phases)
    ring_um: F32           # (V, 3) master phase voltages per interval
    ring_ntl: F64          # (W,) area NTL per interval (kWh)
    techloss: F64          # (12,) RLS model of detect.kernels.techloss
    day_fwd: F64           # (D,) Σ of the day's interval energies, and intervals counted
    day_rev: F64
    day_n: I64             # (2, D) read intervals (fwd, rev)
    day_est_fwd: F64       # (N,) Σ measured-or-estimated energy, intervals covered
    day_est_rev: F64
    day_est_n: I64         # (2, N)
    day_tech: F64          # (2,) Σ technical loss, intervals with a value
    day_de: F64            # (2, N) Σ ΔE and Σ ∫P dt of intervals having both (energy vs power, daily)
    frozen: F64            # (4, N) e_fwd_daily: previous and latest value and ts
    ntl_days: F64          # (B,) daily NTL % of supply of the previous days (NaN: unknown or in alarm)
    abnormal_run: I64      # (1,) consecutive abnormal days
    swing_days: I64        # (1,) consecutive days with the NTL swing ratio above its limit

    @classmethod
    def fresh(cls, n_meters: int, n_slots: int, ring: int, n_pv: int, baseline_days: int = 7,
              ring_v: int = 288) -> LossState:
        d, n, s, w = n_meters + 1, n_meters, n_slots, ring
        nan = np.nan
        return cls(
            slot_k=np.full(s, -1, np.int64),
            r_first=np.full((s, d), nan), r_first_ts=np.full((s, d), nan),
            r_last=np.full((s, d), nan), r_last_ts=np.full((s, d), nan),
            i2_sum=np.zeros((s, 3)), i2_n=np.zeros((s, 3), np.int64),
            um_sum=np.zeros((s, 3)), um_n=np.zeros((s, 3), np.int64),
            p_sum=np.zeros((s, n)), p_n=np.zeros((s, n), np.int64),
            carry=np.full((4, d), nan), around=np.full((8, d), nan),
            evt_prev=np.full((2, n), nan), e_typ=np.full(n, nan),
            ring_k=np.full(w, -1, np.int64), ring_fwd=np.full((w, n), nan, np.float32),
            ring_rev_pv=np.full((w, n_pv), nan, np.float32), ring_uk=np.full(ring_v, -1, np.int64),
            ring_u=np.full((ring_v, n), nan, np.float32), ring_um=np.full((ring_v, 3), nan, np.float32), ring_ntl=np.full(w, nan),
            techloss=new_state(),
            day_fwd=np.zeros(d), day_rev=np.zeros(d), day_n=np.zeros((2, d), np.int64),
            day_est_fwd=np.zeros(n), day_est_rev=np.zeros(n), day_est_n=np.zeros((2, n), np.int64),
            day_tech=np.zeros(2), day_de=np.zeros((2, n)), frozen=np.full((4, n), nan),
            ntl_days=np.full(baseline_days, nan), abnormal_run=np.zeros(1, np.int64), swing_days=np.zeros(1, np.int64),
        )

    def reset_slot(self, slot: int, k: int) -> None:
        self.slot_k[slot] = k
        for name in ("r_first", "r_first_ts", "r_last", "r_last_ts"):
            getattr(self, name)[slot] = np.nan
        for name in ("i2_sum", "i2_n", "um_sum", "um_n", "p_sum", "p_n"):
            getattr(self, name)[slot] = 0

    def reset_day(self) -> None:
        for name in ("day_fwd", "day_rev", "day_n", "day_est_fwd", "day_est_rev", "day_est_n", "day_tech",
                     "day_de"):
            getattr(self, name)[...] = 0

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]], like: LossState) -> LossState:
        """Rebuild from snapshot arrays, checking each shape against a fresh state of the same area."""
        values = {}
        for f in fields(cls):
            want = getattr(like, f.name)
            got = arrays.get(f.name)
            if got is None:
                raise ValueError(f"snapshot: line-loss state field {f.name!r} missing")
            if got.shape != want.shape:
                raise ValueError(f"snapshot: line-loss state field {f.name!r} has shape {got.shape}, "
                                 f"this area and configuration need {want.shape}")
            values[f.name] = got.astype(want.dtype).copy()
        return cls(**values)
