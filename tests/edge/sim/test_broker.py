"""The demo's embedded broker, driven by the real paho-mqtt client (MQTT 5 and 3.1.1)."""

from __future__ import annotations

import asyncio
import queue
import time

import paho.mqtt.client as mqtt
import pytest

from edge.sim.broker import Broker, topic_matches
from tests.support.mqtt import BrokerThread


@pytest.mark.parametrize(("pattern", "topic", "ok"), [
    ("a/+/c", "a/b/c", True), ("a/#", "a/b/c", True), ("a/#", "a", True), ("a/+", "a/b/c", False),
    ("#", "$SYS/x", False), ("a/b", "a/b", True), ("a/b", "a/c", False), ("+/+", "a", False),
])
def test_topic_filters_match_like_mqtt(pattern, topic, ok):
    assert topic_matches(pattern, topic) is ok


def _client(port: int, cid: str, proto=mqtt.MQTTv5, will: tuple[str, bytes] | None = None):
    got: queue.Queue = queue.Queue()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=proto)
    c.on_message = lambda cl, ud, m: got.put((m.topic, m.payload, m.retain, m.qos))
    if will:
        c.will_set(will[0], will[1], qos=1, retain=True)
    c.connect("127.0.0.1", port, keepalive=5)
    c.loop_start()
    return c, got


def test_qos1_publish_reaches_subscriber_and_retained_reaches_late_subscriber():
    with BrokerThread() as broker:
        sub, got = _client(broker.port, "sub")
        sub.subscribe("mw/+/alert", qos=1)
        time.sleep(0.2)
        pub, _ = _client(broker.port, "pub", proto=mqtt.MQTTv311)
        info = pub.publish("mw/A01/alert", b'{"x":1}', qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
        assert got.get(timeout=5)[:2] == ("mw/A01/alert", b'{"x":1}')
        pub.publish("mw/A01/alerts/active", b"[]", qos=1, retain=True).wait_for_publish(5)
        late, got2 = _client(broker.port, "late")
        late.subscribe("mw/#", qos=1)
        topic, payload, retain, _ = got2.get(timeout=5)
        assert (topic, payload, retain) == ("mw/A01/alerts/active", b"[]", True)
        for c in (sub, pub, late):
            c.disconnect()
            c.loop_stop()


def test_will_is_published_on_abnormal_disconnect_only():
    with BrokerThread() as broker:
        sub, got = _client(broker.port, "watch")
        sub.subscribe("gw/+/status", qos=1)
        time.sleep(0.2)
        dying, _ = _client(broker.port, "gw1", will=("gw/gw1/status", b"offline"))
        time.sleep(0.2)
        dying._sock.close()  # abnormal: no DISCONNECT
        assert got.get(timeout=5)[:2] == ("gw/gw1/status", b"offline")
        polite, _ = _client(broker.port, "gw2", will=("gw/gw2/status", b"offline"))
        time.sleep(0.2)
        polite.disconnect()
        polite.loop_stop()
        with pytest.raises(queue.Empty):
            got.get(timeout=0.5)
        sub.disconnect()
        sub.loop_stop()


def test_leaving_the_broker_ends_its_connections_tasks():
    """A client still connected when the broker stops: its connection's task ends with the broker, not with
    the event loop, which says "Task was destroyed but it is pending!" (seen in a CI log at b592ddc)."""
    async def main() -> list[asyncio.Task]:
        async with Broker() as broker:
            reader, writer = await asyncio.open_connection("127.0.0.1", broker.port)
            writer.write(bytes([0x10, 0x0D, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x01]) + b"t")
            assert (await asyncio.wait_for(reader.readexactly(4), 5))[:1] == b"\x20"   # CONNACK
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        writer.close()
        return left

    assert asyncio.run(main()) == []
