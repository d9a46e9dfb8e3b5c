"""bench/register_steps.py on one clean area for a day: it runs as a script, compares the engine's interval
sales and per-phase NTL with the simulator's truth, and shows what it was written to show — a CT meter's
coarse register read between its steps by its power takes most of the register-step noise out of both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_register_steps_bench_measures_the_noise_with_and_without_reading_between_the_steps() -> None:
    r = subprocess.run([sys.executable, "bench/register_steps.py", "--areas", "1", "--days", "1"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    f = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    assert int(f["area_19000_ct_meters"]) >= 1
    plain, refined = float(f["area_19000_sales_sd_kwh_registers"]), float(f["area_19000_sales_sd_kwh_refined"])
    assert plain > 0.1 and refined < 0.5 * plain, (plain, refined)
    assert float(f["ntl_phase_sd_kwh_ratio_refined_to_registers_median"]) < 0.6
    assert float(f["ntl_phase_hour_sd_kwh_ratio_refined_to_registers_median"]) < 1.0
