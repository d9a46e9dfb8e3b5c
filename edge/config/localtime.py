"""``gateway.timezone`` and ``utc_offset_s`` must tell the same local time.

The meters freeze their daily readings at local midnight of ``gateway.timezone``; the engine closes its
days at ``utc_offset_s`` (``[detection]``, per area ``[area.detection]``). When both are written and
disagree, daily energies and line loss are computed over days that are not the meters' days: rejected.
When ``utc_offset_s`` is not written it follows the time zone: its standard (smallest) offset over the
coming year. A zone with daylight saving time has two offsets; either is accepted when written, and the
engine's days then follow that one all year (docs/config.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from detect.params import Params
from edge.config.checks import timezone_problem, zone_offsets
from tomlconf import Doc

__all__ = ["check_area_offset", "gateway_params"]


def _fmt(offset_s: int) -> str:
    sign = "+" if offset_s >= 0 else "-"
    h, m = divmod(abs(offset_s) // 60, 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


def check_area_offset(doc: Doc, offset_s: int, key: str, timezone: str | None, device: str | None = None) -> None:
    """Report ``offset_s`` written at ``key`` when it is none of ``timezone``'s offsets."""
    if timezone is None or timezone_problem(timezone):
        return
    offsets = zone_offsets(timezone)
    if offset_s not in offsets:
        doc.error(key, f"{offset_s} ({_fmt(offset_s)}) disagrees with gateway.timezone {timezone!r} "
                  f"({' / '.join(_fmt(o) for o in offsets)}): the engine's days would not be the meters' days; "
                  "remove utc_offset_s (it follows the time zone) or correct one of the two", device)


def gateway_params(doc: Doc, params: Params, detection: Any, timezone: str | None) -> Params:
    """The gateway-wide parameters with ``utc_offset_s`` checked against, or taken from, the time zone."""
    written = isinstance(detection, dict) and "utc_offset_s" in detection
    if timezone is None or timezone_problem(timezone):
        return params
    if written:
        check_area_offset(doc, params.utc_offset_s, "detection.utc_offset_s", timezone)
        return params
    return dataclasses.replace(params, utc_offset_s=zone_offsets(timezone)[0])
