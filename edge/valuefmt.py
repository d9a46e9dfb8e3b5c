"""Values shown to people at the resolution of their register, not as float artefacts.

A BCD register ``XXX.X`` holds 230.1 V; decoded as 2301 × 0.1 it is 230.10000000000002 in binary
floating point. A float32 register holds 12345.6 kWh as 12345.599609375. Neither is what the meter
says. ``shown`` writes a value with exactly the decimals its register has (a fixed step: BCD digits,
an integer register's scale times CT/PT ratios) or, for float registers, with the significant digits
the format carries (float32: 7, float64: 15), trailing zeros dropped; ``at_resolution`` gives the same
number as a float for JSON (``230.1``, not ``230.10000000000002``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Resolution", "at_resolution", "decimals_for_step", "shown"]

FLOAT_DIGITS = {"float32": 7, "float64": 15}


@dataclass(frozen=True, slots=True)
class Resolution:
    """Either a fixed number of ``decimals`` (a register with a step) or ``significant`` digits (a float)."""

    decimals: int | None = None
    significant: int | None = None

    @classmethod
    def of_step(cls, step: float) -> Resolution:
        return cls(decimals=decimals_for_step(step))

    def places(self, value: float) -> int:
        """Decimals to write ``value`` with."""
        if self.decimals is not None:
            return self.decimals
        sig = self.significant or 15
        if value == 0 or not math.isfinite(value):
            return 0
        return max(0, sig - 1 - math.floor(math.log10(abs(value))))


def decimals_for_step(step: float) -> int:
    """Decimals that show every multiple of ``step`` exactly: 0.1 → 1, 0.01 → 2, 0.05 → 2, 2 → 0, 0.2 → 1."""
    step = abs(step)
    for d in range(10):
        if abs(round(step, d) - step) <= 1e-9 * max(1.0, step):
            return d
    return 10


def shown(value: float, res: Resolution | None) -> str:
    """``value`` as its register says it; integers stay integers; no resolution: Python's shortest repr."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or res is None or not math.isfinite(value):
        return repr(value) if isinstance(value, float) else str(value)
    text = f"{value:.{res.places(value)}f}"
    if res.decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")      # a float's precision, not a register's fixed step
    return text.lstrip("-") if float(text) == 0 else text       # -0.04 at 0.1 is 0.0, not -0.0


def at_resolution(value: float, res: Resolution | None) -> float:
    """``value`` rounded to what ``shown`` writes (a float whose repr is that text)."""
    if isinstance(value, bool) or not isinstance(value, float) or res is None or not math.isfinite(value):
        return value
    return float(shown(value, res))
