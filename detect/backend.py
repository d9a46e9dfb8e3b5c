"""Kernel backend selection: numba where it can be imported, the numpy references elsewhere.

Chosen once per process (first call) and reported by the daemon at start-up via ``backend()``.
``METERWATCH_BACKEND=numpy`` forces the references (used by the benchmark for the ratio and on
platforms where numba imports but misbehaves).
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from types import ModuleType

__all__ = ["TOPICS", "backend", "describe", "kernels"]

TOPICS = ("alarms", "energy", "load", "thermal", "voltage", "cadence", "lineloss", "techloss", "theft", "suspects",
          "mapping", "evidence", "drops")
_VALID = ("numba", "numpy")


@cache
def backend() -> str:
    """``"numba"`` or ``"numpy"``: the backend every engine of this process uses unless told otherwise."""
    forced = os.environ.get("METERWATCH_BACKEND", "").strip().lower()
    if forced:
        if forced not in _VALID:
            raise ValueError(f"METERWATCH_BACKEND={forced!r} is not one of {', '.join(_VALID)}")
        return forced
    try:
        importlib.import_module("numba")
    except Exception:  # ImportError, or a broken llvmlite on exotic platforms
        return "numpy"
    return "numba"


def kernels(topic: str, which: str | None = None) -> ModuleType:
    """The module implementing ``topic`` on the chosen backend (``detect.kernels.<topic>`` or
    ``detect.reference.<topic>``); both export the same functions with the same signatures."""
    if topic not in TOPICS:
        raise KeyError(f"unknown kernel topic {topic!r}; known: {', '.join(TOPICS)}")
    which = which or backend()
    which = "numpy" if which == "reference" else which
    if which not in _VALID:
        raise ValueError(f"unknown backend {which!r}; known: {', '.join(_VALID)}")
    package = "detect.kernels" if which == "numba" else "detect.reference"
    return importlib.import_module(f"{package}.{topic}")


def describe() -> str:
    """One start-up log line: which backend, which version, and why."""
    which = backend()
    forced = os.environ.get("METERWATCH_BACKEND", "").strip().lower()
    if which == "numba":
        import numba

        return f"detection kernels: numba {numba.__version__} (on-disk cache)"
    why = "forced by METERWATCH_BACKEND" if forced else "numba not importable"
    return f"detection kernels: numpy reference implementations ({why})"
