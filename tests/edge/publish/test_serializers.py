"""Real engine output, serialised, validates against the payload JSON Schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detect.alarms import Alert
from detect.engine import Output
from detect.params import OutageParams, Params
from edge.publish.serializers import Serializer
from tests.detect.sim import Sim, make_area
from wire import stamp
from wire.schemas import SchemaInvalid, undocumented, validate


def busy_sim() -> Sim:
    # master polled every 5 min here: master_silent_s above that cadence
    sim = Sim(make_area(n=20), step_s=300, params=Params(outage=OutageParams(master_silent_s=600.0)))
    sim.beta = (0.6, 0.3, 0.3)
    sim.run(60)
    sim.beta = (1.2, 0.9, 0.5)
    sim.meter_u[:3] = 190.0
    sim.silent[5] = True
    sim.run(24 * 60)
    sim.beta = (0.3, 0.3, 0.3)
    sim.run(60)
    return sim


@pytest.fixture(scope="module")
def sim() -> Sim:
    return busy_sim()


def serializer() -> Serializer:
    return Serializer(gateway="gw-1", grid="jinli-1", area="A01", topic_prefix="mw/v2")


def wire(payload: dict[str, Any], n: int = 1) -> dict[str, Any]:
    """As the outbox stores it: ids stamped, JSON round trip."""
    return json.loads(json.dumps(stamp(payload, msg_id=f"gw-1:{n}", topic_seq=n), allow_nan=False))


def test_every_summary_kind_validates_and_documents_every_property(sim: Sim) -> None:
    ser = serializer()
    kinds = set()
    for s in sim.summaries:
        payload = wire(ser.summary(s))
        kinds.add(validate(payload))
        # a property the engine adds must be documented in wire.kinds, or the collector drops it
        assert undocumented(payload, s.kind) == [], s.kind
    assert kinds == {"realtime", "interval", "daily", "meters_interval"}


def test_alert_events_and_active_list_validate(sim: Sim) -> None:
    ser = serializer()
    states = set()
    for a in sim.alerts:
        payload = wire(ser.alert(a))
        assert validate(payload) == "alert" and undocumented(payload, "alert") == []
        states.add(a.state)
    assert {"raised", "cleared"} <= states
    assert {a.kind for a in sim.alerts} >= {"overload", "overload_2h", "low_voltage", "meter_offline", "hotspot"}
    active = stamp(ser.alerts_active(sim.engine.active_alerts(), sim.t), msg_id="gw-1:9", topic_seq=None)
    assert validate(active) == "alerts_active" and active["alerts"]


def test_envelope_ids_timestamps_and_topics() -> None:
    ser = serializer()
    a = Alert(alert_id="A01:overload:transformer:master:1", state="raised", kind="overload", severity="major",
              subject_type="transformer", subject_id="master", value=97.0, threshold=95.0, unit="%",
              raised_at=1.5, cleared_at=None, ts=1.5, message="m", evidence={"x": float("nan")})
    p1 = ser.alert(a)
    assert "msg_id" not in p1 and "topic_seq" not in p1     # the outbox stamps them
    assert p1["schema"] == "meterwatch.alert/2" and p1["gateway"] == "gw-1"
    assert p1["ts"] == "1970-01-01T00:00:01.500Z" and p1["evidence"] == {"x": None}
    assert ser.topic("alerts_active") == "mw/v2/gw-1/jinli-1/A01/alerts/active"
    with pytest.raises(ValueError, match="not a finite"):
        ser.alert(Alert(**{**a.__dict__, "ts": float("nan")}))


def test_a_meter_alerts_subject_says_where_the_meter_is() -> None:
    ser = Serializer(gateway="gw-1", grid="jinli-1", area="A01", meters={"M1": ("B2", "C"), "M2": ("main", "ABC")})
    a = Alert(alert_id="A01:cover_open:meter:M1:1", state="raised", kind="cover_open", severity="warning",
              subject_type="meter", subject_id="M1", value=1.0, threshold=None, unit="events",
              raised_at=1.0, cleared_at=None, ts=1.0, message="m", evidence={})
    p = ser.alert(a)
    assert p["subject"] == {"type": "meter", "id": "M1", "branch": "B2", "phase": "C"}
    assert validate(stamp(p, msg_id="gw-1:1", topic_seq=1)) == "alert"
    three = ser.alerts_active([Alert(**{**a.__dict__, "subject_id": "M2"})], 2.0)["alerts"][0]["subject"]
    assert three == {"type": "meter", "id": "M2", "branch": "main", "phase": "ABC"}
    # an unplaced meter and a non-meter subject keep type and id only
    assert ser.alert(Alert(**{**a.__dict__, "subject_id": "M3"}))["subject"] == {"type": "meter", "id": "M3"}
    br = ser.alert(Alert(**{**a.__dict__, "kind": "outage_branch", "subject_type": "branch", "subject_id": "B2"}))
    assert br["subject"] == {"type": "branch", "id": "B2"}
    bad = stamp({**p, "subject": {**p["subject"], "phase": "D"}}, msg_id="gw-1:2", topic_seq=2)
    with pytest.raises(SchemaInvalid, match="subject/phase"):
        validate(bad)


def test_output_orders_summaries_alerts_then_active_list(sim: Sim) -> None:
    ser = serializer()
    sim2 = Sim(make_area(n=5))
    sim2.beta = (1.0, 1.0, 1.0)
    for _ in range(3):
        sim2.step()
    eng = sim2.engine
    out = Output(alerts=sim2.alerts, summaries=sim2.summaries[-2:])
    out_msgs = ser.output(out, active=eng.active_alerts(), ts=sim2.t)
    kinds = [m.kind for m in out_msgs]
    assert kinds[:2] == ["realtime", "realtime"] and kinds[-1] == "alerts_active" and "alert" in kinds
    assert [m.topic for m in out_msgs] == [ser.topic(k) for k in kinds]
    assert [m.retain for m in out_msgs] == [k == "alerts_active" for k in kinds]
    for n, m in enumerate(out_msgs, 1):
        validate(stamp(m.payload, msg_id=f"gw-1:{n}", topic_seq=n if m.stream else None))
