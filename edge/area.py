"""Build the engine's dense area model (``detect.area.Area``) from a validated ``AreaConfig``."""

from __future__ import annotations

import numpy as np

from detect.area import KIND_SINGLE, KIND_THREE, PHASE_ABC, Area
from edge.config.model import AreaConfig, Config

__all__ = ["build_area", "build_areas"]

_PHASE = {"A": 0, "B": 1, "C": 2, "ABC": PHASE_ABC}


def build_area(cfg: AreaConfig, grid: str = "") -> Area:
    branches: list[str] = []
    for m in cfg.meters:
        if m.branch not in branches:
            branches.append(m.branch)
    branch_index = {b: i for i, b in enumerate(branches)}
    return Area(
        id=cfg.id,
        name=cfg.name,
        grid=grid,
        rated_kva=cfg.transformer.rated_kva,
        lv_voltage_v=cfg.transformer.lv_voltage,
        nominal_v=float(cfg.transformer.lv_system.split("/")[1]),
        cooling=cfg.transformer.cooling,
        meter_ids=tuple(m.id for m in cfg.meters),
        meter_phase=np.array([_PHASE[m.phase] for m in cfg.meters], dtype=np.int8),
        meter_branch=np.array([branch_index[m.branch] for m in cfg.meters], dtype=np.int32),
        meter_kind=np.array([KIND_THREE if m.kind == "three" else KIND_SINGLE for m in cfg.meters], dtype=np.int8),
        meter_pv=np.array([m.pv for m in cfg.meters], dtype=np.bool_),
        meter_ct_ratio=np.array([m.ct_ratio for m in cfg.meters], dtype=np.float64),
        branches=tuple(branches) or ("main",),
    )


def build_areas(cfg: Config) -> list[Area]:
    return [build_area(a, cfg.gateway.grid) for a in cfg.areas]
