"""The static area: customers, their meters and the radial LV network, built from ``AreaSpec`` + seed.

Layout rules are deterministic from the spec (so scenario files can name meters): customer ``i``
(1-based) is ``M{i:04d}``; industrial if ``i % industrial_every == 0``, else commercial if
``i % commercial_every == 0``; three-phase if industrial or ``i % three_phase_every == 0``; residential
single-phase customers with ``i % pv_every == 0`` have rooftop PV; every ``ct_every``-th three-phase
customer is CT-connected (ratio 50). Phases of single-phase customers, branches, nodes along the
branch, sizes and power factors come from the seed.

Each branch ``B{b}`` is a feeder of ``nodes_per_branch`` equal segments; customers hang off the nodes
through service drops of their own length (``service_r_ohm`` × U(1 ± ``service_r_spread``)). Each metering
element's voltage reading has a fixed gain error (σ ``u_gain_error_pct``, at most ±0.5 %, class 1 meters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.area import KIND_SINGLE, KIND_THREE, PHASE_ABC, Area
from edge.sim.config import AreaSpec
from edge.sim.loads import CLASS_COMMERCIAL, CLASS_INDUSTRIAL, CLASS_RESIDENTIAL

__all__ = ["Network", "build_network"]

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, eq=False)
class Network:
    spec: AreaSpec
    ids: tuple[str, ...]
    phase: I8                 # 0/1/2 = A/B/C, 3 = three-phase
    klass: I8                 # residential / commercial / industrial
    branch: I32
    node: I32                 # global node index = branch * nodes_per_branch + position
    base_kw: F64
    ac_kw: F64
    pf: F64
    pv_kwp: F64
    service_r: F64            # service drop resistance per conductor (Ω), phase and neutral alike
    u_gain: F64               # (N, 3) voltage gain of each metering element (1 + error)
    master_u_gain: F64        # (3,) the master's voltage gain per phase
    ct_ratio: F64             # true CT ratio (1 = direct connected)
    ib_a: F64                 # basic current of the meter (primary A), for loss-of-current rules
    e0_kwh: F64               # forward register at the start

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def three(self) -> npt.NDArray[np.bool_]:
        return self.phase == PHASE_ABC

    @property
    def branch_names(self) -> tuple[str, ...]:
        return tuple(f"B{b + 1}" for b in range(self.spec.branches))

    def to_area(self, ct_recorded: F64 | None = None) -> Area:
        """The engine's dense ``Area`` as the records describe it (recorded CT ratios)."""
        return Area(
            id=self.spec.id, name=self.spec.name, grid=self.spec.grid, rated_kva=self.spec.rated_kva,
            lv_voltage_v=self.spec.lv_voltage, meter_ids=self.ids, meter_phase=self.phase.copy(),
            meter_branch=self.branch.copy(),
            meter_kind=np.where(self.three, KIND_THREE, KIND_SINGLE).astype(np.int8),
            meter_pv=self.pv_kwp > 0,
            meter_ct_ratio=(self.ct_ratio if ct_recorded is None else ct_recorded).copy(),
            branches=self.branch_names,
        )


def build_network(spec: AreaSpec, seed: int) -> Network:
    """Build the area's customers and feeders; the same spec and seed give the same network."""
    rng = np.random.default_rng([seed, 0xA4EA])
    n = spec.customers
    idx = np.arange(1, n + 1)

    def every(k: int) -> npt.NDArray[np.bool_]:
        return (idx % k == 0) if k > 0 else np.zeros(n, dtype=bool)

    klass = np.full(n, CLASS_RESIDENTIAL, dtype=np.int8)
    klass[every(spec.commercial_every)] = CLASS_COMMERCIAL
    klass[every(spec.industrial_every)] = CLASS_INDUSTRIAL
    three = every(spec.three_phase_every) | (klass == CLASS_INDUSTRIAL)
    phase = rng.choice(3, size=n, p=[0.35, 0.33, 0.32]).astype(np.int8)
    phase[three] = PHASE_ABC
    pv = every(spec.pv_every) & (klass == CLASS_RESIDENTIAL) & ~three
    base = np.where(klass == CLASS_RESIDENTIAL, rng.lognormal(np.log(0.42), 0.35, n),
                    np.where(klass == CLASS_COMMERCIAL, rng.lognormal(np.log(1.8), 0.4, n),
                             rng.lognormal(np.log(7.0), 0.3, n)))
    base[three & (klass == CLASS_RESIDENTIAL)] *= 2.0
    base *= spec.load_scale
    ac = np.where(klass == CLASS_INDUSTRIAL, 0.0, rng.uniform(0.25, 0.8, n)) * spec.load_scale
    ac[klass == CLASS_COMMERCIAL] *= 2.0
    pf = np.where(klass == CLASS_RESIDENTIAL, rng.uniform(0.93, 0.99, n),
                  np.where(klass == CLASS_COMMERCIAL, rng.uniform(0.88, 0.95, n), rng.uniform(0.82, 0.9, n)))
    pv_kwp = np.where(pv, rng.uniform(3.0, 8.0, n), 0.0)
    ct = np.ones(n)
    three_idx = np.flatnonzero(three)
    if spec.ct_every > 0:
        ct[three_idx[(np.arange(three_idx.size) + 1) % spec.ct_every == 0]] = 50.0
    ib = np.where(three, np.where(ct > 1, 1.5 * ct, 10.0), 5.0)
    branch = rng.integers(0, spec.branches, n).astype(np.int32)
    pos = rng.integers(0, spec.nodes_per_branch, n).astype(np.int32)
    k = spec.nodes_per_branch
    node = branch * k + pos
    e0 = np.round(rng.uniform(500.0, 20000.0, n), 2)
    # drawn from their own stream, so the layout above does not depend on them
    own = np.random.default_rng([seed, 0x5E7])
    service_r = spec.service_r_ohm * own.uniform(1.0 - spec.service_r_spread, 1.0 + spec.service_r_spread, n)
    gain = 1.0 + np.clip(own.normal(0.0, spec.u_gain_error_pct / 100.0, (n + 1, 3)), -0.005, 0.005)
    return Network(
        spec=spec, ids=tuple(f"M{i:04d}" for i in idx), phase=phase, klass=klass, branch=branch,
        node=node, base_kw=base, ac_kw=ac, pf=pf, pv_kwp=pv_kwp, service_r=service_r, u_gain=gain[:n],
        master_u_gain=gain[n], ct_ratio=ct, ib_a=ib, e0_kwh=e0,
    )
