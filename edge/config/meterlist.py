"""The meter list of an area as the utility's archive exports it: a CSV file named by ``meters_csv``.

Header ``id,address,bus,phase,branch,kind,pv,ct_ratio`` (``id``, ``address``, ``bus``, ``phase``
required). Every bad row is an issue naming the CSV file, its line and the column; good rows still load,
so one run lists every problem. The file must be UTF-8 (with or without BOM); anything else is one issue
naming the line and column of the first undecodable byte.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from edge.config.model import MeterConfig
from tomlconf import ConfigError, ConfigIssue, Doc, build, decode_utf8

__all__ = ["CSV_COLUMNS", "read_meter_list"]

CSV_COLUMNS = ("id", "address", "bus", "phase", "branch", "kind", "pv", "ct_ratio")
REQUIRED_COLUMNS = ("id", "address", "bus", "phase")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def read_meter_list(path: Path) -> tuple[list[tuple[MeterConfig, int]], list[ConfigIssue]]:
    """The meters of a CSV meter list with the line each stands on, and the issues of the file."""
    csv_doc = Doc({}, {}, str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [ConfigIssue(str(path), None, "<file>", f"cannot read meter list: {exc.strerror or exc}")]
    try:
        text = decode_utf8(data, str(path), what="meter list")
    except ConfigError as exc:
        return [], exc.issues
    reader = csv.reader(io.StringIO(text, newline=""))
    cols = _header(csv_doc, next(reader, None))
    meters: list[tuple[MeterConfig, int]] = []
    if cols is not None:
        for row in reader:
            m = _row(csv_doc, cols, row, reader.line_num)
            if m is not None:
                meters.append((m, reader.line_num))
    return meters, csv_doc.issues


def _header(doc: Doc, header: list[str] | None) -> list[str] | None:
    if header is None:
        doc.error("header", f"empty file; expected columns {','.join(CSV_COLUMNS)}", line=1)
        return None
    cols = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    unknown = [c for c in cols if c not in CSV_COLUMNS]
    if missing or unknown:
        doc.error("header", f"columns must be among {','.join(CSV_COLUMNS)}; missing "
                  f"{missing or 'none'}, unknown {unknown or 'none'}", line=1)
        return None
    return cols


def _parse_bool(text: str) -> bool | None:
    t = text.strip().lower()
    return True if t in _TRUE else False if t in _FALSE else None


def _row(doc: Doc, cols: list[str], row: list[str], line: int) -> MeterConfig | None:
    """One data row as a meter, or None after reporting (blank rows are skipped silently)."""
    if not row or all(not c.strip() for c in row):
        return None
    if len(row) != len(cols):
        doc.error(f"row {line}", f"has {len(row)} fields, header has {len(cols)}", line=line)
        return None
    device = f'meter "{row[cols.index("id")].strip()}"'
    rec: dict[str, Any] = {}
    bad = False
    for col, raw in zip(cols, (c.strip() for c in row), strict=True):
        if col == "pv":
            rec[col] = _parse_bool(raw)
            if rec[col] is None:
                doc.error(f"row {line}.pv", f"{raw!r} is not yes/no/true/false/1/0", device, line=line)
                bad = True
        elif col == "ct_ratio":
            try:
                rec[col] = float(raw) if raw else 1.0
            except ValueError:
                doc.error(f"row {line}.ct_ratio", f"{raw!r} is not a number", device, line=line)
                bad = True
        elif raw or col not in ("branch", "kind"):
            rec[col] = raw
    if bad:
        return None
    row_doc = Doc({}, {}, doc.file)
    meter = build(row_doc, MeterConfig, rec, f"row {line}", device)
    for issue in row_doc.issues:
        doc.error(issue.key, issue.message, issue.device, line=line)
    return meter
