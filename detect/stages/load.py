"""Transformer load rate per master poll: β_max (hottest-phase current / rated), β_S (apparent power /
rated) and the ``overload``, ``heavy_load`` (重载) and ``overload_2h`` (过载) conditions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.observe import AlarmSpec, Condition
from detect.stages.polls import Polls

__all__ = ["Load", "alarms", "step"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Load:
    beta: F64           # β_max, %
    beta_s: F64         # β_S, %
    s_kva: F64
    conditions: tuple[Condition, ...]


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    lp = ctx.params.load
    return [AlarmSpec(key="overload@transformer", subjects=1, persist_on_s=lp.overload_persist_s,
                      persist_off_s=lp.overload_clear_persist_s),
            AlarmSpec(key="heavy_load@transformer", subjects=1, persist_on_s=lp.heavy_load_persist_s,
                      persist_off_s=lp.band_clear_persist_s),
            AlarmSpec(key="overload_2h@transformer", subjects=1, persist_on_s=lp.overload_2h_persist_s,
                      persist_off_s=lp.band_clear_persist_s)]


def step(ctx: AreaContext, polls: Polls) -> Load:
    area, lp = ctx.area, ctx.params.load
    beta, beta_s, s_kva = ctx.ops["load"].load_rates(polls.col("i_a"), polls.col("i_b"), polls.col("i_c"),
                                                     polls.col("p"), polls.col("q"), area.rated_current_a,
                                                     area.rated_kva)
    ts = polls.ts
    zero = np.zeros(len(ts), np.int64)
    ok = ~np.isnan(beta)

    def ev(k: int) -> dict[str, Any]:
        return {"load_pct": beta[k], "load_s_pct": beta_s[k]}

    def sev_overload(b: float) -> str:
        return "critical" if b >= lp.overload_critical_pct else "major"

    hyst = lp.band_hysteresis_pct
    conditions = (
        Condition(key="overload@transformer", subj=zero, ts=ts, on=beta >= lp.overload_pct,
                  off=beta < lp.overload_clear_pct, valid=ok, values=beta, threshold=lp.overload_pct, unit="%",
                  severity=sev_overload, evidence=ev,
                  describe=lambda s, _i, b: (f"transformer load {b:.1f} % (threshold {lp.overload_pct:g} % for "
                                             f"{lp.overload_persist_s:g} s)" if s != "cleared" else
                                             f"transformer load back to {b:.1f} % (below {lp.overload_clear_pct:g} %)")),
        Condition(key="heavy_load@transformer", subj=zero, ts=ts,
                  on=(beta > lp.heavy_load_pct) & (beta <= lp.heavy_load_max_pct),
                  off=(beta < lp.heavy_load_pct - hyst) | (beta > lp.heavy_load_max_pct + hyst), valid=ok,
                  values=beta, threshold=lp.heavy_load_pct, unit="%", severity=lambda _b: "warning", evidence=ev,
                  describe=lambda s, _i, b: (f"heavy load: {lp.heavy_load_pct:g}–{lp.heavy_load_max_pct:g} % for "
                                             f"{lp.heavy_load_persist_s / 3600:g} h (now {b:.1f} %)" if s != "cleared"
                                             else f"heavy load ended (now {b:.1f} %)")),
        Condition(key="overload_2h@transformer", subj=zero, ts=ts, on=beta > lp.overload_2h_pct,
                  off=beta < lp.overload_2h_pct - hyst, valid=ok, values=beta, threshold=lp.overload_2h_pct,
                  unit="%", severity=lambda _b: "critical", evidence=ev,
                  describe=lambda s, _i, b: (f"overload above {lp.overload_2h_pct:g} % for "
                                             f"{lp.overload_2h_persist_s / 3600:g} h (now {b:.1f} %)" if s != "cleared"
                                             else f"sustained overload ended (now {b:.1f} %)")),
    )
    return Load(beta=beta, beta_s=beta_s, s_kva=s_kva, conditions=conditions)
