"""The collector loop: receive, decode, batch, write, then acknowledge in receive order.

Threads: the network thread (``collector.subscriber``) only enqueues; the main thread decodes, tracks sequences and fills
batches; writer threads (``[batch] writes_in_flight``, default 2) each write one batch at a time, in the
order rules of ``collector.batches`` (acknowledgements in receive order; a batch writing a point an
earlier unfinished batch writes waits for it). Up to ``[batch] queued_batches`` (default 8) decoded
batches wait for a free writer; then decoding stalls. The queue lets decoding go on through stretches
in which the database answers slowly (during a backlog drain: a few hundred ms in which every write
waits, docs/collector.md "Performance"), so the collector's CPU work and the database's overlap
instead of taking turns; a database that stays slow still stalls decoding after a bounded amount of
memory (a batch is at most ``max_points`` points of line protocol, ~0.18 MB per 1000 points). On stop,
queued batches are still written unless a write has already failed since the stop (then they stay
unacknowledged and the broker redelivers them). A message is acknowledged only when:
its points were accepted by the database, it was a duplicate (already written), or it was dead-lettered
and the broker confirmed the dead-letter publish. While the database is unreachable the current batch
is retried with exponential back-off and nothing is acknowledged; the broker's in-flight window
(ReceiveMaximum) then fills and it stops sending — back-pressure all the way to the broker's queue for
our persistent session.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from collector.alertmanager import AlertSink
from collector.batches import Batch, Completion, Entry, KeyOrder
from collector.config import CollectorConfig
from collector.decode import Decoded, Rejected, Rules, decode_lines
from collector.gaps import GapReporter
from collector.health import Health
from collector.subscriber import Inbound, Subscriber
from collector.writer import Writer
from collector.writing import BatchWriting

__all__ = ["Collector"]

log = logging.getLogger(__name__)

STOP_BUDGET_S = 15.0   # the whole stop path; the systemd unit allows 30 s
# a collector not gone this long after SIGTERM writes every thread's stack to stderr (the journal) and exits 1
# (faulthandler, armed by `meterwatch collector`): a stop that hangs ends and says where, before systemd's
# SIGKILL at 30 s ends it silently. Nothing is lost: what was not acknowledged comes back from the broker.
STOP_BOUND_S = 25.0
_TIME_KEY = {"interval": "interval_start", "meters_interval": "interval_start", "daily": "day_start"}


class Collector:
    """Wire a ``Subscriber`` to a ``Writer``; ``run()`` until ``stop()``."""

    def __init__(self, cfg: CollectorConfig, writer: Writer, subscriber: Subscriber | None = None) -> None:
        self.cfg = cfg
        self.writer = writer
        self.sub = subscriber or Subscriber(cfg.mqtt)
        self.health = Health(cfg.mqtt.client_id)
        m = cfg.mqtt
        self.rules = Rules(prefix=m.topic_prefix, max_bytes=m.max_payload_bytes, max_extra_fields=m.max_extra_fields,
                           server=cfg.influx.server, per_meter=cfg.per_meter)
        self.gaps = GapReporter(cfg, self.sub, self.health) if cfg.gap_tracking else None
        self.alerts = AlertSink(cfg) if cfg.alertmanager is not None else None   # docs/alerting.md
        self._stop = threading.Event()
        self._max_entries = max(1, m.receive_maximum // 2)
        self._ready: queue.Queue[Batch | None] = queue.Queue(maxsize=cfg.batch.queued_batches)
        self._keys = KeyOrder()
        self._completion = Completion(self._acknowledge)
        self._writing = BatchWriting(cfg, writer, self.health, self._dead_letter, self._stop)
        self._seq = 0
        self._next_health = 0.0
        self._announced = False

    # -- dead letters and acknowledgements ----------------------------------------------------------
    def _dead_letter(self, msg: Inbound, reason: str, detail: str) -> object:
        m = self.cfg.mqtt
        with self.health.lock:
            self.health.dead_letters[reason] += 1
        log.warning("dead-letter %s: %s: %s", msg.topic, reason, detail[:300])
        return self.sub.publish(m.dead_letter_topic, self.health.dead_letter(msg.topic, msg.payload, reason, detail,
                                                                            m.max_payload_bytes), qos=1)

    def _acknowledge(self, batch: Batch) -> None:
        c = self.health.counters
        points = sum(e.points for e in batch.entries)
        c["batches"] += 1
        c["written_points"] += points
        self.health.last_batch_points = points
        c["written_messages"] += sum(1 for e in batch.entries if e.points)
        acked = self.sub.ack_many([e.msg for e in batch.entries])
        c["acked"] += acked
        c["stale_dropped"] += len(batch.entries) - acked

    def _writer_loop(self) -> None:
        while (batch := self._ready.get()) is not None:
            for dep in batch.deps:        # an earlier batch writes one of our points: let it land first
                dep.wait()
            ok = False
            try:
                ok = not self._writing.gave_up and self._writing.write(batch)
            finally:
                self._keys.release(batch)
                self._completion.finish(batch, ok)

    # -- decoding -----------------------------------------------------------------------------------
    def _take(self, msg: Inbound, batch: Batch) -> None:
        self.health.counters["received"] += 1
        if msg.generation != self.sub.generation:
            self.health.counters["stale_dropped"] += 1  # the broker redelivers it on the new connection
            return
        try:
            d = decode_lines(msg.topic, msg.payload, self.rules)
        except Rejected as r:
            batch.add(Entry(msg, dead=self._dead_letter(msg, r.reason, r.detail)))
            return
        except Exception as e:  # a bug of ours: keep the message (dead letter), keep running
            with self.health.lock:
                self.health.counters["internal_errors"] += 1
            log.exception("decoding %s failed unexpectedly", msg.topic)
            batch.add(Entry(msg, dead=self._dead_letter(msg, "collector_error", repr(e))))
            return
        batch.add(self._entry(msg, d))

    def _entry(self, msg: Inbound, d: Decoded) -> Entry:
        a, c = d.accepted, self.health.counters
        if a.extras:
            c["extra_fields"] += a.extras
        if d.points == 0 and a.kind.name == "meters_interval":
            c["not_stored_per_meter"] += 1
        points, body = d.points, d.body
        if self.gaps is not None and a.kind.stream:
            verdict = self.gaps.observe(a)
            if verdict is None:
                return Entry(msg)                   # a duplicate: written before, acknowledged only
            points, body = points + verdict[0], body + verdict[1]
        return Entry(msg, points, body, point_key(msg.topic, a.kind.name, a.payload))

    # -- health ---------------------------------------------------------------------------------------
    def publish_health(self) -> None:
        snap = self.health.snapshot(queue_depth=self.sub.inbox.qsize(), pending=self._completion.pending,
                                    connected=self.sub.is_connected(),
                                    sequences=self.gaps.counters() if self.gaps else None)
        if self.alerts is not None:
            snap["alertmanager"] = self.alerts.snapshot()
        log.info("health %s", json.dumps(snap, separators=(",", ":")))
        self.sub.publish(f"{self.cfg.mqtt.health_topic}/{self.cfg.mqtt.client_id}", json.dumps(snap).encode(), qos=0)
        if self.gaps is not None:
            self.gaps.save()

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

    # -- main loop ----------------------------------------------------------------------------------
    def _hand_over(self, batch: Batch) -> None:
        batch.seq = self._seq
        self._seq += 1
        self._keys.claim(batch)
        self._completion.handed_over(batch)
        while True:  # blocks while the writers are busy and queued_batches already wait: back-pressure
            try:
                self._ready.put(batch, timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    self._abandon(batch)
                    return
                self._tick_health()

    def _abandon(self, batch: Batch) -> None:
        """Stopping while every writer is busy and the queue is full (a database that answers slowly): the
        batch is not waited for — the stop's budget would begin only once a writer took it — and stays
        unacknowledged; the broker delivers its messages again to the next collector."""
        log.warning("stopping: %d message(s) not written, the writers are busy; the broker redelivers them",
                    len(batch.entries))
        self._keys.release(batch)
        self._completion.finish(batch, False)

    def _fill(self, batch: Batch) -> None:
        b = self.cfg.batch
        wait = b.max_delay_s - (time.monotonic() - batch.opened) if batch.entries else 0.2
        try:
            self._take(self.sub.inbox.get(timeout=max(0.0, min(wait, 0.2))), batch)
            while batch.points < b.max_points and len(batch.entries) < self._max_entries:
                self._take(self.sub.inbox.get_nowait(), batch)
        except queue.Empty:
            pass

    def run(self) -> None:
        b = self.cfg.batch
        writers = [threading.Thread(target=self._writer_loop, name=f"collector-writer-{i}", daemon=True)
                   for i in range(b.writes_in_flight)]
        for w in writers:
            w.start()
        if self.gaps is not None:
            self.gaps.load()
        if self.alerts is not None:
            self.alerts.start()
        self.sub.start()
        batch = Batch()
        try:
            while not self._stop.is_set():
                self._tick_health()
                self._fill(batch)
                if batch.entries and (batch.points >= b.max_points or len(batch.entries) >= self._max_entries
                                      or time.monotonic() - batch.opened >= b.max_delay_s):
                    self._hand_over(batch)
                    batch = Batch()
            if batch.entries:
                log.info("stopping: flushing the last batch of %d points", batch.points)
                self._hand_over(batch)
        finally:
            self._shut_down(writers)

    def _shut_down(self, writers: list[threading.Thread]) -> None:
        """Stop within ``STOP_BUDGET_S`` in all (systemd allows 30 s): the Alertmanager sink (its own MQTT
        connection and a final post) stops beside the writers; the subscriber goes last, once the writers
        have acknowledged what they wrote. A writer still busy at the deadline is left: what it held is
        unacknowledged and the broker delivers it again to the next collector, so nothing is lost."""
        deadline = time.monotonic() + STOP_BUDGET_S
        log.info("stopping: %d writer(s)%s and the MQTT connection, within %.0f s", len(writers),
                 ", the Alertmanager sink" if self.alerts is not None else "", STOP_BUDGET_S)

        def left(floor: float = 0.0) -> float:
            return max(floor, deadline - time.monotonic())

        self._stop.set()  # writers still retrying give up after one more attempt
        if self.alerts is not None:
            self.alerts.request_stop()
        for _ in writers:   # a queue still full at the deadline: the writers are left busy (below)
            try:
                self._ready.put(None, timeout=left())
            except queue.Full:
                break
        for w in writers:
            w.join(left())
        busy = sum(w.is_alive() for w in writers)
        if busy:
            log.warning("stopping: %d writer(s) still busy after %.0f s; their batches stay unacknowledged "
                        "and come back from the broker", busy, STOP_BUDGET_S)
        if self.alerts is not None:
            self.alerts.stop(left(1.0))
        self.publish_health()
        self.sub.stop(left(1.0))
        if not busy:
            self.writer.close()



def point_key(topic: str, kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """The point a message writes: its topic and its point's time (alert events: also their topic_seq,
    which the mapping puts into the time)."""
    t = payload[_TIME_KEY.get(kind, "ts")]
    return topic, f"{t}#{payload['topic_seq']}" if kind == "alert" else t
