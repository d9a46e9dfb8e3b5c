"""Engine output (alerts, summaries, the active-alert list) to the MQTT payloads of DESIGN §5.

Shared by the daemon and replay so both publish byte-for-byte the same JSON. The envelope is
``schema, msg_id, gateway, grid, area, ts``; ``msg_id`` comes from a caller-provided sequence (the outbox
owns uniqueness per gateway), timestamps are RFC 3339 UTC with ``Z``. Every payload validates against
``schemas/<kind>.json`` (see ``edge.publish.schemas``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from detect.alarms import Alert
from detect.engine import Output, Summary
from edge.publish.schemas import TOPICS

__all__ = ["SCHEMA_VERSION", "Serializer", "rfc3339", "topic_for"]

SCHEMA_VERSION = 1
# Summary fields that are event times (epoch s) in the engine and RFC 3339 strings on the wire.
_TIME_FIELDS = frozenset({"interval_start", "interval_end", "day_start", "day_end"})


def rfc3339(ts: float) -> str:
    """Epoch seconds to ``2026-11-23T13:35:00Z`` (milliseconds kept only when present)."""
    if not math.isfinite(ts):
        raise ValueError(f"timestamp {ts!r} is not a finite epoch time")
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def topic_for(prefix: str, grid: str, area: str, kind: str) -> str:
    """``P/{grid}/{area}/<suffix>`` for an area payload kind."""
    return f"{prefix}/{grid}/{area}/{TOPICS[kind]}"


_PLAIN = (int, bool, str)


def _json_value(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        # fast path for the long per-meter float lists of meters/interval (most of a replay's payload bytes):
        # x - x == 0.0 is False exactly for NaN and ±inf
        return [(x if x - x == 0.0 else None) if type(x) is float else
                (x if x is None or type(x) in _PLAIN else _json_value(x)) for x in v]
    if hasattr(v, "item"):          # numpy scalar
        return _json_value(v.item())
    return v


class Serializer:
    """Builds payloads for one area of one gateway; ``msg_ids`` yields a fresh id per payload."""

    def __init__(self, *, gateway: str, grid: str, area: str, msg_ids: Iterator[str] | Callable[[], str],
                 topic_prefix: str = "meterwatch/v1") -> None:
        if not gateway or not grid or not area:
            raise ValueError(f"serializer needs gateway, grid and area (got {gateway!r}, {grid!r}, {area!r})")
        self.gateway, self.grid, self.area, self.prefix = gateway, grid, area, topic_prefix
        self._next: Callable[[], str] = msg_ids if callable(msg_ids) else (lambda: next(msg_ids))

    def _envelope(self, kind: str, ts: float) -> dict[str, Any]:
        return {"schema": f"meterwatch.{kind}/{SCHEMA_VERSION}", "msg_id": self._next(), "gateway": self.gateway,
                "grid": self.grid, "area": self.area, "ts": rfc3339(ts)}

    @staticmethod
    def _alert_body(a: Alert) -> dict[str, Any]:
        return {
            "alert_id": a.alert_id, "state": a.state, "kind": a.kind, "severity": a.severity,
            "subject": {"type": a.subject_type, "id": a.subject_id}, "value": _json_value(a.value),
            "threshold": _json_value(a.threshold), "unit": a.unit, "raised_at": rfc3339(a.raised_at),
            "cleared_at": rfc3339(a.cleared_at) if a.cleared_at is not None else None, "message": a.message,
            "evidence": _json_value(a.evidence),
        }

    def alert(self, a: Alert) -> dict[str, Any]:
        """One alert event payload (``meterwatch.alert/1``)."""
        return self._envelope("alert", a.ts) | self._alert_body(a)

    def alerts_active(self, alerts: Iterable[Alert], ts: float) -> dict[str, Any]:
        """The retained list of active alerts (``meterwatch.alerts_active/1``)."""
        return self._envelope("alerts_active", ts) | {"alerts": [self._alert_body(a) for a in alerts]}

    def summary(self, s: Summary) -> dict[str, Any]:
        """A realtime / interval / daily / meters_interval summary payload."""
        body = {k: (rfc3339(v) if k in _TIME_FIELDS and v is not None else _json_value(v)) for k, v in s.fields.items()}
        return self._envelope(s.kind, s.ts) | body

    def output(self, out: Output, *, active: Iterable[Alert] | None = None,
               ts: float | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Every payload of one ``advance``, as (topic, payload) in publication order: summaries, alert
        events, then the active list if any alert changed (``active`` and ``ts`` given)."""
        msgs = [(topic_for(self.prefix, self.grid, self.area, s.kind), self.summary(s)) for s in out.summaries]
        msgs += [(topic_for(self.prefix, self.grid, self.area, "alert"), self.alert(a)) for a in out.alerts]
        if out.alerts and active is not None and ts is not None:
            msgs.append((topic_for(self.prefix, self.grid, self.area, "alerts_active"),
                         self.alerts_active(active, ts)))
        return msgs
