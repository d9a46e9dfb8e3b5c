"""The outbox as the asyncio side sees it: every SQLite and state-file operation on one writer thread,
and the disk treated as a budget, not a cliff.

    store = OutboxStore(path, gateway="gw-0042", max_bytes=64 << 20)
    await store.open()                     # never raises for a full disk, a lock or a corrupt file
    ids = await store.submit(items, state={"engine:A01": blob})
    msgs = await store.take(32); await store.ack(seqs)
    await store.close()

When a write fails because of the disk or the database file (``outbox.storage_fault``: disk full,
another process's lock, I/O error, corruption) nothing is raised to the caller and nothing stops:

- the messages (and the engine state that goes with them) are held in memory, in order, bounded by
  what one transaction may add to the WAL (``edge.publish.held``); over the bound the oldest summaries
  are dropped first, alerts last, each counted (``dropped_summaries`` / ``dropped_alerts``);
- a full disk first makes room in the database: the oldest stored summaries are deleted, which frees
  pages new messages can reuse without new disk blocks;
- the error is logged once per episode, with SQLite's own message; the recovery once, with what the
  episode cost; ``stats().store`` says what is wrong meanwhile;
- the writer retries with back-off (0.5 s doubling to 5 s); once a write succeeds, the held messages
  are stored in one transaction and the publisher is woken.

A foreign lock costs at most ``busy_timeout_s`` (0.25 s) of the writer thread per attempt, never the
event loop. Reads (``take``) go on under another process's write lock (WAL).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from edge.publish.budget import DiskBudget
from edge.publish.held import HeldMessages
from edge.publish.outbox import Encoded, Message, Outbox, OutboxStats, encode_items, storage_fault
from edge.publish.statefiles import StateFiles
from edge.timeouts import within
from wire import Outgoing

__all__ = ["OutboxStore"]

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_MIN_S = 0.5
RETRY_MAX_S = 5.0
MAINTAIN_S = 30.0           # scheduled WAL checkpoint while healthy
_POINTER = "state_gen:"


class _Writer:
    """Thread-confined: the outbox, the state files and the messages held in memory."""

    def __init__(self, path: Path, *, outbox_args: dict[str, Any], memory_max_bytes: int) -> None:
        self.path = path
        self.outbox_args = outbox_args
        self.outbox: Outbox | None = None
        self.files = StateFiles(path.parent / "state")
        self.held = HeldMessages(memory_max_bytes, self._count)
        self.fault: str | None = None
        self.fault_error = ""
        self._fault_since = 0.0
        self._episode = Counter[str]()
        self.failures = Counter[str]()
        self.lock_waits = 0
        self.pointers: dict[str, int] = {}
        self.legacy: dict[str, bytes] = {}
        self.recovered_from: Path | None = None
        self._held_counts = Counter[str]()       # drops decided while no outbox is open
        self._fallback_seq = 0

    # -- opening -------------------------------------------------------------------------------------
    def open(self) -> bool:
        try:
            ob = Outbox(self.path, **self.outbox_args)
        except (sqlite3.Error, OSError) as exc:
            # Whatever SQLite says when it cannot open its files, the gateway keeps running and retries.
            self._failed(exc if storage_fault(exc) else sqlite3.OperationalError(f"disk I/O error: {exc}"))
            return False
        self.outbox = ob
        if ob.recovered_from is not None:
            self.recovered_from = ob.recovered_from
        for counter, n in self._held_counts.items():
            ob.count(counter, n)
        self._held_counts.clear()
        self.pointers = {k[len(_POINTER):]: v for k, v in ob.meta().items() if k.startswith(_POINTER)}
        self.legacy = ob.legacy_states()
        if ob.budget.raised:
            log.warning("outbox_max_mb = %.3g is below the outbox's fixed minimum (SQLite shared-memory "
                        "index, WAL reserve, schema pages): the outbox keeps to %d KiB instead",
                        ob.budget.requested / 2**20, ob.budget.total // 1024)
        return True

    def load_state(self, key: str) -> bytes | None:
        """Committed state of ``key``: the generation the outbox names; without a pointer (new or lost
        outbox) the newest valid one; else what an older version kept in the outbox."""
        found = self.files.load(key, self.pointers.get(key))
        if found is not None:
            self.pointers.setdefault(key, found[0])   # a lost outbox: continue after the newest
            return found[1]
        return self.legacy.get(key)

    # -- writing -------------------------------------------------------------------------------------
    def submit(self, items: Sequence[Outgoing], state: Mapping[str, bytes] | None) -> list[str | None]:
        encoded = encode_items(items)           # ValueError: nothing of the call is stored or held
        state = dict(state or {})
        if self.outbox is None or self.held:     # in order: behind what is already held
            self.held.add(encoded, state)
            return [None] * len(encoded)
        msgs = self._store(encoded, state)
        if msgs is None:
            self.held.add(encoded, state)
            return [None] * len(encoded)
        return [m.msg_id for m in msgs]

    def retry(self) -> bool:
        """Store what is held (or, with nothing held, an empty transaction that proves the outbox
        writes again); True once nothing is held and the write succeeded."""
        if self.outbox is None and not self.open():
            return False
        if self._store(self.held.items, self.held.state) is None:
            return False
        self.held.clear()
        return True

    def _store(self, items: list[Encoded], state: dict[str, bytes]) -> list[Message] | None:
        """Write in one transaction; None after a storage fault (already handled)."""
        msgs: list[Message] | None
        try:
            msgs = self._write(items, state)
        except Exception as exc:
            if storage_fault(exc) is None:
                raise
            msgs = self._make_room_and_retry(items, state, exc)
        if msgs is not None:
            self._recovered(len(items))
        return msgs

    def _make_room_and_retry(self, items: list[Encoded], state: dict[str, bytes],
                             exc: Exception) -> list[Message] | None:
        """The disk is full: take the room from the outbox's own ballast, else from its oldest summaries."""
        if storage_fault(exc) == "full" and self.outbox is not None:
            need = sum(e.size for e in items) + sum(len(b) for b in state.values())
            for make_room in (lambda ob: ob.reserve.release(need + ob.budget.wal_bytes),
                              lambda ob: ob.make_room(need)):
                try:
                    if make_room(self.outbox):
                        return self._write(items, state)
                except Exception as again:
                    if storage_fault(again) is None:
                        raise
                    exc = again
        self._failed(exc)
        return None

    def _write(self, items: list[Encoded], state: dict[str, bytes]) -> list[Message]:
        """State slots first (fsynced), then the transaction that commits messages and pointers. A
        failed transaction leaves the pointers on the previous generations: the slot just written is
        the uncommitted one and is overwritten by the next attempt, never the committed one."""
        assert self.outbox is not None
        gens = {key: self.pointers.get(key, 0) + 1 for key in state}
        for key, blob in state.items():
            self.files.write(key, gens[key], blob)
        msgs = self.outbox.put_encoded(items, meta={_POINTER + k: g for k, g in gens.items()})
        self.pointers.update(gens)
        return msgs

    def _count(self, counter: str, n: int) -> None:
        if self.outbox is not None:
            self.outbox.count(counter, n)
        else:
            self._held_counts[counter] += n
        self._episode[counter] += n

    # -- faults --------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        fault = storage_fault(exc)
        if fault is None:
            raise exc
        self.failures[fault] += 1
        if fault == "locked":
            self.lock_waits += 1
        if fault == "corrupt" and self.outbox is not None:
            # A database that went bad while running: reopening sets it aside and starts a new one.
            with contextlib.suppress(Exception):
                self.outbox.close()
            self.outbox = None
        if self.fault is None:
            self._fault_since = time.monotonic()
            self._episode.clear()
            log.error("outbox %s: cannot store (%s: %s); holding messages in memory (at most %d KiB, oldest "
                      "summaries dropped first), polling and detection go on, retrying", self.path, fault, exc,
                      self.held.max_bytes // 1024)
        elif fault != self.fault:
            log.warning("outbox %s: now %s: %s", self.path, fault, exc)
        self.fault, self.fault_error = fault, str(exc)

    def _recovered(self, stored: int) -> None:
        if self.fault is None:
            return
        log.warning("outbox %s: storing again after %.1f s (%s); %d held messages stored; dropped meanwhile: "
                    "%d summaries, %d alerts", self.path, time.monotonic() - self._fault_since, self.fault,
                    stored, self._episode["dropped_summaries"], self._episode["dropped_alerts"])
        self.fault = None
        self.fault_error = ""

    # -- the publisher's side ------------------------------------------------------------------------
    def _guarded(self, fn: Callable[[Outbox], T]) -> T | None:
        """Run an outbox operation; a storage fault is recorded and gives None."""
        if self.outbox is None:
            return None
        try:
            return fn(self.outbox)
        except Exception as exc:
            self._failed(exc)
            return None

    def take(self, limit: int) -> list[Message]:
        return self._guarded(lambda ob: ob.take(limit)) or []

    def ack(self, seqs: list[int]) -> bool:
        """Delete acknowledged rows. On a full disk checkpoint first (the delete then reuses the log)."""
        def run(ob: Outbox) -> bool:
            try:
                ob.ack(seqs)
            except Exception as exc:
                if storage_fault(exc) != "full":
                    raise
                ob.reserve.release(ob.budget.wal_bytes)
                ob.checkpoint()
                ob.ack(seqs)
            return True
        return bool(self._guarded(run))

    def reject(self, seq: int) -> bool:
        def run(ob: Outbox) -> bool:
            ob.reject(seq)
            return True
        return bool(self._guarded(run))

    def release(self, seq: int) -> None:
        if self.outbox is not None:
            self.outbox.release(seq)

    def allocate_msg_id(self, gateway: str, clock: Callable[[], float]) -> str:
        if self.outbox is not None:
            return self.outbox.allocate_msg_id()
        self._fallback_seq = max(int(clock() * 1000), self._fallback_seq + 1)
        return f"{gateway}:{self._fallback_seq}"

    def maintain(self) -> None:
        if self.fault is None:
            self._guarded(lambda ob: ob.checkpoint())

    def stats(self) -> OutboxStats:
        h = self._held_counts
        base = self.outbox.stats() if self.outbox is not None else OutboxStats(
            depth=0, bytes=0, inflight=0, superseded=h["superseded"], dropped_summaries=h["dropped_summaries"],
            dropped_alerts=h["dropped_alerts"], rejected=0)
        return dataclasses.replace(base, pending=len(self.held), pending_bytes=self.held.bytes,
                                   store=self.fault or ("ok" if self.outbox is not None else "closed"),
                                   store_failures=sum(self.failures.values()), lock_waits=self.lock_waits)

    def close(self) -> int:
        """Last attempt to store what is held; returns how many messages are lost (logged)."""
        if self.held:
            self.retry()
        lost = len(self.held)
        if lost:
            log.error("outbox %s: %d messages held in memory could not be stored before the stop and are lost "
                      "(%s)", self.path, lost, self.fault_error)
        if self.outbox is not None:
            with contextlib.suppress(Exception):
                self.outbox.close()
            self.outbox = None
        return lost


class OutboxStore:
    """The asyncio facade; one instance per outbox, used from one event loop."""

    def __init__(self, path: Path | str, *, gateway: str, max_bytes: int = 64 * 1024 * 1024,
                 alert_ttl_s: float = 7 * 86400.0, synchronous: str = "FULL",
                 clock: Callable[[], float] = time.time, busy_timeout_s: float = 0.25,
                 on_stored: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.gateway = gateway
        self._clock = clock
        mem = DiskBudget.of(max_bytes).wal_bytes // 2
        self._writer = _Writer(self.path, memory_max_bytes=mem, outbox_args={
            "gateway": gateway, "max_bytes": max_bytes, "alert_ttl_s": alert_ttl_s,
            "synchronous": synchronous, "clock": clock, "busy_timeout_s": busy_timeout_s})
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._on_stored = on_stored
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def open(self) -> None:
        """Open the outbox (on the writer thread). A disk or lock problem leaves it closed and retried."""
        if not await self._run(self._writer.open):
            self._kick.set()
        self._task = asyncio.create_task(self._maintain(), name="outbox-writer")

    @property
    def recovered_from(self) -> Path | None:
        return self._writer.recovered_from

    @property
    def degraded(self) -> bool:
        w = self._writer
        return w.outbox is None or bool(w.held) or w.fault is not None

    def load_state(self, key: str) -> bytes | None:
        """The committed engine state of ``key`` (start-up: call before submitting)."""
        return self._writer.load_state(key)

    async def submit(self, items: Sequence[Outgoing], *,
                     state: Mapping[str, bytes] | None = None) -> list[str | None]:
        """Store items (and state) in one transaction; their ``msg_id``s, or None for items held in
        memory because the disk refused them (stored later, in order). ``ValueError`` for an item
        that can never be stored (nothing of the call is stored or held)."""
        ids = await self._run(self._writer.submit, items, state)
        if self.degraded:
            self._kick.set()
        return ids

    async def take(self, limit: int) -> list[Message]:
        return await self._run(self._writer.take, limit)

    async def ack(self, seqs: list[int]) -> bool:
        """Delete acknowledged messages; False when the disk refused (they stay in flight, retry later)."""
        return await self._run(self._writer.ack, seqs)

    async def reject(self, seq: int) -> bool:
        return await self._run(self._writer.reject, seq)

    async def release(self, seq: int) -> None:
        await self._run(self._writer.release, seq)

    def msg_id(self, seq: int) -> str:
        return f"{self.gateway}:{seq}"

    def allocate_msg_id(self) -> str:
        return self._writer.allocate_msg_id(self.gateway, self._clock)

    def stats(self) -> OutboxStats:
        return self._writer.stats()

    @property
    def checkpoint_ms_max(self) -> float:
        ob = self._writer.outbox
        return ob.checkpoint_ms_max if ob is not None else 0.0

    async def _maintain(self) -> None:
        """Retry while degraded (back-off 0.5 s doubling to 5 s); checkpoint on a schedule otherwise."""
        delay = RETRY_MIN_S
        while True:
            wait = delay if self.degraded else MAINTAIN_S
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self._kick.wait(), wait)
                if self.degraded:          # kicked: a new failure; give it the first back-off step
                    await asyncio.sleep(delay)
            self._kick.clear()
            try:
                if self.degraded:
                    ok = await self._run(self._writer.retry)
                    delay = RETRY_MIN_S if ok else min(delay * 2, RETRY_MAX_S)
                    if ok and self._on_stored is not None:
                        self._on_stored()
                else:
                    await self._run(self._writer.maintain)
            except Exception:                 # a programming error: say so, keep the writer alive
                log.exception("outbox writer: maintenance failed")

    async def close(self) -> int:
        """Stop retrying, make a last attempt to store what is held, close. Returns messages lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        lost = await self._run(self._writer.close)
        self._pool.shutdown(wait=True)
        return lost
