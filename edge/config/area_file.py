"""One area from a TOML file: ``load_area_config(path) -> AreaFile`` (used by ``replay``).

The file is either a full edge configuration (DESIGN §3; it must then hold exactly one ``[[area]]``) or an
area file such as the simulator's export writes (``area.toml`` + ``meters.csv``): one ``[[area]]`` table in
the DESIGN §3 shape, optionally top-level ``[detection.<group>]`` tables, and two area-file-only keys in the
area table — ``grid`` (the service grid; in a full configuration it comes from ``[gateway]``) and
``branches`` (branch names in order, so the engine's branch index does not depend on meter order).

Validation is the configuration loader's (same types, ranges, CSV checks and messages). Bus checks are
not made: an area file names no bus table. Every problem is collected into one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detect.params import Params
from edge.config._lines import key_lines
from edge.config.loader import (
    _build,
    _build_detection,
    _Ctx,
    _meters_from_csv,
    load_config_text,
    parse_toml,
    read_text,
)
from edge.config.model import AreaConfig, MeterConfig
from edge.errors import ConfigError, ConfigIssue

__all__ = ["AreaFile", "load_area_config"]

_AREA_FILE_KEYS = ("grid", "branches")


@dataclass(frozen=True, kw_only=True)
class AreaFile:
    """One validated area: its configuration (meters included), service grid and listed branch order."""

    area: AreaConfig
    grid: str
    branches: tuple[str, ...] = ()     # empty: branches in order of first appearance
    detection: Params                  # the detection parameters that apply to the area


def load_area_config(path: str | Path) -> AreaFile:
    """The area of an area file or of a one-area edge configuration.

    Raises ``ConfigError`` naming file, line and key for every problem (missing meter CSV included).
    """
    p = Path(path)
    text = read_text(p)
    doc = parse_toml(text, str(p))
    if "gateway" in doc:
        cfg = load_config_text(text, str(p), p.parent)
        if len(cfg.areas) != 1:
            raise ConfigError([ConfigIssue(file=str(p), line=None, key="area",
                                           message=f"a replay needs exactly one [[area]], found {len(cfg.areas)}")])
        a = cfg.areas[0]
        return AreaFile(area=a, grid=cfg.gateway.grid, detection=a.detection)
    return _area_only(doc, text, p)


def _area_only(doc: dict[str, Any], text: str, p: Path) -> AreaFile:
    ctx = _Ctx(str(p), key_lines(text))
    for k in doc:
        if k not in ("area", "detection"):
            ctx.error(k, f"unknown key {k!r}; an area file holds [[area]] and [detection.*] "
                      "(or give a full configuration with [gateway])")
    params = _build(ctx, Params, doc.get("detection", {}), "detection") or Params()
    raw_areas = doc.get("area")
    if not isinstance(raw_areas, list) or len(raw_areas) != 1 or not isinstance(raw_areas[0], dict):
        ctx.error("area", "expected exactly one [[area]] table")
        raise ConfigError(ctx.issues)
    raw = dict(raw_areas[0])
    adev = f'area "{raw.get("id", "#0")}"'
    extra = {k: raw.pop(k) for k in _AREA_FILE_KEYS if k in raw}
    inline = raw.pop("meter", [])
    cfg = _build(ctx, AreaConfig, raw, "area[0]", adev,
                 nested={"detection": functools.partial(_build_detection, ctx, device=adev, base=params)})
    grid = extra.get("grid", "")
    if not isinstance(grid, str):
        ctx.error("area[0].grid", f"expected a string, got {grid!r}", adev)
        grid = ""
    branches = extra.get("branches", [])
    if not isinstance(branches, list) or not all(isinstance(b, str) for b in branches):
        ctx.error("area[0].branches", f"expected a list of branch names, got {branches!r}", adev)
        branches = []
    if cfg is None:
        raise ConfigError(ctx.issues)
    meters: list[MeterConfig] = []
    for j, rm in enumerate(inline if isinstance(inline, list) else []):
        m = _build(ctx, MeterConfig, rm, f"area[0].meter[{j}]", adev)
        if m is not None:
            meters.append(m)
    if cfg.meters_csv:
        csv_path = Path(cfg.meters_csv)
        meters += _meters_from_csv(ctx, csv_path if csv_path.is_absolute() else p.parent / csv_path,
                                   "area[0].meters_csv", cfg.id)
    if not meters and not ctx.issues:
        ctx.error("area[0]", "area has no meters (add [[area.meter]] entries or meters_csv)", adev)
    seen: set[str] = set()
    for m in meters:
        if m.id in seen:
            ctx.error("area[0]", f"duplicate meter id {m.id!r}", f'meter "{m.id}"')
        seen.add(m.id)
        if (m.kind == "three") != (m.phase == "ABC"):
            ctx.error("area[0]", f"kind {m.kind!r} does not fit phase {m.phase!r} (three-phase meters have "
                      "phase ABC)", f'meter "{m.id}"')
        if branches and m.branch not in branches:
            ctx.error("area[0].branches", f"meter {m.id} is on branch {m.branch!r}, which is not listed",
                      f'meter "{m.id}"')
    if ctx.issues:
        raise ConfigError(ctx.issues)
    detection = cfg.detection if "detection" in raw else params
    return AreaFile(area=dataclasses.replace(cfg, meters=tuple(meters), detection=detection), grid=grid,
                    branches=tuple(branches), detection=detection)
