"""What each device of an area can physically report: per-device, per-quantity ranges and energy rates.

Values are checked in the units they arrive in (``edge.readings``): a CT-connected meter reports its
secondary side (the engine multiplies by ``ct_ratio`` at ingest), the master reports primary values.

Meters (Imax from the meter list, or the kind's default from the nameplates 5(60) A single-phase,
10(100) A three-phase, 1.5(6) A secondary for CT-connected; U_N the nominal phase voltage):
- currents 0 … ``current_ratio`` × Imax; voltages 0 … ``voltage_max_pct`` % of U_N;
- active/reactive power |x| ≤ ``current_ratio`` × Imax × U_N × phases (per-phase powers: one phase);
- energy registers 0 … the rollover (999999.99 kWh), steps ≤ ``energy_margin`` × that power limit ×
  elapsed time (``edge.plausibility.registers``; a wrap at the rollover is a step like any other).
``current_ratio`` is 4 by default: a meter list with the wrong kind or Imax is common in the field, and
a current of twice the nameplate Imax is possible there; four times it, for a whole reading interval,
is not (no meter or service cable carries it), and the absurd values of a broken decoder (799.999 A,
+800 000 kWh) are far beyond.
The master (TTU or master meter): the same with the transformer's rating: currents ≤
``transformer_ratio`` × I_N, power ≤ ``transformer_ratio`` × S_N (a phase: a third), energy at that rate.
Everyone: power factor within ±1, frequency 40–70 Hz, ambient temperature −60…90 °C, event counters ≥ 0.
Status words are bit fields: not checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.area import KIND_THREE, Area
from detect.quantities import QUANTITIES, QUANTITY_CODE
from edge.config.model import AreaConfig, PlausibilityConfig

__all__ = ["REASONS", "Limits", "limits_for"]

# Rejection reasons, in the order of their codes.
REASONS = ("negative", "voltage", "current", "power", "power_factor", "frequency", "temperature",
           "register_range", "energy_step", "energy_backwards")
R = {name: i for i, name in enumerate(REASONS)}
_SLACK_KWH = 0.02          # two digits of the register's last place (0.01 kWh)

_CURRENTS = ("i_a", "i_b", "i_c", "i_n")
_VOLTAGES = ("u_a", "u_b", "u_c")
_PHASE_POWERS = ("p_a", "p_b", "p_c")
_REGISTERS = ("e_fwd", "e_rev", "e_fwd_daily")
_COUNTERS = ("evt_cover_open", "evt_terminal_open", "evt_power_down", "evt_event_clear", "evt_meter_clear")
# The reason a value beyond the upper bound is rejected for (below the lower bound: see _LOW_REASON).
_HIGH_REASON = {**dict.fromkeys(_CURRENTS, "current"), **dict.fromkeys(_VOLTAGES, "voltage"),
                **dict.fromkeys(("p", "q", *_PHASE_POWERS), "power"), "pf": "power_factor", "f": "frequency",
                "t_amb": "temperature", **dict.fromkeys(_REGISTERS, "register_range")}
_LOW_REASON = {"pf": "power_factor", "f": "frequency", "t_amb": "temperature",
               **dict.fromkeys(("p", "q", *_PHASE_POWERS), "power")}


@dataclass(frozen=True, eq=False)
class Limits:
    """Ranges ``lo[device, quantity] ≤ value ≤ hi[...]`` and energy rates for one area."""

    cfg: PlausibilityConfig
    lo: npt.NDArray[np.float64]          # (devices, quantities); -inf: unchecked
    hi: npt.NDArray[np.float64]          # +inf: unchecked
    reason_lo: npt.NDArray[np.int8]      # (quantities,)
    reason_hi: npt.NDArray[np.int8]
    energy_kw: npt.NDArray[np.float64]   # (devices,) the fastest a register can advance, kWh per hour
    i_max_a: npt.NDArray[np.float64]     # (devices,) Imax in arrival units (master: rated current)
    rollover_kwh: float

    @property
    def slack_kwh(self) -> float:
        return _SLACK_KWH

    @classmethod
    def build(cls, area: Area, cfg: PlausibilityConfig | None = None, *,
              meter_i_max_a: Sequence[float] | None = None, rollover_kwh: float = 1e6) -> Limits:
        """Limits for ``area``; ``meter_i_max_a`` (one per meter, 0 = the kind's default) from the meter list."""
        cfg = cfg or PlausibilityConfig()
        n = area.n_meters
        three = area.meter_kind == KIND_THREE
        ct = area.meter_ct_ratio > 1.0
        i_max = np.where(ct, cfg.i_max_ct_a, np.where(three, cfg.i_max_three_a, cfg.i_max_single_a))
        if meter_i_max_a is not None:
            given = np.asarray(meter_i_max_a, dtype=np.float64)
            if given.shape != (n,):
                raise ValueError(f"area {area.id}: {given.shape[0]} meter Imax values for {n} meters")
            i_max = np.where(given > 0, given, i_max)
        phases = np.where(three, 3.0, 1.0)
        u_n = area.lv_voltage_v / math.sqrt(3.0)           # nominal phase voltage
        p_max_kw = np.append(cfg.current_ratio * i_max * u_n * phases / 1000.0,
                             cfg.transformer_ratio * area.rated_kva)
        p_phase_kw = np.append(cfg.current_ratio * i_max * u_n / 1000.0, cfg.transformer_ratio * area.rated_kva / 3)
        i_dev = np.append(i_max, area.rated_current_a)
        i_lim = np.append(cfg.current_ratio * i_max, cfg.transformer_ratio * area.rated_current_a)
        energy_kw = cfg.energy_margin * p_max_kw
        lo, hi = _ranges(n + 1, i_lim, p_max_kw, p_phase_kw, cfg.voltage_max_pct / 100.0 * u_n, rollover_kwh)
        reason_lo = np.array([R[_LOW_REASON.get(q, "negative")] for q in QUANTITIES], np.int8)
        reason_hi = np.array([R[_HIGH_REASON.get(q, "negative")] for q in QUANTITIES], np.int8)
        return cls(cfg=cfg, lo=lo, hi=hi, reason_lo=reason_lo, reason_hi=reason_hi, energy_kw=energy_kw,
                   i_max_a=i_dev, rollover_kwh=rollover_kwh)

    def step_bound_kwh(self, device: npt.NDArray[np.intp], dt_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The largest register advance a device can make in ``|dt_s|`` seconds."""
        return self.energy_kw[device] * np.abs(dt_s) / 3600.0 + _SLACK_KWH


def limits_for(cfg: AreaConfig, area: Area) -> Limits:
    """The limits of a configured area: its ``[area.plausibility]`` and the meter list's ``i_max_a``."""
    return Limits.build(area, cfg.plausibility, meter_i_max_a=[m.i_max_a for m in cfg.meters],
                        rollover_kwh=cfg.detection.register_rollover_kwh)


def _ranges(n_dev: int, i_lim: npt.NDArray[np.float64], p_kw: npt.NDArray[np.float64],
            p_phase_kw: npt.NDArray[np.float64], u_max: float,
            rollover_kwh: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lo = np.full((n_dev, len(QUANTITIES)), -math.inf)
    hi = np.full((n_dev, len(QUANTITIES)), math.inf)

    def put(names: Sequence[str], low: float | npt.NDArray[np.float64], high: float | npt.NDArray[np.float64]) -> None:
        for q in names:
            lo[:, QUANTITY_CODE[q]] = low
            hi[:, QUANTITY_CODE[q]] = high

    put(_CURRENTS, 0.0, i_lim)
    put(_VOLTAGES, 0.0, u_max)
    put(("p", "q"), -p_kw, p_kw)
    put(_PHASE_POWERS, -p_phase_kw, p_phase_kw)
    put(("pf",), -1.001, 1.001)
    put(("f",), 40.0, 70.0)
    put(("t_amb",), -60.0, 90.0)
    put(_REGISTERS, 0.0, rollover_kwh)
    put(_COUNTERS, 0.0, math.inf)
    for q in _REGISTERS:            # a master's (Modbus) energy register is not a 6-digit DL/T 645 one
        hi[-1, QUANTITY_CODE[q]] = math.inf
    return lo, hi
