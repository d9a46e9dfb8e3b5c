"""``meterwatch replay``: the shipped example configuration, a simulator export with malformed rows appended."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.commands import replay
from edge.sim.config import parse_sim_config
from edge.sim.export import export
from wire.schemas import validate

ROOT = Path(__file__).resolve().parents[3]


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    replay.add_arguments(p)
    return p.parse_args(list(argv))


def test_replay_validates_an_export_against_the_example_area(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "export.csv"
    csv.write_text("ts,device,quantity,value\n"
                   "2026-01-01T00:00:00Z,A01-0001,e_fwd,12.5\n"
                   "2026-01-01T00:00:05Z,master,u_a,231.2\n"
                   "2026-01-01T00:15:00Z,A01-9999,e_fwd,1\n")
    code = replay.run(_args("--area", str(ROOT / "deploy/examples/edge.toml"), "--readings", str(csv), "--no-progress"))
    err = capsys.readouterr().err
    assert code == 1
    assert "export.csv: line 4, column 2 (device): unknown device 'A01-9999'" in err
    assert "3 rows, 2 accepted, 1 rejected" in err


def test_replay_reports_a_missing_readings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = replay.run(_args("--area", str(ROOT / "deploy/examples/edge.toml"), "--readings", str(tmp_path / "x.csv")))
    assert code == 1 and "cannot open readings" in capsys.readouterr().err


SIM = """
[sim]
seed = 3
start = "2026-07-01T00:00:00Z"
[area]
id = "CLI1"
customers = 8
rated_kva = 50
branches = 1
[[scenario]]
kind = "cover_open_drop"
subject = "M0002"
start_h = 5
end_h = 30
"""


def test_replay_command_writes_schema_valid_jsonl_and_counts_malformed_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export(parse_sim_config(SIM), tmp_path / "x", 2)
    csv = tmp_path / "x" / "readings.csv"
    with csv.open("a") as fh:
        fh.write("1783000000,M0001,e_fwd,not-a-number\n"      # bad value
                 "1783000000,M9999,e_fwd,1.0\n"               # unknown device
                 "1783000000,M0001,volts,230\n"               # unknown quantity
                 "1783000000,M0001,e_fwd\n"                   # wrong column count
                 "2026-02-30T10:00:00,M0001,u_a,230\n")       # no such day
    out = tmp_path / "events.jsonl"
    code = main(["replay", "--area", str(tmp_path / "x" / "area.toml"), "--readings", str(csv),
                 "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1                                          # rows were rejected
    for reason in ("bad_value", "unknown_device", "unknown_quantity", "bad_columns", "bad_ts"):
        assert f"rejected {reason}: 1" in err
    assert "alerts cover_open: 1 raised" in err
    assert "readings/s" in err
    msgs = [json.loads(line) for line in out.read_text().splitlines()]
    assert msgs
    for m in msgs:
        validate(m["payload"])                                # raises on any violation
    kinds = {m["payload"]["schema"] for m in msgs}
    assert {"meterwatch.interval/2", "meterwatch.daily/2", "meterwatch.alert/2", "meterwatch.realtime/2"} <= kinds


def test_replay_reports_a_bad_area_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "area.toml"
    bad.write_text('[[area]]\nid = "A"\ntransformer = { rated_kva = 100 }\nmaster = { bus = "x" }\n'
                   'meters_csv = "missing.csv"\n')
    code = main(["replay", "--area", str(bad), "--readings", str(tmp_path / "r.csv")])
    assert code == 1 and "missing.csv" in capsys.readouterr().err
