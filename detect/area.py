"""Dense, index-based view of one transformer area, as the engine needs it.

Built from configuration by ``edge.area.build_area`` (or directly in tests and by the simulator).
Device index convention for columnar batches: meters are ``0 .. n_meters-1`` in ``meter_ids`` order and
the master meter / TTU is ``n_meters`` (``Area.master_index``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from detect.quantities import QUANTITIES

__all__ = ["KIND_SINGLE", "KIND_THREE", "PHASES", "PHASE_ABC", "Area"]

PHASES = ("A", "B", "C")
PHASE_ABC = 3          # meter_phase value of a three-phase meter
KIND_SINGLE = 0
KIND_THREE = 1


@dataclass(frozen=True, kw_only=True, eq=False)
class Area:
    id: str
    name: str = ""
    grid: str = ""
    rated_kva: float
    lv_voltage_v: float = 400.0                 # rated, line-to-line (the rated current)
    nominal_v: float = 220.0                    # LV system nominal, phase-to-neutral (voltage quality)
    cooling: str = "ONAN"
    meter_ids: tuple[str, ...]
    meter_phase: npt.NDArray[np.int8]           # 0/1/2 = A/B/C, 3 = three-phase
    meter_branch: npt.NDArray[np.int32]         # index into ``branches``
    meter_kind: npt.NDArray[np.int8]            # KIND_SINGLE / KIND_THREE
    meter_pv: npt.NDArray[np.bool_]
    meter_ct_ratio: npt.NDArray[np.float64]
    branches: tuple[str, ...] = ("main",)
    master_id: str = "master"
    # per quantity code: what the engine multiplies the master's readings by at ingest (its CT/PT ratios
    # where the readings arrive unscaled; ones where the device or its adapter has applied them)
    master_factor: npt.NDArray[np.float64] | None = None
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.meter_ids)
        for name in ("meter_phase", "meter_branch", "meter_kind", "meter_pv", "meter_ct_ratio"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"area {self.id}: {name} has shape {arr.shape}, expected ({n},)")
        if self.rated_kva <= 0 or self.lv_voltage_v <= 0 or self.nominal_v <= 0:
            raise ValueError(f"area {self.id}: rated_kva, lv_voltage_v and nominal_v must be > 0")
        index = {mid: i for i, mid in enumerate(self.meter_ids)}
        if len(index) != n:
            raise ValueError(f"area {self.id}: duplicate meter ids")
        index[self.master_id] = n
        object.__setattr__(self, "_index", index)
        factor = np.ones(len(QUANTITIES)) if self.master_factor is None else np.asarray(self.master_factor, np.float64)
        if factor.shape != (len(QUANTITIES),) or not (factor > 0).all():
            raise ValueError(f"area {self.id}: master_factor needs {len(QUANTITIES)} positive factors")
        object.__setattr__(self, "master_factor", factor)

    @property
    def n_meters(self) -> int:
        return len(self.meter_ids)

    @property
    def master_index(self) -> int:
        return len(self.meter_ids)

    @property
    def rated_current_a(self) -> float:
        """Rated LV phase current I_N = S_N / (√3 · U_N): 577.4 A for 400 kVA at 400 V."""
        return self.rated_kva * 1000.0 / (math.sqrt(3.0) * self.lv_voltage_v)

    def device_index(self, device: str) -> int:
        """Index of a device name ("master" or a meter id); ``KeyError`` names the area and the device."""
        try:
            return self._index[device]
        except KeyError:
            raise KeyError(f"area {self.id}: unknown device {device!r}") from None

    def branch_members(self, branch: int) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.meter_branch == branch)

    @classmethod
    def simple(cls, *, id: str, rated_kva: float, meter_ids: list[str], phases: list[int] | None = None,
               branches: list[int] | None = None, branch_names: tuple[str, ...] = ("main",),
               pv: list[bool] | None = None, lv_voltage_v: float = 400.0) -> Area:
        """Convenience constructor for tests and the simulator."""
        n = len(meter_ids)
        ph = np.asarray(phases if phases is not None else [i % 3 for i in range(n)], dtype=np.int8)
        return cls(
            id=id, rated_kva=rated_kva, lv_voltage_v=lv_voltage_v, meter_ids=tuple(meter_ids),
            meter_phase=ph,
            meter_branch=np.asarray(branches if branches is not None else [0] * n, dtype=np.int32),
            meter_kind=np.where(ph == PHASE_ABC, KIND_THREE, KIND_SINGLE).astype(np.int8),
            meter_pv=np.asarray(pv if pv is not None else [False] * n, dtype=np.bool_),
            meter_ct_ratio=np.ones(n, dtype=np.float64),
            branches=branch_names,
        )
