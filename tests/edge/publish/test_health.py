"""The health payload: schema-valid, carries what it is given, refuses nameless bus telemetry."""

from __future__ import annotations

import pytest

from edge.publish.health import HealthInputs, build_health, versions
from edge.publish.outbox import OutboxStats
from wire.schemas import validate

STATS = OutboxStats(depth=3, bytes=2048, inflight=1, dropped_summaries=5, dropped_alerts=0, superseded=2,
                    rejected=0)


def test_health_is_schema_valid_and_carries_buses_outbox_engine_and_versions() -> None:
    payload = build_health(
        gateway="gw-0042", now_s=1_795_441_958.25, uptime_s=61.0, outbox=STATS,
        inputs=HealthInputs(buses=[{"name": "rs485-1", "reads_ok": 900, "reads_failed": 4, "utilisation": 0.62,
                                    "round_time_s": 48.0, "lateness_s": 0.4, "devices_backed_off": 1},
                                   {"name": "ttu"}],
                            engine={"A01": {"last_advance_ms": 1.2, "max_advance_ms": 7.9}}, counters={"queue_drops": 0}),
        publisher_counters={"connects": 2})
    assert validate({**payload, "msg_id": "gw-0042:1", "topic_seq": 1}) == "health"
    assert payload["ts"] == "2026-11-23T13:52:38.250Z"
    assert payload["buses"][1] == {"name": "ttu", "reads_ok": 0, "reads_failed": 0}
    assert payload["outbox"]["dropped_summaries"] == 5 and payload["outbox"]["depth"] == 3
    assert payload["engine"]["A01"]["max_advance_ms"] == 7.9
    assert payload["counters"] == {"queue_drops": 0, "mqtt_connects": 2}
    assert payload["versions"]["meterwatch"] == payload["version"]
    assert "msg_id" not in payload and "topic_seq" not in payload     # the outbox assigns them


def test_versions_come_from_package_metadata() -> None:
    v = versions()
    assert set(v) >= {"meterwatch", "python", "numpy", "numba", "paho-mqtt", "pymodbus"}
    assert v["paho-mqtt"].startswith("2.")


def test_bus_telemetry_without_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="bus telemetry without a name"):
        build_health(gateway="gw", now_s=0.0, uptime_s=0.0, outbox=STATS,
                     inputs=HealthInputs(buses=[{"reads_ok": 1}]))
