"""Sniffing, mapping files and presets, sources: what a file says about itself, and the errors that name
file, line, column or key."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.area import Area
from edge.imports import ExportError, ImportOptions, Mapping, MappingError, Readings, load_mapping
from edge.imports.sniff import sniff_text

AREA = Area.simple(id="A01", rated_kva=100, meter_ids=["M1", "M2"])


def _read(path: Path, mapping: Mapping | None = None, **kw: object) -> tuple[Readings, list[tuple[object, ...]]]:
    r = Readings(path, AREA, ImportOptions(mapping=mapping or Mapping(), **kw))  # type: ignore[arg-type]
    return r, [t for c in r.chunks() for t in zip(*(x.tolist() for x in c), strict=True)]


def test_gbk_semicolons_preamble_and_trailing_columns_are_sniffed(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes("导出：台区A01\r\n\r\n表号;采集时间;A相电压(V);;\r\nM1;2026-07-01 08:00;220,5;;\r\n".replace(
        "220,5", "220.5").encode("gbk"))
    head = sniff_text(p)
    assert (head.encoding, head.delimiter, head.header_line, head.header, head.trailing_empty, head.crlf) == (
        "gb18030", ";", 3, ["表号", "采集时间", "A相电压(V)"], 2, True)
    _, rows = _read(p)
    assert rows == [(0, 0, 220.5, 1782864000.0)]


def test_utf16_tab_delimited_text_as_excel_saves_unicode_text(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_bytes("表号\t抄表时间\t正向有功总电能\nM1\t2026-07-01 08:00\t1\nM1\t2026-07-01 09:00\t2\n".encode("utf-16"))
    _, rows = _read(p)
    assert sniff_text(p).encoding == "utf-16" and [v for _, _, v, _ in rows] == [1.0, 2.0]


def test_a_mapping_file_names_columns_units_devices_and_quantity_cells(tmp_path: Path) -> None:
    m = tmp_path / "map.toml"
    m.write_text('layout = "long"\ntimezone = "+08:00"\n[columns]\nts = "when"\ndevice = "who"\nquantity = "what"\n'
                 'value = "how much"\n[devices]\n"3100" = "master"\n"0001" = "M2"\n[quantities]\n"kWh fwd" = "e_fwd"\n'
                 '[units]\n"energy" = "Wh"\n', encoding="utf-8")
    p = tmp_path / "x.csv"
    p.write_text("when,who,what,how much\n2026-07-01 08:00,3100,KWH FWD,1000\n2026-07-01 08:15,0001,kWh fwd,2000\n")
    mapping = load_mapping(m)
    _, rows = _read(p, mapping)
    assert rows == [(2, 14, 1.0, 1782864000.0), (1, 14, 2.0, 1782864900.0)]


@pytest.mark.parametrize(("text", "needle"), [
    ('layout = "sideways"\n', "map.toml:1: layout: 'sideways' is not one of auto, long, wide, daily"),
    ('[units]\n"meters.energy" = "Joule"\n', "map.toml:2: units.meters.energy: unknown unit 'Joule'"),
    ('[kinds]\nvoltage = "interval"\n', "'voltage' is neither a quantity nor a family"),
    ('colour = "red"\n', "map.toml:1: colour: unknown key"),
    ('[columns]\nts = 3\n', "columns: expected a table of strings"),
    ("layout = \n", "not valid TOML"),
])
def test_bad_mapping_files_name_file_line_and_key(tmp_path: Path, text: str, needle: str) -> None:
    m = tmp_path / "map.toml"
    m.write_text(text)
    with pytest.raises(MappingError) as err:
        load_mapping(m)
    assert needle in str(err.value)


@pytest.mark.parametrize(("content", "needle"), [
    (b"", "the file is empty"),
    (b"a,b,c\n1,2,3\n", "no header line in the first 15 lines"),
    ("表号,日期,正向有功总电能\nM1,2026-07-01,1\n".encode(), "holds dates without a time: is a date the freeze"),
    (b"\xd0\xcf\x11\xe0rest", "old binary Excel .xls"),
    (b"device,ts,e_fwd\nM1,123,1\n", "holds numbers ['123'] that are neither epoch seconds"),
])
def test_files_that_cannot_be_read_stop_naming_the_file(tmp_path: Path, content: bytes, needle: str) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(content)
    with pytest.raises(ExportError) as err:
        _read(p)
    assert str(err.value).startswith(str(p)) and needle in str(err.value)


def test_daily_dates_follow_the_stated_label(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("表号,数据日期,正向有功总电能示值\nM1,2026-07-01,1000\nM1,2026-07-02,1012\n")
    r, rows = _read(p, timezone="UTC")
    assert r.plan.layout == "daily" and [t for *_, t in rows] == [1782950400.0, 1783036800.0]   # 24:00 of the day
    r, rows = _read(p, Mapping(day_label="freeze"), timezone="UTC")
    assert [t for *_, t in rows] == [1782864000.0, 1782950400.0] and {q for _, q, _, _ in rows} == {28}


def test_xlsx_cells_errors_name_sheet_row_and_column_letter(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "七月"
    ws.append(["表号", "抄表时间", "A相电压"])
    ws.append(["M1", dt.datetime(2026, 7, 1, 8, 0), 220.5])
    ws.append(["M9", dt.datetime(2026, 7, 1, 8, 0), 221.0])
    ws.append(["M2", dt.datetime(2026, 7, 1, 8, 0), "n/a"])
    book.save(tmp_path / "x.xlsx")
    r, rows = _read(tmp_path / "x.xlsx")
    assert rows == [(0, 0, 220.5, 1782864000.0)]
    assert r.stats.messages[0].endswith("sheet '七月' row 3, column A (表号): unknown device 'M9' (not 'master' nor a "
                                        "meter of area A01): 'M9,2026-07-01 08:00:00,221'")
    assert "sheet '七月' row 4, column C (A相电压): value 'n/a' is not a finite number" in r.stats.messages[1]


def test_the_shipped_example_mapping_loads() -> None:
    root = Path(__file__).resolve().parents[3]
    m = load_mapping(root / "deploy" / "examples" / "mapping-ami-wide.toml")
    assert m.layout == "wide" and m.units == {"energy": "Wh"} and m.columns["device"] == "电能表资产编号"
