"""An export opened for import: source, plan and unit/kind conversion decided, readings streamed as columns.

``Readings(path, area, options)`` sniffs and plans at once (``ExportError`` with what was found and how to
state it, before anything runs), parses a first sample of ``sample_bytes`` to decide units and kinds against
physics (``edge.imports.physics``), then ``chunks()`` yields ``(device, quantity, value, ts)`` arrays in file
order — the sample first, nothing parsed twice. Bad rows are counted by reason in ``ImportStats`` and named by
file, line and column; they never stop the import.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from detect.area import Area
from detect.quantities import QUANTITIES
from edge.errors import MeterwatchError
from edge.imports import _parse as P
from edge.imports import _scan as S
from edge.imports.mapping import Mapping, MappingError, stated_key
from edge.imports.physics import Conversion, PhysicsError, Stated, decide
from edge.imports.plan import Plan, PlanError, resolve
from edge.imports.sniff import SniffError
from edge.imports.source import Source, open_source
from edge.imports.vocab import UNITS, normalise
from edge.imports.zones import Zone, ZoneError, parse_zone

__all__ = ["MASTER_NAMES", "ExportError", "ImportOptions", "ImportStats", "Readings"]

HEADER = ["ts", "device", "quantity", "value"]
MASTER_NAMES = ("master", "总表", "台区总表", "考核表")
REASONS = {S.BAD_COLUMNS: "bad_columns", S.UNKNOWN_DEVICE: "unknown_device", S.UNKNOWN_QUANTITY: "unknown_quantity",
           S.BAD_VALUE: "bad_value", S.BAD_TS: "bad_ts", S.TS_AMBIGUOUS: "bad_ts", S.TS_NONEXISTENT: "bad_ts"}
_TIME_WHAT = {"text": "a date and time (ISO 8601, with or without a zone, or a date)",
              "epoch_s": "epoch seconds (10 digits, 1973–2286)", "epoch_ms": "epoch milliseconds (13 digits)",
              "compact": "YYYYMMDD[hhmm[ss]]", "excel": "Excel serial days"}


class ExportError(MeterwatchError):
    """The export as a whole cannot be imported; the message names the file and says how to state it."""


@dataclass(kw_only=True)
class ImportStats:
    """What the reader saw. ``messages`` holds the first ``max_messages`` error lines."""

    rows: int = 0
    accepted: int = 0
    base_readings: int = 0
    bytes_read: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    max_messages: int = 100

    @property
    def rejected(self) -> int:
        return sum(self.errors.values())

    def absorb(self, other: ImportStats) -> None:
        """Take over the counts of ``other`` (an export opened before this object was handed in)."""
        for name in ("rows", "accepted", "base_readings", "bytes_read"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.messages.extend(other.messages[: max(0, self.max_messages - len(self.messages))])

    def error(self, reason: str, message: str) -> None:
        self.errors[reason] += 1
        if len(self.messages) < self.max_messages:
            self.messages.append(message)


@dataclass(kw_only=True)
class ImportOptions:
    mapping: Mapping = field(default_factory=Mapping)
    timezone: str = "Asia/Shanghai"          # naive local times, unless the mapping states one
    zone_source: str = "default"
    aliases: dict[str, str] = field(default_factory=dict)    # other names of meters (addresses) -> meter id
    chunk_bytes: int = 8 << 20
    sample_bytes: int = 16 << 20


def _names(area: Area, aliases: dict[str, str], devices: dict[str, str]) -> dict[str, int]:
    names = {mid: i for i, mid in enumerate(area.meter_ids)}
    for alias, mid in aliases.items():
        if alias not in names and mid in names:
            names[alias] = names[mid]
    for name in (*MASTER_NAMES, area.master_id):
        names.setdefault(name, area.master_index)
    for text, target in devices.items():
        if target != "master" and target not in names:
            raise ExportError(f"[devices] {text!r} = {target!r}: no meter {target!r} in area {area.id}")
        names[text] = area.master_index if target == "master" else names[target]
    return names


def _stated(mapping: Mapping, plan: Plan) -> Stated:
    st = Stated(unit_hints=dict(plan.unit_hints), kind_hints=dict(plan.kind_hints),
                interval_label=mapping.interval_label,
                ours=plan.layout == "long" and [h.strip().lower() for h in plan.header] == HEADER)
    for key, unit in mapping.units.items():
        cls, name = stated_key(key)
        st.units[(cls, name)] = UNITS[normalise(unit)][1]
    for key, kind in mapping.kinds.items():
        st.kinds[stated_key(key)] = kind
    return st


class Readings:
    def __init__(self, path: str | Path, area: Area, options: ImportOptions | None = None,
                 stats: ImportStats | None = None) -> None:
        self.path = Path(path)
        self.area = area
        self.options = options or ImportOptions()
        self.stats = stats if stats is not None else ImportStats()
        m = self.options.mapping
        if not self.path.is_file():
            raise ExportError(f"{self.path}: cannot open readings: no such file")
        try:
            zone_text = m.timezone or self.options.timezone
            self.zone: Zone = parse_zone(zone_text)
            self.zone_source = f"the mapping ({m.source})" if m.timezone else self.options.zone_source
            wanted = tuple(v for k, v in m.columns.items() if k in ("ts", "device"))
            self.source: Source = open_source(self.path, encoding=m.encoding, delimiter=m.delimiter,
                                              header_line=m.header_line, sheet=m.sheet, wanted=wanted)
            self.plan: Plan = resolve(self.source.head, m, self.zone, self.zone_source)
            self._tables(m)
        except (SniffError, PlanError, ZoneError, MappingError, ValueError) as exc:
            raise ExportError(f"{self.path}: {exc}") from None
        self._chunks = self.source.chunks(self.options.chunk_bytes)
        self._pending = self._sample()

    def _tables(self, m: Mapping) -> None:
        p = self.plan
        self.dev_h, self.dev_i = P.name_table(_names(self.area, self.options.aliases, m.devices))
        qn = p.quantity_names or {"_": 0}
        self.q_h, self.q_i = P.name_table(qn, fold=True)
        ncols = len(p.header)
        self.spec = np.array([ord(self.source.head.delimiter), p.thousands, p.ts_col, p.dev_col, p.q_col,
                              p.max_col, ncols, p.time_mode, int(p.layout == "long")], dtype=np.int64)
        self.vcols = np.array(p.value_cols, dtype=np.int64)
        self.vq = np.array(p.value_q, dtype=np.int16)

    def _sample(self) -> list[tuple[np.ndarray, ...]]:
        parts: list[tuple[np.ndarray, ...]] = []
        size = 0
        for data, first, done in self._chunks:
            parts.append(self._parse(data, first, done))
            size += len(data)
            if size >= self.options.sample_bytes:
                break
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else [np.zeros(0)] * 4
        try:
            self.conversion: Conversion = decide(cols[0], cols[1], cols[2], cols[3], self.area,
                                                 _stated(self.options.mapping, self.plan))
        except (PhysicsError, MappingError) as exc:
            raise ExportError(f"{self.path}: {exc}") from None
        return parts

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Every accepted reading, converted to our units and registers, in file order."""
        while self._pending:
            yield self._convert(self._pending.pop(0))
        for data, first, done in self._chunks:
            yield self._convert(self._parse(data, first, done))

    def _convert(self, part: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dev, q, val, ts = part
        n = dev.size
        out = self.conversion.apply(dev, q, val, ts, self.area.master_index)
        self.stats.base_readings += out[0].size - n
        return out

    def _parse(self, data: bytes, first_line: int, done: int) -> tuple[np.ndarray, ...]:
        buf = np.frombuffer(data, dtype=np.uint8)
        cap = (data.count(b"\n") + 1) * max(1, self.vcols.size)
        dev, q = np.empty(cap, np.int32), np.empty(cap, np.int16)
        val, ts = np.empty(cap, np.float64), np.empty(cap, np.float64)
        status, col = np.empty(cap, np.int8), np.empty(cap, np.int16)
        line, a, b = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
        z = self.zone
        n = S.scan(buf, first_line, self.spec, self.vcols, self.vq, self.dev_h, self.dev_i, self.q_h, self.q_i,
                   z.transitions, z.offsets, self.plan.day_shift_s, dev, q, val, ts, status, line, col, a, b)
        dev, q, val, ts, status = dev[:n], q[:n], val[:n], ts[:n], status[:n]
        self.stats.rows += int(np.count_nonzero(np.r_[True, line[1:n] != line[:n - 1]])) if n else 0
        self.stats.bytes_read = done or self.stats.bytes_read + len(data)
        ok = status == S.OK
        for r in np.flatnonzero(~ok):
            ok[r] = self._problem(data, int(status[r]), int(line[r]), int(col[r]), int(a[r]), int(b[r]), ts, val, int(r))
        self.stats.accepted += int(ok.sum())
        if ok.all():
            return dev, q, val, ts
        return dev[ok], q[ok], val[ok], ts[ok]

    def _problem(self, data: bytes, code: int, line: int, col: int, a: int, b: int, ts: np.ndarray,
                 val: np.ndarray, r: int) -> bool:
        """Resolve a row left to Python (True) or record why it is rejected (False)."""
        text = data[a:b].decode("utf-8", "replace")
        cells = next(csv.reader(io.StringIO(text), delimiter=self.source.head.delimiter), [])
        cell = cells[col].strip() if 0 <= col < len(cells) and code != S.BAD_COLUMNS else ""
        if code in (S.SLOW_TS, S.SLOW_VALUE):
            got = self._slow(cells, col)
            if isinstance(got, tuple):
                ts[r], val[r] = got
                return True
            code = got
        where = self.source.where(line) + ("" if code == S.BAD_COLUMNS else f", {self.source.column(col)}")
        self.stats.error(REASONS[code], f"{self.path}: {where}: {self._why(code, cell, col)}: {text[:120]!r}")
        return False

    def _why(self, code: int, cell: str, col: int) -> str:
        p = self.plan
        if code == S.BAD_COLUMNS:
            found = f"{col}" if col >= 0 else f"values beyond column {len(p.header)}"
            return f"expected {len(p.header)} columns ({','.join(p.header)}), found {found}"
        if code == S.UNKNOWN_DEVICE:
            return f"unknown device {cell!r} (not 'master' nor a meter of area {self.area.id})"
        if code == S.UNKNOWN_QUANTITY:
            return f"unknown quantity {cell!r}; valid (any case): {', '.join(QUANTITIES)}"
        if code == S.BAD_VALUE:
            return f"value {cell!r} is not a finite number"
        if code == S.TS_AMBIGUOUS:
            return f"local time {cell!r} occurs twice in {self.zone.name} (daylight saving time ends): give an offset"
        if code == S.TS_NONEXISTENT:
            return f"local time {cell!r} does not exist in {self.zone.name} (daylight saving time starts)"
        return f"timestamp {cell!r} is not {_TIME_WHAT[p.time_name]}"

    def _slow(self, cells: list[str], vcol: int) -> tuple[float, float] | int:
        """(ts, value) of a row with more than 15 significant digits somewhere, or its status."""
        p = self.plan
        try:
            ts = _slow_ts(cells[p.ts_col].strip().strip('"'), p, self.zone)
        except (ValueError, IndexError):
            return S.BAD_TS
        try:
            value = float(cells[vcol].strip().strip('"').replace(chr(p.thousands) if p.thousands else "\0", ""))
        except (ValueError, IndexError):
            return S.BAD_VALUE
        if not np.isfinite(value):
            return S.BAD_VALUE
        return ts, value


def _slow_ts(text: str, p: Plan, zone: Zone) -> float:
    if p.time_name in ("epoch_s", "epoch_ms"):
        v = float(text) / (1000.0 if p.time_name == "epoch_ms" else 1.0)
        if not 1e8 <= v < 1e10:
            raise ValueError(text)
        return v
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is not None:
        return dt.astimezone(timezone.utc).timestamp()
    local = dt.replace(tzinfo=timezone.utc).timestamp()
    utc, st = P.localize(zone.transitions, zone.offsets, local)
    if st != P.OK:
        raise ValueError(text)
    return float(utc)
