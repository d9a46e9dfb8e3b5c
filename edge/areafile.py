"""One area for offline use (replay, evaluation): ``load_area(path) -> AreaFile`` (``load_area_file`` gives
the ``(Area, Params)`` pair alone).

Accepts either a full edge configuration (``[gateway]``, ``[mqtt]``, buses, ``[[area]]``) or a bare area
file as ``meterwatch simulate --export`` writes it (``[[area]]`` with ``meters_csv``, plus ``grid``,
``branches`` and ``timezone``). Parsing and validation are the configuration loader's
(``edge.config.loader``); this only picks the area, builds the engine's dense model with branches in the
order the file lists them, and says which time zone the area's clocks keep: ``[gateway] timezone`` of a
full configuration, ``timezone`` of a bare area (an IANA name), else the gateway default (Asia/Shanghai).
As in a full configuration, ``detection.utc_offset_s`` follows that zone when not written, and is rejected
when written and in disagreement (``edge.config.localtime``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detect.area import Area
from detect.params import Params
from edge.area import build_area
from edge.config.checks import timezone_problem
from edge.config.loader import load_config_doc, parse_toml, read_text
from edge.config.model import AreaConfig, GatewayConfig
from edge.errors import ConfigError, ConfigIssue
from tomlconf import key_lines

__all__ = ["AreaFile", "load_area", "load_area_file"]

DEFAULT_TIMEZONE = str(GatewayConfig.__dataclass_fields__["timezone"].default)


@dataclass
class AreaFile:
    area: Area
    params: Params
    timezone: str
    timezone_source: str
    aliases: dict[str, str] = field(default_factory=dict)    # meter address (as written, and 12 digits) -> id
    config: AreaConfig | None = None                         # what it was built from (plausibility limits)


def load_area_file(path: str | Path, area_id: str | None = None) -> tuple[Area, Params]:
    """The area (and its detection parameters) of a configuration or area file. With several areas,
    ``area_id`` chooses one. Raises ``ConfigError`` naming file, line and key for every problem."""
    af = load_area(path, area_id)
    return af.area, af.params


def _area_zone(doc: dict[str, Any], file: str, lines: dict[str, int], area_id: str | None) -> str | None:
    """Take ``timezone`` out of the bare ``[[area]]`` tables (the loader does not know the key) and put the
    chosen area's into a placeholder ``[gateway]``, so ``utc_offset_s`` follows it or must agree with it, as in
    a full configuration. ``ConfigError`` naming file, line and key for a zone that is not an IANA name."""
    raw = doc.get("area")
    if not isinstance(raw, list):
        return None
    zones: dict[str, str] = {}
    for i, a in enumerate(raw):
        if isinstance(a, dict) and "timezone" in a:
            a = dict(a)
            tz = str(a.pop("timezone"))
            raw[i] = a
            why = timezone_problem(tz)
            if why:
                raise ConfigError([ConfigIssue(file=file, line=lines.get(f"area[{i}].timezone"),
                                               key=f"area[{i}].timezone", message=why)])
            zones[str(a.get("id"))] = tz
    chosen = zones.get(area_id) if area_id else (next(iter(zones.values())) if len(set(zones.values())) == 1 else None)
    if chosen is None and zones and not area_id:
        raise ConfigError([ConfigIssue(file=file, line=None, key="area.timezone",
                                       message="areas keep different time zones; replay one with --area-id")])
    if chosen:
        grid = next((str(a["grid"]) for a in raw if isinstance(a, dict) and a.get("grid")), "replay")
        doc["gateway"] = {"id": "replay", "grid": grid, "timezone": chosen}
    return chosen


def load_area(path: str | Path, area_id: str | None = None) -> AreaFile:
    """The area, its parameters, its time zone and its meters' other names; ``ConfigError`` as above."""
    p = Path(path)
    text = read_text(p)
    doc = parse_toml(text, str(p))
    bare = "gateway" not in doc
    lines = key_lines(text)
    zone = _area_zone(doc, str(p), lines, area_id) if bare else None
    cfg = load_config_doc(doc, lines, str(p), p.parent, areas_only=bare)
    areas = [a for a in cfg.areas if area_id in (None, a.id)]
    if len(areas) != 1:
        known = ", ".join(a.id for a in cfg.areas) or "none"
        what = (f"no area {area_id!r}" if area_id else
                "several areas; choose one" if cfg.areas else "exactly one [[area]] is needed")
        raise ConfigError([ConfigIssue(file=str(p), line=None, key="area", message=f"{what} (areas: {known})")])
    chosen = areas[0]
    raw = next((a for a in doc.get("area", []) if isinstance(a, dict) and a.get("id") == chosen.id), {})
    grid = str(raw.get("grid") or cfg.gateway.grid) if bare else cfg.gateway.grid
    try:     # replay: readings as the devices report them, the master's ratios applied by the engine
        area = build_area(chosen, grid, unscaled_master=True, base_dir=p.parent)
    except (OSError, ValueError) as exc:
        raise ConfigError([ConfigIssue(file=str(p), line=None, key="area.master.profile", device="master",
                                       message=f"cannot load the master's profile: {exc}")]) from None
    area = _with_branches(area, chosen, raw, p)
    if bare:
        tz = zone or DEFAULT_TIMEZONE
        source = f"{p.name}, area {chosen.id}" if zone else "default (the area file names none)"
    else:
        tz, source = cfg.gateway.timezone, f"{p.name} [gateway]"
    return AreaFile(area=area, params=chosen.detection, timezone=tz, timezone_source=source,
                    aliases=_aliases(chosen), config=chosen)


def _with_branches(area: Area, chosen: AreaConfig, raw: dict[str, Any], p: Path) -> Area:
    listed = tuple(str(b) for b in raw.get("branches", ()) or ())
    if not listed:
        return area
    unlisted = [ConfigIssue(file=str(p), line=None, key="area.branches", device=f'meter "{m.id}"',
                            message=f"meter {m.id} is on branch {m.branch!r}, which is not listed in {list(listed)}")
                for m in chosen.meters if m.branch not in listed]
    if unlisted:
        raise ConfigError(unlisted)
    index = {b: i for i, b in enumerate(listed)}
    remap = np.asarray([index[name] for name in area.branches], np.int32)
    return dataclasses.replace(area, branches=listed, meter_branch=remap[area.meter_branch])


def _aliases(chosen: AreaConfig) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in chosen.meters:
        if m.address:
            out.setdefault(m.address, m.id)
            out.setdefault(m.address.zfill(12), m.id)
    return out
