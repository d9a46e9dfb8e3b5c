"""Build the engine's dense area model (``detect.area.Area``) from a validated ``AreaConfig``.

CT and PT ratios are records applied once on the way into the engine (docs/replay.md, "Ratios"): a
meter's ``ct_ratio`` by the engine at ingest (``Area.meter_ct_ratio``), the master's ``ct_ratio`` /
``pt_ratio`` through ``Area.master_factor``. The daemon's Modbus adapter applies the master's ratios on
its profile's ``ratio`` points itself, so there the factor is one; a DL/T 645 master (a three-phase meter
on CTs) is scaled by the engine like the meters; and a replay's readings are what the devices report, so
``build_area(..., unscaled_master=True)`` puts the master's profile ratios into the factor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from detect.area import KIND_SINGLE, KIND_THREE, PHASE_ABC, Area
from detect.quantities import CT_SCALED, QUANTITIES, QUANTITY_CODE
from edge.config.model import AreaConfig, Config, MasterConfig

__all__ = ["build_area", "build_areas", "master_factor"]

_PHASE = {"A": 0, "B": 1, "C": 2, "ABC": PHASE_ABC}


def build_area(cfg: AreaConfig, grid: str = "", *, unscaled_master: bool = False, base_dir: Path | None = None) -> Area:
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
        master_factor=master_factor(cfg.master, unscaled=unscaled_master, base_dir=base_dir),
    )


def master_factor(master: MasterConfig, *, unscaled: bool, base_dir: Path | None = None) -> npt.NDArray[np.float64]:
    """Per quantity code, what the engine multiplies the master's readings by (module doc); a profile
    path is relative to ``base_dir`` (the configuration's directory)."""
    factor = np.ones(len(QUANTITIES))
    ct, pt = master.ct_ratio, master.pt_ratio
    if master.address:                   # a DL/T 645 meter as the master: secondary values, like the meters
        for q in CT_SCALED:
            factor[QUANTITY_CODE[q]] = ct * (1.0 if q.startswith("i_") else pt)
        for q in ("u_a", "u_b", "u_c"):
            factor[QUANTITY_CODE[q]] = pt
    elif unscaled and master.profile:
        from edge.modbus.profile import load_profile

        ref = master.profile
        if ("/" in ref or ref.endswith(".toml")) and not Path(ref).is_absolute() and base_dir is not None:
            ref = str(base_dir / ref)
        for point in load_profile(ref).points:
            factor[QUANTITY_CODE[point.quantity]] = point.factor(ct, pt) / point.scale
    return factor


def build_areas(cfg: Config) -> list[Area]:
    return [build_area(a, cfg.gateway.grid) for a in cfg.areas]
