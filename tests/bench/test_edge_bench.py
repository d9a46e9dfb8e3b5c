"""bench/edge.py is not run by the suite (minutes of wall time); it must stay importable and show its usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_edge_imports_and_prints_usage() -> None:
    r = subprocess.run([sys.executable, "bench/edge.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--crossings" in r.stdout and "--footprint-s" in r.stdout
