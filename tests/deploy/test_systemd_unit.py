"""The shipped unit passes ``systemd-analyze verify`` without a single message and is hardened to an
exposure of at most 2.0 by ``systemd-analyze security --offline=true``.

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

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "meterwatch-edge.service"
MAX_EXPOSURE = 2.0


def _installed_copy(tmp_path: Path) -> Path:
    exe = Path(sys.executable).parent / "meterwatch"
    assert exe.is_file(), f"{exe} missing: install the package into the venv (pip install -e .)"
    text = UNIT.read_text()
    assert "ExecStart=/usr/bin/meterwatch " in text
    unit = tmp_path / UNIT.name
    unit.write_text(text.replace("ExecStart=/usr/bin/meterwatch ", f"ExecStart={exe} "))
    return unit


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = require_binary("systemd-analyze")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_unit_verifies_without_any_warning(tmp_path: Path) -> None:
    unit = _installed_copy(tmp_path)
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


def test_unit_is_hardened_to_exposure_at_most_two(tmp_path: Path) -> None:
    unit = _installed_copy(tmp_path)
    res = _analyze("security", "--offline=true", "--no-pager", str(unit), cwd=tmp_path)
    level = exposure(res.stdout)
    assert level <= MAX_EXPOSURE, res.stdout


def test_unit_keeps_the_settings_the_daemon_relies_on() -> None:
    text = UNIT.read_text()
    for line in ("Type=notify", "MemoryDenyWriteExecute=no", "SupplementaryGroups=dialout",
                 "DeviceAllow=char-ttyS rw", "DeviceAllow=char-ttyUSB rw", "StateDirectory=meterwatch",
                 "CacheDirectory=meterwatch", "ConfigurationDirectory=meterwatch",
                 "LoadCredential=mqtt-password:", "WatchdogSec="):
        assert re.search(rf"^{re.escape(line)}", text, re.M), line
