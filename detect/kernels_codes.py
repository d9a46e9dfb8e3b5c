"""Codes shared by kernels, references and the engine (kept free of numba so every backend can import them)."""

from __future__ import annotations

__all__ = ["ENERGY_CODES", "ESTIMATED_CODES"]

# detect.kernels.energy / detect.reference.energy quality codes
ENERGY_CODES = {"ok": 0, "not_read": 1, "no_baseline": 2, "rollover": 3, "reset": 4, "gap": 5}
ESTIMATED_CODES = (4, 5)
