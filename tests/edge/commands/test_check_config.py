"""``meterwatch check-config`` as a user runs it: a real subprocess, exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_help_lists_the_commands_that_exist():
    out = _run("--help")
    assert out.returncode == 0
    from edge.cli import COMMANDS

    for name in COMMANDS:
        assert name in out.stdout


def test_example_passes_with_a_summary_and_capacity_per_bus():
    out = _run("check-config", "deploy/examples/edge.toml")
    assert out.returncode == 0, out.stderr
    assert "40 meters" in out.stdout
    assert "bus rs485-1 (dlt645, 2400 baud" in out.stdout
    assert "plan meter_interval: 20 device(s)" in out.stdout
    assert "DOES NOT FIT" not in out.stdout


def test_overfull_bus_is_warned(tmp_path: Path):
    text = (ROOT / "deploy/examples/edge.toml").read_text().replace("interval_s = 900", "interval_s = 30")
    (tmp_path / "edge.toml").write_text(text)
    (tmp_path / "A01-meters.csv").write_text((ROOT / "deploy/examples/A01-meters.csv").read_text())
    out = _run("check-config", str(tmp_path / "edge.toml"))
    assert out.returncode == 0
    assert "DOES NOT FIT" in out.stdout and "rounds will overrun" in out.stdout


def test_broken_config_exits_1_listing_every_error(tmp_path: Path):
    text = (ROOT / "deploy/examples/edge.toml").read_text().replace("baud = 2400", "baud = 2401")
    (tmp_path / "edge.toml").write_text(text)
    (tmp_path / "A01-meters.csv").write_text((ROOT / "deploy/examples/A01-meters.csv").read_text())
    out = _run("check-config", str(tmp_path / "edge.toml"))
    assert out.returncode == 1
    assert "2 error(s)" in out.stderr
    assert out.stderr.count("2401 is not one of") == 2
    assert 'bus "rs485-1"' in out.stderr and 'bus "rs485-2"' in out.stderr


def test_duplicate_address_in_csv_names_the_csv_file_and_meter(tmp_path: Path):
    csv_text = (ROOT / "deploy/examples/A01-meters.csv").read_text().replace("310000000002", "310000000001")
    (tmp_path / "A01-meters.csv").write_text(csv_text)
    (tmp_path / "edge.toml").write_text((ROOT / "deploy/examples/edge.toml").read_text())
    out = _run("check-config", str(tmp_path / "edge.toml"))
    assert out.returncode == 1
    assert "A01-meters.csv" in out.stderr and 'meter "A01-0002"' in out.stderr
