"""``[[area]]`` entries: transformer, master, meters (inline or from a CSV meter list) and detection.

Each part of an area is checked even when another part of it is wrong, so one run lists every problem
of the area: a bad transformer rating does not hide a meter on a bus that does not exist.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detect.params import Params
from edge.config.localtime import check_area_offset
from edge.config.model import AreaConfig, BusConfig, MasterConfig, MeterConfig
from tomlconf import ConfigError, ConfigIssue, Doc, build
from wire.kinds import MAX_AREAS

__all__ = ["AreaContext", "build_areas"]


@dataclass
class AreaContext:
    """What every area is checked against, and what the areas checked so far have claimed."""

    buses: dict[str, BusConfig]
    params: Params
    base_dir: Path
    areas_only: bool = False
    timezone: str | None = None                       # stated gateway.timezone, for utc_offset_s checks
    meter_ids: dict[str, str] = field(default_factory=dict)               # meter id -> its area
    addresses: dict[tuple[str, str], str] = field(default_factory=dict)   # (bus, address) -> meter id


@dataclass(frozen=True)
class _Placed:
    """A meter and where it was written: a TOML key, or a CSV file and line."""

    meter: MeterConfig
    file: str
    key: str
    line: int | None

    def issue(self, doc: Doc, name: str, message: str) -> None:
        dev = f'meter "{self.meter.id}"'
        if self.file == doc.file:
            doc.error(f"{self.key}.{name}", message, dev)
        else:
            doc.extend([ConfigIssue(self.file, self.line, f"{self.key}.{name}", message, dev)])


def build_areas(doc: Doc, raw_areas: Any, ctx: AreaContext) -> list[AreaConfig]:
    if not isinstance(raw_areas, list):
        doc.error("area", "expected [[area]] entries (an array of tables; exactly one [[area]] in an area file)")
        return []
    if len(raw_areas) > MAX_AREAS:
        doc.error("area", f"{len(raw_areas)} areas: a gateway serves at most {MAX_AREAS} (its health message "
                          "would be refused by the collector)")
    areas: list[AreaConfig] = []
    for i, raw in enumerate(raw_areas):
        if not isinstance(raw, dict):
            doc.error(f"area[{i}]", "expected a table")
            continue
        area = _build_area(doc, i, dict(raw), ctx)
        if area is not None:
            if any(a.id == area.id for a in areas):
                doc.error(f"area[{i}].id", f"duplicate area id {area.id!r}", f'area "{area.id}"')
            areas.append(area)
    return areas


def _build_area(doc: Doc, i: int, raw: dict[str, Any], ctx: AreaContext) -> AreaConfig | None:
    akey, adev = f"area[{i}]", f'area "{raw.get("id", f"#{i}")}"'
    inline = raw.pop("meter", [])
    if "meters" in raw:
        doc.error(f"{akey}.meters", "use [[area.meter]] entries or meters_csv", adev)
        raw.pop("meters")

    def detection(value: Any, key: str) -> Params | None:
        params = build(doc, Params, value, key, adev, base=ctx.params)
        if params is not None and isinstance(value, dict) and "utc_offset_s" in value:
            check_area_offset(doc, params.utc_offset_s, f"{key}.utc_offset_s", ctx.timezone, adev)
        return params

    area = build(doc, AreaConfig, raw, akey, adev, nested={"detection": detection})
    meters = _inline_meters(doc, inline, akey, adev)
    csv_name = area.meters_csv if area else raw.get("meters_csv")
    map_name = area.meters_mapping if area else raw.get("meters_mapping")
    reported = len(doc.issues)
    if isinstance(csv_name, str) and csv_name:
        meters += _csv_meters(doc, csv_name, f"{akey}.meters_csv", adev, ctx,
                              map_name if isinstance(map_name, str) else "")
    elif isinstance(map_name, str) and map_name:
        doc.error(f"{akey}.meters_mapping", "meters_mapping describes a meters_csv file; this area has none", adev)
    master = area.master if area else _quietly(MasterConfig, raw.get("master"))
    if master is not None and not ctx.areas_only:
        _check_master(doc, master, f"{akey}.master", adev, ctx)
    _check_meters(doc, meters, ctx, adev)
    # No meters at all is a transformer-only area (monitoring the TTU); a meter list that is named but
    # holds no meter is a mistake (an unreadable one is reported already).
    if isinstance(csv_name, str) and csv_name and not meters and len(doc.issues) == reported:
        doc.error(f"{akey}.meters_csv", f"meter list {csv_name} has no meters (leave meters_csv out for a "
                  "transformer-only area)", adev)
    if area is None:
        return None
    if "detection" not in raw:
        area = dataclasses.replace(area, detection=ctx.params)
    return dataclasses.replace(area, meters=tuple(p.meter for p in meters))


def _quietly(cls: type, table: Any) -> Any:
    """``cls`` from ``table`` when it is valid, without reporting (its issues are reported elsewhere)."""
    return build(Doc({}, {}, ""), cls, table, "")


def _inline_meters(doc: Doc, inline: Any, akey: str, adev: str) -> list[_Placed]:
    if not isinstance(inline, list):
        doc.error(f"{akey}.meter", "expected [[area.meter]] entries", adev)
        return []
    placed = []
    for j, rm in enumerate(inline):
        mkey = f"{akey}.meter[{j}]"
        mid = rm.get("id") if isinstance(rm, dict) else None
        m = build(doc, MeterConfig, rm, mkey, f'meter "{mid}"' if mid else adev)
        if m is not None:
            placed.append(_Placed(m, doc.file, mkey, doc.line(mkey)))
    return placed


def _csv_meters(doc: Doc, name: str, key: str, adev: str, ctx: AreaContext, map_name: str = "") -> list[_Placed]:
    from edge.config.meterlist import load_meter_mapping, read_meter_list

    mapping = None
    if map_name:
        map_path = Path(map_name) if Path(map_name).is_absolute() else ctx.base_dir / map_name
        mapping, map_issues = load_meter_mapping(map_path)
        if map_issues:
            doc.extend(map_issues)
            return []
    path = Path(name) if Path(name).is_absolute() else ctx.base_dir / name
    # a replay's list may lack bus and address
    meters, issues = read_meter_list(path, for_replay=ctx.areas_only, mapping=mapping)
    if issues and issues[0].key == "<file>":
        doc.error(key, f"cannot read meter list {path}: {issues[0].message.split(': ', 1)[-1]}", adev)
        return []
    doc.extend(issues)
    return [_Placed(m, str(path), f"row {line}", line) for m, line in meters]


def _check_master(doc: Doc, master: MasterConfig, key: str, adev: str, ctx: AreaContext) -> None:
    bus = ctx.buses.get(master.bus)
    if bus is None:
        doc.error(f"{key}.bus", f"bus {master.bus!r} does not exist; buses: {', '.join(ctx.buses) or 'none'}", adev)
    elif bus.protocol.startswith("modbus") and not master.profile:
        doc.error(f"{key}.profile", f"master on Modbus bus {bus.name!r} needs a profile", adev)
    elif bus.protocol.startswith("modbus"):
        _check_profile(doc, master.profile, f"{key}.profile", adev, ctx.base_dir)
    elif bus.protocol == "dlt645" and not master.address:
        doc.error(f"{key}.address", f"master on DL/T 645 bus {bus.name!r} needs an address", adev)


def _check_profile(doc: Doc, profile: str, key: str, device: str, base_dir: Path) -> None:
    """A Modbus master's profile must load (shipped name or a file relative to the config)."""
    from edge.modbus.profile import load_profile, shipped_profiles

    looks_like_path = "/" in profile or profile.endswith(".toml")
    if not looks_like_path and profile not in shipped_profiles():
        doc.error(key, f"unknown profile {profile!r}; shipped: {', '.join(shipped_profiles())} "
                  "(or give a path to a profile file)", device)
        return
    try:
        load_profile(base_dir / profile if looks_like_path else profile)
    except ConfigError as exc:
        doc.error(key, f"profile {profile!r} does not load ({len(exc.issues)} problem(s) listed with it)", device)
        doc.extend(exc.issues)


def _check_meters(doc: Doc, meters: list[_Placed], ctx: AreaContext, adev: str) -> None:
    """Duplicate ids and addresses across the whole file, buses that exist and speak DL/T 645, phases."""
    for p in meters:
        m = p.meter
        if m.id in ctx.meter_ids:
            p.issue(doc, "id", f"duplicate meter id (first in {ctx.meter_ids[m.id]})")
        else:
            ctx.meter_ids[m.id] = adev
        bus = ctx.buses.get(m.bus)
        if ctx.areas_only:
            pass
        elif bus is None:
            p.issue(doc, "bus", f"bus {m.bus!r} does not exist; buses: {', '.join(ctx.buses) or 'none'}")
        elif bus.protocol != "dlt645":
            p.issue(doc, "bus", f"bus {m.bus!r} speaks {bus.protocol}, customer meters need dlt645")
        addr = m.address.zfill(12)
        if m.address and (m.bus, addr) in ctx.addresses:     # only a replay's meter list may omit addresses
            p.issue(doc, "address", f"address {addr} is already used on bus {m.bus!r} by meter "
                    f"{ctx.addresses[(m.bus, addr)]!r}")
        else:
            ctx.addresses[(m.bus, addr)] = m.id
        if (m.kind == "three") != (m.phase == "ABC"):
            p.issue(doc, "phase", f"kind {m.kind!r} does not fit phase {m.phase!r} (three-phase meters have phase ABC)")
