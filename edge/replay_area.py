"""Load the area of a replay from a TOML file: ``load_area_file(path) -> (Area, Params)``.

The file is either a full edge configuration (DESIGN §3; it must then hold exactly one ``[[area]]``) or an
area file such as the simulator's export writes (``area.toml`` + ``meters.csv``): one ``[[area]]`` table in
the DESIGN §3 shape, optionally top-level ``[detection.<group>]`` tables, and two replay-only keys in the
area table — ``grid`` (the service grid; in a full configuration it comes from ``[gateway]``) and
``branches`` (branch names in order, so the engine's branch index does not depend on meter order).

Validation reuses the configuration loader (same types, ranges, CSV checks and messages). Bus checks are
not made: a replay reads no bus. Every problem is collected into one ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from detect.area import Area
from detect.params import Params
from edge.area import build_area
from edge.config._lines import key_lines
from edge.config.loader import _build, _build_detection, _Ctx, _meters_from_csv, load_config_text
from edge.config.model import AreaConfig, MeterConfig
from edge.errors import ConfigError, ConfigIssue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_area_file"]

_REPLAY_KEYS = ("grid", "branches")


def load_area_file(path: str | Path) -> tuple[Area, Params]:
    """The engine's ``Area`` and the ``Params`` that apply to it, from an area file or an edge config.

    Raises ``ConfigError`` naming file, line and key for every problem (missing meter CSV included).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(file=str(p), line=None, key="<file>",
                                       message=f"cannot read: {exc.strerror}")]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise ConfigError([ConfigIssue(file=str(p), line=int(found.group(1)) if found else None, key="<toml>",
                                       message=f"not valid TOML: {exc}")]) from None
    if "gateway" in doc:
        cfg = load_config_text(text, str(p), p.parent)
        if len(cfg.areas) != 1:
            raise ConfigError([ConfigIssue(file=str(p), line=None, key="area",
                                           message=f"a replay needs exactly one [[area]], found {len(cfg.areas)}")])
        a = cfg.areas[0]
        return build_area(a, cfg.gateway.grid), a.detection
    return _area_only(doc, text, p)


def _area_only(doc: dict[str, Any], text: str, p: Path) -> tuple[Area, Params]:
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
    extra = {k: raw.pop(k) for k in _REPLAY_KEYS if k in raw}
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
    cfg = dataclasses.replace(cfg, meters=tuple(meters))
    area = build_area(cfg, grid)
    if branches:
        # the listed order, not the order of first appearance in the meter list
        index = {b: i for i, b in enumerate(branches)}
        remap = [index[name] for name in area.branches]
        area = dataclasses.replace(area, branches=tuple(branches),
                                   meter_branch=np.asarray(remap, np.int32)[area.meter_branch])
    detection = cfg.detection if "detection" in raw else params
    return area, detection
