"""Plausibility limits of measured values, in engineering units after scale and CT/PT ratios.

A value outside its limits is not a measurement but a decoding or device fault (wrong word order,
uninitialised register, 0xFFFF fill): it becomes a per-quantity failure with the reason, never a reading.
The limits are deliberately wide (an LV area transformer never carries 100 MW); a profile can narrow
or widen them per quantity with ``min``/``max``.
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_LIMITS", "check_value"]

_U = (0.0, 1.0e5)          # V, also covers a PT-ratio primary of a 10 kV or 35 kV feeder
_I = (-1.0e5, 1.0e5)       # A, some meters sign the current with the power direction
_P = (-1.0e5, 1.0e5)       # kW / kvar
_E = (0.0, 1.0e10)         # kWh, cumulative registers never go negative

DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "u_a": _U, "u_b": _U, "u_c": _U,
    "i_a": _I, "i_b": _I, "i_c": _I, "i_n": _I,
    "p": _P, "p_a": _P, "p_b": _P, "p_c": _P, "q": _P,
    "pf": (-1.001, 1.001),  # float rounding in meters gives 1.0004 now and then
    "f": (0.0, 100.0),      # 0 when the meter has no voltage
    "e_fwd": _E, "e_rev": _E, "e_fwd_daily": _E,
    "t_amb": (-60.0, 100.0),
    # status words (DL/T 645 run status words 1-7 are 16 bits; a Modbus profile may assemble them from bits)
    **{f"sw{k}": (0.0, 65535.0) for k in range(1, 8)},
}


def check_value(value: float, lo: float, hi: float, unit: str = "") -> str | None:
    """Why ``value`` is not a plausible measurement (None when it is)."""
    if math.isnan(value):
        return "value is NaN"
    if math.isinf(value):
        return f"value is {'+' if value > 0 else '-'}infinite"
    if not lo <= value <= hi:
        u = f" {unit}" if unit else ""
        return f"value {value:.6g}{u} outside the plausible range [{lo:g}, {hi:g}]{u}"
    return None
