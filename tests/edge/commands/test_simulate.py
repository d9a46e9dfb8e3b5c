from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import load_config
from tests.edge.sim.test_config import SCENARIO_DIR


def test_simulate_export_writes_the_files_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "-c", str(SCENARIO_DIR / "faults.toml"), "--export", str(tmp_path),
                 "--days", "1", "--seed", "11"])
    assert code == 0
    out, err = capsys.readouterr()
    assert "exported 1 days x 200 meters" in out and "day 1/1" in err
    meta = json.loads((tmp_path / "export.json").read_text())
    assert meta["seed"] == 11 and meta["days"] == 1
    for name in ("readings.csv", "truth.jsonl", "balance.csv", "area.toml", "meters.csv"):
        assert (tmp_path / name).stat().st_size > 0


def test_simulate_with_a_bad_config_exits_2_naming_the_key(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "sim.toml"
    bad.write_text('[[scenario]]\nkind = "shorted_ct"\nsubject = "M0020"\nstart_h = 1\nend_h = 2\nphase = "D"\n')
    assert main(["simulate", "-c", str(bad), "--export", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: scenario[0].phase: 'D' is not one of A, B, C" in err


SMALL = """[sim]
seed = 4
[area]
customers = 6
branches = 2
rated_kva = 50
[serve]
buses = 2
baud = 9600
response_delay_s = 0.02
"""


def test_simulate_serves_prints_the_edge_config_and_stops_on_sigterm(tmp_path: Path) -> None:
    sim = tmp_path / "sim.toml"
    sim.write_text(SMALL)
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "simulate", "-c", str(sim), "--speed", "600",
                             "--dir", str(tmp_path / "edge"), "--status", "0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("sim 2026-07-01"):           # the first status line: serving
                break
        printed = "".join(ln for ln in lines if not ln.startswith(("# serving", "# check", "# Ctrl-C", "sim ")))
        written = (tmp_path / "edge" / "edge.toml").read_text()
        assert printed == written
        cfg = load_config(tmp_path / "edge" / "edge.toml")
        assert [b.protocol for b in cfg.buses] == ["dlt645", "dlt645", "modbus-rtu"]
        assert len(cfg.areas[0].meters) == 6
        ports = [b.port for b in cfg.buses]
        assert all(os.path.exists(p) for p in ports)         # the ptys exist while it serves
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped: sim 2026-07-01" in out and err == ""
    assert not any(os.path.exists(p) for p in ports)         # and are gone after it stopped


def test_simulate_serve_refuses_a_bad_speed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "-c", str(SCENARIO_DIR / "healthy.toml"), "--speed", "0"]) == 2
    assert "--speed 0 is outside" in capsys.readouterr().err
