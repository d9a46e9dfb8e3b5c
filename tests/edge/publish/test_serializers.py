"""Real engine output, serialised, validates against the payload JSON Schemas."""

from __future__ import annotations

import itertools
import json

import pytest

from detect.alarms import Alert
from detect.engine import Output
from detect.params import OutageParams, Params
from edge.publish.schemas import validate
from edge.publish.serializers import Serializer, rfc3339, topic_for
from tests.detect.sim import Sim, make_area


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
    ids = (f"gw-1-{i}" for i in itertools.count(1))
    return Serializer(gateway="gw-1", grid="jinli-1", area="A01", msg_ids=ids)


def test_every_summary_kind_validates(sim: Sim) -> None:
    ser = serializer()
    kinds = set()
    for s in sim.summaries:
        payload = ser.summary(s)
        kinds.add(validate(json.loads(json.dumps(payload, allow_nan=False))))
    assert kinds == {"realtime", "interval", "daily", "meters_interval"}


def test_alert_events_and_active_list_validate(sim: Sim) -> None:
    ser = serializer()
    states = set()
    for a in sim.alerts:
        payload = ser.alert(a)
        assert validate(json.loads(json.dumps(payload, allow_nan=False))) == "alert"
        states.add(a.state)
    assert {"raised", "cleared"} <= states
    assert {a.kind for a in sim.alerts} >= {"overload", "overload_2h", "low_voltage", "meter_offline", "hotspot"}
    active = ser.alerts_active(sim.engine.active_alerts(), sim.t)
    assert validate(active) == "alerts_active" and active["alerts"]


def test_envelope_ids_timestamps_and_topics() -> None:
    ser = serializer()
    a = Alert(alert_id="A01:overload:transformer:master:1", state="raised", kind="overload", severity="major",
              subject_type="transformer", subject_id="master", value=97.0, threshold=95.0, unit="%",
              raised_at=1.5, cleared_at=None, ts=1.5, message="m", evidence={"x": float("nan")})
    p1, p2 = ser.alert(a), ser.alert(a)
    assert (p1["msg_id"], p2["msg_id"]) == ("gw-1-1", "gw-1-2")
    assert p1["ts"] == "1970-01-01T00:00:01.500Z" and p1["evidence"] == {"x": None}
    assert rfc3339(1763904900.0) == "2025-11-23T13:35:00Z"
    assert topic_for("meterwatch/v1", "jinli-1", "A01", "alerts_active") == "meterwatch/v1/jinli-1/A01/alerts/active"
    with pytest.raises(ValueError, match="not a finite"):
        rfc3339(float("nan"))


def test_output_orders_summaries_alerts_then_active_list(sim: Sim) -> None:
    ser = serializer()
    sim2 = Sim(make_area(n=5))
    sim2.beta = (1.0, 1.0, 1.0)
    for _ in range(3):
        sim2.step()
    eng = sim2.engine
    out = Output(alerts=sim2.alerts, summaries=sim2.summaries[-2:])
    out_msgs = ser.output(out, active=eng.active_alerts(), ts=sim2.t)
    topics = [t.rsplit("/", 1)[-1] for t, _ in out_msgs]
    assert topics[:2] == ["realtime", "realtime"] and topics[-1] == "active" and "alert" in topics
    for _, payload in out_msgs:
        validate(payload)
