"""What is stored is right: newest values under injected write failures on both databases, exact strings,
no string series on VictoriaMetrics, and gaps reported when a stock broker drops a stopped collector's
backlog. Real mosquitto, real InfluxDB 1.6 and VictoriaMetrics; write failures come from a proxy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from collector.testing import AreaSpec, Message, area_stream
from tests.collector.harness import (
    ALERTS,
    HEALTH,
    PREFIX,
    Listener,
    collector_thread,
    create_db,
    expected_points,
    influx_mismatches,
    influxql,
    missing_in_vm,
    publish_all,
    vm_series,
    write_config,
)
from tests.support.faults import FaultProxy
from tests.support.procs import Mosquitto

pytestmark = pytest.mark.integration


def _stream(**kw) -> list[Message]:
    return list(area_stream(AreaSpec(**kw), PREFIX))


def _wait_acked(col, n: int, timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while col.health.counters["acked"] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert col.health.counters["acked"] == n


def _wait_settled(col, quiet_s: float = 1.0, timeout_s: float = 30.0) -> None:
    """Until everything received is acknowledged and nothing new arrived for ``quiet_s``."""
    deadline, last, since = time.monotonic() + timeout_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        c = col.health.counters
        if c["received"] != last:
            last, since = c["received"], time.monotonic()
        elif c["acked"] == c["received"] and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.05)
    raise AssertionError(f"collector did not settle: {dict(col.health.counters)}")


def test_injected_write_failures_leave_every_point_at_its_newest_value_in_influxdb(mosquitto, influx1, tmp_path):
    """Every interval is re-sent corrected (the newer value must win); four writes in flight, one message
    per batch, through a proxy that fails 25 % of the writes before and 15 % after they land. Without the
    collector's per-point ordering (collector.batches) this test fails."""
    msgs = _stream(meters=3, intervals=12, revisions=True)
    create_db(influx1.url)
    with FaultProxy.running(influx1.url, p_before=0.25, p_after=0.15, max_delay_s=0.05, seed=5) as proxy:
        cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=proxy.url, api="v1",
                           max_points=1, max_delay_s=0.05, writes_in_flight=4, retry_max_s=0.2)
        with collector_thread(cfg) as col:
            publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
            _wait_acked(col, len(msgs))
    assert proxy.counts["failed_before"] >= 5 and proxy.counts["failed_after"] >= 5, proxy.counts
    points = expected_points(msgs, "influxdb")
    assert influx_mismatches(influx1.url, points) == []
    revised = [m for m in msgs if m.payload["schema"] == "meterwatch.interval/2" and m.payload["topic_seq"] % 2 == 0]
    res = influxql(influx1.url, 'SELECT count("sales_kwh") FROM "area_interval" WHERE "status" = \'computed\'')
    assert res["results"][0]["series"][0]["values"][0][1] == len(revised)    # every interval at its revision


def test_injected_write_failures_lose_nothing_in_victoriametrics_and_send_it_no_strings(mosquitto, victoria,
                                                                                      tmp_path):
    msgs = _stream(meters=6, intervals=8) + _stream(area="A02", gateway="gw-0002", meters=4, intervals=8, seed=3)
    with FaultProxy.running(victoria.url, p_before=0.25, p_after=0.15, max_delay_s=0.05, seed=6) as proxy:
        cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=proxy.url,
                           max_points=8, max_delay_s=0.05, writes_in_flight=4, retry_max_s=0.2)
        with collector_thread(cfg) as col:
            publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
            _wait_acked(col, len(msgs))
    assert proxy.counts["failed_before"] >= 5 and proxy.counts["failed_after"] >= 5, proxy.counts
    assert missing_in_vm(victoria.url, expected_points(msgs)) == []
    names = {name for name, _ in vm_series(victoria.url)}
    texts = {"msg_id", "message", "state", "status", "band", "unit", "evidence", "version", "boot_id", "alert_id"}
    assert not {n for n in names if n.split("_", 1)[-1] in texts or n.endswith("_msg_id")}, names
    assert any(labels for name, labels in vm_series(victoria.url) if name == "alert_active"
               and dict(labels).get("alert_id")), "alert ids are labels on VictoriaMetrics"


def test_strings_are_stored_exactly_newlines_included(mosquitto, influx1, tmp_path):
    alert = next(m for m in _stream(meters=2, intervals=1) if m.payload["schema"] == "meterwatch.alert/2")
    text = 'line one\nline two\ttabbed, "quoted" and a back\\slash 中文'
    msg = Message(alert.topic, {**alert.payload, "message": text})
    create_db(influx1.url)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1")
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, [(msg.topic, msg.encode())])
        _wait_acked(col, 1)
    res = influxql(influx1.url, 'SELECT "message" FROM "alert"')["results"][0]
    assert res["series"][0]["values"][0][1] == text


def test_a_stock_mosquitto_drops_a_stopped_collectors_backlog_and_the_gap_is_reported(victoria, tmp_path):
    """Debian's mosquitto queues at most 1000 messages for a stopped persistent session and drops the rest
    silently. The collector notices the jump in topic_seq: health, an alert and a collector_gap point."""
    msgs = [m for m in _stream(meters=1, intervals=450, realtime_per_interval=4)
            if m.payload["schema"] == "meterwatch.realtime/2"]            # 1800 messages on one topic
    with Mosquitto.running(tmp_path / "stock", stock=True) as broker:
        cfg = write_config(tmp_path / "c.toml", mqtt_url=broker.url, influx_url=victoria.url, client_id="col-gap",
                           health_interval_s=0.2)
        with collector_thread(cfg) as col:          # subscribes: the broker keeps its session from now on
            publish_all(broker.url, [(m.topic, m.encode()) for m in msgs[:10]])
            _wait_acked(col, 10)
        publish_all(broker.url, [(m.topic, m.encode()) for m in msgs[10:-10]])   # collector stopped
        alerts, health = Listener(broker.url, ALERTS), Listener(broker.url, f"{HEALTH}/#")
        try:
            with collector_thread(cfg) as col:
                publish_all(broker.url, [(m.topic, m.encode()) for m in msgs[-10:]])
                (alert,) = alerts.wait_for(lambda a: a["kind"] == "message_gap", timeout_s=30)
                _wait_settled(col)
                received = col.health.counters["received"]
                h = health.wait_for(lambda h: h["acked"] == received)[-1]
        finally:
            alerts.close()
            health.close()
    missing = len(msgs) - 10 - received
    assert 0 < missing <= len(msgs) - 1000, (missing, received)
    assert alert["missing"] == missing and alert["gateway"] == "gw-0001" and "queue" in alert["message"]
    assert alert["topic"] == msgs[0].topic and alert["last_missing"] == len(msgs) - 10
    assert h["sequences"]["gaps"] == 1 and h["sequences"]["missing"] == missing
    gap = {k: v for k, v in vm_series(victoria.url).items() if k[0] == "collector_gap_missing"}
    assert [list(v.values()) for v in gap.values()] == [[float(missing)]]


def test_sequence_state_survives_a_collector_restart(mosquitto, victoria, tmp_path: Path):
    """A gap that straddles a restart (the broker dropped the oldest, as EMQX's queue does) is still seen:
    the collector saved where each topic stood."""
    msgs = [m for m in _stream(meters=1, intervals=10) if m.payload["schema"] == "meterwatch.realtime/2"]
    state = tmp_path / "sequences.json"
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url, state_file=str(state))
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, [(m.topic, m.encode()) for m in msgs[:5]])
        _wait_acked(col, 5)
    assert json.loads(state.read_text())[msgs[0].topic][0] == 5
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, [(m.topic, m.encode()) for m in msgs[8:]])    # 6..8 lost while we were down
        _wait_acked(col, len(msgs) - 8)
        assert col.gaps is not None and col.gaps.counters()["missing"] == 3
