"""Engine output (alerts, summaries, the active-alert list) to the wire's payloads (``wire.kinds``).

Shared by the daemon and replay so both publish byte-for-byte the same JSON. A payload here has the
envelope ``schema, gateway, grid, area, ts``; ``msg_id`` and ``topic_seq`` are set by the outbox when it
stores the message (``wire.message.stamp``). Timestamps are RFC 3339 UTC with ``Z``; once stamped, every
payload validates against its kind's schema (``wire.schemas``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from detect.alarms import Alert
from detect.engine import Active, Output, Summary
from wire import KINDS, Outgoing
from wire.timefmt import rfc3339
from wire.topics import DEFAULT_PREFIX, area_topic

__all__ = ["Serializer"]

# Summary fields that are event times (epoch s) in the engine and RFC 3339 strings on the wire.
_TIME_FIELDS = frozenset({"interval_start", "interval_end", "day_start", "day_end"})
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
    """Builds the payloads and topics of one area of one gateway."""

    def __init__(self, *, gateway: str, grid: str, area: str, topic_prefix: str = DEFAULT_PREFIX,
                 meters: Mapping[str, tuple[str, str]] | None = None) -> None:
        """``meters``: where each meter of the area is, its (branch, phase): a meter alert's subject carries
        them, so alert routing can tell a branch or phase outage's own meters from the rest
        (docs/alerting.md, inhibition)."""
        if not gateway or not grid or not area:
            raise ValueError(f"serializer needs gateway, grid and area (got {gateway!r}, {grid!r}, {area!r})")
        self.gateway, self.grid, self.area, self.prefix = gateway, grid, area, topic_prefix
        self.meters: Mapping[str, tuple[str, str]] = meters or {}

    def topic(self, kind: str) -> str:
        return area_topic(self.prefix, self.gateway, self.grid, self.area, kind)

    def _envelope(self, kind: str, ts: float) -> dict[str, Any]:
        return {"schema": KINDS[kind].tag, "gateway": self.gateway, "grid": self.grid, "area": self.area,
                "ts": rfc3339(ts)}

    def _subject(self, a: Alert) -> dict[str, str]:
        subject = {"type": a.subject_type, "id": a.subject_id}
        if a.subject_type == "meter" and (where := self.meters.get(a.subject_id)):
            subject["branch"], subject["phase"] = where
        return subject

    def _alert_body(self, a: Alert) -> dict[str, Any]:
        return {
            "alert_id": a.alert_id, "state": a.state, "kind": a.kind, "severity": a.severity,
            "subject": self._subject(a), "value": _json_value(a.value),
            "threshold": _json_value(a.threshold), "unit": a.unit, "raised_at": rfc3339(a.raised_at),
            "cleared_at": rfc3339(a.cleared_at) if a.cleared_at is not None else None, "message": a.message,
            "evidence": _json_value(a.evidence),
        }

    def alert(self, a: Alert) -> dict[str, Any]:
        """One alert event payload (``alert``)."""
        return self._envelope("alert", a.ts) | self._alert_body(a)

    def alerts_active(self, alerts: Iterable[Alert], ts: float) -> dict[str, Any]:
        """The retained list of active alerts (``alerts_active``)."""
        return self._envelope("alerts_active", ts) | {"alerts": [self._alert_body(a) for a in alerts]}

    def summary(self, s: Summary) -> dict[str, Any]:
        """A realtime / interval / daily / meters_interval summary payload."""
        body = {k: (rfc3339(v) if k in _TIME_FIELDS and v is not None else _json_value(v)) for k, v in s.fields.items()}
        return self._envelope(s.kind, s.ts) | body

    def output(self, out: Output, *, active: Iterable[Alert] | None = None,
               ts: float | None = None) -> list[Outgoing]:
        """Every message of one ``advance`` in publication order: summaries, alert events, then the
        active list if any alert changed (``active`` and ``ts`` given)."""
        msgs = [Outgoing(self.topic(s.kind), s.kind, self.summary(s)) for s in out.summaries]
        msgs += [Outgoing(self.topic("alert"), "alert", self.alert(a)) for a in out.alerts]
        if out.alerts and active is not None and ts is not None:
            msgs.append(Outgoing(self.topic("alerts_active"), "alerts_active", self.alerts_active(active, ts)))
        return msgs

    def in_order(self, out: Output, others: Iterable[Alert] = (), extra: Iterable[Alert] = ()) -> list[Outgoing]:
        """Every message of one ``advance`` in the order the engine made them (``out.sequence``): summaries,
        alert events and the active list where the engine put it, with the gateway's ``others`` (its
        plausibility alerts) sorted in by raise time and its ``extra`` active alerts after them. These
        messages depend only on the data, not on how the engine was advanced."""
        others, extra = list(others), list(extra)
        msgs: list[Outgoing] = []
        for item in out.sequence:
            if isinstance(item, Summary):
                msgs.append(Outgoing(self.topic(item.kind), item.kind, self.summary(item)))
            elif isinstance(item, Active):
                active = sorted([*item.alerts, *others], key=lambda a: (a.raised_at, a.alert_id))
                msgs.append(Outgoing(self.topic("alerts_active"), "alerts_active",
                                     self.alerts_active([*active, *extra], item.ts)))
            else:
                msgs.append(Outgoing(self.topic("alert"), "alert", self.alert(item)))
        return msgs
