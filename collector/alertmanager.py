"""The collector's Alertmanager sink: every alert's lifecycle, from the MQTT events to Alertmanager.

    feed (own MQTT session, manual ack) ──inbox──▶ sink thread: collector.decode.accept, AlertBook
        ──▶ POST /api/v2/alerts (alertmanager_client), back-off while Alertmanager is away
        ──▶ acknowledge each message, in receive order, once Alertmanager accepted what it changed

The sink has its own MQTT session (``<client_id>-alertmanager``, never a shared subscription): each
sink sees every alert of every area, so an alert's raise and clear never land in different processes.
Several collectors with sinks may post to the same Alertmanager: it deduplicates by label set.
Nothing is lost: an unacknowledged message is redelivered by the broker after a crash, the retained
``alerts/active`` lists and gateway ``status`` rebuild the active set on every (re)subscription,
and while Alertmanager is unreachable nothing is acknowledged (the broker queues; ``pending_posts``
in the collector's health counts what waits). See docs/alerting.md.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from collector.alertmanager_client import AlertmanagerClient, Refused, Unreachable
from collector.alertmanager_config import AlertmanagerConfig, area_names_path, load_area_names
from collector.alertmanager_model import Presenter
from collector.alertmanager_state import AlertBook, Change
from collector.config import CollectorConfig, MqttConfig
from collector.decode import Rejected, accept
from collector.subscriber import Inbound, Subscriber
from wire.topics import filters

__all__ = ["AlertSink", "feed_topics", "run_alone"]

log = logging.getLogger(__name__)

_KINDS = ("alert", "alerts_active", "status")
_MAX_BATCH = 500          # alerts per POST
_MAX_DRAIN = 1000         # messages taken per turn before posting


def feed_topics(prefix: str, collector_alerts: str = "") -> list[str]:
    """The topics the sink follows: alert events, each area's retained active list and each gateway's
    retained status (``wire.topics``), and the collectors' own alerts (message gaps) when given."""
    return filters(prefix, _KINDS) + ([collector_alerts] if collector_alerts else [])


_GAP_KEYS = {"collector": str, "ts": str, "kind": str, "severity": str, "gateway": str, "topic": str,
             "first_missing": int, "last_missing": int, "missing": int}


def decode_collector_alert(topic: str, data: bytes, max_bytes: int) -> dict[str, Any]:
    """A collector's own alert (``meterwatch.collector_alert/1``, collector/gaps.py): a message gap."""
    if len(data) > max_bytes:
        raise Rejected(topic, "too_large", f"{len(data)} bytes")
    try:
        p = json.loads(data)
    except ValueError as e:
        raise Rejected(topic, "not_json", str(e)) from None
    if not isinstance(p, dict) or p.get("schema") != "meterwatch.collector_alert/1":
        raise Rejected(topic, "schema_unknown", "not a meterwatch.collector_alert/1")
    bad = [k for k, t in _GAP_KEYS.items() if type(p.get(k)) is not t]
    if bad or p["kind"] != "message_gap":
        raise Rejected(topic, "schema_invalid", f"collector alert: {', '.join(bad) or p['kind']}")
    return p


def decode(prefix: str, topic: str, data: bytes, max_bytes: int,
           collector_alerts: str = "") -> tuple[str, dict[str, Any]]:
    """``(kind, payload)`` of a message the sink follows, after the collector's own checks (JSON, schema,
    topic layout, payload and topic agree: a gateway cannot speak for another); ``Rejected`` otherwise."""
    if collector_alerts and topic == collector_alerts:
        return "collector_alert", decode_collector_alert(topic, data, max_bytes)
    a = accept(topic, data, prefix=prefix, max_bytes=max_bytes)
    if a.kind.name not in _KINDS:
        raise Rejected(topic, "topic_unknown", f"{a.kind.name} is not an alert, active list or status")
    return a.kind.name, a.payload


class _Feed(Subscriber):
    """The sink's MQTT session: the collector's subscriber on the alert topics only."""

    def __init__(self, cfg: MqttConfig, filters: list[str]) -> None:
        super().__init__(cfg)
        self.filters = filters

    @property
    def topic_filter(self) -> str:
        return " ".join(self.filters)

    @property
    def topic_filters(self) -> list[str]:
        return self.filters


@dataclasses.dataclass
class _Record:
    msg: Inbound
    changes: list[Change] | None = None   # None: not applied yet (status held until the retained lists are in)
    payload: dict[str, Any] | None = None


class AlertSink:
    """Follows alert lifecycles from MQTT and keeps Alertmanager in step; ``start()`` / ``stop()``."""

    def __init__(self, cfg: CollectorConfig, *, client: AlertmanagerClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        assert cfg.alertmanager is not None
        self.am: AlertmanagerConfig = cfg.alertmanager
        self.prefix = cfg.mqtt.topic_prefix
        self.max_bytes = cfg.mqtt.max_payload_bytes
        names = load_area_names(area_names_path(self.am, cfg.source)) if self.am.area_names_csv else {}
        self.book = AlertBook(Presenter(area_names=names, tz=self.am.timezone, grafana_url=self.am.grafana_url),
                              offline_severity=self.am.gateway_offline_severity)
        self.client = client or AlertmanagerClient(self.am)
        mcfg = dataclasses.replace(cfg.mqtt, client_id=f"{cfg.mqtt.client_id}-alertmanager", shared_group="",
                                   receive_maximum=self.am.receive_maximum)
        self.collector_alerts = cfg.mqtt.alert_topic    # message gaps, from every collector of the group
        self.feed = _Feed(mcfg, feed_topics(self.prefix, self.collector_alerts))
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.last_error = ""
        self.last_post_ms = 0.0
        self._records: deque[_Record] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()     # counters and snapshot vs the sink thread
        self._failures = 0
        self._next_post = 0.0
        self._settle_at: float | None = None
        self._phase = "settling"          # settling -> reconciling -> running
        self._repost_all = False
        self._last_ok = 0.0             # wall clock of the last accepted post
        self._book_stats = {"active": 0, "pending_posts": 0}

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self.feed.start()
        self._thread = threading.Thread(target=self._run, name="alertmanager-sink", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Begin stopping (the final post runs on the sink's thread); ``stop()`` waits for it."""
        self._stop.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.feed.stop(max(0.5, deadline - time.monotonic()))

    def _run(self) -> None:
        log.info("alertmanager sink: posting to %s, following %s", self.am.url, ", ".join(self.feed.filters))
        while not self._stop.is_set():
            try:
                self.turn(wait_s=0.2)
            except Exception:  # a bug of ours must not end the sink: nothing is acknowledged, so nothing is lost
                with self._lock:
                    self.counters["internal_errors"] += 1
                log.exception("alertmanager sink: unexpected error; continuing")
                self._stop.wait(1.0)
        if self._phase == "running":
            self._post(self.clock(), final=True)
            self._acknowledge()

    def turn(self, wait_s: float) -> None:
        """One round: take what arrived (waiting up to ``wait_s``), post what is due, acknowledge."""
        try:
            self._take(self.feed.inbox.get(timeout=wait_s))
            for _ in range(_MAX_DRAIN):
                self._take(self.feed.inbox.get_nowait())
        except queue.Empty:
            pass
        now = self.clock()
        self._advance_phase(now)
        if self._phase == "running":
            self._post(now)
        self._acknowledge()
        stats = {"active": self.book.active(), "pending_posts": self.book.pending()}
        with self._lock:
            self._book_stats = stats

    # -- input ----------------------------------------------------------------------------------------
    def _take(self, msg: Inbound) -> None:
        with self._lock:
            self.counters["received"] += 1
        if msg.generation != self.feed.generation:
            return  # arrived on a connection that is gone: the broker redelivers it
        try:
            kind, p = decode(self.prefix, msg.topic, msg.payload, self.max_bytes, self.collector_alerts)
        except Rejected as e:   # the collector's own ingest dead-letters it; the sink counts and skips it
            with self._lock:
                self.counters[f"invalid_{e.reason}"] += 1
            log.warning("alertmanager sink: %s ignored: %s", msg.topic, e)
            self._records.append(_Record(msg, []))
            return
        rec = _Record(msg, payload=p)
        self._records.append(rec)
        if kind == "status" and self._phase == "settling":
            return  # applied once the retained lists are in (a gateway's area is learned from them)
        rec.changes = self._apply(kind, p)

    def _apply(self, kind: str, p: dict[str, Any]) -> list[Change]:
        with self._lock:
            self.counters[f"{kind}_messages"] += 1
        try:
            if kind == "alert":
                return self.book.event(p)
            if kind == "alerts_active":
                return self.book.active_list(p)
            if kind == "collector_alert":
                return self.book.message_gap(p, self.clock(), self.prefix)
            return self.book.status(p, self.clock())
        except (KeyError, ValueError) as e:   # the schema admits it but it makes no sense (e.g. a bad time)
            with self._lock:
                self.counters["invalid_content"] += 1
            log.warning("alertmanager sink: %s payload %s ignored: %s", kind, p.get("msg_id"), e)
            return []

    def _advance_phase(self, now: float) -> None:
        if self._phase == "settling":
            if self._settle_at is None and self.feed.subscribed.is_set():
                self._settle_at = now + self.am.settle_s
            if self._settle_at is not None and now >= self._settle_at:
                for rec in self._records:
                    if rec.changes is None and rec.payload is not None:
                        rec.changes = self._apply("status", rec.payload)
                self._phase = "reconciling"
        if self._phase == "reconciling" and now >= self._next_post:
            try:
                held = self.client.held()
            except Unreachable as e:
                self._failed(now, e)
                return
            except Refused as e:
                log.warning("alertmanager sink: cannot list Alertmanager's alerts (%s): no reconciliation", e)
                held = []
            changes = self.book.reconcile(held, now, self.am.min_firing_s)
            with self._lock:
                self.counters["reconciled"] += len(changes)
            log.info("alertmanager sink: %d active alerts rebuilt, %d held by Alertmanager, %d reconciled",
                     self.book.active(), len(held), len(changes))
            self._phase = "running"
            self._next_post = 0.0

    # -- output ---------------------------------------------------------------------------------------
    def _post(self, now: float, final: bool = False) -> None:
        if now < self._next_post and not final:
            return
        due = self.book.due(now, resend_s=self.am.resend_interval_s, min_firing_s=self.am.min_firing_s,
                            everything=self._repost_all, keep_resolved_s=self.am.keep_resolved_s)
        for i in range(0, len(due), _MAX_BATCH):
            chunk = due[i:i + _MAX_BATCH]
            docs = [e.postable(now, self.am.expire_after_s, resolved=resolved) for e, resolved, _v in chunk]
            t = time.monotonic()
            try:
                self.client.post(docs)
            except Unreachable as e:
                self._failed(now, e)
                return
            except Refused as e:   # stored except the invalid ones; the same post would fail again
                with self._lock:
                    self.counters["post_refused"] += 1
                self.last_error = str(e)
                log.error("alertmanager sink: Alertmanager refused alerts: %s", e)
            self.last_post_ms = (time.monotonic() - t) * 1000
            self.book.posted(chunk, now)
            self._last_ok = now
            with self._lock:
                self.counters["posts"] += 1
                self.counters["alerts_posted"] += len(chunk)
        if self._failures:
            log.info("alertmanager sink: Alertmanager reachable again after %d failed attempts", self._failures)
            self._failures = 0
        self._repost_all = False

    def _failed(self, now: float, e: Exception) -> None:
        """Back off; once it answers again, everything active is re-posted (it may have restarted empty)."""
        delay = min(self.am.retry_max_s, self.am.retry_initial_s * 2 ** min(self._failures, 30))
        if self._failures == 0:
            # It may have gone before flushing what fired last: an Alertmanager keeps no alerts over a
            # restart, and one it learns only as resolved it never tells. Fire those again first.
            self.book.refire(since=self._last_ok - self.am.min_firing_s)
        self._failures += 1
        self._next_post = now + delay
        self._repost_all = True
        self.last_error = str(e)
        with self._lock:
            self.counters["post_failures"] += 1
        if self._failures == 1 or self._failures % 10 == 0:
            log.warning("alertmanager sink: %s; %d alert changes wait, nothing acknowledged; retry in %.1f s",
                        e, self.book.pending(), delay)

    def _acknowledge(self) -> None:
        """Acknowledge, in receive order and in one write, the messages whose every change Alertmanager
        accepted (those of a lost connection are redelivered instead)."""
        ready: list[Inbound] = []
        while self._records:
            rec = self._records[0]
            if rec.msg.generation == self.feed.generation and (
                    rec.changes is None or not all(self.book.settled(c) for c in rec.changes)):
                break
            self._records.popleft()
            if rec.msg.generation == self.feed.generation:
                ready.append(rec.msg)
        if ready:
            done = self.feed.ack_many(ready)
            with self._lock:
                self.counters["acked"] += done
                self.counters["stale_dropped"] += len(ready) - done

    # -- health ---------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The sink's part of the collector's health message."""
        with self._lock:
            c, stats = dict(self.counters), dict(self._book_stats)
        return {"url": self.am.url, "phase": self._phase, "connected": self.feed.is_connected(),
                "reachable": self._failures == 0, **stats, "unacked": len(self._records),
                "last_post_ms": round(self.last_post_ms, 1), "last_error": self.last_error, "counters": c}


def run_alone(cfg: CollectorConfig, stop: threading.Event) -> None:
    """Only the sink, without InfluxDB (``meterwatch collector --alertmanager-only``): an alert forwarder
    of its own, or the demo's. Its health is logged every ``health_interval_s`` and once at the end."""
    sink = AlertSink(cfg)
    sink.start()
    try:
        while not stop.wait(cfg.mqtt.health_interval_s):
            log.info("alertmanager sink health %s", json.dumps(sink.snapshot(), ensure_ascii=False))
    finally:
        sink.stop()
        log.info("alertmanager sink stopped %s", json.dumps(sink.snapshot(), ensure_ascii=False))
