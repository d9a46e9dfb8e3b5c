from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edge.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[3]


def test_collector_is_registered_with_its_module():
    assert COMMANDS["collector"][0] == "edge.commands.collector"


def test_check_accepts_the_sample_config(capsys):
    assert main(["collector", "-c", str(ROOT / "deploy/examples/collector.toml"), "--check"]) == 0
    assert "ok" in capsys.readouterr().out


def test_bad_config_exits_2_naming_file_line_and_key(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mqtt]\nurl = "mqtt://h"\n[influx]\napi = "v9"\n')
    assert main(["collector", "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:4: influx.api" in err and "v9" in err


def test_systemd_unit_runs_the_collector_command_and_passes_systemd_analyze(tmp_path):
    unit = (ROOT / "deploy/systemd/meterwatch-collector.service").read_text()
    assert "ExecStart=/usr/bin/meterwatch collector -c /etc/meterwatch/collector.toml\n" in unit
    assert "Restart=always" in unit
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze missing: run `make services`"
    # verify needs the binaries to exist: point them at this venv's interpreter
    copy = tmp_path / "meterwatch-collector.service"
    copy.write_text(unit.replace("/usr/bin/meterwatch", sys.executable))
    r = subprocess.run([exe, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_unreadable_credentials_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[influx]\ntoken_file = "{tmp_path}/missing-token"\n')
    assert main(["collector", "-c", str(cfg)]) == 2
    assert "missing-token" in capsys.readouterr().err


def test_alertmanager_only_needs_the_section(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mqtt]\nurl = "mqtt://h"\n')
    assert main(["collector", "-c", str(cfg), "--alertmanager-only"]) == 2
    assert "--alertmanager-only needs an [alertmanager] section" in capsys.readouterr().err
    assert main(["collector", "-c", str(ROOT / "deploy/examples/collector.toml"), "--alertmanager-only",
                 "--check"]) == 0
