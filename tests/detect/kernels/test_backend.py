"""Backend selection: the kernels also run as plain Python where numba cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from detect.backend import kernels as impl

ROOT = Path(__file__).resolve().parents[3]


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        impl("lineloss", "gpu")


def test_kernels_run_without_numba() -> None:
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "import detect.kernels\n"
        "from detect.kernels import lineloss\n"
        "assert not detect.kernels.NUMBA\n"
        "out = lineloss.balance([[1.0, 2.0, 3.5]], [[0.0, 0.0, 0.0]], [False, False], min_coverage_pct=100)\n"
        "print(out.loss_pct[0])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert float(res.stdout) == pytest.approx(100 * 0.5 / 3.5)


def test_the_benchmark_script_imports_and_writes_a_valid_export(tmp_path: Path) -> None:
    from detect.area import Area
    from edge.replay import ReplayStats, read_batches  # before bench/ is on the path: bench/edge.py

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import lineloss_kernels as bench
    finally:
        sys.path.pop(0)

    rows = bench.write_replay_csv(tmp_path / "x.csv", 5, 1)
    stats = ReplayStats()
    area = Area.simple(id="A", rated_kva=400, meter_ids=[f"m{i:04d}" for i in range(5)])
    assert sum(len(b) for b in read_batches(tmp_path / "x.csv", area, stats=stats)) == rows
    assert stats.rejected == 0
