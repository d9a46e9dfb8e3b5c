"""Numerical policy of the kernels in one place.

``njit`` is numba's when numba imports, else a no-op decorator so the same code runs as plain Python.
No fastmath: meter data has gaps and NaN means "not read", so ``nnan``/``ninf`` assumptions would be wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["NUMBA", "njit"]

_numba_njit: Any
try:
    from numba import njit as _numba_njit

    NUMBA = True
except ImportError:  # e.g. 32-bit ARM: the kernels run as Python (the references are faster there)
    NUMBA = False
    _numba_njit = None


def njit(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit(**options)`` (use ``cache=True``), or the identity without numba."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if _numba_njit is None:
            return fn
        return _numba_njit(**options)(fn)

    return wrap
