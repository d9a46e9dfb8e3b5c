"""bench/edge.py at its smallest: the latency part with two load crossings against the real daemon and a
real mosquitto (about 20 s). The footprint and start-up parts take minutes and are run by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_edge_prints_usage() -> None:
    r = subprocess.run([sys.executable, "bench/edge.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--crossings" in r.stdout and "--footprint-s" in r.stdout


@pytest.mark.serial
@pytest.mark.integration
def test_bench_edge_latency_part_measures_two_crossings() -> None:
    r = subprocess.run([sys.executable, "bench/edge.py", "--only", "latency", "--crossings", "2"], cwd=ROOT,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    fig = {k: v.split("#")[0].strip() for k, v in
           (line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)}
    assert fig["alert_crossings"] == "2"
    p50, p99 = float(fig["alert_latency_p50_s"]), float(fig["alert_latency_p99_s"])
    # what the daemon adds between serving the sample and the subscriber's delivery: well under a poll
    assert 0 < p50 <= p99 < 1.0, fig
    assert float(fig["alert_latency_from_crossing_p50_s"]) >= p50
