"""A small seeded area for line-loss and theft tests, fed interval by interval (fast enough for 10+ days).

Meters are read on the 15-min bounds (the 96-point curve), the master every 5 min; the master's energy is
Σ true customer energy + a technical loss a + b·(I/I_rated)² + Σ r_i·I_i² (each customer's service loop, whose
drop the meter's voltage shows: U_i = U_master − r_i·I_i with the current really flowing, metered or not).
Knobs: per-meter metered fraction (theft), silent meters, status words / event counters, neutral current
ratio, reverse energy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from detect.alarms import Alert
from detect.area import PHASE_ABC, Area
from detect.batch import ReadingBatch
from detect.engine import Engine, Summary
from detect.params import Params
from detect.quantities import QUANTITY_CODE as Q

T0 = 20000 * 86400.0          # a UTC midnight (tests use utc_offset_s = 0)


def params(**over: object) -> Params:
    from detect.params import OutageParams

    base = Params(utc_offset_s=0, outage=OutageParams(master_cadence_s=300.0))
    return base if not over else Params(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **over})


@dataclass
class LossArea:
    n: int = 20
    seed: int = 1
    prm: Params = field(default_factory=params)
    a_kwh: float = 0.02            # constant loss per interval (not in any voltage: meter self-consumption)
    b_kwh: float = 0.0             # feeder loss per interval at rated current (not in the meters' voltages)
    phase_power: bool = False      # the master also reports its per-phase power p_a, p_b, p_c
    three_phase: tuple[int, ...] = ()  # these meters are three-phase: their load a third on each phase
    ct: tuple[tuple[int, float], ...] = ()  # (meter, CT ratio): it reports secondary values, its register in
                                            # 0.01 kWh steps on the secondary (floored), the archive the ratio

    def __post_init__(self) -> None:
        phases = [PHASE_ABC if i in self.three_phase else i % 3 for i in range(self.n)]
        self.area = Area.simple(id="L01", rated_kva=100.0, meter_ids=[f"m{i:03d}" for i in range(self.n)],
                                phases=phases)
        if self.ct:
            ratio = self.area.meter_ct_ratio.copy()
            for i, r in self.ct:
                ratio[i] = r
            self.area = dataclasses.replace(self.area, meter_ct_ratio=ratio)
        self.engine = Engine(self.area, self.prm)
        self.rng = np.random.default_rng(self.seed)
        self.base_kw = self.rng.uniform(0.3, 1.5, self.n)
        self.loop_ohm = np.random.default_rng([self.seed, 1]).uniform(0.1, 0.3, self.n)   # service loop
        self.metered = np.ones(self.n)             # metered share of the true load (theft < 1)
        self.flat = -1                             # this meter registers a flat profile (Jokar h5)
        self.reversed = -1                         # this meter registers its day reversed in time (Jokar h6)
        self.silent = np.zeros(self.n, np.bool_)
        self.reg = np.full(self.n, 1000.0)
        self.rev = np.zeros(self.n)
        self.rev_kw = np.zeros(self.n)             # reverse power (a reversed CT), kW
        self.master_e = 50000.0
        self.neutral_ratio = np.ones(self.n)       # I_N / I_L
        self.sw = {f"sw{j}": np.zeros(self.n) for j in range(1, 8)}
        self.evt_cover = np.zeros(self.n)
        self.evt_terminal = np.zeros(self.n)
        self.t = T0
        self.alerts: list[Alert] = []
        self.summaries: list[Summary] = []
        self.k = 0
        self.master_down = False
        # voltage per interval index: master (3 phases; a slow walk from the MV side) and meters (None: the
        # master's less the loop's drop)
        steps = np.random.default_rng([self.seed, 2]).normal(0.0, 0.6, 96 * 60)
        walk = np.empty_like(steps)
        walk[0] = 230.0
        for j in range(1, len(steps)):               # mean-reverting: a few volts around 230 V
            walk[j] = 230.0 + 0.95 * (walk[j - 1] - 230.0) + steps[j]
        self.master_u: Callable[[int], float] = lambda k: float(walk[k % len(walk)])
        self.meter_u: Callable[[int, int], float] | None = None

    def load_kw(self) -> np.ndarray:
        """True load of every customer in the coming interval: a daily shape and noise."""
        hour = ((self.t % 86400) / 3600.0)
        shape = 0.6 + 0.8 * math.exp(-((hour - 19.5) ** 2) / 6.0) + 0.3 * math.exp(-((hour - 8) ** 2) / 3.0)
        return self.base_kw * shape * self.rng.uniform(0.5, 1.5, self.n)

    def step(self) -> None:
        """One 15-min interval: reads at its start bound (meters and master), master polls inside it."""
        dev: list[int] = []
        qs: list[int] = []
        vals: list[float] = []
        ts: list[float] = []
        kw = self.load_kw()
        t = self.t

        def add(d: int, name: str, v: float, at: float) -> None:
            dev.append(d), qs.append(Q[name]), vals.append(float(v)), ts.append(at)

        met_kw = kw * self.metered
        if self.reversed >= 0:      # the shape at the mirrored time of day (noise kept)
            mirror = 86400.0 - (t % 86400) - 900.0
            hour = mirror / 3600.0
            shape = 0.6 + 0.8 * math.exp(-((hour - 19.5) ** 2) / 6.0) + 0.3 * math.exp(-((hour - 8) ** 2) / 3.0)
            met_kw[self.reversed] = self.base_kw[self.reversed] * shape * self.rng.uniform(0.5, 1.5)
        if self.flat >= 0:          # same daily energy on average, no shape: the day's mean shape × base
            met_kw[self.flat] = self.base_kw[self.flat] * 0.7823
        amps = kw * 1000 / 230.0                                   # the current really flowing
        drop = self.loop_ohm * amps
        for i in range(self.n):
            if self.silent[i]:
                continue
            u = self.master_u(self.k) - drop[i] if self.meter_u is None else self.meter_u(self.k, i)
            cur = met_kw[i] * 1000 / u
            ratio = float(self.area.meter_ct_ratio[i])
            reg, p_kw = self.reg[i], met_kw[i] - self.rev_kw[i]
            if ratio > 1.0:                    # the secondary's values: the archive's ratio makes them primary
                cur, p_kw, reg = cur / ratio, p_kw / ratio, math.floor(reg / ratio * 100.0) / 100.0
            if i in self.three_phase:          # balanced: a third of the load on each phase
                cur /= 3.0
                for name, v in (("u_b", u), ("u_c", u), ("i_b", cur), ("i_c", cur)):
                    add(i, name, v, t)
            for name, v in (("u_a", u), ("i_a", cur), ("i_n", cur * self.neutral_ratio[i]),
                            ("p", p_kw), ("e_fwd", reg),
                            ("e_rev", self.rev[i])):
                add(i, name, v, t)
            if self.k % 4 == 0:        # hourly tamper read
                for j in range(1, 8):
                    add(i, f"sw{j}", self.sw[f"sw{j}"][i], t)
                add(i, "evt_cover_open", self.evt_cover[i], t)
                add(i, "evt_terminal_open", self.evt_terminal[i], t)
        n = self.area.master_index
        total = float(kw.sum())
        loop_kw = self.loop_ohm * amps ** 2 / 1000.0
        ph = self.area.meter_phase
        abc = ph == PHASE_ABC
        p_ph = [float(kw[ph == j].sum() + loop_kw[ph == j].sum() + (kw[abc].sum() + loop_kw[abc].sum()) / 3.0)
                + self.a_kwh * 4 / 3 for j in range(3)]
        i_ph = total * 1000 / 3 / 230.0
        loss = self.a_kwh + self.b_kwh * (i_ph / self.area.rated_current_a) ** 2 + \
            float((self.loop_ohm * amps ** 2).sum()) * 0.25 / 1000.0
        if not self.master_down:
            um = self.master_u(self.k)
            for j in range(3):
                at = t + 300.0 * j
                for name, v in (("u_a", um), ("u_b", um), ("u_c", um), ("i_a", i_ph), ("i_b", i_ph),
                                ("i_c", i_ph), ("i_n", 1.0), ("p", total), ("q", 0.2 * total),
                                *((("p_a", p_ph[0]), ("p_b", p_ph[1]), ("p_c", p_ph[2])) if self.phase_power else ()),
                                ("e_fwd", self.master_e + j * (total * 0.25 + loss) / 3)):
                    add(n, name, v, at)
        self.engine.ingest(ReadingBatch.from_columns(dev, qs, vals, ts))
        out = self.engine.advance(t + 899.0)
        self.alerts += out.alerts
        self.summaries += out.summaries
        self.reg += met_kw * 0.25
        self.rev += self.rev_kw * 0.25
        self.master_e += total * 0.25 + loss
        self.t += 900.0
        self.k += 1

    def run_days(self, days: float) -> None:
        for _ in range(int(days * 96)):
            self.step()

    def raised(self, kind: str) -> list[Alert]:
        return [a for a in self.alerts if a.kind == kind and a.state == "raised"]

    def of_kind(self, kind: str) -> list[dict[str, object]]:
        return [s.fields for s in self.summaries if s.kind == kind]

    def cleared(self, kind: str) -> list[Alert]:
        return [a for a in self.alerts if a.kind == kind and a.state == "cleared"]
