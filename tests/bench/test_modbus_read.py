"""The Modbus read benchmark stays runnable; its computed figures match the planner."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "modbus_read.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_modbus_read", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_figures_for_every_shipped_profile() -> None:
    f = _load().figures()
    assert f["dtsu666.coalesced.requests"] == 2
    assert f["dtsu666.per_quantity.requests"] == 15
    assert f["dtsu666.coalesced.bytes_out"] == 16
    assert f["dtsu666.coalesced.bytes_in"] == (5 + 2 * 64) + (5 + 2 * 12)
    for name in ("dtsu666", "sdm630", "dtsd1352", "ttu"):
        assert f[f"{name}.ratio.wire_time"] > 1.5
        assert f[f"{name}.coalesced.wire_ms"] < f[f"{name}.per_quantity.wire_ms"]
