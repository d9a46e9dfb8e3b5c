"""The gateway alert ``port_unavailable``: raised once per outage in each area with devices on the port,
cleared when the port is back, listed in the area's retained active list, and kept across a restart
(a port gone from the configuration is cleared). Payloads validate against the alert schemas."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from detect.alarms import Alert
from edge.daemon.port_alerts import STATE_KEY, PortAlerts
from edge.publish.serializers import Serializer
from edge.scheduler.port import PortEvent
from wire import stamp
from wire.schemas import validate

T0 = 1_790_000_000.0


@dataclass
class StandInEngine:
    alerts: list[Alert] = field(default_factory=list)

    def active_alerts(self) -> list[Alert]:
        return list(self.alerts)


class StandInRunner:
    """What PortAlerts uses of an AreaRunner: the area id, its serializer and engine, ``extra_active``."""

    def __init__(self, area: str) -> None:
        self.area = type("A", (), {"id": area})()
        self.serializer = Serializer(gateway="gw-7", grid="g1", area=area, topic_prefix="mw/v2")
        self.engine = StandInEngine()
        self.extra_active: Any = None


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[list[tuple[str, dict[str, Any], str, bool]], dict[str, bytes]]] = []

    async def submit_many(self, items, *, state: dict[str, bytes] | None = None) -> list[str]:
        for n, m in enumerate(items, 1):
            assert validate(stamp(m.payload, msg_id=f"gw-7:{n}", topic_seq=n if m.stream else None)) == m.kind
        self.calls.append(([(m.topic, m.payload, m.kind, m.retain) for m in items], dict(state or {})))
        return ["x"] * len(items)


def _alerts(runners: dict[str, StandInRunner], sink: Sink) -> PortAlerts:
    return PortAlerts(gateway="gw-7", topic_prefix="mw/v2", runners=runners, sink=sink,  # type: ignore[arg-type]
                      devices_on={"rs485-2": {"A01": 12, "A02": 3}, "ttu": {"A01": 1}})


def ev(state: str, ts: float, bus: str = "rs485-2", **kw: Any) -> PortEvent:
    return PortEvent(bus=bus, port="/dev/serial/by-id/usb-FTDI-if00", state=state, ts=ts,
                     error=kw.pop("error", "no such device"), attempts=kw.pop("attempts", 1),
                     down_s=kw.pop("down_s", 0.0))


def test_raised_once_in_every_area_on_the_port_and_listed_in_their_active_lists():
    runners = {a: StandInRunner(a) for a in ("A01", "A02", "A03")}
    sink = Sink()
    pa = _alerts(runners, sink)
    asyncio.run(pa.on_event(ev("unavailable", T0)))
    asyncio.run(pa.on_event(ev("unavailable", T0 + 5)))          # the same outage: nothing new
    (items, state), = sink.calls
    topics = [(t, kind) for t, _, kind, _ in items]
    assert topics == [("mw/v2/gw-7/g1/A01/alert", "alert"), ("mw/v2/gw-7/g1/A02/alert", "alert"),
                      ("mw/v2/gw-7/g1/A01/alerts/active", "alerts_active"), ("mw/v2/gw-7/g1/A02/alerts/active", "alerts_active")]
    a01 = items[0][1]
    assert a01["kind"] == "port_unavailable" and a01["state"] == "raised" and a01["severity"] == "major"
    assert a01["subject"] == {"type": "gateway", "id": "gw-7/rs485-2"} and a01["value"] == 12
    assert "端口不可用" in a01["message"] and "12 devices of this area not read" in a01["message"]
    assert a01["evidence"]["port"] == "/dev/serial/by-id/usb-FTDI-if00" and a01["alert_id"].startswith("A01:")
    assert [a["kind"] for a in items[2][1]["alerts"]] == ["port_unavailable"]
    assert runners["A01"].extra_active()[0].alert_id == a01["alert_id"]    # engine steps list it too
    assert runners["A03"].extra_active() == [] and STATE_KEY in state


def test_cleared_when_the_port_is_back_with_how_long_it_was_down():
    runners = {a: StandInRunner(a) for a in ("A01", "A02")}
    sink = Sink()
    pa = _alerts(runners, sink)
    asyncio.run(pa.on_event(ev("available", T0)))                  # a healthy start: no alert to clear
    asyncio.run(pa.on_event(ev("unavailable", T0 + 10)))
    asyncio.run(pa.on_event(ev("available", T0 + 70, attempts=6, down_s=61.0)))
    assert len(sink.calls) == 2
    items, state = sink.calls[1]
    cleared = [p for _, p, kind, _ in items if kind == "alert"]
    assert [c["state"] for c in cleared] == ["cleared", "cleared"]
    assert cleared[0]["evidence"]["down_s"] == 61.0 and cleared[0]["evidence"]["attempts"] == 6   # since it failed
    assert "端口恢复" in cleared[0]["message"] and cleared[0]["cleared_at"].startswith("2026-")
    assert all(p["alerts"] == [] for _, p, kind, _ in items if kind == "alerts_active")
    assert state[STATE_KEY] == b"[]"


def test_after_a_restart_an_active_alert_is_neither_raised_again_nor_forgotten():
    sink = Sink()
    before = _alerts({a: StandInRunner(a) for a in ("A01", "A02")}, sink)
    asyncio.run(before.on_event(ev("unavailable", T0)))
    asyncio.run(before.on_event(ev("unavailable", T0, bus="ttu")))
    blob = sink.calls[-1][1][STATE_KEY]
    # restarted with the TTU bus gone from the configuration
    runners = {a: StandInRunner(a) for a in ("A01", "A02")}
    after_sink = Sink()
    after = PortAlerts(gateway="gw-7", topic_prefix="mw/v2", runners=runners, sink=after_sink,  # type: ignore[arg-type]
                       devices_on={"rs485-2": {"A01": 12, "A02": 3}})
    asyncio.run(after.restore(blob, T0 + 100))
    (items, _), = after_sink.calls
    gone = [p for _, p, kind, _ in items if kind == "alert"]
    assert [(g["state"], g["evidence"]["bus"]) for g in gone] == [("cleared", "ttu")]
    assert "bus no longer configured" in gone[0]["message"]
    asyncio.run(after.on_event(ev("unavailable", T0 + 101)))       # still down after the restart: no new raise
    assert len(after_sink.calls) == 1
    asyncio.run(after.on_event(ev("available", T0 + 130)))
    cleared = [p for _, p, kind, _ in after_sink.calls[-1][0] if kind == "alert"]
    assert [c["alert_id"].split(":")[0] for c in cleared] == ["A01", "A02"]
    assert cleared[0]["evidence"]["down_s"] == 130.0             # counted from the raise before the restart


def test_an_unreadable_saved_state_starts_without_port_alerts():
    pa = _alerts({"A01": StandInRunner("A01")}, Sink())
    asyncio.run(pa.restore(b"not json", T0))
    assert pa.active == {}
