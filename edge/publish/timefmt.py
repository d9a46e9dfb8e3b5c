"""Timestamps on the wire: RFC 3339 UTC with a ``Z`` (the pattern every schema in ``schemas/`` pins)."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["rfc3339"]


def rfc3339(ts_s: float) -> str:
    """Epoch seconds -> ``2026-11-23T13:40:02Z`` (milliseconds shown only when not whole)."""
    dt = datetime.fromtimestamp(ts_s, tz=timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
