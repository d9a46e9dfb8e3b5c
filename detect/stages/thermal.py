"""Transformer heat per master poll (``thermal`` kernel, model of ``detect.cooling``): top-oil and hot-spot
temperature, ageing rate, loss of life, time to the hot-spot limit; the ``hotspot`` condition.

Ambient is an input with a provenance (``AMBIENT_SOURCES``), chosen per poll in this order:

- ``measured``: the master device's ``t_amb`` reading, held up to ``thermal.ambient_max_age_s`` (a live
  reading cannot be interpolated: the next one is not known yet);
- ``weather``: an ambient series given to the engine (``AmbientSeries``, e.g. ``meterwatch replay
  --ambient``), interpolated linearly between its samples and held up to the same age at its ends;
- ``monthly``: ``thermal.monthly_ambient_c`` for the local month, when configured;
- ``design``: ``thermal.ambient_c``.

Between two polls the kernel takes load factor and ambient as linear in time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.cooling import ThermalModel, resolve
from detect.observe import AlarmSpec, Condition
from detect.stages.polls import Polls

__all__ = ["AMBIENT_SOURCES", "Heat", "ThermalState", "alarms", "ambient", "model", "step"]

F64 = npt.NDArray[np.float64]
SNAPSHOT_KEY = "s.thermal"
AMBIENT_KEY = "s.thermal_ambient"           # snapshots before issue 18 have none: restored as never read
AMBIENT_SOURCES = ("measured", "weather", "monthly", "design")
MEASURED, WEATHER, MONTHLY, DESIGN = range(4)


@dataclass(frozen=True)
class ThermalState:
    """The first eight fields in the order of ``detect.kernels.thermal``'s state array."""

    theta_o_c: float = 0.0          # top-oil temperature θo (dry type: the ambient)
    d_theta_1_k: float = 0.0        # Δθ1, Δθ2: the two terms of the hot-spot rise over top oil
    d_theta_2_k: float = 0.0
    loss_of_life_h: float = 0.0     # accumulated since the start
    t_s: float = 0.0                # time, load factor K and ambient of the last poll integrated
    k: float = 0.0
    ambient_c: float = 0.0
    started: float = 0.0            # 1.0 once the first poll set the steady state
    measured_ts: float = np.nan     # the last t_amb reading and its time
    measured_c: float = np.nan

    def as_array(self) -> F64:
        return np.array([getattr(self, name) for name in _KERNEL], dtype=np.float64)

    def arrays(self) -> dict[str, F64]:
        return {SNAPSHOT_KEY: self.as_array(), AMBIENT_KEY: np.array([self.measured_ts, self.measured_c])}

    @classmethod
    def restore(cls, arrays: dict[str, Any], like: ThermalState) -> ThermalState:
        got = arrays.get(SNAPSHOT_KEY)
        if got is None:
            raise ValueError("snapshot: state field 'thermal' missing")
        if got.shape != (8,):
            raise ValueError(f"snapshot: state field 'thermal' has shape {got.shape}, this engine needs (8,)")
        amb = arrays.get(AMBIENT_KEY, np.full(2, np.nan))
        return _state(got, float(amb[0]), float(amb[1]))


_KERNEL = tuple(f.name for f in fields(ThermalState))[:8]


def _state(kernel_state: F64, measured_ts: float, measured_c: float) -> ThermalState:
    return ThermalState(**{n: float(x) for n, x in zip(_KERNEL, kernel_state, strict=True)},
                        measured_ts=measured_ts, measured_c=measured_c)

LOSS_OF_LIFE, STARTED = _KERNEL.index("loss_of_life_h"), _KERNEL.index("started")   # positions in the array
THETA_O, D1, D2, K, AMBIENT = (_KERNEL.index(n) for n in ("theta_o_c", "d_theta_1_k", "d_theta_2_k", "k", "ambient_c"))


@dataclass(frozen=True, eq=False)
class Heat:
    top_oil: F64           # NaN for a dry-type transformer
    hot: F64               # hot-spot θh
    ageing: F64            # relative ageing rate V
    loss_of_life_h: F64
    ttl: F64               # minutes to the hot-spot limit at the present load (inf: not within 24 h)
    ambient: F64           # the ambient used
    source: npt.NDArray[np.int8]       # where it came from: index into AMBIENT_SOURCES
    conditions: tuple[Condition, ...]

    def source_names(self) -> list[str]:
        return [AMBIENT_SOURCES[i] for i in self.source.tolist()]


def model(ctx: AreaContext) -> ThermalModel:
    return resolve(ctx.params.thermal, ctx.area.cooling)


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="hotspot@transformer", subjects=1, persist_on_s=0.0,
                      persist_off_s=ctx.params.thermal.hotspot_clear_persist_s)]


def ambient(ctx: AreaContext, st: ThermalState, ts: F64, t_amb: F64) -> tuple[ThermalState, F64, npt.NDArray[np.int8]]:
    """The ambient of each poll at ``ts`` and its source; ``t_amb`` is each poll's own reading (NaN: none)."""
    tp = ctx.params.thermal
    last_ts, last_c = np.empty(len(ts)), np.empty(len(ts))
    m_ts, m_c = st.measured_ts, st.measured_c
    for j in range(len(ts)):
        if not np.isnan(t_amb[j]):
            m_ts, m_c = float(ts[j]), float(t_amb[j])
        last_ts[j], last_c[j] = m_ts, m_c
    value = np.full(len(ts), tp.ambient_c)
    source = np.full(len(ts), DESIGN, np.int8)
    if len(tp.monthly_ambient_c) == 12:
        month = ((ts + ctx.params.utc_offset_s).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)) % 12
        value, source[:] = np.asarray(tp.monthly_ambient_c)[month], MONTHLY
    if ctx.weather is not None:
        w = ctx.weather.at(ts, tp.ambient_max_age_s)
        have = ~np.isnan(w)
        value, source = np.where(have, w, value), np.where(have, WEATHER, source).astype(np.int8)
    fresh = ts - last_ts <= tp.ambient_max_age_s         # False where never read (NaN)
    value, source = np.where(fresh, last_c, value), np.where(fresh, MEASURED, source).astype(np.int8)
    return _state(st.as_array(), m_ts, m_c), value, source


def step(ctx: AreaContext, st: ThermalState, polls: Polls, beta: F64) -> tuple[ThermalState, Heat]:
    """Integrate the thermal model over the polls; the load factor K is β_max / 100 (hottest phase)."""
    mdl = model(ctx)
    ops = ctx.ops["thermal"]
    g = len(polls)
    st, amb, source = ambient(ctx, st, polls.ts, polls.own("t_amb"))
    k_load = beta / 100.0
    top_oil, hot, ageing, ttl, lol = (np.full(g, np.nan) for _ in range(5))
    prm = mdl.kernel_params
    s = st.as_array()                   # the kernel integrates in place, poll by poll
    for j in range(g):
        o, h, a = ops.thermal_run(polls.ts[j:j + 1], k_load[j:j + 1], amb[j:j + 1], s, prm)
        top_oil[j], hot[j], ageing[j] = o[0], h[0], a[0]
        lol[j] = s[LOSS_OF_LIFE]
        if s[STARTED]:
            ttl[j] = ops.time_to_limit_min(s[THETA_O], s[D1], s[D2], s[K], s[AMBIENT], prm, mdl.limit_c, 1440.0)
    heat = Heat(top_oil=top_oil, hot=hot, ageing=ageing, loss_of_life_h=lol, ttl=ttl, ambient=amb, source=source,
                conditions=(_hotspot(ctx, mdl, polls.ts, hot, ttl, beta, amb, source),))
    return _state(s, st.measured_ts, st.measured_c), heat


def _hotspot(ctx: AreaContext, mdl: ThermalModel, ts: F64, hot: F64, ttl: F64, beta: F64, amb: F64,
             source: npt.NDArray[np.int8]) -> Condition:
    tp = ctx.params.thermal
    limit = mdl.limit_c
    projected = ttl <= tp.hotspot_horizon_min
    return Condition(
        key="hotspot@transformer", subj=np.zeros(len(ts), np.int64), ts=ts, on=(hot >= limit) | projected,
        off=(hot < limit - tp.hotspot_clear_margin_k) & ~projected, valid=~np.isnan(hot), values=hot,
        threshold=limit, unit="degC", severity=lambda h: "critical" if h >= limit else "major",
        evidence=lambda k: {"hotspot_c": hot[k], "time_to_limit_min": ttl[k], "load_pct": beta[k],
                            "ambient_c": amb[k], "ambient_source": AMBIENT_SOURCES[int(source[k])],
                            "cooling": mdl.cooling},
        describe=lambda s, i, h: (f"hot-spot {h:.1f} °C, limit {limit:g} °C" + (
            "" if h >= limit else f" projected within {tp.hotspot_horizon_min:g} min")
            if s != "cleared" else f"hot-spot back to {h:.1f} °C"))
