"""bench/outbox.py stays runnable: it imports, and its measuring functions work on a tiny run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "outbox.py"


def test_bench_imports_and_measures_put_latency(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_outbox", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    p50, p99 = mod.bench_put(tmp_path, "NORMAL", 50)
    assert 0 < p50 <= p99
    assert callable(mod.main)
