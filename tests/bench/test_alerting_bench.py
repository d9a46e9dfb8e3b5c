"""bench/alerting.py at a tiny size: it runs against real mosquitto + alertmanager and prints its figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_alerting_bench_runs_tiny_and_prints_its_figures():
    r = subprocess.run([sys.executable, "bench/alerting.py", "--runs", "1", "--alerts", "5", "--rate", "50",
                        "--burst", "40", "--group-wait", "200ms"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    figures = dict(re.findall(r"^([a-z0-9_]+): (-?[0-9.]+)", r.stdout, re.M))
    for key in ("latency_p50_ms", "latency_p99_ms", "direct_latency_p50_ms", "direct_latency_p99_ms",
                "burst_events_per_s", "sink_cpu_us_per_event", "alertmanager_cpu_us_per_event"):
        assert key in figures, (key, r.stdout)
    assert 0 <= float(figures["latency_p50_ms"]) <= float(figures["latency_p99_ms"]) < 5000
    assert float(figures["burst_events_per_s"]) > 0 and float(figures["sink_cpu_us_per_event"]) > 0
    assert "ratio_to_goal:" in r.stdout
