"""Time zones for naive local timestamps: an IANA name (``Asia/Shanghai``) or a fixed offset (``+08:00``,
``UTC+8``) as the table the compiled scanner reads (``edge.imports._parse.localize``).

The table lists the zone's UTC offset changes between 1970 and 2100 (found from the zone database by daily
sampling and bisection to the second): an empty list for a fixed offset or a zone without daylight saving
time since 1970 apart from old changes (Asia/Shanghai kept DST 1986–1991: those years are in the table too).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import numpy.typing as npt

__all__ = ["Zone", "ZoneError", "parse_zone"]

_FIXED = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_T0 = datetime(1970, 1, 1, tzinfo=timezone.utc)
_YEARS = 130


class ZoneError(ValueError):
    """Not a time zone: the message says what is accepted."""


@dataclass(frozen=True)
class Zone:
    name: str
    transitions: npt.NDArray[np.float64]     # UTC instants of offset changes
    offsets: npt.NDArray[np.float64]         # offsets[k] holds before transitions[k] (last: after all)

    @property
    def fixed(self) -> bool:
        return self.transitions.size == 0

    def offset_s(self, utc: float) -> float:
        return float(self.offsets[np.searchsorted(self.transitions, utc, side="right")])

    def describe(self, utc: float | None = None) -> str:
        off = self.offset_s(utc) if utc is not None else (float(self.offsets[0]) if self.fixed else None)
        if off is None:
            return f"{self.name} (daylight saving time: {len(set(self.offsets.tolist()))} offsets)"
        return f"{self.name} (UTC{format_offset(off)})"


def format_offset(off: float) -> str:
    sign = "-" if off < 0 else "+"
    m = int(abs(off)) // 60
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


@functools.lru_cache(maxsize=32)
def parse_zone(text: str) -> Zone:
    """A ``Zone`` from an IANA name or a fixed offset; ``ZoneError`` saying what is accepted otherwise."""
    t = text.strip()
    m = _FIXED.match(t)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ZoneError(f"offset {text!r} is out of range (−12:00 .. +14:00)")
        off = (hours * 3600 + minutes * 60) * (-1 if m.group(1) == "-" else 1)
        return Zone(f"UTC{format_offset(off)}", np.zeros(0), np.array([float(off)]))
    if t.upper() in ("UTC", "Z", "GMT"):
        return Zone("UTC", np.zeros(0), np.array([0.0]))
    try:
        zi = zoneinfo.ZoneInfo(t)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ZoneError(f"{text!r} is neither an IANA time zone (e.g. Asia/Shanghai) nor a fixed offset "
                        "(e.g. +08:00)") from None
    return Zone(t, *_transitions(zi))


def _offset(zi: zoneinfo.ZoneInfo, utc: float) -> float:
    off = (_T0 + timedelta(seconds=utc)).astimezone(zi).utcoffset()
    return off.total_seconds() if off is not None else 0.0


def _transitions(zi: zoneinfo.ZoneInfo) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    days = np.arange(0, _YEARS * 366, 5) * 86400.0       # offsets never change twice within 5 days
    offs = np.array([_offset(zi, float(d)) for d in days])
    change = np.flatnonzero(offs[1:] != offs[:-1])
    times = []
    for k in change.tolist():
        lo, hi = days[k], days[k + 1]          # the offset changes within (lo, hi]
        while hi - lo > 1:
            mid = np.floor((lo + hi) / 2)
            if _offset(zi, mid) == offs[k]:
                lo = mid
            else:
                hi = mid
        times.append(hi)
    offsets = [offs[0], *(offs[k + 1] for k in change.tolist())]
    return np.array(times, dtype=np.float64), np.array(offsets, dtype=np.float64)
