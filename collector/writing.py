"""Writing one batch: retried with back-off while the database is away, split message by message when
it refuses the data (400/422) or the size (413), dead letters confirmed before the batch counts as done."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from collector.batches import Batch
from collector.config import CollectorConfig
from collector.health import Health
from collector.writer import RejectedWrite, TooLarge, TransientWrite, Writer

__all__ = ["BatchWriting"]

log = logging.getLogger(__name__)

_DEAD_LETTER_WAIT_S = 10.0


class BatchWriting:
    def __init__(self, cfg: CollectorConfig, writer: Writer, health: Health,
                 dead_letter: Callable[[Any, str, str], Any], stop: threading.Event) -> None:
        self.cfg, self.writer, self.health, self._dead_letter, self._stop = cfg, writer, health, dead_letter, stop
        self.gave_up = False      # a write failed after stop: the batches still queued are not tried

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
                with self.health.lock:
                    self.health.counters["write_failures"] += 1
                delay = self._backoff(attempt, e.retry_after_s)
                log.warning("write failed (%s); retry in %.1f s, nothing acknowledged meanwhile", e, delay)
                attempt += 1
                if self._stop.wait(delay):
                    self.gave_up = True
                    raise

    def _split(self, batch: Batch, why: Exception) -> None:
        log.warning("batch of %d points refused (%s): writing message by message", batch.points, why)
        for entry in batch.entries:
            if entry.points:
                try:
                    self._write_retrying(entry.body)
                except (RejectedWrite, TooLarge) as e:
                    entry.dead = self._dead_letter(entry.msg, "db_rejected", str(e))
                    entry.points, entry.body = 0, b""

    def write(self, batch: Batch) -> bool:
        """True when every message of the batch may be acknowledged. Never raises: a stop while the
        database is away or a bug of ours leaves the batch unacknowledged (the broker redelivers it)."""
        try:
            if batch.points:
                try:
                    self._write_retrying(b"".join(e.body for e in batch.entries))
                except (RejectedWrite, TooLarge) as e:
                    self._split(batch, e)
            return self._dead_letters_confirmed(batch)
        except TransientWrite:
            log.warning("stopping with %d messages unwritten: the broker redelivers them", len(batch.entries))
        except Exception:
            with self.health.lock:
                self.health.counters["internal_errors"] += 1
            log.exception("writing a batch of %d messages failed unexpectedly", len(batch.entries))
        return False

    def _dead_letters_confirmed(self, batch: Batch) -> bool:
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
