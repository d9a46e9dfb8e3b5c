"""The demo's viewer (``edge.demo_view.Watch``) against the demo's embedded broker, with real paho clients:
it rides through a broker restart, and its end never holds up the demo's."""

from __future__ import annotations

import json
import logging
import threading
import time

from edge.demo_view import Watch
from tests.collector.harness import publish_all
from tests.support.mqtt import BrokerThread


def _alert(n: int) -> bytes:
    return json.dumps({"schema": "meterwatch.alert/1", "msg_id": f"m{n}", "alert_id": f"a{n}", "state": "raised",
                       "kind": "overload", "severity": "major", "subject": {"type": "transformer", "id": "T1"},
                       "ts": "2026-07-01T09:40:00Z", "raised_at": "2026-07-01T09:40:00Z",
                       "message": f"load {n}"}).encode()


def _publish(url: str, n: int) -> None:
    publish_all(url, [("mw/A01/alert/overload", _alert(n))])


def test_the_viewer_comes_back_after_a_broker_restart_and_shows_what_follows(caplog):
    caplog.set_level(logging.WARNING, logger="edge.demo_view")
    with BrokerThread() as broker:
        port = broker.port
        watch = Watch(broker.url, "mw")
        assert watch.connected.wait(5)
        time.sleep(0.2)   # the SUBSCRIBE is on its way after the CONNACK
        _publish(broker.url, 1)
        assert "load 1" in watch.new_events.get(timeout=5)
    time.sleep(8.0)   # the broker is gone for 8 s: the viewer retries (paho by itself 1, 3, 7, 15 s after the loss)
    assert any("lost the broker" in r.getMessage() for r in caplog.records)
    watch.connected.clear()
    with BrokerThread(port) as broker:
        t0 = time.monotonic()
        assert watch.connected.wait(12), "the viewer did not reconnect within 12 s"
        back_s = time.monotonic() - t0
        time.sleep(0.2)
        _publish(broker.url, 2)
        assert "load 2" in watch.new_events.get(timeout=5)
        watch.close()
    assert back_s < 4.0, back_s   # its retries are capped at 2 s apart (paho by itself: back ~7 s later)


def test_closing_the_viewer_returns_even_when_its_thread_is_stuck(caplog):
    """A message callback that cannot finish (here: the state lock held elsewhere) keeps paho's thread
    from stopping; ``close`` says so and returns instead of waiting for good."""
    caplog.set_level(logging.WARNING, logger="edge.demo_view")
    with BrokerThread() as broker:
        watch = Watch(broker.url, "mw")
        assert watch.connected.wait(5)
        time.sleep(0.2)
        watch.lock.acquire()
        try:
            _publish(broker.url, 1)
            time.sleep(0.5)   # the message reached the callback, which now waits for the lock
            closer = threading.Thread(target=watch.close, kwargs={"timeout_s": 1.0}, daemon=True)
            t0 = time.monotonic()
            closer.start()
            closer.join(10)
            assert not closer.is_alive(), "close() waited on the stuck thread"
            assert time.monotonic() - t0 < 5
        finally:
            watch.lock.release()
    assert any("did not stop its MQTT thread" in r.getMessage() for r in caplog.records)
