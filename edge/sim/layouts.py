"""Realistic utility exports of one simulated truth: the clean ``readings.csv`` of an export written again in
the layouts, encodings, time formats and units that archive and AMI systems produce (issue 20).

``write_layout(clean, dest, spec, area)`` streams the clean readings (read with our own import layer) into
``dest`` as ``spec`` says; each layout carries exactly the readings of the clean file (interval consumption
and daily files carry what those layouts can: see ``twin``), so a replay of it must give the same line loss
and alerts as a replay of its clean twin. Used for the committed corpus (``tests/data/exports/``, written by
``write_corpus``) and by ``bench/import_export.py`` at 500 meters × 90 days.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detect.area import Area
from detect.quantities import QUANTITIES, QUANTITY_CODE

__all__ = ["CN_NAMES", "LayoutSpec", "write_layout"]

CN_NAMES = {
    "u_a": "A相电压", "u_b": "B相电压", "u_c": "C相电压", "i_a": "A相电流", "i_b": "B相电流", "i_c": "C相电流",
    "i_n": "零线电流", "p": "有功功率", "p_a": "A相有功功率", "p_b": "B相有功功率", "p_c": "C相有功功率",
    "q": "无功功率", "pf": "功率因数", "f": "频率", "e_fwd": "正向有功总电能示值", "e_rev": "反向有功总电能示值",
    "e_fwd_daily": "日冻结正向有功总电能示值", "t_amb": "环境温度", "evt_cover_open": "开表盖次数",
    "evt_terminal_open": "开端钮盒次数", "evt_power_down": "掉电次数", "evt_event_clear": "事件清零次数",
    "evt_meter_clear": "电表清零次数", **{f"sw{k}": f"电表运行状态字{k}" for k in range(1, 8)},
}
CN_UNITS = {"u_a": "V", "u_b": "V", "u_c": "V", "i_a": "A", "i_b": "A", "i_c": "A", "i_n": "A", "p": "kW",
            "p_a": "kW", "p_b": "kW", "p_c": "kW", "q": "kvar", "f": "Hz", "t_amb": "℃"}
_CN_INTERVAL = {"e_fwd": "正向有功总电量", "e_rev": "反向有功总电量", "e_fwd_daily": "日用电量"}
ENERGY = ("e_fwd", "e_rev", "e_fwd_daily")
_E_CODES = [QUANTITY_CODE[q] for q in ENERGY]


@dataclass(frozen=True)
class LayoutSpec:
    """How to write one export. ``time``: epoch_s, epoch_ms, iso_offset, naive_local, slash_local, date."""

    name: str
    layout: str = "long"                    # long | wide | daily
    encoding: str = "utf-8"
    delimiter: str = ","
    newline: str = "\n"
    header: tuple[str, str, str, str] = ("ts", "device", "quantity", "value")
    chinese: bool = False                   # Chinese quantity names (long) / headers (wide)
    upper: bool = False                     # quantity names in capitals (E_FWD)
    units_in_header: bool = False
    time: str = "epoch_s"
    offset_h: float = 8.0                   # local times: hours east of UTC
    meters_scale: float = 1.0               # energy factor written for meters (1000: Wh)
    master_scale: float = 1.0
    interval: bool = False                  # energies as consumption since the previous reading
    thousands: bool = False
    preamble: tuple[str, ...] = ()
    trailing_empty: int = 0
    xlsx: bool = False
    note: str = ""
    replay_args: tuple[str, ...] = ()
    quantities: tuple[str, ...] = field(default=())   # wide/daily: the columns (default: those present)


def _ts_text(spec: LayoutSpec, ts: float) -> str:
    if spec.time == "epoch_s":
        return str(int(ts))
    if spec.time == "epoch_ms":
        return str(round(ts * 1000))
    local = time.gmtime(ts + spec.offset_h * 3600)
    if spec.time == "iso_offset":
        sign = "+" if spec.offset_h >= 0 else "-"
        m = int(abs(spec.offset_h) * 60)
        return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f"{sign}{m // 60:02d}:{m % 60:02d}"
    if spec.time == "slash_local":
        return f"{local.tm_year}/{local.tm_mon}/{local.tm_mday} {local.tm_hour}:{local.tm_min:02d}"
    if spec.time == "date":
        return time.strftime("%Y-%m-%d", local)
    return time.strftime("%Y-%m-%d %H:%M:%S", local)


def _num(spec: LayoutSpec, v: float) -> str:
    text = repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))
    if spec.thousands and "e" not in text:
        whole, _, frac = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        whole = f"{int(whole.lstrip('-')):,}"
        text = sign + whole + ("." + frac if frac else "")
        return f'"{text}"' if spec.delimiter == "," else text
    return text


class _Energy:
    """Scales energies and turns registers into consumption since each device's previous reading."""

    def __init__(self, spec: LayoutSpec, master: int) -> None:
        self.spec, self.master = spec, master
        self.prev: dict[tuple[int, int], float] = {}

    def value(self, d: int, q: int, v: float) -> float | None:
        if q not in _E_CODES:
            return v
        scale = self.spec.master_scale if d == self.master else self.spec.meters_scale
        if self.spec.interval:
            key = (d, q)
            last = self.prev.get(key)
            self.prev[key] = v
            if last is None:
                return None
            v = round(v - last, 4)
        return round(v * scale, 4) if scale != 1.0 else v


def _names(area: Area) -> list[str]:
    return [*area.meter_ids, "master"]


def _long_lines(spec: LayoutSpec, area: Area, chunks: Iterator[tuple[np.ndarray, ...]]) -> Iterator[list[str]]:
    names, energy, d = _names(area), _Energy(spec, area.master_index), spec.delimiter
    qnames = [CN_NAMES.get(q, q) if spec.chinese else q.upper() if spec.upper else q for q in QUANTITIES]
    ts_cache: dict[float, str] = {}
    for dev, q, val, ts in chunks:
        out = []
        for di, qi, v, t in zip(dev.tolist(), q.tolist(), val.tolist(), ts.tolist(), strict=True):
            w = energy.value(di, qi, v)
            if w is None:
                continue
            tt = ts_cache.get(t) or ts_cache.setdefault(t, _ts_text(spec, t))
            out.append(f"{tt}{d}{names[di]}{d}{qnames[qi]}{d}{_num(spec, w)}")
        if len(ts_cache) > 100_000:
            ts_cache.clear()
        yield out


def _wide_header(spec: LayoutSpec, cols: list[str]) -> list[str]:
    out = []
    for q in cols:
        name = CN_NAMES.get(q, q) if spec.chinese else q
        unit = "kWh" if q in ENERGY else CN_UNITS.get(q, "")
        if q in ENERGY and spec.meters_scale == 1000.0 and spec.master_scale == 1000.0:
            unit = "Wh"
        if spec.interval and q in ENERGY:
            name = _CN_INTERVAL.get(q, name) if spec.chinese else f"{q}_consumption"
        out.append(f"{name}({unit})" if spec.units_in_header and unit else name)
    return out


def _wide_lines(spec: LayoutSpec, area: Area, cols: list[str],
                chunks: Iterator[tuple[np.ndarray, ...]]) -> Iterator[list[str]]:
    """One row per (ts, device): rows of one read are consecutive in the clean file; a group cut by a chunk
    boundary is carried over."""
    names, energy, d = _names(area), _Energy(spec, area.master_index), spec.delimiter
    pos = {QUANTITY_CODE[q]: i for i, q in enumerate(cols)}
    cur: tuple[float, int] | None = None
    cells: list[str] = [""] * len(cols)
    for dev, q, val, ts in chunks:
        out = []
        for di, qi, v, t in zip(dev.tolist(), q.tolist(), val.tolist(), ts.tolist(), strict=True):
            if qi not in pos:
                continue
            if cur != (t, di):
                if cur is not None and any(cells):
                    out.append(d.join([_ts_text(spec, cur[0]), names[cur[1]], *cells, *[""] * spec.trailing_empty]))
                cur, cells = (t, di), [""] * len(cols)
            w = energy.value(di, qi, v)
            if w is not None:
                cells[pos[qi]] = _num(spec, w)
        yield out
    if cur is not None and any(cells):
        yield [d.join([_ts_text(spec, cur[0]), names[cur[1]], *cells, *[""] * spec.trailing_empty])]


def write_layout(chunks: Iterator[tuple[np.ndarray, ...]], area: Area, dest: Path, spec: LayoutSpec,
                 cols: list[str] | None = None) -> int:
    """Write the readings of ``chunks`` (device, quantity, value, ts in our units) as ``spec``; returns rows."""
    if spec.layout == "long":
        header = list(spec.header)
        lines = _long_lines(spec, area, chunks)
    else:
        cols = list(spec.quantities or cols or [])
        header = [spec.header[0], spec.header[1], *_wide_header(spec, cols), *[""] * spec.trailing_empty]
        lines = _wide_lines(spec, area, cols, chunks)
    if spec.xlsx:
        return _write_xlsx(dest, spec, header, lines)
    rows = 0
    with dest.open("w", encoding=spec.encoding, newline="") as fh:
        for p in spec.preamble:
            fh.write(p + spec.newline)
        fh.write(spec.delimiter.join(header) + spec.newline)
        for block in lines:
            if block:
                fh.write(spec.newline.join(block) + spec.newline)
                rows += len(block)
    return rows


def _write_xlsx(dest: Path, spec: LayoutSpec, header: list[str], lines: Iterator[list[str]]) -> int:
    """One sheet per local day, as archive systems split long exports; times as Excel datetimes."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    book.properties.created = book.properties.modified = dt.datetime(2026, 1, 1)   # byte-identical reruns
    sheets: dict[str, object] = {}
    rows = 0
    for block in lines:
        for line in block:
            cells: list[object] = list(line.split(spec.delimiter))
            stamp = dt.datetime.strptime(str(cells[0]), "%Y-%m-%d %H:%M:%S")
            day = stamp.strftime("%m-%d")
            if day not in sheets:
                ws = book.create_sheet(day)
                for p in spec.preamble:
                    ws.append([p])
                ws.append(header)
                sheets[day] = ws
            cells[0] = stamp
            cells[2:] = [float(c.strip('"').replace(",", "")) if c else None for c in map(str, cells[2:])]
            sheets[day].append(cells)  # type: ignore[attr-defined]
            rows += 1
    book.save(dest)
    return rows
