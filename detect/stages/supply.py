"""Supply at the transformer from the master's phase voltages, per poll: low / high voltage per phase,
phase loss (10–60 % of nominal), a phase without supply while another is alive, and the whole area
without supply (``outage_area`` from the voltages; the silence side is ``availability``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import PHASES
from detect.context import AreaContext
from detect.observe import AlarmSpec, Condition, Seen
from detect.stages.polls import Polls

__all__ = ["SupplyState", "alarms", "step"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SupplyState:
    voltage_dead: bool = False      # the last complete poll had no phase above the area-outage voltage


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    vp = ctx.params.voltage
    return [AlarmSpec(key="low_voltage@phase", subjects=3, persist_on_s=vp.persist_s, persist_off_s=vp.clear_persist_s),
            AlarmSpec(key="high_voltage@phase", subjects=3, persist_on_s=vp.persist_s, persist_off_s=vp.clear_persist_s),
            AlarmSpec(key="phase_loss@phase", subjects=3, persist_on_s=vp.phase_loss_persist_s,
                      persist_off_s=vp.phase_loss_persist_s),
            AlarmSpec(key="outage_phase@phase", subjects=3),
            AlarmSpec(key="outage_area@area", subjects=1)]


def step(ctx: AreaContext, st: SupplyState, polls: Polls) -> tuple[SupplyState, Seen]:
    vp, op = ctx.params.voltage, ctx.params.outage
    nom = vp.nominal_v
    low, high = nom * (1 + vp.low_pct / 100), nom * (1 + vp.high_pct / 100)
    hyst = nom * vp.hysteresis_pct / 100
    ploss, dead = nom * vp.phase_loss_pct / 100, nom * op.area_voltage_pct / 100
    ts, u = polls.ts, polls.u
    g = len(ts)
    subj = np.tile(np.arange(3), g)
    t3 = np.repeat(ts, 3)
    uf = u.reshape(-1)
    present = ~np.isnan(uf)
    all_dead = np.repeat(np.all(u < dead, axis=1), 3)
    any_alive = np.repeat(np.any(u >= dead, axis=1), 3)

    def ev(k: int) -> dict[str, Any]:
        return {"u_a": u[k // 3, 0], "u_b": u[k // 3, 1], "u_c": u[k // 3, 2]}

    def say(what: str, limit: float) -> Any:
        return lambda s, i, x: (f"master phase {PHASES[i]} {what}: {x:.1f} V (limit {limit:.1f} V)" if s != "cleared"
                                else f"master phase {PHASES[i]} voltage back to {x:.1f} V")

    valid_area = np.asarray(~np.isnan(u).any(axis=1), dtype=np.bool_)
    u_max = u.max(axis=1)                      # NaN when a phase is missing: not judged
    if g:
        st = SupplyState(voltage_dead=bool(valid_area[-1] and u_max[-1] < dead))
    conditions = (
        Condition(key="low_voltage@phase", subj=subj, ts=t3, on=(uf < low) & (uf >= ploss), off=uf >= low + hyst,
                  valid=present & (uf >= ploss), values=uf, threshold=low, unit="V", severity=lambda _x: "warning",
                  describe=say("low voltage", low), evidence=ev),
        Condition(key="high_voltage@phase", subj=subj, ts=t3, on=uf > high, off=uf <= high - hyst, valid=present,
                  values=uf, threshold=high, unit="V", severity=lambda _x: "warning",
                  describe=say("high voltage", high), evidence=ev),
        Condition(key="phase_loss@phase", subj=subj, ts=t3, on=(uf < ploss) & (uf >= dead),
                  off=(uf >= ploss + hyst) | (uf < dead), valid=present, values=uf, threshold=ploss, unit="V",
                  severity=lambda _x: "major", describe=say("phase loss", ploss), evidence=ev),
        Condition(key="outage_phase@phase", subj=subj, ts=t3, on=(uf < dead) & any_alive,
                  off=(uf >= ploss) | all_dead, valid=present, values=uf, threshold=dead, unit="V",
                  severity=lambda _x: "critical", describe=say("no supply", dead), evidence=ev),
        Condition(key="outage_area@area", subj=np.zeros(g, np.int64), ts=ts, on=u_max < dead, off=u_max >= ploss,
                  valid=valid_area, values=u_max, threshold=dead, unit="V", severity=lambda _x: "critical",
                  evidence=lambda k: {"source": "master voltage", "u_a": u[k, 0], "u_b": u[k, 1], "u_c": u[k, 2]},
                  describe=lambda s, _i, x: ("area outage: no voltage on any master phase" if s != "cleared"
                                             else f"area supply restored ({x:.1f} V)")),
    )
    return st, Seen(conditions=conditions)
