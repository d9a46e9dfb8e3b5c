"""``meterwatch check-config`` as a user runs it: a real subprocess, exit codes and output; and
``meterwatch run`` refusing what check-config refuses, before it starts anything."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import require_binary

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "deploy/examples/edge.toml"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def _example_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    (tmp_path / "edge.toml").write_text(EXAMPLE.read_text().replace(old, new) if old else EXAMPLE.read_text())
    (tmp_path / "A01-meters.csv").write_text((ROOT / "deploy/examples/A01-meters.csv").read_text())
    return tmp_path / "edge.toml"


def test_help_lists_the_commands_that_exist():
    out = _run("--help")
    assert out.returncode == 0
    from edge.cli import COMMANDS

    for name in COMMANDS:
        assert name in out.stdout


def test_example_passes_with_a_summary_and_capacity_per_bus():
    out = _run("check-config", "--no-files", "deploy/examples/edge.toml")
    assert out.returncode == 0, out.stderr
    assert "40 meters" in out.stdout
    assert "bus rs485-1 (dlt645, 2400 baud" in out.stdout
    assert "plan meter_interval: 20 device(s)" in out.stdout
    assert "files (password, CA, certificate, key): not checked (--no-files)" in out.stdout


def test_example_passes_on_a_gateway_that_has_its_credential_and_ca(tmp_path: Path):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "mqtt-password").write_text("s3cret\n")
    (creds / "status-token").write_text("t0ken\n")           # the status page's token ([status] token_file)
    subprocess.run([require_binary("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                    "-subj", "/CN=meterwatch test CA"], cwd=tmp_path, check=True, capture_output=True, timeout=30)
    config = _example_copy(tmp_path, "/etc/meterwatch/ca.pem", str(tmp_path / "ca.pem"))
    out = _run("check-config", "--credentials-dir", str(creds), str(config))
    assert out.returncode == 0, out.stderr
    assert "files (password, CA, certificate, key): checked" in out.stdout
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    out = _run("check-config", "--credentials-dir", str(creds), str(config))
    assert out.returncode == 1 and "mqtt.ca_file: TLS files do not load" in out.stderr


def test_a_plan_that_does_not_fit_its_bus_is_an_error(tmp_path: Path):
    config = _example_copy(tmp_path, "interval_s = 900", "interval_s = 30")
    out = _run("check-config", "--no-files", str(config))
    assert out.returncode == 1
    assert out.stderr.count("plans.meter_interval: bus ") == 2       # rs485-1 and rs485-2
    assert "does not fit: a round of 20 meter(s) takes 53.4 s of wire time at 2400 baud" in out.stderr
    assert "the plans need" in out.stderr and "rounds would overrun" in out.stderr


def test_broken_config_exits_1_listing_every_error(tmp_path: Path):
    out = _run("check-config", "--no-files", str(_example_copy(tmp_path, "baud = 2400", "baud = 2401")))
    assert out.returncode == 1
    assert "2 error(s)" in out.stderr
    assert out.stderr.count("2401 is not one of") == 2
    assert 'bus "rs485-1"' in out.stderr and 'bus "rs485-2"' in out.stderr


def test_duplicate_address_in_csv_names_the_csv_file_line_and_meter(tmp_path: Path):
    config = _example_copy(tmp_path)
    csv = tmp_path / "A01-meters.csv"
    csv.write_text(csv.read_text().replace("310000000002", "310000000001"))
    out = _run("check-config", "--no-files", str(config))
    assert out.returncode == 1
    assert "A01-meters.csv:3: row 3.address:" in out.stderr and 'meter "A01-0002"' in out.stderr


def test_run_refuses_what_check_config_refuses_and_starts_nothing(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]):
    from edge.commands import run

    config = _example_copy(tmp_path, 'topic_prefix = "meterwatch/v2"', 'topic_prefix = "$SYS/meterwatch"')
    text = config.read_text().replace('state_dir = "/var/lib/meterwatch"', f'state_dir = "{tmp_path}/state"')
    config.write_text(text)
    args = argparse.Namespace(config=str(config), broker=None, log_level="ERROR", flush_timeout=1.0)
    assert run.run(args) == 1
    err = capsys.readouterr().err
    assert "nothing was started" in err
    assert "mqtt.topic_prefix: starts with '$'" in err and "mqtt.password_file" in err
    assert not (tmp_path / "state").exists()


def _readings(path: Path, volts: float) -> Path:
    rows = ["ts,device,quantity,value"]
    for k in range(40):
        for dev in ("A01-0001", "A01-0002", "master"):
            rows.append(f"{1782864000 + 900 * k},{dev},u_a,{volts + (k % 5) * 0.3:.1f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_readings_that_do_not_fit_the_lv_system_are_a_warning(tmp_path: Path) -> None:
    """A 400/230 V area left at the default 380/220: every voltage reads 5 % high (issue 18)."""
    cfg = _example_copy(tmp_path)
    high = _run("check-config", "--no-files", "--quiet", str(cfg), "--readings", str(_readings(tmp_path / "r.csv", 236.0)))
    assert high.returncode == 0
    assert "area A01: the readings' median phase voltage is 236.6 V, +7.5 % from the nominal 220 V" in high.stderr
    fine = _run("check-config", "--no-files", "--quiet", str(cfg), "--readings", str(_readings(tmp_path / "f.csv", 224.0)))
    assert fine.returncode == 0 and "warning" not in fine.stderr
    eu = _example_copy(tmp_path, 'lv_system = "380/220"', 'lv_system = "400/230"')
    ok = _run("check-config", "--no-files", "--quiet", str(eu), "--readings", str(tmp_path / "r.csv"))
    assert ok.returncode == 0 and "warning" not in ok.stderr
