"""bench/lineloss_kernels.py at a tiny size: it runs as a script and prints its figures, consistent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _figures(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_lineloss_kernels_bench_prints_kernel_and_reader_figures_at_a_tiny_size() -> None:
    r = subprocess.run([sys.executable, "bench/lineloss_kernels.py", "--meters", "40", "--repeat", "2",
                        "--replay-meters", "4", "--replay-days", "1", "--share-meters", "12"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    f = _figures(r.stdout)
    assert f["meters"] == "40"
    for name in ("tick", "daily_suspect_evidence", "daily_check_mapping"):
        numba = float(f[f"{name}_numba_ms"])
        ratio = float(f[f"{name}_reference_over_numba"])
        assert numba > 0 and ratio > 0
    assert float(f["daily_joint_share_12_meters_numba_ms"]) > 0
    assert float(f["daily_joint_share_12_meters_reference_over_numba"]) > 0
    assert f["replay_file_days"] == "1"
    # 4 meters × 9 quantities × 96 intervals + the master's 12 quantities each minute
    assert int(f["replay_file_rows"]) == 4 * 9 * 96 + 12 * 1440
    assert float(f["replay_reader_rows_per_s"]) > 0
