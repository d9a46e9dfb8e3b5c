"""The meter list (``meters_csv``) as utility archives export it: ``read_meter_list(path, ...)``.

Same sniffing as readings (UTF-8 with or without BOM, GBK/GB18030, comma/semicolon/tab, a preamble above
the header, Excel's trailing empty columns) and Chinese or English headers::

    id        id, meter_id, 表号, 电能表资产编号, 资产编号 (else 户号 / 用户编号)
    address   address, 通信地址, 表地址, 电表地址             bus      bus, 端口, 抄表端口, 通道
    phase     phase, 相位, 相别, 接入相别 (A, A相, 三相, ABC)  branch   branch, 分支, 分支箱, 出线
    kind      kind, 类型, 接线方式 (单相, 三相四线, ...)       pv       pv, 光伏, 是否光伏 (是/否, yes/no, 1/0)
    ct_ratio  ct_ratio, CT变比, 电流互感器变比, 倍率 (40 or 200/5)
    i_max_a   i_max_a, Imax, 最大电流, 电流规格 (60, or the nameplate 5(60)A: the Imax in parentheses)

Other columns (户名, 地址, ...) are ignored. For a replay ``bus`` and ``address`` may be absent (they mean
nothing there); the daemon needs them. Every problem is a ``ConfigIssue`` naming the file, line and column.

Headers that none of these names cover are stated in a mapping file (the area's ``meters_mapping``), the
same small TOML format as a readings mapping (``edge.imports.mapping``), with the meter list's fields as
column roles::

    encoding = "gbk"                 # auto | utf-8 | gbk | gb18030 | utf-16
    delimiter = ","                  # auto, or one character
    header_line = 2                  # 0: the first line with recognised headers
    [columns]                        # field = header text in the file
    id = "计量点编号"
    phase = "供电相序"
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edge.config.model import MeterConfig
from edge.errors import ConfigIssue
from edge.imports.sniff import SniffError, sniff_text
from edge.imports.vocab import normalise
from tomlconf import ConfigError, key_lines, parse_toml

__all__ = ["COLUMNS", "MeterListMapping", "load_meter_mapping", "read_meter_list"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "meterid", "meter", "表号", "电能表资产编号", "资产编号", "表资产号", "电能表编号", "电表编号"),
    "address": ("address", "addr", "通信地址", "表地址", "电表地址", "通讯地址"),
    "bus": ("bus", "port", "端口", "抄表端口", "通道", "总线"),
    "phase": ("phase", "相位", "相别", "接入相别", "相线"),
    "branch": ("branch", "分支", "分支箱", "出线", "线路", "分路"),
    "kind": ("kind", "type", "类型", "接线方式", "电表类型", "表类型"),
    "pv": ("pv", "光伏", "是否光伏", "分布式电源", "发电"),
    "ct_ratio": ("ctratio", "ct", "ct变比", "电流互感器变比", "倍率", "综合倍率"),
    "i_max_a": ("imaxa", "imax", "最大电流", "电流规格", "额定电流"),
}
_CUSTOMER = ("户号", "用户编号", "用户号", "customer", "customerid")
_LOOK = {normalise(a): col for col, names in COLUMNS.items() for a in names}
_CUSTOMER_N = {normalise(c) for c in _CUSTOMER}
_OURS = {normalise(c): c for c in COLUMNS}
_PHASES = {"a": "A", "a相": "A", "b": "B", "b相": "B", "c": "C", "c相": "C", "abc": "ABC", "三相": "ABC", "3": "ABC"}
_KINDS = {"single": "single", "单相": "single", "three": "three", "三相": "three", "三相四线": "three",
          "三相三线": "three"}
_TRUE = {"1", "true", "yes", "y", "t", "是", "有"}
_FALSE = {"0", "false", "no", "n", "f", "", "否", "无"}
_META = {f.name: f.metadata for f in fields(MeterConfig)}


@dataclass(frozen=True)
class MeterListMapping:
    """What a meter list's columns mean where its headers are not among ``COLUMNS``' names."""

    encoding: str = "auto"
    delimiter: str = "auto"
    header_line: int = 0
    columns: dict[str, str] = field(default_factory=dict)     # field -> header text


_ENCODINGS = ("auto", "utf-8", "gbk", "gb18030", "utf-16")


def load_meter_mapping(path: Path) -> tuple[MeterListMapping | None, list[ConfigIssue]]:
    """The mapping file of a meter list, or the issues (file, line, key) that make it unusable."""
    issues = _Issues(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        doc = parse_toml(text, str(path))
    except OSError as exc:
        issues.add("<file>", None, f"cannot read meter list mapping: {exc.strerror or exc}")
        return None, issues.items
    except (UnicodeDecodeError, ConfigError) as exc:
        issues.add("<file>", None, f"meter list mapping: {exc}")
        return None, issues.items
    lines = key_lines(text)
    known = ("encoding", "delimiter", "header_line", "columns")
    for key in doc:
        if key not in known:
            issues.add(key, lines.get(key), f"unknown key; known keys: {', '.join(known)}")
    enc, delim, hline = doc.get("encoding", "auto"), doc.get("delimiter", "auto"), doc.get("header_line", 0)
    cols = doc.get("columns", {})
    if enc not in _ENCODINGS:
        issues.add("encoding", lines.get("encoding"), f"{enc!r} is not one of {', '.join(_ENCODINGS)}")
    if not (isinstance(delim, str) and (delim == "auto" or len(delim) == 1)):
        issues.add("delimiter", lines.get("delimiter"), f'{delim!r} must be one character ("\\t" for tab) or auto')
    if not (isinstance(hline, int) and not isinstance(hline, bool) and hline >= 0):
        issues.add("header_line", lines.get("header_line"), f"expected a line number, got {hline!r}")
    if not (isinstance(cols, dict) and all(isinstance(v, str) and v.strip() for v in cols.values())):
        issues.add("columns", lines.get("columns"), "expected a table of field = header text")
        cols = {}
    for fld in cols:
        if fld not in COLUMNS:
            issues.add(f"columns.{fld}", lines.get(f"columns.{fld}"),
                       f"{fld!r} is not a meter list field; fields: {', '.join(COLUMNS)}")
    if issues.items:
        return None, issues.items
    return MeterListMapping(encoding=enc, delimiter=delim, header_line=hline,
                            columns={k: v.strip() for k, v in cols.items()}), []


class _Issues:
    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.items: list[ConfigIssue] = []

    def add(self, key: str, line: int | None, message: str, meter: str | None = None) -> None:
        self.items.append(ConfigIssue(file=self.path, line=line, key=key, message=message,
                                      device=f'meter "{meter}"' if meter else None))


def _stated(header: list[str], stated: dict[str, str], issues: _Issues, line: int) -> dict[str, int] | None:
    """Columns the mapping names; each header text must be in the file's header."""
    where = {h.strip(): i for i, h in enumerate(header)}
    cols: dict[str, int] = {}
    for fld, text in stated.items():
        if text not in where:
            issues.add(f"columns.{fld}", line, f"the mapping names column {text!r} for {fld}, but the header is: "
                                               f"{','.join(header)}")
            return None
        cols[fld] = where[text]
    return cols


def _columns(header: list[str], issues: _Issues, line: int, for_replay: bool,
             stated: dict[str, str] | None = None) -> dict[str, int] | None:
    cols = _stated(header, stated or {}, issues, line)
    if cols is None:
        return None
    taken = set(cols.values())
    customer = None
    for i, h in enumerate(header):
        if i in taken:
            continue
        n = normalise(h)
        if n in _LOOK and _LOOK[n] not in cols:
            cols[_LOOK[n]] = i
        elif n in _CUSTOMER_N and customer is None:
            customer = i
    if "id" not in cols and customer is not None:
        cols["id"] = customer
    for i, h in enumerate(header):          # other columns are ignored, but a misspelt one of ours is an error
        if i in taken:
            continue
        near = difflib.get_close_matches(normalise(h), list(_OURS), n=1, cutoff=0.75)
        if normalise(h) not in _LOOK and normalise(h) not in _CUSTOMER_N and near:
            issues.add("header", line, f"unknown column {h!r} (did you mean {_OURS[near[0]]}?)")
            return None
    needed = ("id", "phase") if for_replay else ("id", "address", "bus", "phase")
    missing = [c for c in needed if c not in cols]
    if missing:
        extra = "" if for_replay else " (replay does without bus and address; the daemon needs them)"
        issues.add("header", line, f"missing column(s) {', '.join(missing)}{extra}; header: {','.join(header)}; "
                   f"columns are among {', '.join(COLUMNS)} (or their Chinese names, docs/replay.md)")
        return None
    return cols


def _ratio(raw: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:[/:]\s*(\d+(?:\.\d+)?))?\s*", raw)
    if not m:
        raise ValueError(raw)
    return float(m.group(1)) / (float(m.group(2)) if m.group(2) else 1.0)


def _value(col: str, raw: str) -> Any:
    """The field's value, or raise ValueError with the message."""
    t = raw.strip()
    if col == "pv":
        low = t.lower()
        if low not in _TRUE | _FALSE:
            raise ValueError(f"{t!r} is not yes/no/true/false/1/0 (是/否)")
        return low in _TRUE
    if col == "ct_ratio":
        try:
            return _ratio(t) if t else 1.0
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{t!r} is not a number (or primary/secondary like 200/5)") from None
    if col == "i_max_a":
        m = re.fullmatch(r"\s*([\d.]+)\s*(?:[(（]\s*([\d.]+)\s*[)）])?\s*a?\s*", t.lower()) if t else None
        if t and m is None:
            raise ValueError(f"{t!r} is not an Imax in A (60) nor a nameplate current like 5(60)A")
        return float(m.group(2) or m.group(1)) if m else 0.0
    if col == "phase":
        return _PHASES.get(normalise(t), t)
    if col == "kind":
        return _KINDS.get(normalise(t), t)
    return t


def _check(col: str, value: Any) -> str | None:
    meta: dict[str, Any] = dict(_META.get(col, {}))
    if meta.get("choices") and value not in meta["choices"]:
        return f"{value!r} is not one of {', '.join(meta['choices'])}"
    if meta.get("pattern") and isinstance(value, str) and not re.fullmatch(meta["pattern"], value):
        return f"{value!r} is not a valid value (expected to match {meta['pattern']})"
    check = meta.get("check")
    if check is not None and check(value):
        return str(check(value))
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, float) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        return f"{value!r} is out of range [{lo}, {hi}]"
    return None


def _meter(row: list[str], cols: dict[str, int], lineno: int, issues: _Issues) -> MeterConfig | None:
    mid = row[cols["id"]].strip()
    rec: dict[str, Any] = {"bus": "", "address": ""}
    bad = False
    for col, i in cols.items():
        try:
            value = _value(col, row[i])
        except ValueError as exc:
            issues.add(f"row {lineno}.{col}", lineno, str(exc), mid)
            bad = True
            continue
        if col in ("branch", "kind") and value == "":
            continue
        problem = _check(col, value)
        if problem:
            issues.add(f"row {lineno}.{col}", lineno, problem, mid)
            bad = True
        rec[col] = value
    if "kind" not in cols and rec.get("phase") == "ABC":
        rec["kind"] = "three"
    return None if bad else MeterConfig(**rec)


def read_meter_list(path: Path, *, for_replay: bool = False, mapping: MeterListMapping | None = None
                    ) -> tuple[list[tuple[MeterConfig, int]], list[ConfigIssue]]:
    """The meters of a meter list with the line each stands on, and every problem found (each naming file,
    line and column; an unreadable file is one issue with key ``<file>``). ``mapping`` states what the
    built-in header names do not cover."""
    issues = _Issues(path)
    mp = mapping or MeterListMapping()
    stated = set(mp.columns.values())
    try:
        head = sniff_text(path, encoding=mp.encoding, delimiter=mp.delimiter, header_line=mp.header_line,
                          known=lambda c: c.strip() in stated or normalise(c) in _LOOK or normalise(c) in _CUSTOMER_N)
    except OSError as exc:
        issues.add("<file>", None, f"cannot read meter list: {exc.strerror or exc}")
        return [], issues.items
    except SniffError as exc:     # the hint speaks of the meter list's mapping, not a readings mapping
        text = str(exc).replace("a mapping file ([columns] ts = ..., device = ...)",
                                "the area's meters_mapping file ([columns] id = ..., phase = ...)")
        issues.add("header", None, text)
        return [], issues.items
    cols = _columns(head.header, issues, head.header_line, for_replay, mp.columns)
    if cols is None:
        return [], issues.items
    text = path.read_bytes().decode(head.encoding if head.encoding != "utf-8" else "utf-8-sig", "replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=head.delimiter)
    meters = []
    for row in reader:
        lineno = reader.line_num
        if lineno <= head.header_line or not any(c.strip() for c in row):
            continue
        width = len(head.header)
        if len(row) < width or any(c.strip() for c in row[width:]):
            issues.add(f"row {lineno}", lineno, f"has {len(row)} fields, header has {width}")
            continue
        m = _meter(row, cols, lineno, issues)
        if m is not None:
            meters.append((m, lineno))
    return meters, issues.items
