"""The export corpus of ``tests/data/exports/``: one simulated area written in the layouts utilities produce.

``write_corpus(dest)`` simulates the area (seeded), writes its clean export, then each ``SPECS`` layout from
those readings (``edge.sim.layouts``), the area file (zone UTC like the simulator's clock) and the meter list
as an archive writes it (GBK, Chinese headers, no bus or address). Regenerate the committed corpus with::

    .venv/bin/python -m tests.edge.imports.corpus tests/data/exports
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from edge.areafile import load_area
from edge.imports import ImportOptions, Readings
from edge.sim.config import parse_sim_config
from edge.sim.export import export
from edge.sim.layouts import LayoutSpec, write_layout

SIM = """
[sim]
seed = 11
start = "2026-07-01T00:00:00Z"
[area]
id = "C01"
customers = 6
rated_kva = 30
branches = 2
[export]
master_s = 900
[[scenario]]
kind = "cover_open_drop"
subject = "M0002"
start_h = 20
end_h = 40
"""
DAYS = 2
PREAMBLE = ("台区 C01 抄表数据", "导出时间: 2026-07-03 09:00")
SPECS = (
    LayoutSpec("gbk_long_chinese.csv", encoding="gbk", newline="\r\n", header=("抄表时间", "表号", "数据项", "数值"),
               chinese=True, time="slash_local", preamble=PREAMBLE, replay_args=("--timezone", "Asia/Shanghai"),
               note="GBK, CRLF, a title above the header, Chinese headers and quantity names, 2026/7/1 8:15 local"),
    LayoutSpec("excel_wide.xlsx", layout="wide", header=("抄表时间", "表号", "", ""), chinese=True,
               units_in_header=True, time="naive_local", trailing_empty=2, xlsx=True, replay_args=("--timezone", "+08:00"),
               note="Excel, one sheet per local day, wide, Chinese headers with units, trailing empty columns"),
    LayoutSpec("epoch_ms.csv", encoding="utf-8-sig", header=("timestamp", "meter_id", "quantity", "value"),
               time="epoch_ms", upper=True, note="UTF-8 with BOM, epoch milliseconds, quantity names in capitals"),
    LayoutSpec("naive_utc.csv", time="naive_local", offset_h=0.0,
               note="naive times, read in the area's zone (UTC in area.toml)"),
    LayoutSpec("wh_meters.csv", meters_scale=1000.0,
               note="our own header, but the meters' energies in Wh (the master's in kWh)"),
    LayoutSpec("wh_wide_semicolon.csv", layout="wide", delimiter=";", time="iso_offset", meters_scale=1000.0,
               master_scale=1000.0, thousands=True, note="everything in Wh, semicolons, thousands separators"),
    LayoutSpec("interval_wide.csv", layout="wide", header=("数据时间", "表号", "", ""), chinese=True,
               units_in_header=True, time="iso_offset", interval=True,
               note="energies as 15-min consumption (正向有功总电量), turned back into registers"),
    LayoutSpec("daily_frozen.csv", layout="daily", encoding="gbk", header=("冻结日期", "表号", "", ""), chinese=True,
               units_in_header=True, time="date", offset_h=0.0, quantities=("e_fwd_daily",),
               note="one row per meter per day of frozen registers (GBK)"),
    LayoutSpec("kwh_header_wh_data.csv", layout="wide", units_in_header=True, time="iso_offset",
               meters_scale=1000.0, note="header says kWh, the meters' numbers are Wh: must stop"),
)
STOPS = {"kwh_header_wh_data.csv": "the header says kWh but"}
WIDE_COLUMNS = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q", "pf", "f", "e_fwd",
                "e_rev", "sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7", "evt_cover_open", "evt_terminal_open",
                "evt_power_down", "evt_event_clear", "evt_meter_clear", "e_fwd_daily", "t_amb"]
METERS_GBK = "户号,户名,相别,分支箱,接线方式,是否光伏,倍率\r\n"


def _meter_list(clean: Path) -> str:
    rows = [line.split(",") for line in (clean / "meters.csv").read_text().splitlines()[1:]]
    out = [METERS_GBK]
    for mid, _addr, _bus, phase, branch, kind, pv, ct in rows:
        kind_cn = "单相" if kind == "single" else "三相四线"
        out.append(f"{mid},用户{mid[-2:]},{phase if phase == 'ABC' else phase + '相'},{branch},{kind_cn},"
                   f"{'是' if pv == 'true' else '否'},{ct}\r\n")
    return "".join(out)


def _twin(spec: LayoutSpec, chunks: list[tuple[np.ndarray, ...]]) -> list[tuple[np.ndarray, ...]]:
    """The readings a spec carries, in our units: the clean readings, or the daily freezes alone."""
    if spec.layout != "daily":
        return chunks
    from detect.quantities import QUANTITY_CODE

    return [tuple(c[k == QUANTITY_CODE["e_fwd_daily"]] for c in (d, k, v, t)) for d, k, v, t in chunks]


def write_corpus(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp)
        export(parse_sim_config(SIM), clean, DAYS)
        (dest / "meters_gbk.csv").write_bytes(_meter_list(clean).encode("gbk"))
        area_text = (clean / "area.toml").read_text().replace('meters_csv = "meters.csv"', 'meters_csv = "meters_gbk.csv"')
        (dest / "area.toml").write_text(area_text + 'timezone = "UTC"\n[detection]\nutc_offset_s = 0\n')
        af = load_area(dest / "area.toml")
        chunks = list(Readings(clean / "readings.csv", af.area, ImportOptions(timezone="UTC")).chunks())
        shutil.copy(clean / "readings.csv", dest / "clean.csv")
        for spec in SPECS:
            write_layout(iter(_twin(spec, chunks)), af.area, dest / spec.name, spec, WIDE_COLUMNS)
            if spec.layout == "daily":
                write_layout(iter(_twin(spec, chunks)), af.area, dest / "daily_frozen.twin.csv", LayoutSpec("twin"))


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]))
