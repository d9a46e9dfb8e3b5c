"""bench/gateway_view.py at a tiny size: both daemons run, the clients receive, every figure is printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.edge.service.harness import numba_cache_dir

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def test_gateway_view_bench_prints_both_columns_and_the_ratios() -> None:
    r = subprocess.run([sys.executable, "bench/gateway_view.py", "--meters", "4", "--buses", "1", "--window-s", "6",
                        "--warmup-s", "1", "--scrape-s", "2", "--numba-cache", str(numba_cache_dir())],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    fig = {line.split(":", 1)[0]: line.split(":", 1)[1].split("#")[0].strip() for line in r.stdout.splitlines()
           if ":" in line}
    assert int(fig["page_events"]) >= 2 and int(fig["metrics_scrapes"]) >= 2
    for key in ("cpu_pct_off", "cpu_pct_on", "rss_mb_off", "rss_mb_on", "tick_ms_p50_off", "tick_ms_p50_on"):
        assert float(fig[key]) > 0, key
    assert 50 < float(fig["rss_mb_off"]) < 1000
    assert float(fig["rss_extra_mb"]) == pytest.approx(float(fig["rss_mb_on"]) - float(fig["rss_mb_off"]), abs=0.11)
    assert "cpu_ratio_on_off" in fig and "tick_p99_ratio_on_off" in fig
