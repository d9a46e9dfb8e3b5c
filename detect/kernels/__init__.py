"""numba kernels, one module per topic; ``detect.reference`` holds the numpy twins (same signatures).

Pick the module through ``detect.backend.kernels(topic)``, never by importing here directly in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

from detect.config import CACHE, FASTMATH

__all__ = ["kernel"]

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """``@njit`` with the numerical policy of ``detect.config`` (cache, fastmath without nnan/ninf, nogil)."""
    return cast(F, njit(cache=CACHE, fastmath=set(FASTMATH), nogil=True)(fn))
