"""Acknowledgement order with several writes in flight, on in-process fakes of the MQTT client and the
database (the real channels are covered by test_service.py; here the interleaving must be forced)."""

from __future__ import annotations

import queue
import threading
import time

from collector.config import BatchConfig, CollectorConfig, MqttConfig
from collector.service import Collector
from collector.subscriber import Inbound
from collector.testing import AreaSpec, area_stream
from collector.writer import TransientWrite


class _Info:
    def wait_for_publish(self, timeout=None):
        pass

    def is_published(self):
        return True


class _Client:
    def is_connected(self):
        return True


class FakeSubscriber:
    def __init__(self):
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.generation = 0
        self.subscribed = threading.Event()
        self.subscribed.set()
        self.client = _Client()
        self.acks: list[tuple[int, float]] = []

    def start(self):
        pass

    def stop(self):
        pass

    def ack(self, msg):
        self.acks.append((msg.mid, time.monotonic()))
        return True

    def publish(self, topic, payload, qos=1):
        return _Info()


class SlowFirstWriter:
    """The first write takes 0.4 s, the others return at once; the second write fails twice first."""

    def __init__(self):
        self.done: list[tuple[bytes, float]] = []
        self.calls = 0
        self.lock = threading.Lock()

    def write(self, body):
        with self.lock:
            self.calls += 1
            n = self.calls
        if n == 1:
            time.sleep(0.4)
        elif n in (2, 3):
            raise TransientWrite(503, "busy")
        self.done.append((body, time.monotonic()))

    def close(self):
        pass


def test_acks_follow_receive_order_when_a_later_batch_is_written_first():
    msgs = [m for m in area_stream(AreaSpec(meters=2, intervals=2)) if m.payload["schema"] == "meterwatch.realtime/2"]
    cfg = CollectorConfig(mqtt=MqttConfig(health_interval_s=60),
                          batch=BatchConfig(max_points=1, max_delay_s=0.05, retry_initial_s=0.01,
                                            writes_in_flight=3))
    sub, writer = FakeSubscriber(), SlowFirstWriter()
    col = Collector(cfg, writer, subscriber=sub)  # type: ignore[arg-type]
    for mid, m in enumerate(msgs, 1):
        sub.inbox.put(Inbound(0, mid, 1, m.topic, m.encode(), time.monotonic()))
    t = threading.Thread(target=col.run)
    t.start()
    deadline = time.monotonic() + 10
    while len(sub.acks) < len(msgs) and time.monotonic() < deadline:
        time.sleep(0.01)
    col.stop()
    t.join(10)
    assert [mid for mid, _ in sub.acks] == list(range(1, len(msgs) + 1))
    first_written = next(ts for body, ts in writer.done if msgs[0].payload["msg_id"].encode() in body)
    later_written = min(ts for _, ts in writer.done)
    assert later_written < first_written, "the interleaving under test did not happen"
    assert all(ts >= first_written for _, ts in sub.acks), "a later batch was acknowledged before the first"
    assert col.health.counters["write_failures"] == 2
