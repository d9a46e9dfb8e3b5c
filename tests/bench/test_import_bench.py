"""Smoke test of bench/import_export.py at a tiny size: every figure printed, positive, every file read whole."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_import_bench_prints_its_figures_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_import_export", BENCH / "import_export.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--meters", "6", "--days", "2", "--xlsx-days", "1"])
    figures = dict(re.findall(r"^(\w+): ([-\d.]+)$", capsys.readouterr().out, re.M))
    for name in ("own_csv", "wide_gbk_csv", "daily_xlsx", "wide_xlsx"):
        assert float(figures[f"{name}_import_rows_per_s"]) > 0
        assert figures[f"{name}_rejected"] == "0"
    assert figures["own_csv_readings"] == figures["wide_gbk_csv_readings"]      # the same readings, another layout
    assert int(figures["daily_xlsx_rows"]) == 6 * 2
    assert "wide_xlsx_extrapolated_x2_import_s" in figures
    assert float(figures["own_csv_import_over_raw_read"]) > 1.0
    assert float(figures["replay_wide_gbk_over_own"]) > 0
