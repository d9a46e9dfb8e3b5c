"""Batches of decoded messages, and the order rules between concurrent batch writes.

Two rules keep what is stored right while ``writes_in_flight`` batches are written at once:

- **Acknowledgements follow receive order.** Batches are numbered when they are closed; a batch is
  acknowledged only when it and every earlier batch are done (``Completion``).
- **A newer value is never overwritten by an older one.** Every message names the point it writes
  (``key``: its topic and the time of its point). A batch that writes a key an earlier, unfinished batch
  also writes waits for that batch — including all its retries — before it is written (``deps``).
  Batches without a shared key are written concurrently, which is nearly always: one topic's points
  have distinct times unless the gateway re-sends a point with a new value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collector.subscriber import Inbound

__all__ = ["Batch", "Completion", "Entry", "KeyOrder"]

Key = tuple[str, str]


@dataclass
class Entry:
    msg: Inbound
    points: int = 0      # number of points in ``body``
    body: bytes = b""    # line protocol, encoded on the decoding thread
    key: Key | None = None
    dead: Any = None     # MQTTMessageInfo of the dead-letter publish


@dataclass
class Batch:
    entries: list[Entry] = field(default_factory=list)
    points: int = 0
    opened: float = 0.0                            # when its oldest message was received (monotonic s)
    seq: int = 0                                   # hand-over order = receive order
    deps: tuple[threading.Event, ...] = ()         # earlier batches writing one of our keys
    claimed: frozenset[Key] = frozenset()          # the keys this batch writes (set when handed over)
    done: threading.Event = field(default_factory=threading.Event)

    def add(self, e: Entry) -> None:
        if not self.entries:
            # The receive time, not the decoding time: a message that waited in the inbox behind a
            # backlog has used up its delay already, so the last batch of a drain leaves at once.
            self.opened = e.msg.received
        self.entries.append(e)
        self.points += e.points

    def point_keys(self) -> frozenset[Key]:
        return frozenset(e.key for e in self.entries if e.key is not None and e.points)


class KeyOrder:
    """Which unfinished batch last wrote each key. Called from the decoding thread (``claim``, in batch
    order) and the writer threads (``release``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[Key, Batch] = {}

    def claim(self, batch: Batch) -> None:
        batch.claimed = batch.point_keys()
        with self._lock:
            deps = {id(b): b.done for k in batch.claimed if (b := self._last.get(k)) is not None}
            for k in batch.claimed:
                self._last[k] = batch
        batch.deps = tuple(deps.values())

    def release(self, batch: Batch) -> None:
        with self._lock:
            for k in batch.claimed:
                if self._last.get(k) is batch:
                    del self._last[k]
        batch.done.set()

    def __len__(self) -> int:
        return len(self._last)


class Completion:
    """Acknowledge batches in hand-over order: a batch finished early waits for the earlier ones."""

    def __init__(self, acknowledge: Callable[[Batch], None]) -> None:
        self._acknowledge = acknowledge
        self._lock = threading.Lock()
        self._next = 0
        self._done: dict[int, tuple[Batch, bool]] = {}
        self.pending = 0      # messages handed to the writers and not yet acknowledged or dropped

    def handed_over(self, batch: Batch) -> None:
        with self._lock:
            self.pending += len(batch.entries)

    def finish(self, batch: Batch, ok: bool) -> None:
        with self._lock:
            self._done[batch.seq] = (batch, ok)
            while self._next in self._done:
                done, good = self._done.pop(self._next)
                self._next += 1
                self.pending -= len(done.entries)
                if good:
                    self._acknowledge(done)
