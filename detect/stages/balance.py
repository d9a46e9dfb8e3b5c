"""Three-phase balance per master poll: current imbalance (gated by load) and neutral current against
rated; the ``imbalance`` and ``neutral_current`` conditions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.context import AreaContext
from detect.observe import AlarmSpec, Condition
from detect.stages.polls import Polls

__all__ = ["IMBALANCE_FORMULAS", "Balance", "alarms", "step"]

F64 = npt.NDArray[np.float64]
IMBALANCE_FORMULAS = {"max_min_over_max": 0, "max_min_over_avg": 1, "max_avg_over_avg": 2}


@dataclass(frozen=True, eq=False)
class Balance:
    imbalance_pct: F64
    neutral_pct: F64          # I_N, % of rated current
    conditions: tuple[Condition, ...]


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    ip = ctx.params.imbalance
    return [AlarmSpec(key=key, subjects=1, persist_on_s=ip.persist_s, persist_off_s=ip.clear_persist_s)
            for key in ("imbalance@transformer", "neutral_current@transformer")]


def step(ctx: AreaContext, polls: Polls, beta: F64) -> Balance:
    ip = ctx.params.imbalance
    imb = ctx.ops["load"].imbalance_pct(polls.col("i_a"), polls.col("i_b"), polls.col("i_c"),
                                        IMBALANCE_FORMULAS[ip.formula])
    neutral = np.abs(polls.col("i_n")) / ctx.area.rated_current_a * 100.0
    ts = polls.ts
    zero = np.zeros(len(ts), np.int64)
    gate = beta >= ip.load_gate_pct
    conditions = (
        Condition(key="imbalance@transformer", subj=zero, ts=ts, on=gate & (imb > ip.threshold_pct),
                  off=~gate | (imb < ip.threshold_pct - ip.hysteresis_pct),
                  valid=~np.isnan(imb) | (~np.isnan(beta) & ~gate), values=imb, threshold=ip.threshold_pct,
                  unit="%", severity=lambda _x: "warning",
                  evidence=lambda k: {"imbalance_pct": imb[k], "load_pct": beta[k], "formula": ip.formula},
                  describe=lambda s, _i, x: (f"three-phase current imbalance {x:.1f} % above {ip.threshold_pct:g} % "
                                             f"at load ≥ {ip.load_gate_pct:g} %" if s != "cleared" else
                                             "three-phase current imbalance back within limits")),
        Condition(key="neutral_current@transformer", subj=zero, ts=ts, on=neutral > ip.neutral_pct,
                  off=neutral < ip.neutral_pct - ip.hysteresis_pct, valid=~np.isnan(neutral), values=neutral,
                  threshold=ip.neutral_pct, unit="%", severity=lambda _x: "warning",
                  evidence=lambda k: {"neutral_pct": neutral[k], "imbalance_pct": imb[k]},
                  describe=lambda s, _i, x: (f"neutral current {x:.1f} % of rated above {ip.neutral_pct:g} %"
                                             if s != "cleared" else "neutral current back within limits")),
    )
    return Balance(imbalance_pct=imb, neutral_pct=neutral, conditions=conditions)
