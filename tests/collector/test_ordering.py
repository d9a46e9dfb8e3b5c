"""Acknowledgement order and newest-value-wins with several writes in flight, on in-process fakes of the
MQTT client and the database (the real channels are covered by test_service.py; here the interleavings
must be forced, and many of them tried)."""

from __future__ import annotations

import queue
import random
import threading
import time

import pytest

from collector.config import BatchConfig, CollectorConfig, MqttConfig
from collector.decode import Rules, decode_lines
from collector.service import Collector
from collector.subscriber import Inbound
from collector.testing import AreaSpec, area_stream
from collector.writer import TransientWrite


class _Info:
    def wait_for_publish(self, timeout=None):
        pass

    def is_published(self):
        return True


class FakeSubscriber:
    def __init__(self):
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.generation = 0
        self.subscribed = threading.Event()
        self.subscribed.set()
        self.acks: list[tuple[int, float]] = []

    def start(self):
        pass

    def stop(self, timeout_s=None):     # Subscriber.stop's signature: the service passes its stop budget
        pass

    def is_connected(self):
        return True

    def ack_many(self, msgs):
        now = time.monotonic()
        self.acks.extend((m.mid, now) for m in msgs)
        return len(msgs)

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


class FlakyLastWriteWinsDB:
    """A point store with InfluxDB's rule (the last write of a series and time wins) whose writes fail at
    random, before landing or after landing (the answer lost), with random latency."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.points: dict[str, str] = {}
        self.failures = 0

    def write(self, body):
        with self.lock:
            fate, delay = self.rng.random(), self.rng.uniform(0, 0.01)
        time.sleep(delay)
        if fate < 0.3:
            with self.lock:
                self.failures += 1
            raise TransientWrite(503, "injected before landing")
        with self.lock:
            apply(self.points, body)
        if fate < 0.5:
            with self.lock:
                self.failures += 1
            raise TransientWrite(None, "injected: landed, answer lost")

    def close(self):
        pass


def apply(points: dict[str, str], body: bytes) -> None:
    for line in body.decode().splitlines():
        head, fields, ts = line.rsplit(" ", 2)
        points[f"{head} {ts}"] = fields


@pytest.mark.parametrize("seed", range(4))
def test_random_write_failures_under_concurrency_never_leave_an_older_value(seed):
    """Intervals are re-sent with corrected values: the point each time gets a newer value. Four writes in
    flight, one point per batch so that both versions are in different batches, 30 % of the writes
    failing before landing and 20 % after landing (the answer lost)."""
    msgs = list(area_stream(AreaSpec(meters=2, intervals=10, revisions=True, seed=seed)))
    rules = Rules(prefix="meterwatch/v2", max_bytes=10**6, per_meter=False)    # the collector's default
    want: dict[str, str] = {}
    for m in msgs:
        apply(want, decode_lines(m.topic, m.encode(), rules).body)
    assert sum(1 for k in want if k.startswith("area_interval")) == 10 < sum(
        1 for m in msgs if m.payload["schema"] == "meterwatch.interval/2")
    cfg = CollectorConfig(mqtt=MqttConfig(health_interval_s=60),
                          batch=BatchConfig(max_points=1, max_delay_s=0.02, retry_initial_s=0.001,
                                            retry_max_s=0.005, writes_in_flight=4))
    sub, db = FakeSubscriber(), FlakyLastWriteWinsDB(seed)
    col = Collector(cfg, db, subscriber=sub)  # type: ignore[arg-type]
    for mid, m in enumerate(msgs, 1):
        sub.inbox.put(Inbound(0, mid, 1, m.topic, m.encode(), time.monotonic()))
    t = threading.Thread(target=col.run)
    t.start()
    deadline = time.monotonic() + 30
    while len(sub.acks) < len(msgs) and time.monotonic() < deadline:
        time.sleep(0.01)
    col.stop()
    t.join(10)
    assert len(sub.acks) == len(msgs) and db.failures > 10
    stale = {k: (db.points.get(k), v) for k, v in want.items() if db.points.get(k) != v}
    assert stale == {}, f"{len(stale)} points not at their newest value"
