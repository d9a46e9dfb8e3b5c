"""The serve-mode bench at a tiny size: it runs and prints consistent figures for both modes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_simulate_serve_reads_a_tiny_area_in_both_modes() -> None:
    r = subprocess.run([sys.executable, "bench/simulate_serve.py", "--meters", "4", "--seconds", "1.5"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    f = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    assert f["meters"] == "4"
    wire_ms = float(f["wire_time_ms"])
    for mode in ("lookahead", "no_lookahead"):
        assert int(f[f"{mode}_reads_ok"]) > 0
        assert int(f[f"{mode}_reads_failed"]) == 0
        median = float(f[f"{mode}_read_ms_median"])
        assert median >= wire_ms * 0.9          # a read never beats its own bytes on the wire
        assert abs(float(f[f"{mode}_read_ratio_to_wire"]) - median / wire_ms) < 0.02
