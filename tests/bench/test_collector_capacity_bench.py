"""bench/collector_capacity.py at a tiny size: measures, writes to real VictoriaMetrics and InfluxDB 1.6,
and prints a consistent model for 1 000, 10 000 and 100 000 areas."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.serial
@pytest.mark.integration
def test_capacity_model_prints_measured_inputs_and_scales_them():
    r = subprocess.run([sys.executable, "bench/collector_capacity.py", "--meters", "10", "--areas", "1", "--days", "2",
                        "--disk-realtime", "10"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    out = r.stdout
    fig = dict(re.findall(r"(\w+): ([\d.]+)", out))
    assert int(fig["msgs_realtime"]) == 17280 and float(fig["points_realtime"]) == 1.0
    assert float(fig["points_meters_interval"]) == 10.0
    assert 0 <= float(fig["disk_bytes_per_point_vm"]) < 1000 and 0 <= float(fig["disk_bytes_per_point_influxdb"]) < 1000
    rows = {int(n): dict(re.findall(r"(\w+) ([\d.]+)", rest)) for n, rest in re.findall(r"areas_(\d+): (.*)", out)}
    assert sorted(rows) == [1000, 10000, 100000]
    per_area = float(fig["area_msgs_per_day"]) / 86400
    for n, row in rows.items():
        assert abs(float(row["msgs_per_s"]) - n * per_area) <= 1
        assert int(row["series_influxdb"]) == n * int(fig["series_influxdb_area"])
    assert float(rows[100000]["collector_cores"]) == pytest.approx(100 * float(rows[1000]["collector_cores"]), rel=0.02)
