"""numba kernels, one module per topic; ``detect.reference`` holds the numpy twins (same signatures).

Pick the module through ``detect.backend.kernels(topic)``, never by importing here directly in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from detect.config import CACHE, FASTMATH

__all__ = ["NUMBA", "kernel"]

F = TypeVar("F", bound=Callable[..., Any])

_njit: Any
try:
    from numba import njit as _njit

    NUMBA = True
except ImportError:  # e.g. 32-bit ARM: kernel modules still import; the engine runs on the references
    NUMBA = False
    _njit = None


def kernel(fn: F) -> F:
    """``@njit`` with the numerical policy of ``detect.config`` (cache, fastmath without nnan/ninf, nogil);
    the plain Python function where numba cannot be imported."""
    if _njit is None:
        return fn
    return cast(F, _njit(cache=CACHE, fastmath=set(FASTMATH), nogil=True)(fn))
