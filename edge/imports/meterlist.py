"""The meter list (``meters_csv``) as utility archives export it: ``read_meter_list(path, ...)``.

Same sniffing as readings (UTF-8 with or without BOM, GBK/GB18030, comma/semicolon/tab, a preamble above
the header, Excel's trailing empty columns) and Chinese or English headers::

    id        id, meter_id, 表号, 电能表资产编号, 资产编号 (else 户号 / 用户编号)
    address   address, 通信地址, 表地址, 电表地址             bus      bus, 端口, 抄表端口, 通道
    phase     phase, 相位, 相别, 接入相别 (A, A相, 三相, ABC)  branch   branch, 分支, 分支箱, 出线
    kind      kind, 类型, 接线方式 (单相, 三相四线, ...)       pv       pv, 光伏, 是否光伏 (是/否, yes/no, 1/0)
    ct_ratio  ct_ratio, CT变比, 电流互感器变比, 倍率 (40 or 200/5)

Other columns (户名, 地址, ...) are ignored. For a replay ``bus`` and ``address`` may be absent (they mean
nothing there); the daemon needs them. Every problem is a ``ConfigIssue`` naming the file, line and column.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from edge.config.model import MeterConfig
from edge.errors import ConfigIssue
from edge.imports.sniff import SniffError, sniff_text
from edge.imports.vocab import normalise

__all__ = ["COLUMNS", "read_meter_list"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "meterid", "meter", "表号", "电能表资产编号", "资产编号", "表资产号", "电能表编号", "电表编号"),
    "address": ("address", "addr", "通信地址", "表地址", "电表地址", "通讯地址"),
    "bus": ("bus", "port", "端口", "抄表端口", "通道", "总线"),
    "phase": ("phase", "相位", "相别", "接入相别", "相线"),
    "branch": ("branch", "分支", "分支箱", "出线", "线路", "分路"),
    "kind": ("kind", "type", "类型", "接线方式", "电表类型", "表类型"),
    "pv": ("pv", "光伏", "是否光伏", "分布式电源", "发电"),
    "ct_ratio": ("ctratio", "ct", "ct变比", "电流互感器变比", "倍率", "综合倍率"),
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


class _Issues:
    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.items: list[ConfigIssue] = []

    def add(self, key: str, line: int | None, message: str, meter: str | None = None) -> None:
        self.items.append(ConfigIssue(file=self.path, line=line, key=key, message=message,
                                      device=f'meter "{meter}"' if meter else None))


def _columns(header: list[str], issues: _Issues, line: int, for_replay: bool) -> dict[str, int] | None:
    cols: dict[str, int] = {}
    customer = None
    for i, h in enumerate(header):
        n = normalise(h)
        if n in _LOOK and _LOOK[n] not in cols:
            cols[_LOOK[n]] = i
        elif n in _CUSTOMER_N and customer is None:
            customer = i
    if "id" not in cols and customer is not None:
        cols["id"] = customer
    for h in header:                        # other columns are ignored, but a misspelt one of ours is an error
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


def read_meter_list(path: Path, *, for_replay: bool = False
                    ) -> tuple[list[tuple[MeterConfig, int]], list[ConfigIssue]]:
    """The meters of a meter list with the line each stands on, and every problem found (each naming file,
    line and column; an unreadable file is one issue with key ``<file>``)."""
    issues = _Issues(path)
    try:
        head = sniff_text(path, known=lambda c: normalise(c) in _LOOK or normalise(c) in _CUSTOMER_N)
    except OSError as exc:
        issues.add("<file>", None, f"cannot read meter list: {exc.strerror or exc}")
        return [], issues.items
    except SniffError as exc:
        issues.add("header", None, f"{exc}")
        return [], issues.items
    cols = _columns(head.header, issues, head.header_line, for_replay)
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
