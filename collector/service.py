"""The collector loop: receive, decode, batch, write, then acknowledge in receive order.

Threads: paho's network thread only enqueues; the main thread decodes and fills batches; writer
threads (``[batch] writes_in_flight``, default 2) each write one batch at a time. Batches are numbered
in the order they were closed, and a batch is acknowledged only when it and every earlier batch are
done, so acknowledgements leave in the order the messages arrived even when a later write returns
first. Decoding the next batch overlaps the writes; at most one finished batch waits for a free writer
(a queue of one), which stalls decoding when the database is slow. A message is acknowledged only when:
its points were accepted by the database, or it was dead-lettered and the broker confirmed the
dead-letter publish. While the database is unreachable the current batch is retried with exponential
back-off and nothing is acknowledged; the broker's in-flight window (ReceiveMaximum) then fills and it
stops sending — back-pressure all the way to the broker's queue for our persistent session.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from collector.config import CollectorConfig
from collector.decode import Rejected, decode_lines
from collector.health import Health
from collector.subscriber import Inbound, Subscriber
from collector.writer import RejectedWrite, TooLarge, TransientWrite, Writer

__all__ = ["Collector"]

log = logging.getLogger(__name__)

_DEAD_LETTER_WAIT_S = 10.0


@dataclass
class _Entry:
    msg: Inbound
    points: int = 0     # number of points in ``body``
    body: bytes = b""   # the message's points as line protocol, encoded on the decoding thread
    dead: Any = None    # MQTTMessageInfo of the dead-letter publish


@dataclass
class _Batch:
    entries: list[_Entry] = field(default_factory=list)
    points: int = 0
    opened: float = 0.0
    seq: int = 0  # hand-over order = receive order; acknowledgements follow it

    def add(self, e: _Entry) -> None:
        if not self.entries:
            self.opened = time.monotonic()
        self.entries.append(e)
        self.points += e.points


class Collector:
    """Wire a ``Subscriber`` to a ``Writer``; ``run(stop)`` until ``stop`` is set."""

    def __init__(self, cfg: CollectorConfig, writer: Writer, subscriber: Subscriber | None = None) -> None:
        self.cfg = cfg
        self.writer = writer
        self.sub = subscriber or Subscriber(cfg.mqtt)
        self.health = Health(cfg.mqtt.client_id)
        self._stop = threading.Event()
        self._max_entries = max(1, cfg.mqtt.receive_maximum // 2)
        self._ready: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self._pending = 0  # messages handed to the writers and not yet acknowledged or dropped
        self._lock = threading.Lock()  # counters, pending, and the in-order acknowledgement below
        self._seq = 0
        self._next_ack = 0
        self._done: dict[int, tuple[_Batch, bool]] = {}
        self._next_health = 0.0
        self._announced = False

    # -- dead letters -------------------------------------------------------------------------------
    def _dead_letter(self, msg: Inbound, reason: str, detail: str) -> Any:
        m = self.cfg.mqtt
        body = msg.payload[: m.max_payload_bytes]
        doc = {"schema": "meterwatch.deadletter/1", "collector": m.client_id, "topic": msg.topic,
               "reason": reason, "detail": detail[:2000], "size": len(msg.payload),
               "truncated": len(body) < len(msg.payload),
               "payload_b64": base64.b64encode(body).decode()}
        with self._lock:
            self.health.dead_letters[reason] += 1
        log.warning("dead-letter %s: %s: %s", msg.topic, reason, detail[:300])
        return self.sub.publish(m.dead_letter_topic, json.dumps(doc).encode(), qos=1)

    # -- writing ------------------------------------------------------------------------------------
    def _backoff(self, attempt: int, hint: float | None) -> float:
        b = self.cfg.batch
        return max(hint or 0.0, min(b.retry_max_s, b.retry_initial_s * 2 ** attempt))

    def _write_retrying(self, body: bytes) -> None:
        """Write until accepted; raises RejectedWrite/TooLarge (not retried). Gives up only on stop."""
        attempt = 0
        while True:
            t = time.monotonic()
            try:
                self.writer.write(body)
                self.health.last_write_ms = (time.monotonic() - t) * 1000
                return
            except TransientWrite as e:
                with self._lock:
                    self.health.counters["write_failures"] += 1
                delay = self._backoff(attempt, e.retry_after_s)
                log.warning("write failed (%s); retry in %.1f s, nothing acknowledged meanwhile", e, delay)
                attempt += 1
                if self._stop.wait(delay):
                    raise

    def _write_batch(self, batch: _Batch) -> bool:
        """Write the batch (message by message after a 400/413); True when every message of it may be
        acknowledged. Raises TransientWrite only when stopping."""
        points = sum(e.points for e in batch.entries)
        if points:
            try:
                self._write_retrying(b"".join(e.body for e in batch.entries))
            except (RejectedWrite, TooLarge) as e:
                log.warning("batch of %d points refused (%s): writing message by message", points, e)
                for entry in batch.entries:
                    if entry.points:
                        try:
                            self._write_retrying(entry.body)
                        except (RejectedWrite, TooLarge) as e2:
                            entry.dead = self._dead_letter(entry.msg, "db_rejected", str(e2))
                            entry.points, entry.body = 0, b""
        for entry in batch.entries:
            if entry.dead is not None:
                try:
                    entry.dead.wait_for_publish(_DEAD_LETTER_WAIT_S)
                except (RuntimeError, ValueError) as e:
                    log.warning("dead-letter publish failed: %s", e)
                if not entry.dead.is_published():
                    log.warning("dead-letter publish unconfirmed: batch left unacknowledged for redelivery")
                    return False
        return True

    def _finish(self, batch: _Batch, ok: bool) -> None:
        """Record a written batch and acknowledge every batch that is now complete in hand-over order:
        with several writes in flight a later batch may be accepted first, and then waits."""
        with self._lock:
            self._done[batch.seq] = (batch, ok)
            while self._next_ack in self._done:
                done, good = self._done.pop(self._next_ack)
                self._next_ack += 1
                self._pending -= len(done.entries)
                if good:
                    self._acknowledge(done)

    def _acknowledge(self, batch: _Batch) -> None:
        c = self.health.counters
        points = sum(e.points for e in batch.entries)
        c["batches"] += 1
        c["written_points"] += points
        self.health.last_batch_points = points
        for entry in batch.entries:
            if entry.points:
                c["written_messages"] += 1
            if self.sub.ack(entry.msg):
                c["acked"] += 1
            else:
                c["stale_dropped"] += 1

    def _writer_loop(self) -> None:
        """Take batches and write them; on stop, one last attempt each, then leave the rest
        unacknowledged for redelivery."""
        while True:
            batch = self._ready.get()
            if batch is None:
                return
            ok = False
            try:
                ok = self._write_batch(batch)
            except TransientWrite:
                log.warning("stopping with %d messages unwritten: the broker redelivers them", len(batch.entries))
            except Exception:  # a bug must not kill the writer: leave the batch unacknowledged (redelivered)
                with self._lock:
                    self.health.counters["internal_errors"] += 1
                log.exception("writing a batch of %d messages failed unexpectedly", len(batch.entries))
            finally:
                self._finish(batch, ok)

    # -- main loop ----------------------------------------------------------------------------------
    def _take(self, msg: Inbound, batch: _Batch) -> None:
        self.health.counters["received"] += 1
        if msg.generation != self.sub.generation:
            self.health.counters["stale_dropped"] += 1  # the broker redelivers it on the new connection
            return
        m = self.cfg.mqtt
        try:
            _kind, n, body = decode_lines(msg.topic, msg.payload, prefix=m.topic_prefix,
                                          max_bytes=m.max_payload_bytes)
        except Rejected as r:
            batch.add(_Entry(msg, dead=self._dead_letter(msg, r.reason, r.detail)))
            return
        except Exception as e:  # a bug of ours: keep the message (dead letter), keep running
            with self._lock:
                self.health.counters["internal_errors"] += 1
            log.exception("decoding %s failed unexpectedly", msg.topic)
            batch.add(_Entry(msg, dead=self._dead_letter(msg, "collector_error", repr(e))))
            return
        batch.add(_Entry(msg, n, body))

    def publish_health(self) -> None:
        snap = self.health.snapshot(queue_depth=self.sub.inbox.qsize(), pending=self._pending,
                                    connected=self.sub.client.is_connected())
        log.info("health %s", json.dumps(snap, separators=(",", ":")))
        self.sub.publish(f"{self.cfg.mqtt.health_topic}/{self.cfg.mqtt.client_id}", json.dumps(snap).encode(), qos=0)

    def stop(self) -> None:
        self._stop.set()

    def _tick_health(self) -> None:
        now = time.monotonic()
        if not self._announced and self.sub.subscribed.is_set():
            self._announced = True
            self._next_health = now  # the first health message says "subscribed and ready"
        if self._announced and now >= self._next_health:
            self.publish_health()
            self._next_health = now + self.cfg.mqtt.health_interval_s

    def _hand_over(self, batch: _Batch) -> None:
        batch.seq = self._seq
        self._seq += 1
        with self._lock:
            self._pending += len(batch.entries)
        while True:  # blocks while the writer is busy and one batch already waits: back-pressure
            try:
                self._ready.put(batch, timeout=0.2)
                return
            except queue.Full:
                self._tick_health()

    def run(self) -> None:
        b = self.cfg.batch
        writers = [threading.Thread(target=self._writer_loop, name=f"collector-writer-{i}", daemon=True)
                   for i in range(b.writes_in_flight)]
        for w in writers:
            w.start()
        self.sub.start()
        batch = _Batch()
        try:
            while not self._stop.is_set():
                self._tick_health()
                now = time.monotonic()
                wait = b.max_delay_s - (now - batch.opened) if batch.entries else 0.2
                try:
                    self._take(self.sub.inbox.get(timeout=max(0.0, min(wait, 0.2))), batch)
                    while batch.points < b.max_points and len(batch.entries) < self._max_entries:
                        self._take(self.sub.inbox.get_nowait(), batch)
                except queue.Empty:
                    pass
                if batch.entries and (batch.points >= b.max_points or len(batch.entries) >= self._max_entries
                                      or time.monotonic() - batch.opened >= b.max_delay_s):
                    self._hand_over(batch)
                    batch = _Batch()
            if batch.entries:
                log.info("stopping: flushing the last batch of %d points", batch.points)
                self._hand_over(batch)
        finally:
            self._stop.set()  # writers still retrying give up after one more attempt
            for _ in writers:
                self._ready.put(None)
            for w in writers:
                w.join()
            self.publish_health()
            self.sub.stop()
            self.writer.close()
