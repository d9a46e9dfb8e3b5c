"""One area for offline use (replay, evaluation): ``load_area_file(path) -> (Area, Params)``.

Accepts either a full edge configuration (``[gateway]``, ``[mqtt]``, buses, ``[[area]]``) or a bare area
file as ``meterwatch simulate --export`` writes it (``[[area]]`` with ``meters_csv``, plus ``grid`` and
``branches``). Parsing and validation are the configuration loader's (``edge.config.loader``); this only
picks the area and builds the engine's dense model.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from detect.area import Area
from detect.params import Params
from edge.area import build_area
from edge.config._lines import key_lines
from edge.config.loader import load_config_doc
from edge.errors import ConfigError, ConfigIssue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["load_area_file"]


def load_area_file(path: str | Path, area_id: str | None = None) -> tuple[Area, Params]:
    """The area (and its detection parameters) of a configuration or area file. With several areas,
    ``area_id`` chooses one. Raises ``ConfigError`` naming file, line and key for every problem."""
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
    bare = "gateway" not in doc
    cfg = load_config_doc(doc, key_lines(text), str(p), p.parent, areas_only=bare)
    areas = [a for a in cfg.areas if area_id in (None, a.id)]
    if len(areas) != 1:
        known = ", ".join(a.id for a in cfg.areas) or "none"
        what = f"no area {area_id!r}" if area_id else "several areas; choose one"
        raise ConfigError([ConfigIssue(file=str(p), line=None, key="area", message=f"{what} (areas: {known})")])
    grid = cfg.gateway.grid
    if bare:        # the grid of this very area, when the file names one
        raw = next((a for a in doc.get("area", []) if isinstance(a, dict) and a.get("id") == areas[0].id), {})
        grid = str(raw.get("grid") or grid)
    return build_area(areas[0], grid), areas[0].detection
