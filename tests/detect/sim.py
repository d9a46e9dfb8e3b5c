"""A tiny, deterministic area for crafted-series tests: master polls every minute, meters every 15 min.

Not the area simulator (edge.sim): just enough physics to make balance, voltage and load tests readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from detect.alarms import Alert
from detect.area import Area
from detect.batch import ReadingBatch
from detect.engine import DETECTORS, Engine, Summary
from detect.params import Params
from detect.quantities import QUANTITY_CODE as Q

# A local (UTC+8) midnight: day boundaries of the default parameters fall on it.
T0 = 20000 * 86400.0 - 28800.0


def make_area(n: int = 30, n_branches: int = 3, rated_kva: float = 400.0) -> Area:
    return Area.simple(id="A01", rated_kva=rated_kva, meter_ids=[f"m{i:03d}" for i in range(n)],
                       branches=[i % n_branches for i in range(n)],
                       branch_names=tuple(f"b{j + 1}" for j in range(n_branches)))


@dataclass
class Sim:
    area: Area
    params: Params = field(default_factory=Params)
    backend_name: str | None = None
    kw: float = 2.0
    t: float = T0
    step_s: float = 60.0                       # one master poll per step
    meter_every_min: int = 15
    detectors: tuple[ModuleType, ...] = DETECTORS
    f_hz: float = 50.0

    def __post_init__(self) -> None:
        n = self.area.n_meters
        self.engine = Engine(self.area, self.params, backend_name=self.backend_name, detectors=self.detectors)
        self.meter_kw = np.full(n, self.kw)
        self.reg = np.full(n, 100.0)
        self.silent = np.zeros(n, np.bool_)      # no answer (communication)
        self.dead = np.zeros(n, np.bool_)        # no supply: no load, and no answer unless answer_dead
        self.answer_dead = False
        self.meter_u = np.full(n, 226.0)
        self.master_silent = False
        self.master_u: tuple[float, float, float] | None = None
        self.beta: tuple[float, float, float] | None = None   # per-phase load factor override
        self.i_n: float | None = None
        self.master_e = 5000.0
        self.alerts: list[Alert] = []
        self.summaries: list[Summary] = []
        self.minute = 0

    def master_values(self) -> dict[str, float]:
        live = ~self.dead
        p_ph = [float(self.meter_kw[live & (self.area.meter_phase == ph)].sum()) * 1.04 for ph in range(3)]
        u = self.master_u or (230.0, 230.0, 230.0)
        if self.beta is not None:
            i = [b * self.area.rated_current_a for b in self.beta]
        else:
            i = [pp * 1000 / uu if uu > 1 else 0.0 for pp, uu in zip(p_ph, u, strict=True)]
        p = sum(p_ph) if self.beta is None else sum(ii * uu / 1000 for ii, uu in zip(i, u, strict=True))
        return {"u_a": u[0], "u_b": u[1], "u_c": u[2], "i_a": i[0], "i_b": i[1], "i_c": i[2],
                "i_n": self.i_n if self.i_n is not None else 0.1 * max(i), "p": p, "q": 0.2 * p, "pf": 0.98,
                "f": self.f_hz, "e_fwd": self.master_e}

    def step(self) -> None:
        """One minute: a master poll (unless silent), meter reads on the quarter hour, then advance."""
        dev: list[int] = []
        qs: list[int] = []
        vals: list[float] = []
        ts: list[float] = []
        mv = self.master_values()
        self.master_e += mv["p"] * self.step_s / 3600.0
        if not self.master_silent:
            for name, v in mv.items():
                dev.append(self.area.master_index), qs.append(Q[name]), vals.append(v), ts.append(self.t)
        if self.minute % self.meter_every_min == 0:
            self.reg += np.where(self.dead, 0.0, self.meter_kw * self.meter_every_min / 60.0)
            for i in range(self.area.n_meters):
                if self.silent[i] or (self.dead[i] and not self.answer_dead):
                    continue
                t = self.t + 1.0 + i * 0.2
                u = 0.0 if self.dead[i] else self.meter_u[i]
                cur = 0.0 if self.dead[i] else self.meter_kw[i] * 1000 / u
                p_kw = 0.0 if self.dead[i] else self.meter_kw[i]
                for name, v in (("u_a", u), ("i_a", cur), ("p", p_kw), ("e_fwd", self.reg[i])):
                    dev.append(i), qs.append(Q[name]), vals.append(v), ts.append(t)
        self.engine.ingest(ReadingBatch.from_columns(dev, qs, vals, ts))
        out = self.engine.advance(self.t + self.step_s - 1.0)
        self.alerts += out.alerts
        self.summaries += out.summaries
        self.t += self.step_s
        self.minute += int(self.step_s // 60)

    def run(self, minutes: float) -> None:
        for _ in range(int(minutes * 60 // self.step_s)):
            self.step()

    def raised(self, kind: str) -> list[Alert]:
        return [a for a in self.alerts if a.kind == kind and a.state == "raised"]

    def cleared(self, kind: str) -> list[Alert]:
        return [a for a in self.alerts if a.kind == kind and a.state == "cleared"]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [s.fields for s in self.summaries if s.kind == kind]
