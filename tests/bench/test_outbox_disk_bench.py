"""bench/outbox_disk.py at a tiny size: it runs, and its printed figures say the budget held."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "outbox_disk.py"


def test_bench_prints_the_disk_bound_held_and_put_costs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_outbox_disk", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--dir", str(tmp_path), "--meters", "3", "--budgets-mb", "0.25", "--rounds", "1.3",
                     "--repeat", "1", "--synchronous", "NORMAL"]) == 0
    figures = dict(line.split(": ") for line in capsys.readouterr().out.splitlines() if not line.startswith("#"))
    assert float(figures["disk_0.25_peak_ratio"]) <= 1.1
    assert 0 < float(figures["disk_0.25_sqlite_peak_ratio"]) <= 1.0
    assert int(figures["disk_0.25_dropped_summaries"]) > 0 and int(figures["disk_0.25_dropped_alerts"]) == 0
    assert 0 < float(figures["disk_0.25_put_p50_ms"]) <= float(figures["disk_0.25_put_p99_ms"])
    assert float(figures["disk_0.25_put_p50_ratio_to_fsync"]) > 0
    assert float(figures["disk_0.25_put_p50_ratio_to_unbounded"]) > 0
    assert int(figures["state_bytes"]) > 0
