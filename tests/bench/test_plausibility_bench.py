"""bench/plausibility.py at a tiny size: it runs and prints per-reading costs next to the engine's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "plausibility.py"


@pytest.mark.serial      # its share of the engine is a ratio of two timings, 0.000 on a busy machine
def test_bench_prints_costs_per_reading_and_rejects_only_the_broken_values(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_plausibility", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--meters", "30", "--windows", "2", "--repeat", "1"]) == 0
    figures = dict(line.split(": ") for line in capsys.readouterr().out.splitlines() if not line.startswith("#"))
    for key in ("plausibility_live_ns_per_reading", "plausibility_batch_ns_per_reading",
                "plausibility_batch_faulty_ns_per_reading", "engine_ns_per_reading"):
        assert float(figures[key]) > 0, key
    assert float(figures["plausibility_batch_rejected_share"]) == 0.0      # clean data: nothing rejected
    assert float(figures["plausibility_batch_faulty_rejected_share"]) > 0
    assert float(figures["plausibility_batch_share_of_engine"]) > 0
