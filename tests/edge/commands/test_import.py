"""``meterwatch import --inspect``: what was detected, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "data" / "exports"


def test_inspect_shows_encoding_columns_time_units_rows_and_first_readings(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", "--inspect", str(CORPUS / "gbk_long_chinese.csv"), "--area", str(CORPUS / "area.toml"),
                 "--timezone", "Asia/Shanghai", "--rows", "2"])
    out = capsys.readouterr().out
    assert code == 0
    for needle in ("encoding: gb18030 (detected); delimiter: comma; line endings: CRLF",
                   "preamble: 2 line(s) above the header: '台区 C01 抄表数据'", "header: line 3, 4 columns",
                   "layout: long", "column 1 (抄表时间)", "-> timestamp (text, detected)",
                   "-> quantity (names case-insensitive)",
                   "times without a zone are read in Asia/Shanghai, from --timezone",
                   "meters' energy: kWh (detected: as kWh:", "rejected 0",
                   "first readings (UTC, our units):\n  2026-07-01T00:00:00Z  master         u_a          229.4"):
        assert needle in out, needle


def test_inspect_of_an_undecidable_file_says_what_to_state(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", "--inspect", str(CORPUS / "kwh_header_wh_data.csv"), "--area", str(CORPUS / "area.toml")])
    err = capsys.readouterr().err
    assert code == 1 and "the header says kWh but" in err and '--unit meters.energy=...' in err


def test_a_bad_unit_option_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import", "--inspect", str(CORPUS / "clean.csv"), "--area", str(CORPUS / "area.toml"),
                 "--unit", "meters.energy"])
    assert code == 1 and "--unit 'meters.energy': expected KEY=VALUE" in capsys.readouterr().err
