"""Value sources for protocol tests and benches: fixed values, and a seeded random walk.

Both implement ``edge.sim.source.ValueSource``. The area simulator is the physically consistent one;
these only need to be plausible and, for tests, exactly known.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence

from detect.quantities import CUMULATIVE

__all__ = ["DEFAULT_VALUES", "RandomWalkSource", "StaticSource"]

DEFAULT_VALUES: dict[str, float] = {
    "u_a": 220.5, "u_b": 221.0, "u_c": 219.8,
    "i_a": 5.125, "i_b": 4.75, "i_c": 6.0, "i_n": 0.312,
    "p": 3.5, "p_a": 1.1, "p_b": 1.05, "p_c": 1.35,
    "q": 0.42, "q_a": 0.14, "q_b": 0.13, "q_c": 0.15,
    "s": 3.6, "pf": 0.972, "pf_a": 0.97, "pf_b": 0.98, "pf_c": 0.96, "f": 50.01,
    "e_comb": 12345.67, "e_fwd": 12345.67, "e_rev": 1.25,
    "e_fwd_t1": 1000.0, "e_fwd_t2": 4000.0, "e_fwd_t3": 4345.67, "e_fwd_t4": 3000.0,
    "e_fwd_daily": 12300.5, "t_meter": 31.5,
    "sw1": 0, "sw2": 0, "sw3": 0, "sw4": 0, "sw5": 0, "sw6": 0, "sw7": 0,
    "evt_cover_open": 0, "evt_terminal_open": 0, "evt_power_down": 2, "evt_event_clear": 0,
    "evt_meter_clear": 0,
}


class StaticSource:
    """Fixed values: ``per_device`` overrides ``defaults``; devices in ``silent`` raise LookupError.

    With ``listed_only`` a device that is not in ``per_device`` is absent (LookupError) too. The tables
    are the source's own, so a test can change a value (``per_device[d][q] = v``), add or remove a device
    or make one silent while a simulated device is serving it.
    """

    def __init__(self, defaults: Mapping[str, float] | None = None,
                 per_device: Mapping[str, Mapping[str, float]] | None = None,
                 silent: Collection[str] = (), *, listed_only: bool = False) -> None:
        self.defaults = dict(DEFAULT_VALUES if defaults is None else defaults)
        self.per_device = {k: dict(v) for k, v in (per_device or {}).items()}
        self.silent = set(silent)
        self.listed_only = listed_only

    @classmethod
    def only(cls, values: Mapping[str, Mapping[str, float]]) -> StaticSource:
        """Exactly ``{device: {quantity: value}}``: no defaults, any other device is absent."""
        return cls(defaults={}, per_device=values, listed_only=True)

    def table(self, device: str) -> dict[str, float]:
        """Every value of ``device`` (what a test compares readings with)."""
        return {**self.defaults, **self.per_device.get(device, {})}

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        if device in self.silent:
            raise LookupError(device)
        if self.listed_only and device not in self.per_device:
            raise LookupError(f"no device {device!r}")
        table = self.table(device)
        return {q: table[q] for q in quantities if q in table}


class RandomWalkSource:
    """Values that wander around a base (cumulative registers only grow), seeded and per device.

    Each device's walk advances once per ``step_s`` of ``now``, so repeated reads within a step agree.
    """

    def __init__(self, base: Mapping[str, float] | None = None, *, seed: int = 0, step_s: float = 1.0,
                 rel_step: float = 0.002) -> None:
        self.base = dict(DEFAULT_VALUES if base is None else base)
        self.seed = seed
        self.step_s = step_s
        self.rel_step = rel_step
        self._state: dict[str, tuple[int, dict[str, float], random.Random]] = {}

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        step = int(now // self.step_s)
        st = self._state.get(device)
        if st is None:
            rng = random.Random(f"{self.seed}:{device}")
            st = (step, dict(self.base), rng)
        last, vals, rng = st
        for _ in range(min(max(step - last, 0), 1000)):
            for q, v in vals.items():
                if q.startswith(("sw", "evt_")):
                    continue
                if q in CUMULATIVE or q == "e_fwd_daily":
                    vals[q] = round(v + abs(rng.gauss(0.0, 0.01)), 2)
                else:
                    vals[q] = v + rng.gauss(0.0, abs(self.base.get(q, v)) * self.rel_step)
        self._state[device] = (max(step, last), vals, rng)
        return {q: vals[q] for q in quantities if q in vals}
