"""Pick the implementation of a kernel topic: the numba kernels or their numpy references."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["BACKENDS", "impl"]

BACKENDS = ("numba", "reference")


def impl(topic: str, backend: str) -> ModuleType:
    """``detect.kernels.<topic>`` for "numba", ``detect.reference.<topic>`` for "reference"."""
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    pkg = "detect.kernels" if backend == "numba" else "detect.reference"
    return importlib.import_module(f"{pkg}.{topic}")
