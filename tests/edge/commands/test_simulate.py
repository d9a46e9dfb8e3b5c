from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
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


def test_simulate_serve_mode_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "-c", str(SCENARIO_DIR / "healthy.toml")]) == 2
    assert "serve mode" in capsys.readouterr().err
