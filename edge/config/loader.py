"""Load and validate an edge configuration entirely before any I/O to devices or brokers.

Every problem is collected (not only the first) as a ``ConfigIssue`` naming the file, line, key path
and device; ``load_config`` raises one ``ConfigError`` carrying all of them.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from detect.params import Params
from detect.quantities import QUANTITIES
from edge.config._lines import key_lines
from edge.config.model import (
    DEFAULT_PLANS,
    AreaConfig,
    BusConfig,
    Config,
    GatewayConfig,
    MeterConfig,
    MqttConfig,
    PlanConfig,
    PublishConfig,
)
from edge.errors import ConfigError, ConfigIssue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CSV_COLUMNS", "load_config", "load_config_text"]

T = TypeVar("T")
CSV_COLUMNS = ("id", "address", "bus", "phase", "branch", "kind", "pv", "ct_ratio")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class _Ctx:
    """Collects issues for one file, with the key→line map of that file."""

    def __init__(self, file: str, lines: dict[str, int]) -> None:
        self.file = file
        self.lines = lines
        self.issues: list[ConfigIssue] = []

    def line_of(self, key: str) -> int | None:
        k = key
        while k:
            if k in self.lines:
                return self.lines[k]
            # a list element stands on the line of its list; a key on the line of its table
            k = k[: k.rindex("[")] if k.endswith("]") else k.rsplit(".", 1)[0] if "." in k else ""
        return None

    def error(self, key: str, message: str, device: str | None = None, line: int | None = None) -> None:
        self.issues.append(ConfigIssue(file=self.file, line=line or self.line_of(key), key=key,
                                       message=message, device=device))


def _type_name(tp: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _coerce(ctx: _Ctx, key: str, tp: Any, value: Any, meta: dict[str, Any], device: str | None) -> Any:
    """Check one scalar (or tuple of scalars) against its declared type and metadata."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        item_tp = typing.get_args(tp)[0]
        if not isinstance(value, list):
            ctx.error(key, f"expected a list, got {type(value).__name__} {value!r}", device)
            return None
        items = [_coerce(ctx, f"{key}[{i}]", item_tp, v, {}, device) for i, v in enumerate(value)]
        return tuple(items)
    ok = (isinstance(value, bool) if tp is bool else
          isinstance(value, (int, float)) and not isinstance(value, bool) if tp is float else
          isinstance(value, int) and not isinstance(value, bool) if tp is int else
          isinstance(value, str) if tp is str else True)
    if not ok:
        ctx.error(key, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}", device)
        return None
    if tp is float:
        value = float(value)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        ctx.error(key, f"{value!r} is not one of {', '.join(str(c) for c in choices)}", device)
        return None
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        ctx.error(key, f"{value!r} is out of range [{lo}, {hi}]", device)
        return None
    pattern = meta.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        ctx.error(key, f"{value!r} is not a valid value (expected to match {pattern})", device)
        return None
    return value


def _resolved_hints(cls: type) -> dict[str, Any]:
    import detect.params
    import edge.config.model

    ns = {**vars(edge.config.model), **vars(detect.params)}
    return typing.get_type_hints(cls, globalns=ns)


def _build(ctx: _Ctx, cls: type[T], table: Any, key: str, device: str | None = None,
           nested: dict[str, Callable[[Any, str], Any]] | None = None,
           base: T | None = None) -> T | None:
    """Build dataclass ``cls`` from a TOML table: unknown keys, missing keys, types and ranges.

    ``nested`` builds fields whose value is itself structured; ``base`` supplies defaults (used for
    per-area detection overrides on top of the gateway-wide ones).
    """
    if not isinstance(table, dict):
        ctx.error(key, f"expected a table, got {type(table).__name__} {table!r}", device)
        return None
    hints = _resolved_hints(cls)
    all_fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    fields = {fl.name: fl for fl in all_fields if fl.init and not fl.name.startswith("_")}
    for name in table:
        if name not in fields:
            ctx.error(f"{key}.{name}" if key else name,
                      f"unknown key {name!r}; known keys: {', '.join(sorted(fields))}", device)
    kwargs: dict[str, Any] = {}
    failed = False
    for name, fl in fields.items():
        sub = f"{key}.{name}" if key else name
        tp = hints[name]
        if name not in table:
            if base is not None:
                kwargs[name] = getattr(base, name)
            elif fl.default is dataclasses.MISSING and fl.default_factory is dataclasses.MISSING:
                ctx.error(sub, "required key is missing", device, line=ctx.line_of(key) if key else None)
                failed = True
            continue
        value = table[name]
        if nested and name in nested:
            built = nested[name](value, sub)
        elif dataclasses.is_dataclass(tp):
            built = _build(ctx, typing.cast(type, tp), value, sub, device,
                           base=getattr(base, name) if base is not None else None)
        else:
            built = _coerce(ctx, sub, tp, value, dict(fl.metadata), device)
        if built is None:
            failed = True
        else:
            kwargs[name] = built
    if failed:
        return None
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # pragma: no cover - guarded by the checks above
        ctx.error(key, str(exc), device)
        return None


def _parse_bool(text: str) -> bool | None:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return None


def _meters_from_csv(ctx: _Ctx, path: Path, key: str, area_id: str) -> list[MeterConfig]:
    """Read a utility archive export; each bad row is an issue naming the CSV file, line and column."""
    meters: list[MeterConfig] = []
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        ctx.error(key, f"cannot read meter list {path}: {exc.strerror}", f'area "{area_id}"')
        return meters
    csv_ctx = _Ctx(str(path), {})
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            csv_ctx.error("header", f"empty file; expected columns {','.join(CSV_COLUMNS)}", line=1)
        else:
            cols = [h.strip().lower() for h in header]
            missing = [c for c in ("id", "address", "bus", "phase") if c not in cols]
            unknown = [c for c in cols if c not in CSV_COLUMNS]
            if missing or unknown:
                csv_ctx.error("header", f"columns must be among {','.join(CSV_COLUMNS)}; missing "
                              f"{missing or 'none'}, unknown {unknown or 'none'}", line=1)
            else:
                for row in reader:
                    lineno = reader.line_num
                    if not row or all(not c.strip() for c in row):
                        continue
                    if len(row) != len(cols):
                        csv_ctx.error(f"row {lineno}", f"has {len(row)} fields, header has {len(cols)}",
                                      line=lineno)
                        continue
                    rec: dict[str, Any] = {}
                    bad = False
                    for col, raw in zip(cols, row, strict=True):
                        raw = raw.strip()
                        if col == "pv":
                            b = _parse_bool(raw)
                            if b is None:
                                csv_ctx.error(f"row {lineno}.pv", f"{raw!r} is not yes/no/true/false/1/0",
                                              f'meter "{row[cols.index("id")].strip()}"', line=lineno)
                                bad = True
                            rec[col] = b
                        elif col == "ct_ratio":
                            try:
                                rec[col] = float(raw) if raw else 1.0
                            except ValueError:
                                csv_ctx.error(f"row {lineno}.ct_ratio", f"{raw!r} is not a number",
                                              f'meter "{row[cols.index("id")].strip()}"', line=lineno)
                                bad = True
                        elif col in ("branch", "kind") and not raw:
                            continue
                        else:
                            rec[col] = raw
                    if bad:
                        continue
                    line_ctx = _Ctx(str(path), {})
                    m = _build(line_ctx, MeterConfig, rec, f"row {lineno}", f'meter "{rec.get("id", "?")}"')
                    for issue in line_ctx.issues:
                        csv_ctx.issues.append(dataclasses.replace(issue, line=lineno))
                    if m is not None:
                        meters.append(m)
    ctx.issues.extend(csv_ctx.issues)
    return meters


def _check_profile(ctx: _Ctx, profile: str, key: str, device: str, base_dir: Path) -> None:
    """A Modbus master's profile must load (shipped name or a file relative to the config)."""
    from edge.modbus.profile import load_profile, shipped_profiles

    looks_like_path = "/" in profile or profile.endswith(".toml")
    target: str | Path = base_dir / profile if looks_like_path and not Path(profile).is_absolute() else profile
    if not looks_like_path and profile not in shipped_profiles():
        ctx.error(key, f"unknown profile {profile!r}; shipped: {', '.join(shipped_profiles())} "
                  "(or give a path to a profile file)", device)
        return
    try:
        load_profile(target)
    except ConfigError as exc:
        ctx.error(key, f"profile {profile!r} does not load ({len(exc.issues)} problem(s) listed with it)", device)
        ctx.issues.extend(exc.issues)


def _build_detection(ctx: _Ctx, value: Any, key: str, *, device: str, base: Params) -> Params | None:
    """Per-area ``[area.detection.*]`` overrides on top of the gateway-wide ``[detection.*]``."""
    return _build(ctx, Params, value, key, device, base=base)


def _build_plans(ctx: _Ctx, table: Any, key: str) -> dict[str, PlanConfig] | None:
    if not isinstance(table, dict):
        ctx.error(key, "expected a table of plans, e.g. [plans.meter_interval]")
        return None
    merged: dict[str, Any] = {name: dict(spec) for name, spec in DEFAULT_PLANS.items()}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            ctx.error(f"{key}.{name}", "expected a table")
            continue
        merged[name] = {**merged.get(name, {}), **spec}
    plans: dict[str, PlanConfig] = {}
    for name, spec in merged.items():
        spec = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
        plan = _build(ctx, PlanConfig, spec, f"{key}.{name}", f'plan "{name}"')
        if plan is None:
            continue
        if plan.kind == "read" and not plan.quantities:
            ctx.error(f"{key}.{name}.quantities", "a read plan needs at least one quantity", f'plan "{name}"')
        if plan.kind == "clock" and plan.device_class != "meter":
            ctx.error(f"{key}.{name}.kind", "clock checks apply to meters only", f'plan "{name}"')
        for i, q in enumerate(plan.quantities):
            if q not in QUANTITIES:
                ctx.error(f"{key}.{name}.quantities[{i}]", f"unknown quantity {q!r}; known: {', '.join(QUANTITIES)}",
                          f'plan "{name}"')
        plans[name] = plan
    return plans


def load_config_text(text: str, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """Parse and validate a configuration given as TOML text. Raises ``ConfigError`` with every issue."""
    return load_config_doc(parse_toml(text, file), key_lines(text), file, base_dir)


# Keys an area file written by ``meterwatch simulate --export`` (or a utility archive) may carry beside
# the DESIGN §3 ones; only ``load_config_doc(..., areas_only=True)`` accepts them.
AREA_FILE_KEYS = ("grid", "branches")


def load_config_doc(doc: dict[str, Any], lines: dict[str, int], file: str = "<config>",
                    base_dir: Path | None = None, *, areas_only: bool = False) -> Config:
    """Validate a parsed configuration document (``lines``: key → line, from ``key_lines``).

    ``areas_only``: an area file for replay — ``[gateway]``/``[mqtt]``/``[[bus]]`` are optional, meters are
    not checked against buses, and ``[[area]]`` may carry ``grid`` and ``branches``; placeholders fill the
    gateway and MQTT tables (the grid from the first area that names one).
    """
    ctx = _Ctx(file, lines)
    base_dir = base_dir or Path(file).parent
    known = {"gateway", "mqtt", "publish", "bus", "plans", "detection", "area"}
    for k in doc:
        if k not in known:
            ctx.error(k, f"unknown key {k!r}; known top-level tables: {', '.join(sorted(known))}")
    if areas_only:
        doc = dict(doc)
        raw = doc.get("area", [])
        entries = raw if isinstance(raw, list) else []
        grid = next((str(a["grid"]) for a in entries if isinstance(a, dict) and a.get("grid")), "replay")
        doc.setdefault("gateway", {"id": "replay", "grid": grid})
        doc.setdefault("mqtt", {"url": "mqtt://localhost"})
        if isinstance(raw, list):   # a [area] table (not [[area]]) is reported as such below
            doc["area"] = [{k: v for k, v in a.items() if k not in AREA_FILE_KEYS} if isinstance(a, dict) else a
                           for a in raw]
    for required in ("gateway", "mqtt"):
        if required not in doc:
            ctx.error(required, f"required table [{required}] is missing")

    gateway = _build(ctx, GatewayConfig, doc["gateway"], "gateway") if "gateway" in doc else None
    mqtt = _build(ctx, MqttConfig, doc["mqtt"], "mqtt") if "mqtt" in doc else None
    publish = _build(ctx, PublishConfig, doc.get("publish", {}), "publish")
    params = _build(ctx, Params, doc.get("detection", {}), "detection") or Params()
    plans = _build_plans(ctx, doc.get("plans", {}), "plans") or {}
    if gateway is not None:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(gateway.timezone)
        except Exception:
            ctx.error("gateway.timezone", f"{gateway.timezone!r} is not a known IANA time zone")
    if mqtt is not None:
        if mqtt.url.startswith("mqtt://") and (mqtt.cert_file or mqtt.ca_file):
            ctx.error("mqtt.url", "ca_file/cert_file given but the url is mqtt:// (use mqtts://)")
        if bool(mqtt.cert_file) != bool(mqtt.key_file):
            ctx.error("mqtt.cert_file", "cert_file and key_file go together")
        if mqtt.password_file and not mqtt.username:
            ctx.error("mqtt.password_file", "password_file given without a username")

    buses: list[BusConfig] = []
    raw_buses = doc.get("bus", [])
    if not isinstance(raw_buses, list):
        ctx.error("bus", "expected [[bus]] entries")
        raw_buses = []
    for i, raw in enumerate(raw_buses):
        name = raw.get("name") if isinstance(raw, dict) else None
        bus = _build(ctx, BusConfig, raw, f"bus[{i}]", f'bus "{name}"' if name else None)
        if bus is None:
            continue
        if any(b.name == bus.name for b in buses):
            ctx.error(f"bus[{i}].name", f"duplicate bus name {bus.name!r}", f'bus "{bus.name}"')
        if any(b.port == bus.port for b in buses):
            ctx.error(f"bus[{i}].port", f"port {bus.port!r} is already used by another bus", f'bus "{bus.name}"')
        if bus.protocol == "modbus-tcp" and not bus.port.startswith("tcp://"):
            ctx.error(f"bus[{i}].port", "modbus-tcp needs a tcp://host:port", f'bus "{bus.name}"')
        buses.append(bus)
    bus_by_name = {b.name: b for b in buses}

    areas: list[AreaConfig] = []
    raw_areas = doc.get("area", [])
    if not isinstance(raw_areas, list):
        ctx.error("area", "expected [[area]] entries (an array of tables; exactly one [[area]] in an area file)")
        raw_areas = []
    seen_meter: dict[str, str] = {}
    seen_addr: dict[tuple[str, str], str] = {}
    for i, raw in enumerate(raw_areas):
        akey = f"area[{i}]"
        if not isinstance(raw, dict):
            ctx.error(akey, "expected a table")
            continue
        aid = raw.get("id", f"#{i}")
        adev = f'area "{aid}"'
        raw = dict(raw)
        inline_meters = raw.pop("meter", [])
        if "meters" in raw:
            ctx.error(f"{akey}.meters", "use [[area.meter]] entries or meters_csv", adev)
            raw.pop("meters")

        area = _build(ctx, AreaConfig, raw, akey, adev,
                      nested={"detection": functools.partial(_build_detection, ctx, device=adev, base=params)})
        if area is None:
            continue
        meters: list[tuple[MeterConfig, str, int | None]] = []
        for j, rm in enumerate(inline_meters if isinstance(inline_meters, list) else []):
            mkey = f"{akey}.meter[{j}]"
            mid = rm.get("id") if isinstance(rm, dict) else None
            m = _build(ctx, MeterConfig, rm, mkey, f'meter "{mid}"' if mid else adev)
            if m is not None:
                meters.append((m, mkey, ctx.line_of(mkey)))
        if area.meters_csv:
            path = Path(area.meters_csv)
            if not path.is_absolute():
                path = base_dir / path
            for m in _meters_from_csv(ctx, path, f"{akey}.meters_csv", area.id):
                meters.append((m, f"{path}", None))
        if "detection" not in raw:
            area = dataclasses.replace(area, detection=params)
        # cross checks: master and meters against buses, duplicates
        master_bus = bus_by_name.get(area.master.bus)
        if areas_only:
            pass
        elif master_bus is None:
            ctx.error(f"{akey}.master.bus", f"bus {area.master.bus!r} does not exist; buses: "
                      f"{', '.join(bus_by_name) or 'none'}", adev)
        elif master_bus.protocol.startswith("modbus") and not area.master.profile:
            ctx.error(f"{akey}.master.profile", f"master on Modbus bus {master_bus.name!r} needs a profile", adev)
        elif master_bus.protocol.startswith("modbus"):
            _check_profile(ctx, area.master.profile, f"{akey}.master.profile", adev, base_dir)
        elif master_bus.protocol == "dlt645" and not area.master.address:
            ctx.error(f"{akey}.master.address", f"master on DL/T 645 bus {master_bus.name!r} needs an address", adev)
        for m, where, line in meters:
            mdev = f'meter "{m.id}"'
            if m.id in seen_meter:
                _issue_at(ctx, where, line, "id", f"duplicate meter id (first in {seen_meter[m.id]})", mdev)
            else:
                seen_meter[m.id] = f'area "{area.id}"'
            bus = bus_by_name.get(m.bus)
            if areas_only:
                pass
            elif bus is None:
                _issue_at(ctx, where, line, "bus", f"bus {m.bus!r} does not exist; buses: "
                          f"{', '.join(bus_by_name) or 'none'}", mdev)
            elif bus.protocol != "dlt645":
                _issue_at(ctx, where, line, "bus", f"bus {m.bus!r} speaks {bus.protocol}, customer meters need dlt645",
                          mdev)
            addr = m.address.zfill(12)
            if (m.bus, addr) in seen_addr:
                _issue_at(ctx, where, line, "address",
                          f"address {addr} is already used on bus {m.bus!r} by meter {seen_addr[(m.bus, addr)]!r}", mdev)
            else:
                seen_addr[(m.bus, addr)] = m.id
            if (m.kind == "three") != (m.phase == "ABC"):
                _issue_at(ctx, where, line, "phase", f"kind {m.kind!r} does not fit phase {m.phase!r} "
                          "(three-phase meters have phase ABC)", mdev)
        if not meters:
            ctx.error(akey, "area has no meters (add [[area.meter]] entries or meters_csv)", adev)
        if any(a.id == area.id for a in areas):
            ctx.error(f"{akey}.id", f"duplicate area id {area.id!r}", adev)
        area = dataclasses.replace(area, meters=tuple(m for m, _, _ in meters))
        areas.append(area)

    if ctx.issues or gateway is None or mqtt is None or publish is None:
        raise ConfigError(ctx.issues)
    return Config(gateway=gateway, mqtt=mqtt, publish=publish, buses=tuple(buses), plans=plans,
                  areas=tuple(areas), source=file)


def _issue_at(ctx: _Ctx, where: str, line: int | None, field_name: str, message: str, device: str) -> None:
    """An issue about a meter that came either from the TOML (``where`` is a key) or from a CSV file."""
    if where.startswith("area["):
        key = f"{where}.{field_name}"
        ctx.error(key, message, device, line=ctx.lines.get(key) or line)
    else:
        ctx.issues.append(ConfigIssue(file=where, line=None, key=field_name, message=message, device=device))


def load_config(path: str | Path) -> Config:
    """Load a configuration file. Raises ``ConfigError`` naming file, line, key and device for each issue."""
    p = Path(path)
    return load_config_text(read_text(p), str(p), p.parent)


def read_text(path: Path) -> str:
    """A configuration file's text; ``ConfigError`` naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(file=str(path), line=None, key="<file>",
                                       message=f"cannot read: {exc.strerror}")]) from None


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """TOML text as a dict; ``ConfigError`` naming the file and line when it is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ConfigError([ConfigIssue(file=file, line=int(found.group(1)) if found else None, key="<toml>",
                                       message=f"not valid TOML: {exc}")]) from None

