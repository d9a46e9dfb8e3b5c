"""The serve-mode bench is not run by the suite; it must stay importable and show its usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_simulate_serve_imports_and_prints_usage() -> None:
    r = subprocess.run([sys.executable, "bench/simulate_serve.py", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "read_ratio_to_wire" in r.stdout and "--speed" in r.stdout
