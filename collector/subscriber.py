"""The MQTT side: paho-mqtt 2.x, MQTT 5 persistent session, manual acknowledgement.

- Fixed client id, ``clean_start=False`` and a session expiry: while the collector is down or restarting,
  the broker queues its messages, and every message it received but did not acknowledge is redelivered.
- ``ReceiveMaximum`` bounds the unacknowledged messages in flight to us; when the database is down we
  stop acknowledging, so the broker stops sending: that is the back-pressure.
- Messages carry the connection *generation* they arrived on. After a disconnect their packet ids mean
  nothing (the broker redelivers them, possibly with the same ids), so they are never acknowledged.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from collector.config import MqttConfig

__all__ = ["Inbound", "Subscriber"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float  # monotonic s


class Subscriber:
    """Owns the paho client and its network thread; messages arrive on ``inbox`` in receive order."""

    def __init__(self, cfg: MqttConfig) -> None:
        self.cfg = cfg
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.generation = 0
        self.connects = 0
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id, protocol=mqtt.MQTTv5,
                        manual_ack=True)
        if cfg.username:
            pw = Path(cfg.password_file).read_text(encoding="utf-8").strip() if cfg.password_file else None
            c.username_pw_set(cfg.username, pw)
        u = urllib.parse.urlsplit(cfg.url)
        self._host = u.hostname or "127.0.0.1"
        self._port = u.port or (8883 if u.scheme == "mqtts" else 1883)
        if u.scheme == "mqtts":
            c.tls_set(ca_certs=cfg.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(min_delay=1, max_delay=10)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self.client = c

    @property
    def topic_filter(self) -> str:
        base = f"{self.cfg.topic_prefix}/#"
        return f"$share/{self.cfg.shared_group}/{base}" if self.cfg.shared_group else base

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_s
        props.ReceiveMaximum = self.cfg.receive_maximum
        self.client.connect_async(self._host, self._port, keepalive=self.cfg.keepalive_s, clean_start=False,
                                  properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def ack(self, msg: Inbound) -> bool:
        """Acknowledge ``msg`` if it belongs to the live connection; False when it will be redelivered."""
        with self._lock:
            if msg.generation != self.generation:
                return False
            return self.client.ack(msg.mid, msg.qos) == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=qos)

    # paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("mqtt %s:%s refused the connection: %s", self._host, self._port, reason)
            return
        self.connects += 1
        if not flags.session_present and self.connects > 1:
            log.warning("mqtt broker had no session for %r: messages sent while it expired are lost",
                        self.cfg.client_id)
        log.info("mqtt connected to %s:%s as %r (session present: %s)", self._host, self._port,
                 self.cfg.client_id, flags.session_present)
        client.subscribe(self.topic_filter, options=SubscribeOptions(qos=1))

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            log.error("mqtt subscription to %r refused: %s", self.topic_filter, reasons)
            return
        log.info("mqtt subscribed to %r", self.topic_filter)
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._lock:
            self.generation += 1
        self.subscribed.clear()
        log.warning("mqtt disconnected (%s); unacknowledged messages will be redelivered", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put(Inbound(self.generation, msg.mid, msg.qos, msg.topic, bytes(msg.payload), time.monotonic()))
