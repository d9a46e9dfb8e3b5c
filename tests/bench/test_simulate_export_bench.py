from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_simulate_export_bench_imports_and_builds_its_config() -> None:
    spec = importlib.util.spec_from_file_location("bench_simulate_export", BENCH / "simulate_export.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from edge.sim.config import parse_sim_config

    cfg = parse_sim_config(mod._config(500, 1), "bench")
    assert cfg.area.customers == 500 and cfg.area.rated_kva == 1000
