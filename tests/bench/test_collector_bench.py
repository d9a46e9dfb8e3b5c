"""bench/collector.py at a tiny size: it runs end to end against real mosquitto and victoria-metrics and
prints every figure, consistent with each other (the sizes are too small for the values to mean much),
including the A/B against a git revision's collectors (here HEAD)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_bench_collector_prints_its_figures_at_a_tiny_size():
    r = subprocess.run([sys.executable, "bench/collector.py", "--runs", "1", "--areas", "8", "--meters", "250",
                        "--intervals", "48", "--realtime", "3000", "--baseline", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    fig = {k: v.strip() for k, _, v in (line.partition(":") for line in r.stdout.splitlines()) if v}
    us = float(fig["us_per_realtime_msg"])
    assert 1 < us < 2000
    assert abs(float(fig["realtime_msgs_per_s_per_core"]) - 1e6 / us) <= 1e6 / us * 0.01 + 1
    assert abs(float(fig["ratio_to_baseline_per_core"]) - 101 / us) < 0.01 + 0.01 * 101 / us
    assert int(fig["realtime_messages"]) >= 3000 and int(fig["points"]) > 30_000
    for key in ("points_per_s_1proc", "points_per_s_2proc", "points_per_collector_cpu_s_1proc",
                "us_per_msg_1proc", "machine_ceiling_points_per_s_2proc", "tsdb_points_per_s",
                "decode_points_per_s"):
        assert float(fig[key]) > 0, key
    ratio = float(fig["points_per_s_2proc"]) / float(fig["machine_ceiling_points_per_s_2proc"])
    assert abs(float(fig["points_per_s_2proc_to_machine_ceiling"]) - ratio) < 0.01
    assert fig["cores"].isdigit() and fig["core_layout"]
    assert float(fig["loadavg_1min"]) >= 0
    # --baseline HEAD: the committed tree's collectors drained the same stream, interleaved with ours
    base = float(fig["points_per_s_2proc_baseline"])
    assert base > 0 and 0 < float(fig["points_per_s_2proc_to_machine_ceiling_baseline"]) < 5
    assert abs(float(fig["ab_points_per_s_2proc"]) - float(fig["points_per_s_2proc"]) / base) < 0.01 + 0.01 * (
        float(fig["points_per_s_2proc"]) / base)
    assert float(fig["ab_ratio_to_ceiling"]) > 0
