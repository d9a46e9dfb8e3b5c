"""Gaps are seen: ``collector.sequence`` per stream topic, reported three ways the same hour.

A gap (``topic_seq`` jumped) is (1) counted in the collector's health (``gaps``, ``missing``), (2)
written as a ``collector_gap`` point next to the message that revealed it (Grafana can alert on it),
and (3) published at once as an alert on ``[mqtt] alert_topic``
(``{"schema": "meterwatch.collector_alert/1", "kind": "message_gap", ...}``) and logged as a warning.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from collector.config import CollectorConfig
from collector.decode import Accepted
from collector.lineproto import Point, encode_many
from collector.mapping import for_server
from collector.sequence import Gap, Sequences, Verdict
from wire import parse_msg_id
from wire.timefmt import parse_ns
from wire.topics import build

__all__ = ["GapReporter"]

log = logging.getLogger(__name__)


class GapReporter:
    """Owned by the decoding thread."""

    def __init__(self, cfg: CollectorConfig, sub: Any, health: Any) -> None:
        self.cfg, self.sub, self.health = cfg, sub, health
        self.seq = Sequences()
        self.path = Path(cfg.state_file) if cfg.state_file else None

    def load(self) -> None:
        if self.path is not None:
            n = self.seq.load(self.path)
            log.info("sequence state: %d topics from %s", n, self.path)

    def save(self) -> None:
        if self.path is not None:
            try:
                self.seq.save(self.path)
            except OSError as e:      # a full or read-only disk must not stop ingest
                log.error("cannot save sequence state to %s: %s", self.path, e)

    def counters(self) -> dict[str, int]:
        return {**self.seq.counters, "topics": len(self.seq)}

    def observe(self, a: Accepted) -> tuple[int, bytes] | None:
        """None for a duplicate (do not write it again); else the points and line protocol to add
        to the message's own (a ``collector_gap`` point when it revealed a gap)."""
        p = a.payload
        verdict, gap = self.seq.observe(a.topic.gateway, self._topic(a), a.kind.name, p["topic_seq"],
                                        parse_msg_id(p["msg_id"])[1], p["ts"])
        if verdict is Verdict.DUPLICATE:
            return None
        if gap is None:
            return 0, b""
        self._alert(gap)
        point = Point("collector_gap", {"gateway": gap.gateway, "kind": gap.kind},
                      {"missing": float(gap.missing), "first_missing": float(gap.first),
                       "last_missing": float(gap.last), "topic": gap.topic, "collector": self.cfg.mqtt.client_id},
                      parse_ns(gap.ts))
        lines = for_server([point], self.cfg.influx.server)
        return len(lines), encode_many(lines)

    def _topic(self, a: Accepted) -> str:
        return build(self.cfg.mqtt.topic_prefix, a.topic)

    def _alert(self, gap: Gap) -> None:
        m = self.cfg.mqtt
        text = (f"{gap.missing} message(s) of {gap.topic} never arrived (topic_seq {gap.first}..{gap.last}); "
                "check the broker's queue limits and session expiry (docs/collector.md)")
        log.warning("gap: %s", text)
        doc = {"schema": "meterwatch.collector_alert/1", "collector": m.client_id, "ts": gap.ts,
               "kind": "message_gap", "severity": "warning", "gateway": gap.gateway, "topic": gap.topic,
               "payload_kind": gap.kind, "first_missing": gap.first, "last_missing": gap.last,
               "missing": gap.missing, "message": text}
        self.sub.publish(m.alert_topic, json.dumps(doc, ensure_ascii=False).encode(), qos=1)
