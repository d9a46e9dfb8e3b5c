"""Timestamps on the wire: RFC 3339 UTC with a ``Z`` (the pattern every payload schema pins).

``rfc3339`` writes them (the edge), ``parse_ns`` reads them back exactly (the collector): both ends of
the wire use this one module.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import lru_cache

__all__ = ["PATTERN", "parse_ns", "rfc3339"]

# Every wire timestamp: seconds, an optional fraction, UTC. Used by the JSON Schemas.
PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"


def rfc3339(ts_s: float) -> str:
    """Epoch seconds -> ``2026-11-23T13:40:02Z`` (milliseconds shown only when not whole)."""
    if not math.isfinite(ts_s):
        raise ValueError(f"timestamp {ts_s!r} is not a finite epoch time")
    dt = datetime.fromtimestamp(ts_s, tz=timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=8192)
def parse_ns(text: str) -> int:
    """``2026-03-01T00:15:00.250Z`` -> epoch nanoseconds, exact (no float rounding of the fraction).

    Raises ``ValueError`` naming the text when it is not an RFC 3339 UTC time."""
    if not text.endswith("Z"):
        raise ValueError(f"timestamp {text!r} is not UTC (must end in Z)")
    base, _, frac = text[:-1].partition(".")
    if frac and not frac.isdigit():
        raise ValueError(f"timestamp {text!r} has a bad fraction")
    try:
        dt = datetime.fromisoformat(base + "+00:00")
    except ValueError as e:
        raise ValueError(f"timestamp {text!r} is not RFC 3339: {e}") from None
    whole = int(dt.timestamp())
    return whole * 1_000_000_000 + int((frac + "000000000")[:9] or 0)
