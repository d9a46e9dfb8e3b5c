"""The durable outbox: every payload is written here before it is published and deleted only on PUBACK.

One SQLite database (WAL) in the state directory holds the queued messages, the ``msg_id`` sequence
(so ids continue across restarts and are never reused), each stream topic's ``topic_seq`` (the outbox
owns both ids: ``wire.message``), the drop counters (so ``health`` reports them cumulatively across
restarts) and the pointers to the engine state files committed with the messages
(``meta.state_gen:<key>``, see ``edge.publish.statefiles``).

Send order: priority class first (alerts, then realtime/health, then bulk summaries), then sequence.
A topic always carries one payload kind, hence one class, so the order within a topic is the order of
submission.

Disk budget (``edge.publish.budget``): the database pages in use are kept under the budget's database
share; when a ``put`` would cross it:
1. the oldest summaries (every kind that is not in the alert class), oldest first, whatever the kind;
2. only while alerts alone take more than half of it: the oldest alerts (counted in ``dropped_alerts``).
Alerts older than ``alert_ttl_s`` (default 7 days) are expired (also counted in ``dropped_alerts``).
A retained message (``alerts/active``, ``status``) supersedes the queued, not yet sent, retained
messages of the same topic: the broker keeps only the latest anyway (counted in ``superseded``).
Messages handed to the broker and awaiting PUBACK are never dropped or superseded.

Not thread-safe: one thread uses it (``edge.publish.store`` runs it on its writer thread). Only
``allocate_msg_id`` and ``stats`` may be called from another thread (they touch no database).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.publish.budget import PAGE_BYTES, SHM_BYTES, DiskBudget, Reserve, outbox_disk_bytes
from wire import Outgoing, format_msg_id, stamp

__all__ = [
    "ALERT_CLASS",
    "BULK_CLASS",
    "PRIORITY_OF_KIND",
    "REALTIME_CLASS",
    "Encoded",
    "Message",
    "Outbox",
    "OutboxStats",
    "encode_items",
    "storage_fault",
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
"""
_EXPIRY_CHECK_S = 60.0
_STATUS_BLOCK = 32          # msg_ids reserved for birth/death status messages (no write per connect)
_PLACEHOLDER = json.dumps("\x00msg_id\x00").encode()
_SEQ_PLACEHOLDER = json.dumps("\x00topic_seq\x00").encode()
_AUTO_VACUUM_INCREMENTAL = 2

# SQLite primary result codes (the low byte of the extended code) and what they mean for the gateway.
_FAULTS = {13: "full", 5: "locked", 6: "locked", 10: "io", 14: "io", 8: "io", 11: "corrupt", 26: "corrupt"}


def storage_fault(exc: BaseException) -> str | None:
    """``"full"``, ``"locked"``, ``"io"`` or ``"corrupt"`` for an error of the disk or the database
    file, None for anything else (a programming error must not pass for a full disk)."""
    if isinstance(exc, OSError):
        return "full" if exc.errno == 28 else "io"       # ENOSPC
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _FAULTS.get(code & 0xFF)
    text = str(exc).lower()      # the few errors raised without a code (e.g. by the sqlite3 module)
    for needle, fault in (("disk is full", "full"), ("locked", "locked"), ("i/o", "io"), ("unable to open", "io"),
                          ("readonly", "io"), ("malformed", "corrupt"), ("not a database", "corrupt")):
        if needle in text:
            return fault
    return None


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


@dataclass(frozen=True, slots=True)
class Encoded:
    """A payload serialised once, with placeholders where its ``msg_id`` (and, for a stream kind, its
    ``topic_seq``) go when it is stored."""

    topic: str
    kind: str
    retain: bool
    stream: bool
    template: bytes

    @property
    def priority(self) -> int:
        return PRIORITY_OF_KIND[self.kind]

    @property
    def size(self) -> int:
        return len(self.template)

    def render(self, msg_id: str, topic_seq: int | None) -> bytes:
        data = self.template.replace(_PLACEHOLDER, json.dumps(msg_id).encode(), 1)
        if topic_seq is not None:
            data = data.replace(_SEQ_PLACEHOLDER, str(topic_seq).encode(), 1)
        return data


def encode_items(items: Sequence[Outgoing]) -> list[Encoded]:
    """Serialise messages once (``wire.message.stamp`` with placeholders for the ids); ``ValueError``
    names the kind and topic of the first that is not storable (unknown kind, not JSON, NaN or infinity)."""
    out = []
    for item in items:
        if item.kind not in PRIORITY_OF_KIND:
            raise ValueError(f"unknown payload kind {item.kind!r} for topic {item.topic!r}")
        payload = stamp(item.payload, msg_id="\x00msg_id\x00", topic_seq=None)
        if item.stream:
            payload["topic_seq"] = "\x00topic_seq\x00"
        try:
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{item.kind} payload for {item.topic!r} is not valid JSON: {exc}") from None
        if data.count(_PLACEHOLDER) != 1 or data.count(_SEQ_PLACEHOLDER) != (1 if item.stream else 0):
            raise ValueError(f"{item.kind} payload for {item.topic!r} contains the outbox's id placeholders")
        out.append(Encoded(topic=item.topic, kind=item.kind, retain=item.retain, stream=item.stream, template=data))
    return out


@dataclass(frozen=True, kw_only=True)
class OutboxStats:
    """Depth and cumulative counters, as published in ``health``. ``pending``/``pending_bytes``: held
    in memory because the disk refused them (``edge.publish.store``); ``store`` says why (``ok``,
    ``full``, ``locked``, ``io``, ``corrupt``, ``closed``)."""

    depth: int
    bytes: int
    inflight: int
    dropped_summaries: int
    dropped_alerts: int
    superseded: int
    rejected: int
    disk_bytes: int = 0          # SQLite files (database, WAL, index)
    reserve_bytes: int = 0       # the ballast holding the rest of the budget
    budget_bytes: int = 0
    pending: int = 0
    pending_bytes: int = 0
    store: str = "ok"
    store_failures: int = 0
    lock_waits: int = 0

    def as_health(self) -> dict[str, int | str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Outbox:
    """SQLite outbox bounded on disk by ``max_bytes`` (see ``edge.publish.budget``)."""

    def __init__(self, path: Path | str, *, gateway: str, max_bytes: int = 64 * 1024 * 1024,
                 alert_ttl_s: float = 7 * 86400.0, synchronous: str = "FULL",
                 clock: Callable[[], float] = time.time, busy_timeout_s: float = 0.25) -> None:
        if max_bytes <= 0:
            raise ValueError(f"outbox max_bytes must be positive, got {max_bytes}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"outbox synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = Path(path)
        self.gateway = gateway
        self.budget = DiskBudget.of(max_bytes)
        self.max_bytes = max_bytes
        self.alert_ttl_s = alert_ttl_s
        self._clock = clock
        self._busy_timeout_s = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recovered_from: Path | None = None
        self.reserve = Reserve(self.path.with_name(self.path.name + ".reserve"))
        self._reserve_error: str | None = None
        # A clean stop deleted the log and the index: room for them comes out of the ballast.
        self.reserve.release(SHM_BYTES + self.budget.wal_bytes)
        try:
            self._db = self._open(synchronous)
        except sqlite3.DatabaseError as exc:
            if storage_fault(exc) != "corrupt":
                raise        # a full disk or a lock is not corruption: the caller retries later
            self._set_aside(exc)
            self._db = self._open(synchronous)
        self._incremental = self._db.execute("PRAGMA auto_vacuum").fetchone()[0] == _AUTO_VACUUM_INCREMENTAL
        self._next_seq = 1
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._depth = self._bytes = 0
        self._inflight: set[int] = set()
        self._status_ids: list[int] = []
        self._ids_lock = threading.Lock()
        self._fallback_seq = 0
        self._last_expiry_s = float("-inf")
        self.checkpoints = 0
        self.checkpoint_ms_max = 0.0
        self._reload_totals()
        if "next_seq" not in self.meta():
            # A new outbox (first start, lost or corrupt state directory) starts its sequence at the
            # wall clock in ms, so its ids cannot collide with those of a lost previous outbox:
            # consumers dedupe on msg_id and would silently drop a reused one.
            self._next_seq = max(self._next_seq, int(clock() * 1000))
        try:
            self._transaction(lambda: None)  # persists next_seq and reserves the first status ids
        except BaseException:
            self._db.close()
            raise

    def _set_aside(self, exc: BaseException) -> None:
        # A corrupt file (flash wear, power cut on a bad card) must not keep the gateway down for
        # good: set it aside for inspection, say so loudly, start a new outbox.
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(self._clock())}")
        log.error("outbox %s is unreadable (%s): moved to %s, starting a new outbox", self.path, exc, aside)
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                src.rename(Path(f"{aside}{suffix}"))
        self.recovered_from = aside

    def _open(self, synchronous: str) -> sqlite3.Connection:
        # isolation_level=None: explicit BEGIN/COMMIT so each put is exactly one durable transaction.
        # timeout: the bounded wait for another process's lock (then SQLITE_BUSY, retried later).
        db = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_s,
                             check_same_thread=False)
        try:
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")      # takes effect on a new file only
            db.execute("PRAGMA journal_mode=WAL")
            # FULL fsyncs the WAL on every commit: a message survives power loss, not only a kill.
            db.execute(f"PRAGMA synchronous={synchronous}")
            db.execute(f"PRAGMA journal_size_limit={self.budget.wal_bytes}")
            db.execute(f"PRAGMA wal_autocheckpoint={self.budget.checkpoint_pages}")
            db.executescript(_SCHEMA)
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check} (database disk image is malformed)")
        except BaseException:
            db.close()
            raise
        return db

    # -- ids ---------------------------------------------------------------------------------------
    def msg_id(self, seq: int) -> str:
        return format_msg_id(self.gateway, seq)

    def allocate_msg_id(self) -> str:
        """A fresh ``msg_id`` for a message that does not go through the queue (birth/death status).

        Taken from a block reserved durably in an earlier transaction, so it costs no write (and works
        while the disk is full). Should the block run out before a write succeeds, the id is the wall
        clock in ms: above every sequence number issued so far, and the sequence jumps past it at the
        next write."""
        with self._ids_lock:
            if self._status_ids:
                return self.msg_id(self._status_ids.pop(0))
            self._fallback_seq = max(int(self._clock() * 1000), self._fallback_seq + 1, self._next_seq)
            return self.msg_id(self._fallback_seq)

    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq = seq + 1
        return seq

    def _take_topic_seq(self, topic: str) -> int:
        """The next ``topic_seq`` of a stream topic: 1, 2, 3 … in the same transaction as the row."""
        row = self._db.execute("INSERT INTO topic_seq (topic, last) VALUES (?, 1) ON CONFLICT(topic) "
                               "DO UPDATE SET last = last + 1 RETURNING last", (topic,)).fetchone()
        return int(row[0])

    # -- transactions --------------------------------------------------------------------------------
    def _transaction(self, body: Callable[[], Any]) -> Any:
        """Run ``body`` in one write transaction that also persists the sequence and counters and
        tops up the status ids. On any error the in-memory mirrors go back to what they were."""
        saved = (self._next_seq, dict(self._counters), self._depth, self._bytes, self._last_expiry_s)
        status_ids: list[int] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            with self._ids_lock:       # past any fallback status id handed out meanwhile
                self._next_seq = max(self._next_seq, self._fallback_seq + 1)
            result = body()
            if len(self._status_ids) < _STATUS_BLOCK // 2:
                status_ids = list(range(self._next_seq, self._next_seq + _STATUS_BLOCK))
                self._next_seq += _STATUS_BLOCK
            self._set_meta({"next_seq": self._next_seq, **self._counters})
            self._db.execute("COMMIT")
        except BaseException:
            self._next_seq, self._counters, self._depth, self._bytes, self._last_expiry_s = saved
            self._rollback()
            raise
        if status_ids:
            with self._ids_lock:
                self._status_ids.extend(status_ids)
        self._reserve_disk()
        return result

    def _reserve_disk(self) -> None:
        """Keep the ballast at the share of the budget the SQLite files do not use (``budget.Reserve``)."""
        try:
            self.reserve.fit(self.budget.total - outbox_disk_bytes(self.path), self.budget.slack_bytes // 2)
        except OSError as exc:
            if self._reserve_error is None:
                log.warning("outbox %s: cannot hold its disk budget (%s); it grows as needed and a full disk "
                            "can stop it storing until space returns", self.path, exc.strerror or exc)
            self._reserve_error = str(exc)
        else:
            if self._reserve_error is not None:
                log.info("outbox %s: disk budget of %d KiB held again", self.path, self.budget.total // 1024)
            self._reserve_error = None

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR): rolling back
        # again would raise "cannot rollback - no transaction is active" and hide the real error.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.debug("outbox rollback failed: %s", exc)

    def _set_meta(self, values: Mapping[str, int]) -> None:
        self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", list(values.items()))

    def meta(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._db.execute("SELECT key, value FROM meta").fetchall()}

    def meta_value(self, key: str) -> int | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else None

    # -- writing -----------------------------------------------------------------------------------
    def put(self, topic: str, payload: dict[str, Any], *, kind: str, qos: int = 1) -> Message:
        """Assign ``msg_id`` (and ``topic_seq`` for stream kinds), serialise and store durably. Returns the
        stored message. ``payload`` is not modified; the stored copy carries the ids (``wire.message.stamp``).
        """
        return self.put_many([Outgoing(topic, kind, payload)], qos=qos)[0]

    def put_many(self, items: Sequence[Outgoing], *, qos: int = 1,
                 meta: Mapping[str, int] | None = None) -> list[Message]:
        """Store messages in one transaction: one fsync for a whole engine step's output instead of one
        per message. All or nothing."""
        return self.put_encoded(encode_items(items), qos=qos, meta=meta)

    def put_encoded(self, encoded: Sequence[Encoded], *, qos: int = 1,
                    meta: Mapping[str, int] | None = None) -> list[Message]:
        """Store already encoded items (and ``meta`` values, e.g. state pointers) in one transaction."""
        now = self._clock()

        def body() -> list[Message]:
            need = sum(e.size for e in encoded)
            if need:     # + index and meta pages the insert may touch
                self._enforce_budget(extra_pages=math.ceil(need / PAGE_BYTES) + 2)
            out = []
            for e in encoded:
                seq = self._take_seq()
                msg_id = self.msg_id(seq)
                data = e.render(msg_id, self._take_topic_seq(e.topic) if e.stream else None)
                if e.retain:
                    self._supersede(e.topic)
                self._db.execute(
                    "INSERT INTO outbox (seq, topic, payload, kind, priority, retain, qos, created_s, size) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, e.topic, data, e.kind, e.priority, int(e.retain), qos, now, len(data)))
                self._depth += 1
                self._bytes += len(data)
                out.append(Message(seq=seq, msg_id=msg_id, topic=e.topic, payload=data, kind=e.kind,
                                   retain=e.retain, qos=qos))
            if meta:
                self._set_meta(meta)
            if now - self._last_expiry_s >= _EXPIRY_CHECK_S:
                self._expire_alerts(now)
            self._enforce_budget()
            return out

        msgs: list[Message] = self._transaction(body)
        return msgs

    def legacy_states(self) -> dict[str, bytes]:
        """Engine state an older version kept in the outbox (table ``state``), by key. Current
        versions keep it in files (``edge.publish.statefiles``); this is the upgrade path."""
        try:
            rows = self._db.execute("SELECT key, blob FROM state").fetchall()
        except sqlite3.OperationalError:        # no such table: a current outbox
            return {}
        return {str(k): bytes(b) for k, b in rows}

    def count(self, counter: str, n: int) -> None:
        """Add ``n`` to a cumulative counter (drops decided outside the database, e.g. in memory);
        persisted with the next transaction."""
        self._counters[counter] += n

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

    def _pages(self) -> tuple[int, int]:
        """(pages in the file, pages in use)."""
        count = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int(count), int(count - free)

    def _enforce_budget(self, extra_pages: int = 0) -> None:
        """Drop oldest summaries until the pages in use (plus ``extra_pages`` about to be written) fit
        the budget; then oldest alerts, but only while alerts alone take more than half of it (pages
        held by anything else — indexes, another table — must not cost alerts); give surplus free pages
        at the end back to the disk."""
        limit = self.budget.db_pages
        clause, ids = self._not_inflight()
        while (excess := self._pages()[1] + extra_pages - limit) > 0:
            if not self._drop_oldest("priority > ?", clause, ids, excess, "dropped_summaries"):
                break
        alert_bytes = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox WHERE priority = ?",
                                           (ALERT_CLASS,)).fetchone()[0])
        while (excess := self._pages()[1] + extra_pages - limit) > 0 and alert_bytes > self.budget.db_bytes // 2:
            freed = self._drop_oldest("priority = ?", clause, ids, excess, "dropped_alerts")
            if not freed:
                break
            alert_bytes -= freed
        count, _ = self._pages()
        if self._incremental and count > limit:
            self._db.execute(f"PRAGMA incremental_vacuum({count - limit})").fetchall()

    def _drop_oldest(self, where: str, clause: str, ids: tuple[int, ...], excess_pages: int, counter: str) -> int:
        """Delete the oldest rows of a class, about ``excess_pages`` of payload; returns bytes freed."""
        rows = self._db.execute(f"SELECT seq, size FROM outbox WHERE {where}{clause} ORDER BY seq LIMIT 64",
                                (ALERT_CLASS, *ids)).fetchall()
        chosen, freed = [], 0
        for seq, size in rows:
            if freed >= excess_pages * PAGE_BYTES:
                break
            chosen.append((seq, size))
            freed += size
        self._delete_rows(chosen, counter)
        return freed

    def make_room(self, need_bytes: int) -> int:
        """The disk is full: delete the oldest summaries (about ``need_bytes`` of payload) so that new
        messages fit in the freed pages, which need no new disk blocks. Checkpoints before (so the
        delete can reuse the log's space) and after (so the freed pages are free in the database).
        Returns the number dropped (counted in ``dropped_summaries``)."""
        self.checkpoint()

        def body() -> int:
            clause, ids = self._not_inflight()
            rows = self._db.execute(f"SELECT seq, size FROM outbox WHERE priority > ?{clause} ORDER BY seq "
                                    "LIMIT 4096", (ALERT_CLASS, *ids)).fetchall()
            chosen, freed = [], 0
            for seq, size in rows:
                if freed >= need_bytes + 4 * PAGE_BYTES:
                    break
                chosen.append((seq, size))
                freed += size
            return self._delete_rows(chosen, "dropped_summaries")

        n: int = self._transaction(body)
        self.checkpoint()
        return n

    def checkpoint(self) -> None:
        """Copy the log into the database (PASSIVE: never waits for another process); the next
        write then restarts the log at its beginning, and SQLite cuts it back to the reserve."""
        t0 = time.perf_counter()
        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1
        self.checkpoint_ms_max = max(self.checkpoint_ms_max, (time.perf_counter() - t0) * 1000.0)

    def _reload_totals(self) -> None:
        meta = self.meta()
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
        """The broker acknowledged ``seqs``: delete them (one transaction, one fsync, per batch; a batch
        is cut so that its log frames stay within a quarter of the WAL reserve).

        A lost ack (crash before commit) only means the message is sent again: a duplicate, never a loss.
        Should the delete fail (disk, lock), the messages stay in flight (not sent again) for a retry.
        """
        seqs = list(seqs)
        chunk: list[tuple[int, int]] = []
        freed = 0
        for seq in seqs:
            row = self._db.execute("SELECT size FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:          # a message superseded or dropped meanwhile is already gone
                self._inflight.discard(seq)
                continue
            chunk.append((seq, int(row[0])))
            freed += int(row[0])
            if freed >= self.budget.wal_bytes // 4:
                self._delete_acked(chunk)
                chunk, freed = [], 0
        if chunk:
            self._delete_acked(chunk)

    def _delete_acked(self, rows: list[tuple[int, int]]) -> None:
        self._transaction(lambda: self._delete_rows(rows, None))
        self._inflight.difference_update(seq for seq, _ in rows)

    def reject(self, seq: int) -> None:
        """The broker refused ``seq`` for good (PUBACK reason >= 0x80): delete and count it."""

        def body() -> None:
            row = self._db.execute("SELECT size FROM outbox WHERE seq = ?", (seq,)).fetchone()
            if row is not None:
                self._delete_rows([(seq, row[0])], "rejected")

        self._transaction(body)
        self._inflight.discard(seq)

    def release(self, seq: int) -> None:
        """Forget that ``seq`` is in flight, so ``take`` hands it out again."""
        self._inflight.discard(seq)

    @property
    def inflight(self) -> frozenset[int]:
        return frozenset(self._inflight)

    def stats(self) -> OutboxStats:
        c = self._counters
        return OutboxStats(depth=self._depth, bytes=self._bytes, inflight=len(self._inflight),
                           dropped_summaries=c["dropped_summaries"], dropped_alerts=c["dropped_alerts"],
                           superseded=c["superseded"], rejected=c["rejected"],
                           disk_bytes=outbox_disk_bytes(self.path), reserve_bytes=self.reserve.bytes,
                           budget_bytes=self.budget.total)

    def close(self) -> None:
        self._db.close()
