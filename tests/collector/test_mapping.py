from __future__ import annotations

import re
from pathlib import Path

import pytest

from collector.lineproto import Point
from collector.mapping import MEASUREMENTS, MappingError, map_payload
from collector.testing import AreaSpec, area_stream
from wire import KINDS
from wire.schemas import validate


def kind_of(payload: dict) -> str:
    return validate(payload)


DOC = (Path(__file__).resolve().parents[2] / "docs" / "influx-schema.md").read_text()
STREAM = list(area_stream(AreaSpec(meters=7, intervals=6)))


def _points(kind: str) -> list[tuple[dict, list[Point]]]:
    return [(m.payload, map_payload(kind, m.payload)) for m in STREAM if kind_of(m.payload) == kind]


def test_generator_covers_every_payload_kind_with_schema_valid_payloads():
    assert sorted({validate(m.payload) for m in STREAM}) == sorted(KINDS)


def test_every_emitted_measurement_tag_and_field_is_documented():
    documented = set(re.findall(r"`([a-z_*<>]+)`", DOC))
    for m in STREAM:
        for p in map_payload(kind_of(m.payload), m.payload):
            assert p.measurement in MEASUREMENTS and p.measurement in documented
            tags, fields = MEASUREMENTS[p.measurement]
            assert set(p.tags) <= set(tags)
            for f in p.fields:
                dynamic = re.sub(r"^(counter|engine)_.*", r"\1_<name>", f)
                assert f in fields or dynamic in documented, (p.measurement, f)
                assert f in documented or dynamic in documented, f
            for t in tags:
                assert t in documented


def test_mapping_is_deterministic_so_redelivery_overwrites_the_same_points():
    for m in STREAM:
        kind = kind_of(m.payload)
        assert map_payload(kind, m.payload) == map_payload(kind, dict(m.payload))


def test_realtime_point_carries_numbers_and_leaves_nulls_out():
    payload, (p,) = _points("realtime")[0]
    assert p.measurement == "realtime" and p.tags == {"grid": "jinli-1", "area": "A01", "gateway": "gw-0001"}
    assert p.fields["load_pct"] == payload["load_pct"] and p.fields["msg_id"] == payload["msg_id"]
    assert "time_to_limit_min" not in p.fields  # null in the payload
    assert p.time_ns % 1_000_000_000 == 250_000_000  # the payload's ts, milliseconds kept


def test_meters_interval_becomes_one_point_per_meter_at_interval_start():
    payload, pts = _points("meters_interval")[0]
    assert [p.tags["meter"] for p in pts] == payload["meters"]
    for i, p in enumerate(pts):
        assert p.fields["read"] is payload["read"][i]
        assert p.fields.get("e_kwh") == payload["e_kwh"][i]
        assert p.time_ns == pts[0].time_ns
    assert pts[0].time_ns < map_payload("meters_interval", payload)[0].time_ns + 1
    unread = [p for i, p in enumerate(pts) if not payload["read"][i]]
    assert all("e_kwh" not in p.fields for p in unread)


def test_alert_lifecycle_points_share_the_alert_id_and_carry_state_and_message():
    alerts = [pts[0] for _, pts in _points("alert")]
    first = alerts[0].tags["alert_id"]
    states = [p.fields["state"] for p in alerts if p.tags["alert_id"] == first]
    assert states == ["raised", "updated", "cleared"]
    cleared = next(p for p in alerts if p.fields["state"] == "cleared")
    assert cleared.fields["active"] == 0.0 and "value" not in cleared.fields and "cleared_at" in cleared.fields
    assert '"peak": 128.5' in str(cleared.fields["evidence"])


def test_daily_gives_area_point_and_one_point_per_suspect_at_day_start():
    payload, pts = _points("daily")[0]
    assert pts[0].measurement == "area_daily" and pts[0].fields["band"] == "qualified"
    suspects = pts[1:]
    assert [p.tags["meter"] for p in suspects] == [s["meter"] for s in payload["suspects"]]
    assert {p.time_ns for p in pts} == {pts[0].time_ns}


def test_health_gives_gateway_point_and_one_per_bus_with_flattened_counters():
    _payload, pts = _points("health")[0]
    gw, *buses = pts
    assert gw.fields["counter_mqtt_published"] == 20.0 and gw.fields["outbox_superseded"] == 0.0
    assert [b.tags["bus"] for b in buses] == ["rs485-1", "ttu"]
    assert "lateness_s" not in buses[0].fields


def test_ragged_meter_arrays_are_refused():
    payload = next(p for p, _ in _points("meters_interval"))
    with pytest.raises(MappingError, match="one entry per meter"):
        map_payload("meters_interval", {**payload, "u_min": payload["u_min"][:-1]})


def test_tag_values_that_line_protocol_cannot_carry_are_refused():
    payload = next(p for p, _ in _points("realtime"))
    with pytest.raises(MappingError, match="area"):
        map_payload("realtime", {**payload, "area": "A\n01"})


def test_duplicate_meters_are_refused():
    payload = next(p for p, _ in _points("meters_interval"))
    meters = list(payload["meters"])
    meters[1] = meters[0]
    with pytest.raises(MappingError, match="twice"):
        map_payload("meters_interval", {**payload, "meters": meters})
