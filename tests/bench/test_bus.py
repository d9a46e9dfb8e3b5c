"""bench/bus.py stays runnable: its --fake mode runs in virtual time and prints every issue-6 figure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bus.py"


def test_bus_bench_fake_mode_prints_the_issue_figures(capsys):
    spec = importlib.util.spec_from_file_location("bench_bus", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_bus"] = mod      # dataclasses look their module up there
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules["bench_bus"]
    assert mod.main(["--fake", "--minutes", "10", "--meters", "32"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["mode"].startswith("fake-reader")
    assert 0.95 <= float(lines["efficiency"]) <= 1.0 + 1e-9
    assert 0.9 <= float(lines["dead_meter_ratio"]) <= 1.0
    assert 0 < float(lines["master_staleness_p99_s"]) <= 2 * float(lines["master_cadence_s"])
