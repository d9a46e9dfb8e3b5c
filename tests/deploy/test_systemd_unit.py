"""The shipped units (edge daemon and collector) pass ``systemd-analyze verify`` without a single message
and are hardened to an exposure of at most 2.0 by ``systemd-analyze security --offline=true``.

``verify`` complains when ExecStart= names a binary that does not exist. The unit ships with the
install path ``/usr/bin/meterwatch``; the test verifies a temporary copy whose ExecStart points at the
``meterwatch`` script of the running environment (the venv), which is exactly what an installer
that puts meterwatch elsewhere does (see docs/publishing.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import require_binary

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNIT = SYSTEMD / "meterwatch-edge.service"
UNITS = [UNIT, SYSTEMD / "meterwatch-collector.service"]
MAX_EXPOSURE = 2.0


def _installed_copy(tmp_path: Path, unit_file: Path = UNIT) -> Path:
    exe = Path(sys.executable).parent / "meterwatch"
    assert exe.is_file(), f"{exe} missing: install the package into the venv (pip install -e .)"
    text = unit_file.read_text()
    assert "ExecStart=/usr/bin/meterwatch " in text
    unit = tmp_path / unit_file.name
    unit.write_text(re.sub(r"^(Exec\w+=)/usr/bin/meterwatch ", rf"\g<1>{exe} ", text, flags=re.M))
    return unit


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = require_binary("systemd-analyze")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("unit_file", UNITS, ids=lambda p: p.stem)
def test_unit_verifies_without_any_warning(tmp_path: Path, unit_file: Path) -> None:
    unit = _installed_copy(tmp_path, unit_file)
    res = _analyze("verify", str(unit), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "" and res.stderr.strip() == "", res.stdout + res.stderr


def test_verify_would_catch_a_missing_binary(tmp_path: Path) -> None:
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("ExecStart=/usr/bin/meterwatch ",
                                             "ExecStart=/nonexistent/meterwatch "))
    res = _analyze("verify", str(unit), cwd=tmp_path)
    assert "not executable" in res.stderr


def exposure(output: str) -> float:
    """The number in ``→ Overall exposure level for X.service: 1.5 OK``."""
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    if m is None:
        raise ValueError(f"no exposure level in systemd-analyze output:\n{output[-500:]}")
    return float(m.group(1))


def test_exposure_parser_reads_the_summary_line() -> None:
    assert exposure("x\n→ Overall exposure level for mw.service: 1.5 OK 🙂\n") == 1.5
    with pytest.raises(ValueError):
        exposure("no summary")


@pytest.mark.parametrize("unit_file", UNITS, ids=lambda p: p.stem)
def test_unit_is_hardened_to_exposure_at_most_two(tmp_path: Path, unit_file: Path) -> None:
    unit = _installed_copy(tmp_path, unit_file)
    res = _analyze("security", "--offline=true", "--no-pager", str(unit), cwd=tmp_path)
    level = exposure(res.stdout)
    assert level <= MAX_EXPOSURE, res.stdout


def test_unit_keeps_the_settings_the_daemon_relies_on() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "MemoryDenyWriteExecute=no", "SupplementaryGroups=dialout",
                 "DeviceAllow=char-ttyS rw", "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyACM rw",
                 # on-board UARTs of ARM gateways (Raspberry Pi, i.MX, AM335x, STM32MP1)
                 "DeviceAllow=char-ttyAMA rw", "DeviceAllow=char-ttymxc rw", "DeviceAllow=char-ttyO rw",
                 "DeviceAllow=char-ttySTM rw", "RuntimeDirectory=meterwatch", "StateDirectory=meterwatch",
                 "CacheDirectory=meterwatch", "ConfigurationDirectory=meterwatch",
                 "LoadCredential=mqtt-password:", "WatchdogSec="):
        assert re.search(rf"^{re.escape(line)}", text, re.M), line


def test_collector_unit_keeps_what_the_collector_needs_and_nothing_more() -> None:
    text = (SYSTEMD / "meterwatch-collector.service").read_text()
    for line in ("DynamicUser=yes", "PrivateDevices=yes", "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "LoadCredential=mqtt-password:",
                 "LoadCredential=influx-token:", "ExecStartPre=/usr/bin/meterwatch collector -c"):
        assert re.search(rf"^{re.escape(line)}", text, re.M), line
    assert "DeviceAllow" not in text and "SupplementaryGroups" not in text
