"""One area for offline use (replay, evaluation): ``load_area_file(path) -> (Area, Params)``.

Accepts either a full edge configuration (``[gateway]``, ``[mqtt]``, buses, ``[[area]]``) or a bare area
file as ``meterwatch simulate --export`` writes it (``[[area]]`` with ``meters_csv``, plus ``grid`` and
``branches``). Parsing and validation are the configuration loader's (``edge.config.loader``); this only
picks the area and builds the engine's dense model, with branches in the order the file lists them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from detect.area import Area
from detect.params import Params
from edge.area import build_area
from edge.config.loader import load_config_doc, parse_toml, read_text
from edge.errors import ConfigError, ConfigIssue
from tomlconf import key_lines

__all__ = ["load_area_file"]


def load_area_file(path: str | Path, area_id: str | None = None) -> tuple[Area, Params]:
    """The area (and its detection parameters) of a configuration or area file. With several areas,
    ``area_id`` chooses one. Raises ``ConfigError`` naming file, line and key for every problem."""
    p = Path(path)
    text = read_text(p)
    doc = parse_toml(text, str(p))
    bare = "gateway" not in doc
    cfg = load_config_doc(doc, key_lines(text), str(p), p.parent, areas_only=bare)
    areas = [a for a in cfg.areas if area_id in (None, a.id)]
    if len(areas) != 1:
        known = ", ".join(a.id for a in cfg.areas) or "none"
        what = (f"no area {area_id!r}" if area_id else
                "several areas; choose one" if cfg.areas else "exactly one [[area]] is needed")
        raise ConfigError([ConfigIssue(file=str(p), line=None, key="area", message=f"{what} (areas: {known})")])
    chosen = areas[0]
    raw = next((a for a in doc.get("area", []) if isinstance(a, dict) and a.get("id") == chosen.id), {})
    grid = str(raw.get("grid") or cfg.gateway.grid) if bare else cfg.gateway.grid
    area = build_area(chosen, grid)
    listed = tuple(str(b) for b in raw.get("branches", ()) or ())
    if listed:
        unlisted = [ConfigIssue(file=str(p), line=None, key="area.branches", device=f'meter "{m.id}"',
                                message=f"meter {m.id} is on branch {m.branch!r}, which is not listed in {list(listed)}")
                    for m in chosen.meters if m.branch not in listed]
        if unlisted:
            raise ConfigError(unlisted)
        index = {b: i for i, b in enumerate(listed)}
        remap = np.asarray([index[name] for name in area.branches], np.int32)
        area = dataclasses.replace(area, branches=listed, meter_branch=remap[area.meter_branch])
    return area, chosen.detection
