"""The DL/T 645 bus benchmark stays runnable (the bench itself is run by `make bench`, not here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_imports_and_its_decoder_measurement_runs():
    path = Path(__file__).resolve().parents[2] / "bench" / "dlt645_bus.py"
    spec = importlib.util.spec_from_file_location("dlt645_bus_bench", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.decoder_run(2000) > 1000  # frames/s; asserts inside that every frame was found
    assert callable(mod.bus_run) and callable(mod.main)
