"""Argument checks for the kernel wrappers: messages name the argument and the offending value."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["as_f64", "check_range", "check_shape"]


def as_f64(name: str, x: Any, ndim: int) -> npt.NDArray[np.float64]:
    """``x`` as a C-contiguous float64 array of ``ndim`` dimensions, or ValueError naming it."""
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def check_shape(name: str, arr: npt.NDArray[Any], shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")


def check_range(name: str, value: float, lo: float | None = None, hi: float | None = None, unit: str = "") -> None:
    """Scalars with units: reject values outside [lo, hi] (usually a unit mistake, e.g. Wh for kWh)."""
    if not np.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        u = f" {unit}" if unit else ""
        raise ValueError(f"{name} = {float(value)!r}{u} is outside [{lo}, {hi}]{u}")
