"""The durable outbox: every payload is written here before it is published and deleted only on PUBACK.

One SQLite database (WAL) in the state directory holds the queued messages, the ``msg_id`` sequence
(so ids continue across restarts and are never reused), each stream topic's ``topic_seq`` (the outbox
owns both ids: ``wire.message``) and the drop counters (so ``health`` reports
them cumulatively across restarts).

Send order: priority class first (alerts, then realtime/health, then bulk summaries), then sequence.
A topic always carries one payload kind, hence one class, so the order within a topic is the order of
submission.

Drop policy when the stored payload bytes exceed ``max_bytes`` (a long broker outage):
1. the oldest summaries (every kind that is not in the alert class), oldest first, whatever the kind;
2. only when alerts alone exceed the bound: the oldest alerts (counted in ``dropped_alerts``).
Alerts older than ``alert_ttl_s`` (default 7 days) are expired (also counted in ``dropped_alerts``).
A retained message (``alerts/active``, ``status``) supersedes the queued, not yet sent, retained
messages of the same topic: the broker keeps only the latest anyway (counted in ``superseded``).
Messages handed to the broker and awaiting PUBACK are never dropped or superseded.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wire import Outgoing, format_msg_id, stamp

__all__ = [
    "ALERT_CLASS",
    "BULK_CLASS",
    "PRIORITY_OF_KIND",
    "REALTIME_CLASS",
    "Message",
    "Outbox",
    "OutboxStats",
]

ALERT_CLASS = 0      # alert events, the retained active list, gateway status
REALTIME_CLASS = 1   # transformer state each poll, gateway health
BULK_CLASS = 2       # interval / daily summaries and the per-meter arrays

PRIORITY_OF_KIND: dict[str, int] = {
    "alert": ALERT_CLASS,
    "alerts_active": ALERT_CLASS,
    "status": ALERT_CLASS,
    "realtime": REALTIME_CLASS,
    "health": REALTIME_CLASS,
    "interval": BULK_CLASS,
    "daily": BULK_CLASS,
    "meters_interval": BULK_CLASS,
}

log = logging.getLogger(__name__)

_COUNTERS = ("dropped_summaries", "dropped_alerts", "superseded", "rejected")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq       INTEGER PRIMARY KEY,
    topic     TEXT    NOT NULL,
    payload   BLOB    NOT NULL,
    kind      TEXT    NOT NULL,
    priority  INTEGER NOT NULL,
    retain    INTEGER NOT NULL,
    qos       INTEGER NOT NULL,
    created_s REAL    NOT NULL,
    size      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_send_order ON outbox (priority, seq);
CREATE INDEX IF NOT EXISTS outbox_topic ON outbox (topic) WHERE retain = 1;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topic_seq (topic TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, blob BLOB NOT NULL, saved_s REAL NOT NULL);
"""
_EXPIRY_CHECK_S = 60.0


@dataclass(frozen=True, kw_only=True)
class Message:
    """One queued message as it goes on the wire."""

    seq: int
    msg_id: str
    topic: str
    payload: bytes
    kind: str
    retain: bool
    qos: int


@dataclass(frozen=True, kw_only=True)
class OutboxStats:
    """Depth and cumulative counters, as published in ``health``."""

    depth: int
    bytes: int
    inflight: int
    dropped_summaries: int
    dropped_alerts: int
    superseded: int
    rejected: int

    def as_health(self) -> dict[str, int]:
        return {"depth": self.depth, "bytes": self.bytes, "inflight": self.inflight,
                "dropped_summaries": self.dropped_summaries, "dropped_alerts": self.dropped_alerts,
                "superseded": self.superseded, "rejected": self.rejected}


class Outbox:
    """SQLite outbox. Not thread-safe: use it from one thread (the asyncio loop)."""

    def __init__(self, path: Path | str, *, gateway: str, max_bytes: int = 64 * 1024 * 1024,
                 alert_ttl_s: float = 7 * 86400.0, synchronous: str = "FULL",
                 clock: Callable[[], float] = time.time) -> None:
        if max_bytes <= 0:
            raise ValueError(f"outbox max_bytes must be positive, got {max_bytes}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"outbox synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = Path(path)
        self.gateway = gateway
        self.max_bytes = max_bytes
        self.alert_ttl_s = alert_ttl_s
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recovered_from: Path | None = None
        try:
            self._db = self._open(synchronous)
        except sqlite3.DatabaseError as exc:
            # A corrupt file (flash wear, power cut on a bad card) must not keep the gateway down
            # for good: set it aside for inspection, say so loudly, start a new outbox.
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(clock())}")
            log.error("outbox %s is unreadable (%s): moved to %s, starting a new outbox",
                      self.path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    src.rename(Path(f"{aside}{suffix}"))
            self.recovered_from = aside
            self._db = self._open(synchronous)
        self._next_seq = 1
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._depth = self._bytes = 0
        self._reload_totals()
        if "next_seq" not in dict(self._db.execute("SELECT key, value FROM meta").fetchall()):
            # A new outbox (first start, lost or corrupt state directory) starts its sequence at the
            # wall clock in ms, so its ids cannot collide with those of a lost previous outbox:
            # consumers dedupe on msg_id and would silently drop a reused one.
            self._next_seq = max(self._next_seq, int(clock() * 1000))
            self._db.execute("INSERT INTO meta (key, value) VALUES ('next_seq', ?)", (self._next_seq,))
        self._inflight: set[int] = set()
        self._last_expiry_s = float("-inf")

    def _open(self, synchronous: str) -> sqlite3.Connection:
        # isolation_level=None: explicit BEGIN/COMMIT so each put is exactly one durable transaction.
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL fsyncs the WAL on every commit: a message survives power loss, not only a kill.
            db.execute(f"PRAGMA synchronous={synchronous}")
            db.executescript(_SCHEMA)
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
        except BaseException:
            db.close()
            raise
        return db

    # -- ids ---------------------------------------------------------------------------------------
    def msg_id(self, seq: int) -> str:
        return format_msg_id(self.gateway, seq)

    def allocate_msg_id(self) -> str:
        """A fresh ``msg_id`` for a message that does not go through the queue (birth/death status)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seq = self._take_seq()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.msg_id(seq)

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._db.execute("INSERT INTO meta (key, value) VALUES ('next_seq', ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (seq + 1,))
        self._next_seq = seq + 1
        return seq

    def _take_topic_seq(self, topic: str) -> int:
        """The next ``topic_seq`` of a stream topic: 1, 2, 3 … in the same transaction as the row."""
        row = self._db.execute("INSERT INTO topic_seq (topic, last) VALUES (?, 1) ON CONFLICT(topic) "
                               "DO UPDATE SET last = last + 1 RETURNING last", (topic,)).fetchone()
        return int(row[0])

    # -- writing -----------------------------------------------------------------------------------
    def put(self, topic: str, payload: dict[str, Any], *, kind: str, qos: int = 1) -> Message:
        """Assign ``msg_id`` (and ``topic_seq`` for stream kinds), serialise and store durably. Returns the
        stored message.

        ``payload`` is not modified; the stored copy carries the ids (``wire.message.stamp``).
        """
        return self.put_many([Outgoing(topic, kind, payload)], qos=qos)[0]

    def put_many(self, items: Sequence[Outgoing], *, qos: int = 1,
                 state: dict[str, bytes] | None = None) -> list[Message]:
        """Store messages in one transaction: one fsync for a whole engine step's output instead of one
        per message. All or nothing.

        ``state`` (key -> blob, e.g. an engine snapshot) is saved in the same transaction, so the
        state that produced the messages and the messages themselves survive a crash together: after
        a restart an alert is neither lost nor raised a second time."""
        for item in items:
            if item.kind not in PRIORITY_OF_KIND:
                raise ValueError(f"unknown payload kind {item.kind!r} for topic {item.topic!r}")
        now = self._clock()
        out = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for item in items:
                topic, kind, retain = item.topic, item.kind, item.retain
                seq = self._take_seq()
                msg_id = self.msg_id(seq)
                topic_seq = self._take_topic_seq(topic) if item.stream else None
                try:
                    data = json.dumps(stamp(item.payload, msg_id=msg_id, topic_seq=topic_seq),
                                      separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{kind} payload for {topic!r} is not valid JSON: {exc}") from None
                if retain:
                    self._supersede(topic)
                self._db.execute(
                    "INSERT INTO outbox (seq, topic, payload, kind, priority, retain, qos, created_s, size) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, topic, data, kind, PRIORITY_OF_KIND[kind], int(retain), qos, now, len(data)))
                self._depth += 1
                self._bytes += len(data)
                out.append(Message(seq=seq, msg_id=msg_id, topic=topic, payload=data, kind=kind,
                                   retain=retain, qos=qos))
            for key, blob in (state or {}).items():
                self._db.execute("INSERT INTO state (key, blob, saved_s) VALUES (?, ?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET blob = excluded.blob, saved_s = excluded.saved_s",
                                 (key, blob, now))
            if now - self._last_expiry_s >= _EXPIRY_CHECK_S:
                self._expire_alerts(now)
            if self._bytes > self.max_bytes:
                self._enforce_bound()
            self._save_counters()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._reload_totals()
            raise
        return out

    def save_state(self, key: str, blob: bytes) -> None:
        """Save ``blob`` under ``key`` (periodic engine snapshots between alert changes)."""
        self.put_many([], state={key: blob})

    def load_state(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT blob FROM state WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def drop_state(self, key: str) -> None:
        self._db.execute("DELETE FROM state WHERE key = ?", (key,))

    def _delete_rows(self, rows: Iterable[tuple[int, int]], counter: str | None) -> int:
        n = 0
        for seq, size in rows:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._depth -= 1
            self._bytes -= size
            n += 1
        if counter:
            self._counters[counter] += n
        return n

    def _not_inflight(self) -> tuple[str, tuple[int, ...]]:
        ids = tuple(self._inflight)
        return (f" AND seq NOT IN ({','.join('?' * len(ids))})" if ids else ""), ids

    def _supersede(self, topic: str) -> None:
        clause, ids = self._not_inflight()
        rows = self._db.execute(f"SELECT seq, size FROM outbox WHERE retain = 1 AND topic = ?{clause}",
                                (topic, *ids)).fetchall()
        self._delete_rows(rows, "superseded")

    def _expire_alerts(self, now: float) -> None:
        self._last_expiry_s = now
        clause, ids = self._not_inflight()
        rows = self._db.execute(f"SELECT seq, size FROM outbox WHERE priority = ? AND created_s < ?{clause}",
                                (ALERT_CLASS, now - self.alert_ttl_s, *ids)).fetchall()
        self._delete_rows(rows, "dropped_alerts")

    def _enforce_bound(self) -> None:
        clause, ids = self._not_inflight()
        for where, counter in (("priority > ?", "dropped_summaries"), ("priority = ?", "dropped_alerts")):
            while self._bytes > self.max_bytes:
                rows = self._db.execute(
                    f"SELECT seq, size FROM outbox WHERE {where}{clause} ORDER BY seq LIMIT 64",
                    (ALERT_CLASS, *ids)).fetchall()
                if not rows:
                    break
                excess = self._bytes - self.max_bytes
                chosen, freed = [], 0
                for seq, size in rows:
                    if freed >= excess:
                        break
                    chosen.append((seq, size))
                    freed += size
                self._delete_rows(chosen, counter)

    def _save_counters(self) -> None:
        self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                             list(self._counters.items()))

    def _reload_totals(self) -> None:
        """After a rollback: the in-memory mirrors go back to what the database holds."""
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        max_seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
        self._next_seq = max(int(meta.get("next_seq", 1)), int(max_seq) + 1)
        self._counters = {k: int(meta.get(k, 0)) for k in _COUNTERS}
        self._depth, self._bytes = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()

    # -- sending -----------------------------------------------------------------------------------
    def take(self, limit: int) -> list[Message]:
        """The next ``limit`` messages in send order that are not already in flight; marks them in flight."""
        if limit <= 0:
            return []
        clause, ids = self._not_inflight()
        rows = self._db.execute(
            f"SELECT seq, topic, payload, kind, retain, qos FROM outbox WHERE 1{clause} "
            "ORDER BY priority, seq LIMIT ?", (*ids, limit)).fetchall()
        out = []
        for seq, topic, payload, kind, retain, qos in rows:
            self._inflight.add(seq)
            out.append(Message(seq=seq, msg_id=self.msg_id(seq), topic=topic, payload=bytes(payload),
                               kind=kind, retain=bool(retain), qos=qos))
        return out

    def ack(self, seqs: Iterable[int]) -> None:
        """The broker acknowledged ``seqs``: delete them in one transaction (one fsync per batch).

        A lost ack (crash before commit) only means the message is sent again: a duplicate, never a loss.
        """
        seqs = list(seqs)
        if not seqs:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for seq in seqs:
                self._inflight.discard(seq)
                row = self._db.execute("SELECT size FROM outbox WHERE seq = ?", (seq,)).fetchone()
                if row is not None:   # a message superseded or dropped meanwhile is already gone
                    self._delete_rows([(seq, row[0])], None)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._reload_totals()
            raise

    def reject(self, seq: int) -> None:
        """The broker refused ``seq`` for good (PUBACK reason >= 0x80): delete and count it."""
        self._inflight.discard(seq)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT size FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                self._delete_rows([(seq, row[0])], "rejected")
                self._save_counters()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def release(self, seq: int) -> None:
        """Forget that ``seq`` is in flight, so ``take`` hands it out again."""
        self._inflight.discard(seq)

    @property
    def inflight(self) -> frozenset[int]:
        return frozenset(self._inflight)

    def stats(self) -> OutboxStats:
        return OutboxStats(depth=self._depth, bytes=self._bytes, inflight=len(self._inflight),
                           **self._counters)

    def close(self) -> None:
        self._db.close()
