"""The benchmark is not run by the suite; it must stay importable and show its usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_collector_imports_and_prints_usage():
    r = subprocess.run([sys.executable, "bench/collector.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "points_per_s_1proc" in r.stdout and "scaling_ratio_2proc" in r.stdout
