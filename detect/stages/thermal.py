"""Transformer heat per master poll (IEC 60076-7 difference equations, ``thermal`` kernel): top-oil and
hot-spot temperature, ageing rate, loss of life, time to the hot-spot limit; the ``hotspot`` condition.

``ThermalState`` names the kernel's state; the kernel itself takes the plain array (``as_array``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.observe import AlarmSpec, Condition
from detect.params import ThermalParams
from detect.stages.polls import Polls

__all__ = ["Heat", "ThermalState", "alarms", "kernel_params", "step"]

F64 = npt.NDArray[np.float64]
SNAPSHOT_KEY = "s.thermal"


@dataclass(frozen=True)
class ThermalState:
    """In the order of ``detect.kernels.thermal``'s state array."""

    theta_o_c: float = 0.0          # top-oil temperature θo
    d_theta_1_k: float = 0.0        # Δθ1, Δθ2: the two terms of the hot-spot rise over top oil
    d_theta_2_k: float = 0.0
    loss_of_life_h: float = 0.0     # accumulated since the start
    t_s: float = 0.0                # time, load factor K and ambient of the last poll integrated
    k: float = 0.0
    ambient_c: float = 0.0
    started: float = 0.0            # 1.0 once the first poll set the steady state

    def as_array(self) -> F64:
        return np.array([getattr(self, name) for name in _NAMES], dtype=np.float64)

    @classmethod
    def from_array(cls, a: F64) -> ThermalState:
        return cls(*(float(x) for x in a))

    def arrays(self) -> dict[str, F64]:
        return {SNAPSHOT_KEY: self.as_array()}

    @classmethod
    def restore(cls, arrays: dict[str, Any], like: ThermalState) -> ThermalState:
        got = arrays.get(SNAPSHOT_KEY)
        if got is None:
            raise ValueError("snapshot: state field 'thermal' missing")
        if got.shape != (8,):
            raise ValueError(f"snapshot: state field 'thermal' has shape {got.shape}, this engine needs (8,)")
        return cls.from_array(np.asarray(got, dtype=np.float64))


_NAMES = tuple(f.name for f in fields(ThermalState))
LOSS_OF_LIFE, STARTED = _NAMES.index("loss_of_life_h"), _NAMES.index("started")   # positions in the array
THETA_O, D1, D2, K, AMBIENT = (_NAMES.index(n) for n in ("theta_o_c", "d_theta_1_k", "d_theta_2_k", "k", "ambient_c"))


@dataclass(frozen=True, eq=False)
class Heat:
    top_oil: F64
    hot: F64               # hot-spot θh
    ageing: F64            # relative ageing rate V
    loss_of_life_h: F64
    ttl: F64               # minutes to the hot-spot limit at the present load (inf: not within 24 h)
    ambient: F64           # the t_amb reading, else thermal.ambient_c
    conditions: tuple[Condition, ...]


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="hotspot@transformer", subjects=1, persist_on_s=0.0,
                      persist_off_s=ctx.params.thermal.hotspot_clear_persist_s)]


@cache
def kernel_params(tp: ThermalParams) -> F64:
    """The kernel's float64[12] parameter vector (detect.kernels.thermal); one per parameter set (the
    kernels only read it)."""
    return np.array([
        tp.delta_theta_or_k, tp.delta_theta_hr_k, tp.tau_o_min * 60.0, tp.tau_w_min * 60.0, tp.r_ratio,
        tp.x_exp, tp.y_exp, tp.k11, tp.k21, tp.k22, tp.substep_s, 0.0 if tp.insulation == "normal" else 1.0])


def step(ctx: AreaContext, st: ThermalState, polls: Polls, beta: F64) -> tuple[ThermalState, Heat]:
    """Integrate the thermal model over the polls (load factor = β_max / 100)."""
    tp = ctx.params.thermal
    ops = ctx.ops["thermal"]
    g = len(polls)
    t_amb = polls.col("t_amb")
    amb = np.where(np.isnan(t_amb), tp.ambient_c, t_amb)
    k_load = beta / 100.0
    top_oil, hot, ageing, ttl, lol = (np.full(g, np.nan) for _ in range(5))
    prm = kernel_params(tp)
    s = st.as_array()                   # the kernel integrates in place, poll by poll
    for j in range(g):
        o, h, a = ops.thermal_run(polls.ts[j:j + 1], k_load[j:j + 1], amb[j:j + 1], s, prm)
        top_oil[j], hot[j], ageing[j] = o[0], h[0], a[0]
        lol[j] = s[LOSS_OF_LIFE]
        if s[STARTED]:
            ttl[j] = ops.time_to_limit_min(s[THETA_O], s[D1], s[D2], s[K], s[AMBIENT], prm, tp.hotspot_limit_c,
                                           1440.0)
    heat = Heat(top_oil=top_oil, hot=hot, ageing=ageing, loss_of_life_h=lol, ttl=ttl, ambient=amb,
                conditions=(_hotspot(ctx, polls.ts, hot, ttl, beta),))
    return ThermalState.from_array(s), heat


def _hotspot(ctx: AreaContext, ts: F64, hot: F64, ttl: F64, beta: F64) -> Condition:
    tp = ctx.params.thermal
    limit = tp.hotspot_limit_c
    projected = ttl <= tp.hotspot_horizon_min
    return Condition(
        key="hotspot@transformer", subj=np.zeros(len(ts), np.int64), ts=ts, on=(hot >= limit) | projected,
        off=(hot < limit - tp.hotspot_clear_margin_k) & ~projected, valid=~np.isnan(hot), values=hot,
        threshold=limit, unit="degC", severity=lambda h: "critical" if h >= limit else "major",
        evidence=lambda k: {"hotspot_c": hot[k], "time_to_limit_min": ttl[k], "load_pct": beta[k]},
        describe=lambda s, i, h: (f"hot-spot {h:.1f} °C, limit {limit:g} °C" + (
            "" if h >= limit else f" projected within {tp.hotspot_horizon_min:g} min")
            if s != "cleared" else f"hot-spot back to {h:.1f} °C"))

