"""The daemon's publisher (outbox + MQTT), built from the ``[gateway]``, ``[mqtt]`` and ``[publish]``
sections. Started first and stopped last (a bounded flush; what is left stays in the outbox)."""

from __future__ import annotations

from pathlib import Path

from edge.config.model import Config
from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings

__all__ = ["build_publisher", "mqtt_settings"]


def mqtt_settings(cfg: Config, broker_url: str | None = None) -> MqttSettings:
    """``[mqtt]`` as link settings; ``broker_url`` overrides the configured URL (demo, tests)."""
    m = cfg.mqtt
    return MqttSettings(
        url=broker_url or m.url, client_id=m.client_id or cfg.gateway.id,
        username=m.username or None, password_file=Path(m.password_file) if m.password_file else None,
        ca_file=Path(m.ca_file) if m.ca_file else None, cert_file=Path(m.cert_file) if m.cert_file else None,
        key_file=Path(m.key_file) if m.key_file else None, keepalive_s=m.keepalive_s)


def build_publisher(cfg: Config, *, broker_url: str | None, flush_timeout_s: float) -> Publisher:
    """The publisher over ``[gateway] state_dir`` (created if missing); ``await start()`` it."""
    state_dir = Path(cfg.gateway.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    return Publisher(
        PublisherSettings(gateway=cfg.gateway.id, state_dir=state_dir, topic_prefix=cfg.mqtt.topic_prefix,
                          outbox_max_bytes=int(cfg.publish.outbox_max_mb * 1024 * 1024),
                          alert_ttl_s=cfg.publish.alert_ttl_days * 86400.0, flush_timeout_s=flush_timeout_s),
        mqtt_settings(cfg, broker_url))
