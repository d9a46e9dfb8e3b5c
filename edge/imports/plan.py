"""From a sniffed head and a mapping to a scan plan: which column is what, the time format, the zone.

``resolve(head, mapping, zone)`` raises ``PlanError`` with what was found and how to state it when the layout,
a column or the time format cannot be told; it never guesses between two readings of the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from detect.quantities import QUANTITIES, QUANTITY_CODE
from edge.imports import _parse as P
from edge.imports.mapping import ROLES, Mapping
from edge.imports.sniff import Head
from edge.imports.vocab import (
    ENERGY,
    UNITS,
    family,
    kind_hint,
    normalise,
    quantity_aliases,
    quantity_of,
    role_of,
    unit_of,
)
from edge.imports.zones import Zone

__all__ = ["TIME_NAMES", "Plan", "PlanError", "resolve"]

TIME_NAMES = {"text": P.TIME_TEXT, "epoch_s": P.TIME_EPOCH_S, "epoch_ms": P.TIME_EPOCH_MS,
              "compact": P.TIME_COMPACT, "excel": P.TIME_EXCEL}
_NUMERIC = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_DATA_DAY = ("数据日期", "用电日期", "dataday", "datadate")
_FREEZE = ("冻结日期", "冻结时间", "freezedate", "freezetime")


_DISPLAY = {"kwh": "kWh", "wh": "Wh", "mwh": "MWh", "kw": "kW", "w": "W", "mw": "MW", "kvar": "kvar", "var": "var",
            "kw·h": "kWh", "kw.h": "kWh", "千瓦时": "kWh", "度": "kWh", "瓦时": "Wh", "兆瓦时": "MWh", "千瓦": "kW", "瓦": "W"}


class PlanError(ValueError):
    """The columns or the time format cannot be told; the message says what was found and what to state."""


@dataclass
class Plan:
    layout: str
    ts_col: int
    dev_col: int
    q_col: int                                   # long layout: the quantity column; -1 otherwise
    value_cols: list[int]
    value_q: list[int]                           # quantity code per value column (-1: from the quantity column)
    header: list[str]
    meaning: dict[int, str] = field(default_factory=dict)  # column -> what it is (for inspect)
    ignored: list[int] = field(default_factory=list)
    time_name: str = "text"
    time_mode: int = P.TIME_TEXT
    day_shift_s: float = 0.0
    date_only: bool = False
    zone: Zone | None = None
    zone_source: str = ""
    thousands: int = 44
    unit_hints: dict[str, tuple[float, str]] = field(default_factory=dict)   # quantity -> (factor, unit text)
    kind_hints: dict[str, str] = field(default_factory=dict)
    quantity_names: dict[str, int] = field(default_factory=dict)           # long: cell text -> code
    notes: list[str] = field(default_factory=list)

    @property
    def max_col(self) -> int:
        return max([self.ts_col, self.dev_col, self.q_col, *self.value_cols]) + 1


def _by_header(header: list[str], text: str) -> int:
    t = normalise(text)
    for i, h in enumerate(header):
        if h.strip() == text.strip() or normalise(h) == t:
            return i
    raise PlanError(f"the mapping names column {text!r}, which is not in the header {header}")


def _assign(header: list[str], mapping: Mapping) -> tuple[dict[str, int], dict[int, str]]:
    """role -> column and column -> quantity, from the mapping first, then from the vocabulary."""
    roles: dict[str, int] = {}
    quants: dict[int, str] = {}
    for key, text in mapping.columns.items():
        col = _by_header(header, text)
        if key in ROLES:
            roles[key] = col
        else:
            quants[col] = key
    taken = set(roles.values()) | set(quants)
    for i, h in enumerate(header):
        if i in taken or not h.strip():
            continue
        role = role_of(h)
        if role and role not in roles:
            roles[role] = i
            continue
        q = quantity_of(h)
        if q and q not in quants.values():
            quants[i] = q
    return roles, quants


def _layout(mapping: Mapping, roles: dict[str, int], quants: dict[int, str], date_only: bool) -> str:
    if mapping.layout != "auto":
        return mapping.layout
    if "quantity" in roles and "value" in roles:
        return "long"
    return "daily" if date_only else "wide"


def _time_mode(cells: list[str], mapping: Mapping, ts_header: str) -> tuple[str, str]:
    """(time format name, how it was found)."""
    if mapping.time != "auto":
        return mapping.time, "stated"
    vals = [c.strip() for c in cells if c.strip()]
    if not vals:
        raise PlanError(f"column {ts_header!r} is empty in the head of the file: no time format to detect")
    if not all(_NUMERIC.match(v) for v in vals):
        return "text", "detected"
    nums = [float(v) for v in vals]
    ints = {len(v.split(".")[0]) for v in vals}
    if len(ints) == 1 and ints <= {8, 12, 14} and all(_compact_date(v) for v in vals):
        return "compact", f"detected: {ints.pop()}-digit YYYYMMDD... numbers"
    if all(1e8 <= n < 1e10 for n in nums):
        return "epoch_s", "detected: epoch seconds"
    if all(1e11 <= n < 1e13 for n in nums):
        return "epoch_ms", "detected: epoch milliseconds"
    if all(20000 <= n < 80000 for n in nums):
        return "excel", "detected: Excel serial days"
    raise PlanError(f"column {ts_header!r} holds numbers {vals[:3]} that are neither epoch seconds (10 digits), "
                    "epoch milliseconds (13), YYYYMMDD[hhmm[ss]] nor Excel serial days; state time = ... in the mapping")


def _compact_date(v: str) -> bool:
    raw = np.frombuffer(v.encode(), dtype=np.uint8)
    return bool(P.compact_time(raw, 0, raw.size)[2] == P.OK) and 1970 <= int(v[:4]) <= 2100


def _sample_times(cells: list[str]) -> tuple[bool, bool]:
    """(every parsed cell is a date without time, any cell carries a zone) of text timestamps."""
    dates, zoned, n = 0, 0, 0
    for c in cells:
        raw = np.frombuffer(c.strip().encode(), dtype=np.uint8)
        if raw.size == 0:
            continue
        _, z, d, st = P.text_time(raw, 0, raw.size)
        if st == P.OK:
            n += 1
            dates += int(d)
            zoned += int(z)
    return n > 0 and dates == n, zoned > 0


def _day_shift(layout: str, date_only: bool, mapping: Mapping, ts_header: str) -> tuple[float, str]:
    if not date_only:
        return 0.0, ""
    label = mapping.day_label
    if label == "auto":
        t = normalise(ts_header)
        label = "data_day" if t in _DATA_DAY else "freeze" if t in _FREEZE else "auto"
    if label == "auto":
        raise PlanError(f"column {ts_header!r} holds dates without a time: is a date the freeze at its 00:00 or "
                        "the day the reading closes (freeze at 24:00)? State day_label = \"freeze\" or "
                        "\"data_day\" in a mapping file (or --day-label)")
    return (86400.0 if label == "data_day" else 0.0), label


def resolve(head: Head, mapping: Mapping, zone: Zone, zone_source: str) -> Plan:
    roles, quants = _assign(head.header, mapping)
    if "ts" not in roles:
        raise PlanError(f"no timestamp column among {head.header}; name it: [columns] ts = \"...\"")
    if "device" not in roles:
        raise PlanError(f"no device column among {head.header}; name it: [columns] device = \"...\"")
    ts_cells = [r[roles["ts"]] for r in head.rows if len(r) > roles["ts"]]
    time_name, how = _time_mode(ts_cells, mapping, head.header[roles["ts"]])
    date_only = (time_name == "text" and _sample_times(ts_cells)[0]) or (
        time_name == "compact" and all(len(c.strip()) == 8 for c in ts_cells if c.strip()))
    layout = _layout(mapping, roles, quants, date_only)
    plan = Plan(layout=layout, ts_col=roles["ts"], dev_col=roles["device"], q_col=-1, value_cols=[], value_q=[],
                header=head.header, time_name=time_name, time_mode=TIME_NAMES[time_name], zone=zone,
                zone_source=zone_source, date_only=date_only,
                thousands=ord(mapping.thousands) if mapping.thousands else 0)
    plan.meaning[plan.ts_col] = f"timestamp ({time_name}, {how})"
    plan.meaning[plan.dev_col] = "device"
    plan.day_shift_s, label = _day_shift(layout, date_only, mapping, head.header[plan.ts_col])
    if label:
        plan.meaning[plan.ts_col] += f"; dates are {'the day the reading closes' if label == 'data_day' else 'the freeze day'}"
    if layout == "long":
        _long(plan, roles, head, mapping)
    else:
        _wide(plan, quants, head)
    plan.ignored = [i for i, h in enumerate(head.header) if i not in plan.meaning]
    return plan


def _long(plan: Plan, roles: dict[str, int], head: Head, mapping: Mapping) -> None:
    if "quantity" not in roles or "value" not in roles:
        raise PlanError(f"layout long needs a quantity and a value column; header: {head.header}")
    plan.q_col, plan.value_cols, plan.value_q = roles["quantity"], [roles["value"]], [-1]
    plan.meaning[plan.q_col] = "quantity (names case-insensitive)"
    plan.meaning[roles["value"]] = "value"
    names = {q: QUANTITY_CODE[q] for q in QUANTITIES}
    names.update({alias: QUANTITY_CODE[q] for alias, q in quantity_aliases().items()})
    names.update({text: QUANTITY_CODE[q] for text, q in mapping.quantities.items()})
    for row in head.rows:                       # cells as written in this file, e.g. "A相电压(V)" or "E_FWD"
        if len(row) > plan.q_col:
            cell = row[plan.q_col].strip()
            q = mapping.quantities.get(cell) or quantity_of(cell)
            if q and cell not in names:
                names[cell] = QUANTITY_CODE[q]
            _hints(plan, q, cell)
    plan.quantity_names = names


def _wide(plan: Plan, quants: dict[int, str], head: Head) -> None:
    for col in sorted(quants):
        q = quants[col]
        if plan.layout == "daily" and q == "e_fwd":
            q = "e_fwd_daily"
        if plan.layout == "daily" and q == "e_rev":
            plan.notes.append(f"column {head.header[col]!r} (reverse energy) is ignored: the engine has no daily "
                              "reverse freeze")
            continue
        plan.value_cols.append(col)
        plan.value_q.append(QUANTITY_CODE[q])
        _hints(plan, q, head.header[col])
        plan.meaning[col] = q + (f" [{plan.unit_hints[q][1]}]" if q in plan.unit_hints else "")
    if not plan.value_cols:
        raise PlanError(f"no column names a quantity among {head.header}; name them in a mapping file "
                        "([columns] e_fwd = \"...\") or use layout long")


def _hints(plan: Plan, q: str | None, header: str) -> None:
    if q is None:
        return
    unit = unit_of(header)
    if unit:
        if unit not in UNITS:
            raise PlanError(f"column {header!r}: unknown unit {unit!r}; known: {', '.join(UNITS)}")
        fam, factor = UNITS[unit]
        if fam != family(q):
            raise PlanError(f"column {header!r}: unit {unit!r} ({fam}) does not fit {q} ({family(q)})")
        plan.unit_hints[q] = (factor, _DISPLAY.get(unit, unit))
    hint = kind_hint(header)
    if hint and q in ENERGY:
        plan.kind_hints[q] = hint
