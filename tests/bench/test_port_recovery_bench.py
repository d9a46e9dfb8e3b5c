"""bench/port_recovery.py at a tiny size: every fault recovers and the printed figures add up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "port_recovery.py"

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def test_every_fault_is_polled_again_within_two_backoff_periods_without_spinning() -> None:
    res = subprocess.run([sys.executable, str(BENCH), "--outages", "0.5"], capture_output=True, text=True,
                         timeout=240)
    assert res.returncode == 0, res.stderr
    rows = re.findall(r"^(\w+)_outage_0\.5s: recovery_s ([\d.]+)  backoff_s ([\d.]+)  ratio ([\d.]+)  cpu_pct ([\d.]+)$",
                      res.stdout, re.M)
    assert [r[0] for r in rows] == ["usb_missing_at_start", "usb_reenumerated", "converter_restart", "ttu_restart"]
    for _, recovery, backoff, ratio, cpu in rows:
        bound = max(float(backoff), 1.0)             # no reopen needed: the next poll (every 1 s) reconnects
        assert 0 <= float(recovery) <= 2 * bound and float(ratio) == pytest.approx(float(recovery) / bound, abs=0.01)
        assert float(backoff) in (0.0, 1.0, 2.0) and float(cpu) < 25.0
    worst = float(re.search(r"^worst_ratio_to_backoff: ([\d.]+)", res.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert worst == max(float(r[3]) for r in rows)
