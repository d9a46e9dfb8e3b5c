"""JSON-ready numbers for summary fields: NaN and infinity are not JSON, missing numbers are None."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["json_list", "num"]


def num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def json_list(a: npt.NDArray[np.floating]) -> list[float | None]:
    """NaN/inf become None (vectorised: this runs on every meter every interval)."""
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    values: list[float | None] = out.tolist()
    return values
