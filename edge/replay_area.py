"""Load the area of a replay from a TOML file: ``load_area_file(path) -> (Area, Params)``.

The file is either a full edge configuration with exactly one ``[[area]]`` or an area file such as the
simulator's export writes (``area.toml`` + ``meters.csv``); ``edge.config.load_area_config`` reads and
validates both (see ``edge/config/area_file.py``). This module turns the result into the engine's dense
``Area``, with the branch order the file lists.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from detect.area import Area
from detect.params import Params
from edge.area import build_area
from edge.config import load_area_config

__all__ = ["load_area_file"]


def load_area_file(path: str | Path) -> tuple[Area, Params]:
    """The engine's ``Area`` and the ``Params`` that apply to it, from an area file or an edge config.

    Raises ``ConfigError`` naming file, line and key for every problem (missing meter CSV included).
    """
    af = load_area_config(path)
    area = build_area(af.area, af.grid)
    if af.branches:
        # the listed order, not the order of first appearance in the meter list
        index = {b: i for i, b in enumerate(af.branches)}
        remap = [index[name] for name in area.branches]
        area = dataclasses.replace(area, branches=af.branches,
                                   meter_branch=np.asarray(remap, np.int32)[area.meter_branch])
    return area, af.detection
