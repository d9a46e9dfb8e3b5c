"""The collector's own health: counters, published to MQTT and logged every ``health_interval_s``."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Health"]


@dataclass
class Health:
    client_id: str
    started: float = field(default_factory=time.monotonic)
    counters: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)  # by reason
    last_write_ms: float = 0.0
    last_batch_points: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)  # counters touched by writer threads

    def snapshot(self, *, queue_depth: int, pending: int, connected: bool,
                 sequences: dict[str, int] | None = None) -> dict[str, Any]:
        c = self.counters
        return {
            "schema": "meterwatch.collector_health/2",
            "collector": self.client_id,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "uptime_s": round(time.monotonic() - self.started, 1),
            "connected": connected,
            "received": c["received"],
            "acked": c["acked"],
            "written_messages": c["written_messages"],
            "written_points": c["written_points"],
            "batches": c["batches"],
            "write_failures": c["write_failures"],
            "stale_dropped": c["stale_dropped"],
            "internal_errors": c["internal_errors"],
            "extra_fields": c["extra_fields"],
            "not_stored_per_meter": c["not_stored_per_meter"],
            "dead_lettered": sum(self.dead_letters.values()),
            "dead_letters": dict(self.dead_letters),
            "sequences": sequences or {},
            "queue_depth": queue_depth,
            "pending_unacked": pending,
            "last_write_ms": round(self.last_write_ms, 1),
            "last_batch_points": self.last_batch_points,
        }

    def dead_letter(self, topic: str, payload: bytes, reason: str, detail: str, max_bytes: int) -> bytes:
        """The dead-letter message: the reason and the original bytes (cut at ``max_bytes``)."""
        body = payload[:max_bytes]
        return json.dumps({"schema": "meterwatch.deadletter/1", "collector": self.client_id, "topic": topic,
                           "reason": reason, "detail": detail[:2000], "size": len(payload),
                           "truncated": len(body) < len(payload),
                           "payload_b64": base64.b64encode(body).decode()}).encode()
