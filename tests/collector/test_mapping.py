from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.lineproto import Point
from collector.mapping import MappingError, for_server, map_payload
from collector.schema import MEASUREMENTS
from collector.schemadoc import render
from collector.testing import AreaSpec, area_stream
from wire import KINDS
from wire.schemas import validate

ROOT = Path(__file__).resolve().parents[2]
STREAM = list(area_stream(AreaSpec(meters=7, intervals=6)))


def _points(kind: str) -> list[tuple[dict, list[Point]]]:
    return [(m.payload, map_payload(kind, m.payload)) for m in STREAM if validate(m.payload) == kind]


def test_generator_covers_every_payload_kind_with_schema_valid_payloads():
    assert sorted({validate(m.payload) for m in STREAM}) == sorted(KINDS)


@pytest.mark.parametrize("server", ["influxdb", "victoriametrics"])
def test_every_emitted_measurement_tag_and_field_is_declared(server):
    seen = set()
    for m in STREAM:
        for p in for_server(map_payload(validate(m.payload), m.payload), server):
            spec = MEASUREMENTS[p.measurement]
            seen.add(p.measurement)
            assert set(p.tags) <= set(spec.tag_keys(server)), (p.measurement, p.tags)
            assert set(p.fields) <= set(spec.fields(server)), (p.measurement, set(p.fields) - set(spec.fields(server)))
            if server == "victoriametrics":
                assert not any(isinstance(v, str) for v in p.fields.values())
    assert seen == set(MEASUREMENTS) - {"collector_gap"}      # that one is the collector's own


def test_docs_influx_schema_md_is_generated_from_the_declarations():
    assert (ROOT / "docs" / "influx-schema.md").read_text(encoding="utf-8") == render(), \
        "docs/influx-schema.md drifted: run python -m collector.schemadoc > docs/influx-schema.md"


def test_mapping_is_deterministic_so_redelivery_overwrites_the_same_points():
    for m in STREAM:
        kind = validate(m.payload)
        assert map_payload(kind, m.payload) == map_payload(kind, json.loads(json.dumps(m.payload)))


def test_realtime_point_carries_numbers_and_leaves_nulls_and_the_envelope_out():
    payload, (p,) = _points("realtime")[0]
    assert p.measurement == "realtime" and p.tags == {"grid": "jinli-1", "area": "A01", "gateway": "gw-0001"}
    assert p.fields["load_pct"] == payload["load_pct"] and p.fields["msg_id"] == payload["msg_id"]
    assert "time_to_limit_min" not in p.fields and "topic_seq" not in p.fields
    assert p.time_ns % 1_000_000_000 == 250_000_000  # the payload's ts, milliseconds kept


def test_meters_interval_becomes_one_point_per_meter_at_interval_start():
    payload, pts = _points("meters_interval")[0]
    assert [p.tags["meter"] for p in pts] == payload["meters"]
    for i, p in enumerate(pts):
        assert p.fields["read"] is payload["read"][i]
        assert p.fields.get("e_kwh") == payload["e_kwh"][i]
        assert p.time_ns == pts[0].time_ns
    unread = [p for i, p in enumerate(pts) if not payload["read"][i]]
    assert all("e_kwh" not in p.fields for p in unread)


def test_alert_ids_are_fields_on_influxdb_and_labels_on_victoriametrics():
    alerts = [(payload, pts[0]) for payload, pts in _points("alert")]
    first = alerts[0][1].fields["alert_id"]
    life = [p for _, p in alerts if p.fields["alert_id"] == first]
    assert [p.fields["state"] for p in life] == ["raised", "updated", "cleared"]
    assert all("alert_id" not in p.tags and "subject_id" not in p.tags for _, p in alerts)
    cleared = life[-1]
    assert cleared.fields["active"] == 0.0 and "value" not in cleared.fields and "cleared_at" in cleared.fields
    assert '"peak": 128.5' in str(cleared.fields["evidence"])
    (vm,) = for_server([cleared], "victoriametrics")
    assert vm.tags["alert_id"] == first and set(vm.fields) == {"active", "threshold"}


def test_alert_events_of_one_step_get_distinct_times_that_a_redelivery_repeats():
    same_ms: dict[int, list[int]] = {}
    for payload, (p,) in _points("alert"):
        assert p.time_ns // 1_000_000 * 1_000_000 == map_payload("realtime", {**_points("realtime")[0][0],
                                                                              "ts": payload["ts"]})[0].time_ns
        assert p.time_ns % 1_000_000 == payload["topic_seq"]
        same_ms.setdefault(p.time_ns // 1_000_000, []).append(p.time_ns)
    assert any(len(v) > 1 for v in same_ms.values()), "the stream has no two events in one step"
    assert all(len(set(v)) == len(v) for v in same_ms.values())


def test_daily_gives_area_point_and_one_point_per_rank_at_day_start():
    payload, pts = _points("daily")[0]
    assert pts[0].measurement == "area_daily" and pts[0].fields["band"] == "qualified"
    suspects = pts[1:]
    assert [(p.tags["rank"], p.fields["meter"]) for p in suspects] == [
        (str(s["rank"]), s["meter"]) for s in payload["suspects"]]
    assert {p.time_ns for p in pts} == {pts[0].time_ns}
    with pytest.raises(MappingError, match="same rank twice"):
        map_payload("daily", {**payload, "suspects": payload["suspects"][:1] * 2})
    # the inspector's figures: estimated stolen energy per day (absent when not estimated) and since when
    assert [p.fields.get("stolen_kwh_per_day") for p in suspects] == [12.5, 11.5, None]
    assert {p.fields["since"] for p in suspects} == {payload["date"]}


def test_health_gives_gateway_bus_and_engine_points_with_documented_counters_only():
    payload, pts = _points("health")[0]
    gw, *rest = pts
    assert gw.fields["counter_mqtt_published"] == 20.0 and gw.fields["outbox_superseded"] == 0.0
    buses = [p for p in rest if p.measurement == "bus_health"]
    engine = [p for p in rest if p.measurement == "area_engine"]
    assert [b.tags["bus"] for b in buses] == ["rs485-1", "ttu"] and "lateness_s" not in buses[0].fields
    assert engine[0].tags == {"gateway": "gw-0001", "area": "A01"} and engine[0].fields["steps"] == 15.0
    bloated = {**payload, "counters": {**payload["counters"], **{f"x{i}": 1.0 for i in range(5000)}},
               "outbox": {**payload["outbox"], "invented": 3}}
    (gw2, *_) = map_payload("health", bloated)
    assert set(gw2.fields) == set(gw.fields), "undocumented counters must not become fields"


def test_ragged_meter_arrays_and_duplicate_meters_are_refused():
    payload = next(p for p, _ in _points("meters_interval"))
    with pytest.raises(MappingError, match="one entry per meter"):
        map_payload("meters_interval", {**payload, "u_min": payload["u_min"][:-1]})
    meters = list(payload["meters"])
    meters[1] = meters[0]
    with pytest.raises(MappingError, match="twice"):
        map_payload("meters_interval", {**payload, "meters": meters})


def test_numbers_beyond_float_range_are_a_mapping_error_not_a_crash():
    payload = next(p for p, _ in _points("realtime"))
    with pytest.raises(MappingError, match="beyond the range"):
        map_payload("realtime", {**payload, "f_hz": 10**400})
