"""The replay command's reading side on the shipped example area (the command is not registered yet)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from edge.commands import replay

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
    assert "line 4: unknown device 'A01-9999'" in err
    assert "3 rows, 2 accepted, 1 rejected" in err


def test_replay_reports_a_missing_readings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = replay.run(_args("--area", str(ROOT / "deploy/examples/edge.toml"), "--readings", str(tmp_path / "x.csv")))
    assert code == 1 and "cannot open readings" in capsys.readouterr().err
