"""How far decoding runs ahead of the writers, and when a batch leaves: in-process, on the fakes of
test_ordering (the timings under test must be forced; the real channels are in test_service.py)."""

from __future__ import annotations

import threading
import time

from collector.config import BatchConfig, CollectorConfig, MqttConfig
from collector.service import Collector
from collector.subscriber import Inbound
from collector.testing import AreaSpec, area_stream
from collector.writer import TransientWrite
from tests.collector.test_ordering import FakeSubscriber


class GateWriter:
    """Every write waits until ``gate`` opens (a database in a slow stretch); ``fail``: then refuses."""

    def __init__(self, fail: bool = False) -> None:
        self.gate = threading.Event()
        self.fail = fail
        self.started: list[float] = []
        self.lock = threading.Lock()

    def write(self, body):
        with self.lock:
            self.started.append(time.monotonic())
        self.gate.wait(10)
        if self.fail:
            raise TransientWrite(None, "connection refused")

    def close(self):
        pass


def _realtime(n_intervals: int):
    return [m for m in area_stream(AreaSpec(meters=1, intervals=n_intervals))
            if m.payload["schema"] == "meterwatch.realtime/2"]


def _run(col: Collector) -> threading.Thread:
    t = threading.Thread(target=col.run)
    t.start()
    return t


def _wait(pred, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_decoding_goes_on_while_the_writers_wait_up_to_queued_batches():
    """Two writes stuck, three batches queued, the sixth decoded and waiting to be queued: then decoding
    stalls (back-pressure) and nothing is acknowledged; once the database answers, all in order."""
    msgs = _realtime(7)
    assert len(msgs) >= 20
    cfg = CollectorConfig(mqtt=MqttConfig(health_interval_s=60),
                          batch=BatchConfig(max_points=1, max_delay_s=5.0, writes_in_flight=2, queued_batches=3))
    sub, writer = FakeSubscriber(), GateWriter()
    col = Collector(cfg, writer, subscriber=sub)  # type: ignore[arg-type]
    for mid, m in enumerate(msgs, 1):
        sub.inbox.put(Inbound(0, mid, 1, m.topic, m.encode(), time.monotonic()))
    t = _run(col)
    try:
        _wait(lambda: col.health.counters["received"] >= 6 and len(writer.started) == 2)
        time.sleep(0.3)     # would decoding go further?
        assert col.health.counters["received"] == 2 + 3 + 1
        assert sub.acks == []
        writer.gate.set()
        _wait(lambda: len(sub.acks) == len(msgs))
        assert [mid for mid, _ in sub.acks] == list(range(1, len(msgs) + 1))
    finally:
        writer.gate.set()
        col.stop()
        t.join(10)


def test_the_last_batch_of_a_backlog_leaves_at_once_a_fresh_one_waits_max_delay():
    """``max_delay_s`` counts from a message's arrival: messages that waited in the inbox behind a
    backlog are not held again when the inbox runs dry; a message that just arrived is."""
    old, fresh = _realtime(2)[:3], _realtime(2)[3:4]
    cfg = CollectorConfig(mqtt=MqttConfig(health_interval_s=60),
                          batch=BatchConfig(max_points=10_000, max_delay_s=1.0))
    sub, writer = FakeSubscriber(), GateWriter()
    writer.gate.set()
    col = Collector(cfg, writer, subscriber=sub)  # type: ignore[arg-type]
    arrived = time.monotonic() - 30
    for mid, m in enumerate(old, 1):
        sub.inbox.put(Inbound(0, mid, 1, m.topic, m.encode(), arrived))
    start = time.monotonic()
    t = _run(col)
    try:
        _wait(lambda: len(sub.acks) == len(old))
        assert len(sub.acks) == len(old) and writer.started[0] - start < 0.5, "the old batch was held"
        put = time.monotonic()
        sub.inbox.put(Inbound(0, 9, 1, fresh[0].topic, fresh[0].encode(), put))
        _wait(lambda: len(sub.acks) == len(old) + 1)
        assert len(writer.started) == 2 and writer.started[1] - put >= 0.95, "a fresh message was not batched"
    finally:
        col.stop()
        t.join(10)


def test_a_stop_while_the_database_is_down_does_not_try_every_queued_batch():
    msgs = _realtime(4)
    cfg = CollectorConfig(mqtt=MqttConfig(health_interval_s=60),
                          batch=BatchConfig(max_points=1, max_delay_s=5.0, writes_in_flight=2, queued_batches=8,
                                            retry_initial_s=5.0, retry_max_s=5.0))
    sub, writer = FakeSubscriber(), GateWriter(fail=True)
    writer.gate.set()
    col = Collector(cfg, writer, subscriber=sub)  # type: ignore[arg-type]
    for mid, m in enumerate(msgs, 1):
        sub.inbox.put(Inbound(0, mid, 1, m.topic, m.encode(), time.monotonic()))
    t = _run(col)
    _wait(lambda: col.health.counters["received"] == 2 + 8 + 1)
    assert col.health.counters["received"] == 11 and len(writer.started) == 2
    t0 = time.monotonic()
    col.stop()
    t.join(10)
    assert time.monotonic() - t0 < 2.0 and not t.is_alive()
    assert len(writer.started) == 2, "queued batches were tried after a failed write at stop"
    assert sub.acks == []
