"""``collector.toml``: frozen keyword-only dataclasses, validated before any I/O.

Unknown keys and bad values are ``ConfigError`` issues naming the file, the line and the key.
The sample ``deploy/examples/collector.toml`` is loaded through this loader by a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlconf
from collector.alertmanager_config import AlertmanagerConfig, check_alertmanager
from tomlconf import Doc, build_valid, read_text
from wire.topics import DEFAULT_PREFIX, topic_problem

__all__ = ["AlertmanagerConfig", "BatchConfig", "CollectorConfig", "InfluxConfig", "MqttConfig", "load", "parse"]


@dataclass(frozen=True, kw_only=True, slots=True)
class MqttConfig:
    url: str = "mqtt://127.0.0.1:1883"         # mqtt:// or mqtts://
    client_id: str = "meterwatch-collector-1"   # fixed: the broker keeps this session across restarts
    username: str = ""
    password_file: str = ""
    ca_file: str = ""
    topic_prefix: str = DEFAULT_PREFIX
    shared_group: str = ""                      # "" = plain subscription; else $share/<group>/<prefix>/#
    session_expiry_s: int = 7 * 86400           # how long the broker queues for us while we are down
    receive_maximum: int = 10_000               # unacked messages in flight to us: the back-pressure bound
    keepalive_s: int = 30
    max_payload_bytes: int = 4 * 1024 * 1024
    max_extra_fields: int = 32                  # undocumented properties dropped; more than this: dead letter
    gap_tracking: str = "auto"                  # auto: on without shared_group; on; off (docs/collector.md)
    dead_letter_topic: str = "meterwatch-collector/deadletter"
    alert_topic: str = "meterwatch-collector/alert"     # gap alerts (meterwatch.collector_alert/1)
    health_topic: str = "meterwatch-collector/health"   # /<client_id> is appended
    health_interval_s: float = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class InfluxConfig:
    url: str = "http://127.0.0.1:8086"
    api: str = "v2"          # v2: influxdb-client write API (2.x, 3.x, 1.8+); v1: POST /write (1.x < 1.8)
    server: str = "influxdb"  # influxdb or victoriametrics: where identifiers and strings go (influx-schema.md)
    per_meter: str = "auto"  # meter_interval (one series per meter): auto = on for victoriametrics; on; off
    org: str = "meterwatch"  # v2
    bucket: str = "meterwatch"  # v2 (for 1.8+: "database/retention_policy")
    token_file: str = ""     # v2 token, or "user:password" for 1.8+
    database: str = "meterwatch"  # v1
    username: str = ""       # v1
    password_file: str = ""  # v1
    timeout_s: float = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchConfig:
    max_points: int = 5000        # flush when a batch holds this many points ...
    max_delay_s: float = 1.0      # ... or when its oldest message waited this long
    retry_initial_s: float = 0.5  # back-off after a failed write, doubled up to retry_max_s
    retry_max_s: float = 30.0
    writes_in_flight: int = 2     # concurrent batch writes; acknowledgements still follow receive order
    queued_batches: int = 8       # decoded batches that may wait for a free writer before decoding stalls


@dataclass(frozen=True, kw_only=True, slots=True)
class CollectorConfig:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    influx: InfluxConfig = field(default_factory=InfluxConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    alertmanager: AlertmanagerConfig | None = None   # [alertmanager] present: alerts go there too
    log_level: str = "info"
    state_file: str = ""     # sequence state (gaps, duplicates) kept across restarts; "" = in memory only
    source: str = "<defaults>"

    @property
    def per_meter(self) -> bool:
        return self.influx.per_meter == "on" or (self.influx.per_meter == "auto"
                                                  and self.influx.server == "victoriametrics")

    @property
    def gap_tracking(self) -> bool:
        return self.mqtt.gap_tracking == "on" or (self.mqtt.gap_tracking == "auto" and not self.mqtt.shared_group)


_SECTIONS: dict[str, type] = {"mqtt": MqttConfig, "influx": InfluxConfig, "batch": BatchConfig,
                              "alertmanager": AlertmanagerConfig}
_TOP = {"log_level", "state_file"}


def _check(cfg: CollectorConfig, doc: Doc) -> None:
    def bad(table: str, key: str, message: str) -> None:
        doc.error(f"{table}.{key}" if table else key, message)

    m, i, b = cfg.mqtt, cfg.influx, cfg.batch
    if not re.match(r"^mqtts?://[^/:]+(:\d+)?/?$", m.url):
        bad("mqtt", "url", f"{m.url!r} is not mqtt://host[:port] or mqtts://host[:port]")
    if not m.client_id:
        bad("mqtt", "client_id", "must not be empty: a fixed id keeps the persistent session")
    prefix = m.topic_prefix
    if (problem := topic_problem(prefix)) is not None:
        bad("mqtt", "topic_prefix", f"{prefix[:80]!r} {problem}")
    if m.shared_group and any(c in m.shared_group for c in "/#+"):
        bad("mqtt", "shared_group", f"{m.shared_group!r} must not contain / # +")
    for key in ("dead_letter_topic", "health_topic", "alert_topic"):
        t = getattr(m, key)
        if (problem := topic_problem(t)) is not None:
            bad("mqtt", key, f"{t[:80]!r} {problem}")
        elif prefix and (t == prefix or t.startswith(prefix + "/")):
            bad("mqtt", key, f"{t!r} is under topic_prefix {prefix!r}: the collector would consume its own output")
    if not 1 <= m.receive_maximum <= 65535:
        bad("mqtt", "receive_maximum", f"{m.receive_maximum} is not in 1..65535")
    for key in ("session_expiry_s", "keepalive_s", "max_payload_bytes"):
        if getattr(m, key) <= 0:
            bad("mqtt", key, f"{getattr(m, key)} must be > 0")
    if m.health_interval_s <= 0:
        bad("mqtt", "health_interval_s", "must be > 0")
    if i.api not in ("v1", "v2"):
        bad("influx", "api", f"{i.api!r} is not one of v1, v2")
    for table, key, value, allowed in (("influx", "server", i.server, ("influxdb", "victoriametrics")),
                                       ("influx", "per_meter", i.per_meter, ("auto", "on", "off")),
                                       ("mqtt", "gap_tracking", m.gap_tracking, ("auto", "on", "off"))):
        if value not in allowed:
            bad(table, key, f"{value!r} is not one of {', '.join(allowed)}")
    if m.max_extra_fields < 0:
        bad("mqtt", "max_extra_fields", "must be >= 0")
    if not re.match(r"^https?://", i.url):
        bad("influx", "url", f"{i.url!r} is not http:// or https://")
    if i.timeout_s <= 0:
        bad("influx", "timeout_s", "must be > 0")
    if b.max_points < 1:
        bad("batch", "max_points", "must be >= 1")
    if not 1 <= b.writes_in_flight <= 16:
        bad("batch", "writes_in_flight", f"{b.writes_in_flight} is not in 1..16")
    if not 1 <= b.queued_batches <= 64:
        bad("batch", "queued_batches", f"{b.queued_batches} is not in 1..64")
    if b.max_delay_s <= 0 or b.retry_initial_s <= 0 or b.retry_max_s < b.retry_initial_s:
        bad("batch", "retry_max_s", "need max_delay_s > 0, retry_initial_s > 0, retry_max_s >= retry_initial_s")
    if cfg.alertmanager is not None:
        check_alertmanager(cfg.alertmanager, cfg.source, lambda key, message: bad("alertmanager", key, message))
    if cfg.log_level not in ("debug", "info", "warning", "error"):
        bad("", "log_level", f"{cfg.log_level!r} is not one of debug, info, warning, error")


def parse(text: str, file: str = "<string>") -> CollectorConfig:
    """Parse and validate TOML text; raises ``ConfigError`` listing every issue."""
    doc = tomlconf.parse(text, file)
    parts: dict[str, Any] = {}
    for key, value in doc.data.items():
        if key in _SECTIONS and isinstance(value, dict):
            built = build_valid(doc, _SECTIONS[key], value, key)
            if built is not None:
                parts[key] = built
        elif key in _TOP and isinstance(value, str):
            parts[key] = value
        else:
            what = "unknown key" if key not in _SECTIONS and key not in _TOP else "has the wrong type"
            doc.error(key, f"{what} (known: {', '.join(sorted([*_SECTIONS, *_TOP]))})")
    cfg = CollectorConfig(**parts, source=file)
    _check(cfg, doc)
    doc.raise_if_errors()
    return cfg


def load(path: str | Path) -> CollectorConfig:
    """Load ``path``; raises ``ConfigError`` (unreadable or non-UTF-8 file included)."""
    return parse(read_text(path), str(path))
