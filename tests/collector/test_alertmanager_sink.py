"""The sink against real mosquitto, a real Alertmanager (the deploy example, short timings) and a local
receiver for its webhook, WeCom and e-mail notifications."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from collector.alertmanager import AlertSink
from collector.config import AlertmanagerConfig, CollectorConfig, MqttConfig
from tests.support.alertmanager import (
    EXAMPLE_DIR,
    Alertmanager,
    AreaFeed,
    Publisher,
    Receiver,
    adapt_example,
    make_alert,
)
from tests.support.procs import free_port

pytestmark = pytest.mark.integration
GRID, AREA = "jinli-1", "A01"


def sink_config(mqtt_url: str, am_url: str) -> CollectorConfig:
    return CollectorConfig(
        mqtt=MqttConfig(url=mqtt_url, client_id="test-col", session_expiry_s=3600),
        alertmanager=AlertmanagerConfig(url=am_url, resend_interval_s=1.0, expire_after_s=5.0, min_firing_s=1.5,
                                        retry_initial_s=0.2, retry_max_s=0.5, settle_s=0.5, timeout_s=2.0))


@contextmanager
def running_sink(cfg: CollectorConfig) -> Iterator[AlertSink]:
    sink = AlertSink(cfg)
    sink.start()
    # the first start creates the broker session: what was published before it is not the sink's
    assert sink.feed.subscribed.wait(10), "sink did not subscribe"
    try:
        yield sink
    finally:
        sink.stop()


def wait(pred: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)


def wecom_with(rec: Receiver, *needles: str) -> list[str]:
    return [n.text for n in rec.of("wecom") if all(x in n.text for x in needles)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.running() as rec:
        yield rec


def am_config(rec: Receiver) -> str:
    return adapt_example((EXAMPLE_DIR / "alertmanager.yml").read_text(encoding="utf-8"), rec)


def test_alertmanager_away_delays_notifications_loses_none_and_health_counts_what_waits(
        tmp_path: Path, mosquitto: Any, receiver: Receiver) -> None:
    feed, now = AreaFeed(), time.time()
    port = free_port()
    pub = Publisher(mosquitto.port)
    with running_sink(sink_config(mosquitto.url, f"http://127.0.0.1:{port}")) as sink:
        raise_ = make_alert(raised=now - 60)
        pub.send(*feed.alert(raise_))
        pub.send(*feed.active([raise_], now - 60), retain=True)
        wait(lambda: sink.snapshot()["unacked"] == 2 and not sink.snapshot()["reachable"], 10,
             "health shows two unacknowledged messages and Alertmanager unreachable")
        time.sleep(1.0)
        assert sink.snapshot()["counters"].get("acked", 0) == 0
        assert "Connection refused" in sink.snapshot()["last_error"]
        with Alertmanager.running(tmp_path / "am", am_config(receiver), port=port):
            receiver.wait_for(lambda ns: bool(wecom_with(receiver, "【重要】配变过载")), 15, "the overload, late")
            wait(lambda: sink.snapshot()["unacked"] == 0, 10, "everything acknowledged")
            snap = sink.snapshot()
            assert snap["reachable"] and snap["pending_posts"] == 0 and snap["active"] == 1
            assert snap["counters"]["acked"] == 2 and snap["counters"]["post_failures"] >= 1
            t_clear = pub.send(*feed.alert(make_alert("cleared", raised=now - 60, ts=now)))
            receiver.wait_for(lambda ns: bool(wecom_with(receiver, "【已恢复】配变过载")), 15, "the resolve")
            (resolved,) = [n for n in receiver.of("wecom") if "【已恢复】" in n.text]
            assert resolved.received > t_clear
            assert len(wecom_with(receiver, "【重要】配变过载")) == 1       # once, not once per re-post
    pub.close()


def test_gateway_offline_is_one_alert_that_inhibits_the_gateways_others_until_it_is_back(
        tmp_path: Path, mosquitto: Any, receiver: Receiver) -> None:
    feed, now = AreaFeed(), time.time()
    pub = Publisher(mosquitto.port)
    with Alertmanager.running(tmp_path / "am", am_config(receiver)) as am, \
            running_sink(sink_config(mosquitto.url, am.url)):
        offline_meter = make_alert(kind="meter_offline", stype="meter", sid="M0003", severity="warning",
                                   value=None, threshold=None, unit="", raised=now - 30)
        pub.send(*feed.alert(offline_meter))
        receiver.wait_for(lambda ns: bool(wecom_with(receiver, "电表通信中断")), 15, "meter offline")
        will = feed.status("offline", 500, now - 3600)     # armed at connect: its ts is old
        pub.send(*will, retain=True)
        pub.send(*will, retain=True)           # redelivered: still one incident
        receiver.wait_for(lambda ns: bool(wecom_with(receiver, "集中器离线")), 15, "gateway offline")
        (held,) = am.alerts(alertname="meter_offline")
        assert held["status"]["state"] == "suppressed" and held["status"]["inhibitedBy"]
        (off,) = am.alerts(alertname="gateway_offline")
        assert off["labels"]["grid"] == GRID and off["labels"]["area"] == AREA
        text = wecom_with(receiver, "集中器离线")[0]
        assert "集中器 gw-1" in text and "台区 A01（jinli-1/A01）" in text
        pub.send(*feed.status("online", 501, time.time()), retain=True)
        receiver.wait_for(lambda ns: bool(wecom_with(receiver, "【已恢复】集中器离线")), 15, "gateway back")
        assert len(wecom_with(receiver, "【一般】集中器离线")) + len(wecom_with(receiver, "【重要】集中器离线")) == 1
        wait(lambda: am.alerts(alertname="meter_offline")[0]["status"]["state"] == "active", 10,
             "the meter alert no longer inhibited")
    pub.close()


def test_a_restarted_sink_rebuilds_from_the_retained_lists_and_resolves_what_is_gone(
        tmp_path: Path, mosquitto: Any, receiver: Receiver) -> None:
    feed, now = AreaFeed(), time.time()
    pub = Publisher(mosquitto.port)
    overload = make_alert(raised=now - 120)
    with Alertmanager.running(tmp_path / "am", am_config(receiver)) as am:
        cfg = sink_config(mosquitto.url, am.url)
        with running_sink(cfg):
            pub.send(*feed.alert(overload))
            pub.send(*feed.active([overload], now - 120), retain=True)
            receiver.wait_for(lambda ns: bool(wecom_with(receiver, "【重要】配变过载")), 15, "overload")
        # While the sink is down: the overload clears, and Alertmanager holds an alert of the area whose
        # clear nobody will ever send (e.g. lost with an expired session).
        pub.send(*feed.alert(make_alert("cleared", raised=now - 120, ts=now - 5)))
        pub.send(*feed.active([], now - 5), retain=True)
        stale = {"alertname": "low_voltage", "severity": "warning", "grid": GRID, "area": AREA, "gateway": "gw-1",
                 "alert_id": f"{AREA}:low_voltage:meter:M0009:1", "meter": "M0009"}
        am.api("POST", "/api/v2/alerts", [{"labels": stale, "annotations": {"summary": "低电压"},
                                           "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime(time.time() + 3600))}])
        assert len(am.alerts(area=AREA)) == 2
        with running_sink(cfg) as sink:
            wait(lambda: not am.alerts(area=AREA), 15, "Alertmanager holds nothing active for the area")
            receiver.wait_for(lambda ns: bool(wecom_with(receiver, "【已恢复】配变过载")), 15, "overload resolved")
            assert sink.snapshot()["counters"]["reconciled"] == 1
            wait(lambda: sink.snapshot()["unacked"] == 0, 10, "the queued messages acknowledged")
    pub.close()


def test_a_message_gap_reaches_the_platform_operators_once_even_when_every_collector_reports_it(
        tmp_path: Path, mosquitto: Any, receiver: Receiver) -> None:
    """The collectors publish each gap on their alert topic (collector/gaps.py); the sink forwards it to
    Alertmanager, whose example routes it to the platform's operators by e-mail — told once although
    both collectors of a shared group may report it."""
    pub = Publisher(mosquitto.port)
    with Alertmanager.running(tmp_path / "am", am_config(receiver)) as am:
        cfg = sink_config(mosquitto.url, am.url)
        with running_sink(cfg) as sink:
            gap = {"schema": "meterwatch.collector_alert/1", "ts": "2026-12-04T08:00:00.000Z",
                   "kind": "message_gap", "severity": "warning", "gateway": "gw-7",
                   "topic": f"meterwatch/v2/gw-7/{GRID}/{AREA}/summary/interval", "payload_kind": "interval",
                   "first_missing": 41, "last_missing": 57, "missing": 17,
                   "message": "17 message(s) never arrived"}
            for collector in ("col-1", "col-2"):
                pub.send(cfg.mqtt.alert_topic, {**gap, "collector": collector})
            pub.send(cfg.mqtt.alert_topic, {**gap, "collector": "col-1", "missing": "many"})   # refused
            wait(lambda: any("消息丢失" in n.text for n in receiver.of("email")), 15, "gap e-mail")
            time.sleep(3)     # one more group_interval: nothing else may arrive
            assert sink.counters["invalid_schema_invalid"] == 1
        mails = [n.text for n in receiver.of("email")]
        assert len(mails) == 1 and "对象：集中器 gw-7" in mails[0] and "数值：17 条" in mails[0], mails
        assert "summary/interval 的序号 41–57 未到达采集器" in mails[0] and not receiver.of("wecom")
    pub.close()
