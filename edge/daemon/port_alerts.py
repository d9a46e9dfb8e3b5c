"""The gateway alert ``port_unavailable``: a port that cannot be opened, raised once and cleared when
the port opens again (``PortEvent`` from ``edge.scheduler.port``).

One alert per area with devices on the port, on that area's alert topic (``P/{gateway}/{grid}/{area}/alert``), so
it reaches whoever watches the area, and listed in the area's retained ``alerts/active`` with the
engine's alerts. Subject: ``{"type": "gateway", "id": "<gateway>/<bus>"}``; value: the area's devices on
the port (unit ``devices``); evidence: bus, port, error, attempts, seconds down. The active alerts are
kept in the outbox's state (``STATE_KEY``) in the same transaction as the messages: after a restart an
alert is neither raised a second time nor forgotten (a port gone from the configuration is cleared).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from detect.alarms import Alert
from edge.pipeline import AreaRunner, MessageSink
from edge.scheduler.port import PortEvent
from wire import Outgoing

__all__ = ["KIND", "STATE_KEY", "PortAlerts"]

log = logging.getLogger(__name__)

KIND = "port_unavailable"
STATE_KEY = "gateway:port_alerts"
SEVERITY = "major"       # every device behind the port goes unread


class PortAlerts:
    """Raises and clears ``port_unavailable`` for the ports of ``devices_on`` (bus -> {area: devices})."""

    def __init__(self, *, gateway: str, topic_prefix: str, runners: Mapping[str, AreaRunner], sink: MessageSink,
                 devices_on: Mapping[str, Mapping[str, int]]) -> None:
        self.gateway = gateway
        self.prefix = topic_prefix
        self.runners = runners
        self.sink = sink
        self.devices_on = devices_on
        self.active: dict[tuple[str, str], Alert] = {}        # (area, bus) -> the raised alert
        for runner in runners.values():
            runner.extra_active = functools.partial(self.of_area, runner.area.id)

    def of_area(self, area: str) -> list[Alert]:
        return sorted((a for (ar, _), a in self.active.items() if ar == area), key=lambda a: a.raised_at)

    # ---- restart ---------------------------------------------------------------------------------

    async def restore(self, blob: bytes | None, now: float) -> None:
        """Take back the alerts active at the last stop; clear those of ports no longer configured."""
        if not blob:
            return
        try:
            items = [Alert.from_dict(d) for d in json.loads(blob)]
        except (ValueError, TypeError) as exc:
            log.error("saved port alerts not usable (%s); starting without them", exc)
            return
        gone = []
        for a in items:
            area, bus = a.alert_id.split(":", 1)[0], str(a.evidence.get("bus", ""))
            if area in self.runners and area in self.devices_on.get(bus, {}):
                self.active[(area, bus)] = a
            elif area in self.runners:
                gone.append(_cleared(a, now, "bus no longer configured / 总线已不在配置中"))
        if gone:
            await self._store(gone)

    # ---- events ----------------------------------------------------------------------------------

    async def on_event(self, ev: PortEvent) -> None:
        """A port became unavailable or available: raise or clear its alert in each of its areas."""
        changed = []
        for area, n in self.devices_on.get(ev.bus, {}).items():
            key = (area, ev.bus)
            if ev.state == "unavailable" and key not in self.active:
                self.active[key] = alert = self._raised(area, n, ev)
                changed.append(alert)
            elif ev.state == "available" and key in self.active:
                raised = self.active.pop(key)
                down_s = max(ev.ts - raised.raised_at, ev.down_s)    # the alert may be from before a restart
                changed.append(_cleared(raised, ev.ts,
                                        f"端口恢复：总线 {ev.bus}（{ev.port}）中断 {down_s:.0f} 秒后恢复 / port available "
                                        f"again: bus {ev.bus} ({ev.port}) after {down_s:.0f} s",
                                        down_s=round(down_s, 3), attempts=ev.attempts))
        if changed:
            await self._store(changed)

    def _raised(self, area: str, n: int, ev: PortEvent) -> Alert:
        return Alert(
            alert_id=f"{area}:{KIND}:gateway:{ev.bus}:{math.floor(ev.ts)}", state="raised", kind=KIND,
            severity=SEVERITY, subject_type="gateway", subject_id=f"{self.gateway}/{ev.bus}", value=float(n),
            threshold=None, unit="devices", raised_at=ev.ts, cleared_at=None, ts=ev.ts,
            message=(f"端口不可用：总线 {ev.bus}（{ev.port}），本台区 {n} 台设备无法抄读 / port unavailable: bus "
                     f"{ev.bus} ({ev.port}), {n} devices of this area not read: {ev.error}"),
            evidence={"bus": ev.bus, "port": ev.port, "error": ev.error, "devices": n, "attempts": ev.attempts,
                      "down_s": round(ev.down_s, 3)})

    async def _store(self, changed: list[Alert]) -> None:
        """The alert events and each touched area's active list, with the state, in one transaction."""
        items: list[Outgoing] = []
        for a in changed:
            ser = self.runners[a.alert_id.split(":", 1)[0]].serializer
            items.append(Outgoing(ser.topic("alert"), "alert", ser.alert(a)))
        for area in dict.fromkeys(a.alert_id.split(":", 1)[0] for a in changed):
            runner = self.runners[area]
            ser = runner.serializer
            active = [*runner.engine.active_alerts(), *self.of_area(area)]
            items.append(Outgoing(ser.topic("alerts_active"), "alerts_active", ser.alerts_active(active, changed[-1].ts)))
        state = json.dumps([a.to_dict() for a in self.active.values()]).encode()
        await self.sink.submit_many(items, state={STATE_KEY: state})
        for a in changed:
            log.info("alert %s %s: %s", a.state, a.alert_id, a.message)


def _cleared(a: Alert, ts: float, message: str, **evidence: Any) -> Alert:
    return dataclasses.replace(a, state="cleared", ts=ts, cleared_at=ts, message=message,
                               evidence={**a.evidence, **evidence})
