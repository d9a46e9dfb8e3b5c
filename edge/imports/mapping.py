"""Mapping files and presets: what an export's columns mean, stated by the user.

A mapping file is a small TOML file; every key is optional (what is missing is detected)::

    layout = "wide"                  # auto | long | wide | daily
    encoding = "gbk"                 # auto | utf-8 | gbk | gb18030 | utf-16
    delimiter = ","                  # auto, or one character ("\\t" for tab)
    header_line = 3                  # 0: the first line with recognised headers
    sheet = "Sheet1"                 # xlsx: one sheet (default: every sheet with the same header)
    timezone = "Asia/Shanghai"       # naive local times (default: the area's timezone)
    time = "auto"                    # auto | text | epoch_s | epoch_ms | compact | excel
    thousands = ","                  # thousands separator in numbers ("" for none)
    day_label = "freeze"             # daily: a date is the freeze at its 00:00 (freeze) or the day it closes (data_day)
    interval_label = "end"           # interval consumption stamped at the end (default) or start of its interval

    [columns]                        # role or quantity = header text
    ts = "抄表时间"
    device = "表号"
    e_fwd = "正向有功总电能示值"

    [units]                          # quantity, family (energy, power) or master./meters. + either
    "meters.energy" = "Wh"
    [kinds]                          # register | interval, keyed like units
    e_fwd = "interval"
    [devices]                        # device name in the file = meter id, or "master"
    "3100012345" = "master"
    [quantities]                     # long layout: text of the quantity column = quantity
    "正向有功总" = "e_fwd"

Presets are the same structure with only ``layout`` set: ``long`` (``ts,device,quantity,value``), ``wide``
(one column per quantity) and ``daily`` (one row per meter per day of frozen readings).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from detect.quantities import QUANTITIES
from edge.imports.vocab import ENERGY, POWER, UNITS, normalise
from tomlconf import ConfigError, key_lines, parse_toml

__all__ = ["LAYOUTS", "PRESETS", "Mapping", "MappingError", "load_mapping", "stated_key"]

LAYOUTS = ("auto", "long", "wide", "daily")
TIME_MODES = ("auto", "text", "epoch_s", "epoch_ms", "compact", "excel")
ROLES = ("ts", "device", "quantity", "value")
CLASSES = ("master", "meters")
FAMILIES = ("energy", "power")


class MappingError(ValueError):
    """A mapping file or option is wrong; the message names file, line and key."""


@dataclass(frozen=True)
class Mapping:
    layout: str = "auto"
    encoding: str = "auto"
    delimiter: str = "auto"
    header_line: int = 0
    sheet: str = ""
    timezone: str = ""
    time: str = "auto"
    thousands: str = ","
    day_label: str = "auto"
    interval_label: str = "end"
    columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    quantities: dict[str, str] = field(default_factory=dict)
    source: str = "auto"

    def with_options(self, **opts: Any) -> Mapping:
        """Command-line options on top of the file (options win); None means not given."""
        given = {k: v for k, v in opts.items() if v not in (None, "", {})}
        for k in ("units", "kinds"):
            if k in given:
                given[k] = {**getattr(self, k), **given[k]}
        out = replace(self, **given)
        validate(out, "command line", {})
        return out


PRESETS = {name: Mapping(layout=name, source=f"preset {name}") for name in ("long", "wide", "daily")}
_CHOICES = {"layout": LAYOUTS, "time": TIME_MODES, "day_label": ("auto", "freeze", "data_day"),
            "interval_label": ("end", "start")}


def stated_key(key: str) -> tuple[str, str]:
    """(class or '', quantity or family) of a [units]/[kinds] key; ``MappingError`` when it is neither."""
    cls, _, name = key.rpartition(".")
    if cls not in ("", *CLASSES):
        raise MappingError(f"{key!r}: prefix must be master. or meters.")
    if name not in QUANTITIES and name not in FAMILIES:
        raise MappingError(f"{key!r}: {name!r} is neither a quantity nor a family (energy, power); "
                           f"quantities: {', '.join(QUANTITIES)}")
    return cls, name


def _check_tables(m: Mapping) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    for role in m.columns:
        if role not in ROLES and role not in QUANTITIES:
            errors.append((f"columns.{role}", f"{role!r} is neither a role ({', '.join(ROLES)}) nor a quantity "
                                              f"({', '.join(QUANTITIES)})"))
    for table, allowed in (("units", None), ("kinds", ("register", "interval"))):
        for key, value in getattr(m, table).items():
            try:
                _, name = stated_key(key)
            except MappingError as exc:
                errors.append((f"{table}.{key}", str(exc)))
                continue
            if allowed and value not in allowed:
                errors.append((f"{table}.{key}", f"{value!r} is not one of {', '.join(allowed)}"))
            if table == "units" and normalise(value) not in UNITS:
                errors.append((f"{table}.{key}", f"unknown unit {value!r}; known: kWh, Wh, MWh, kW, W, MW, kvar, var"))
            elif table == "units" and UNITS[normalise(value)][0] not in ("energy", "power"):
                errors.append((f"{table}.{key}", f"only energy and power units can be stated, not {value!r}"))
            elif table == "units" and name in QUANTITIES and name not in (*ENERGY, *POWER):
                errors.append((f"{table}.{key}", f"{name} has a fixed unit; units are stated for energy and power"))
    for text, q in m.quantities.items():
        if q not in QUANTITIES:
            errors.append((f"quantities.{text}", f"unknown quantity {q!r}; known: {', '.join(QUANTITIES)}"))
    return errors


def validate(m: Mapping, file: str, lines: dict[str, int]) -> None:
    errors = _check_tables(m)
    for key, choices in _CHOICES.items():
        if getattr(m, key) not in choices:
            errors.append((key, f"{getattr(m, key)!r} is not one of {', '.join(choices)}"))
    if m.delimiter != "auto" and len(m.delimiter) != 1:
        errors.append(("delimiter", f"{m.delimiter!r} must be one character (\"\\t\" for tab) or auto"))
    if len(m.thousands) > 1 or m.thousands.isdigit() or m.thousands == ".":
        errors.append(("thousands", f"{m.thousands!r} must be one character other than a digit or '.', or empty"))
    if errors:
        raise MappingError("\n".join(f"{file}{_at(lines, k)}: {k}: {msg}" for k, msg in errors))


def _at(lines: dict[str, int], key: str) -> str:
    k = key
    while k and k not in lines:
        k = k.rsplit(".", 1)[0] if "." in k else ""
    return f":{lines[k]}" if k in lines else ""


def load_mapping(spec: str | Path | None) -> Mapping:
    """A preset name (long, wide, daily), a mapping file, or None (everything detected)."""
    if spec is None or str(spec) == "auto":
        return Mapping()
    if str(spec) in PRESETS:
        return PRESETS[str(spec)]
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping ({exc.strerror}); presets: "
                           f"{', '.join(PRESETS)}") from None
    except UnicodeDecodeError:
        text = path.read_bytes().decode("gb18030", "replace")
    try:
        doc = parse_toml(text, str(path))
    except ConfigError as exc:
        raise MappingError(str(exc)) from None
    return _from_doc(doc, str(path), key_lines(text))


def _from_doc(doc: dict[str, Any], file: str, lines: dict[str, int]) -> Mapping:
    known = {f.name: f for f in fields(Mapping) if f.name != "source"}
    errors = [(k, f"unknown key; known keys: {', '.join(known)}") for k in doc if k not in known]
    kwargs: dict[str, Any] = {}
    for name, value in doc.items():
        if name not in known:
            continue
        is_table = name in ("columns", "units", "kinds", "devices", "quantities")
        if is_table and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            errors.append((name, "expected a table of strings"))
        elif name == "header_line" and not (isinstance(value, int) and value >= 0):
            errors.append((name, f"expected a line number, got {value!r}"))
        elif not is_table and name != "header_line" and not isinstance(value, str):
            errors.append((name, f"expected a string, got {value!r}"))
        else:
            kwargs[name] = {str(k): v for k, v in value.items()} if is_table else value
    if errors:
        raise MappingError("\n".join(f"{file}{_at(lines, k)}: {k}: {msg}" for k, msg in errors))
    m = Mapping(**kwargs, source=file)
    validate(m, file, lines)
    return m
