"""The MQTT side: an MQTT 5 persistent session with manual acknowledgement, on its own network thread.

- Fixed client id, clean start off and a session expiry: while the collector is down or restarting,
  the broker queues its messages, and every message it received but did not acknowledge is redelivered.
- ``receive_maximum`` (MQTT 5 Receive Maximum) bounds the unacknowledged messages in flight to us; when
  the database is down we stop acknowledging, so the broker stops sending: that is the back-pressure.
- Messages carry the connection *generation* they arrived on. After a disconnect their packet ids mean
  nothing (the broker redelivers them, possibly with the same ids), so they are never acknowledged.

The client is ours (``collector.mqtt5``), not paho: it reads whatever the socket has and cuts it into
packets in one pass, skips PUBLISH properties instead of decoding them, and sends a batch's PUBACKs in one
write. paho spent ~56 µs of CPU per received message on this machine, more than the collector's whole
budget per message (docs/collector.md, "Performance").
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from collector import mqtt5
from collector.config import MqttConfig

__all__ = ["Delivery", "Inbound", "Subscriber"]

log = logging.getLogger(__name__)

_READ = 1 << 18


@dataclass(slots=True)
class Inbound:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received: float  # monotonic s


class Delivery:
    """A message we published: ``wait_for_publish`` until the broker's PUBACK (QoS 1) or the write (QoS 0)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._ok = False

    def finish(self, ok: bool) -> None:
        self._ok = ok
        self._event.set()

    def wait_for_publish(self, timeout: float | None = None) -> None:
        self._event.wait(timeout)

    def is_published(self) -> bool:
        return self._event.is_set() and self._ok


class _Refused(Exception):
    pass


class Subscriber:
    """Owns the connection and its network thread; messages arrive on ``inbox`` in receive order."""

    def __init__(self, cfg: MqttConfig) -> None:
        self.cfg = cfg
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.generation = 0
        self.connects = 0
        self.subscribed = threading.Event()
        u = urllib.parse.urlsplit(cfg.url)
        self._host = u.hostname or "127.0.0.1"
        self._port = u.port or (8883 if u.scheme == "mqtts" else 1883)
        self._tls = u.scheme == "mqtts"
        self._password = Path(cfg.password_file).read_text(encoding="utf-8").strip() if cfg.password_file else None
        self._lock = threading.Lock()          # socket writes, generation, pending publishes
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_pid = 0
        self._pending: dict[int, Delivery] = {}
        self._last_send = self._last_recv = 0.0

    @property
    def topic_filter(self) -> str:
        base = f"{self.cfg.topic_prefix}/#"
        return f"$share/{self.cfg.shared_group}/{base}" if self.cfg.shared_group else base

    @property
    def topic_filters(self) -> list[str]:
        return [self.topic_filter]

    # -- API for the collector's threads -------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="collector-mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._send(mqtt5.disconnect())
        with self._lock:
            if self._sock is not None:
                self._sock.close()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def is_connected(self) -> bool:
        return self._sock is not None

    def ack(self, msg: Inbound) -> bool:
        """Acknowledge ``msg`` if it belongs to the live connection; False when it will be redelivered."""
        return self.ack_many([msg]) == 1

    def ack_many(self, msgs: Iterable[Inbound]) -> int:
        """Acknowledge, in one write, every message that arrived on the live connection; returns how
        many are done (QoS 0 ones need no PUBACK); the others will be redelivered."""
        with self._lock:
            live = [m for m in msgs if m.generation == self.generation]
            data = b"".join([mqtt5.puback(m.mid) for m in live if m.qos])
            return len(live) if not data or self._write(data) else 0

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> Delivery:
        with self._lock:
            if not qos:
                d = Delivery()
                d.finish(self._write(mqtt5.publish(topic, payload)))
                return d
            self._next_pid = self._next_pid % 65535 + 1
            pid, d = self._next_pid, Delivery()
            self._pending[pid] = d
            if not self._write(mqtt5.publish(topic, payload, qos=1, packet_id=pid)):
                self._pending.pop(pid, None)
                d.finish(False)
            return d

    # -- the connection ------------------------------------------------------------------------------
    def _write(self, data: bytes) -> bool:
        """Under ``_lock``. False when there is no connection or the write failed (the reader notices)."""
        if self._sock is None:
            return False
        try:
            self._sock.sendall(data)
        except OSError:
            return False
        self._last_send = time.monotonic()
        return True

    def _send(self, data: bytes) -> bool:
        with self._lock:
            return self._write(data)

    def _open(self) -> tuple[socket.socket, bytearray]:
        sock = socket.create_connection((self._host, self._port), timeout=10)
        if self._tls:
            ctx = ssl.create_default_context(cafile=self.cfg.ca_file or None)
            sock = ctx.wrap_socket(sock, server_hostname=self._host)
        c = self.cfg
        sock.sendall(mqtt5.connect(c.client_id, keepalive_s=c.keepalive_s, session_expiry_s=c.session_expiry_s,
                                   receive_maximum=c.receive_maximum, username=c.username, password=self._password))
        buf = bytearray()
        while True:
            data = sock.recv(_READ)
            if not data:
                raise ConnectionError("the broker closed the connection before CONNACK")
            buf += data
            packets, used = mqtt5.parse(buf)
            if packets:
                break
        ack = packets[0]
        if ack.kind != mqtt5.CONNACK or ack.reason >= 0x80:
            sock.close()
            why = mqtt5.CONNACK_REASONS.get(ack.reason, "refused")
            raise _Refused(f"refused: {why} (CONNACK reason code 0x{ack.reason:02x}); check username, "
                           "password_file and the broker's ACL")
        self.connects += 1
        if not ack.session_present and self.connects > 1:
            log.warning("mqtt broker had no session for %r: messages sent while it expired are lost",
                        c.client_id)
        log.info("mqtt connected to %s:%s as %r (session present: %s)", self._host, self._port, c.client_id,
                 ack.session_present)
        del buf[:used]                         # what followed the CONNACK stays for the reader
        for p in packets[1:]:
            self._dispatch(p, time.monotonic())
        return sock, buf

    def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                sock, buf = self._open()
            except (OSError, mqtt5.ProtocolError, _Refused) as e:
                log.error("mqtt %s:%s: cannot connect (%s); retrying in %.0f s", self._host, self._port, e, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 1.0
            with self._lock:
                self._sock = sock
                self._last_send = self._last_recv = time.monotonic()
            self._send(mqtt5.subscribe(1, self.topic_filters))
            try:
                self._serve(sock, buf)
            except (OSError, mqtt5.ProtocolError, ConnectionError) as e:
                if not self._stopping.is_set():
                    log.warning("mqtt connection lost (%s)", e)
            finally:
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = None
            self.generation += 1
            pending, self._pending = self._pending, {}
        sock.close()
        self.subscribed.clear()
        for d in pending.values():
            d.finish(False)
        log.warning("mqtt disconnected; unacknowledged messages will be redelivered")

    def _serve(self, sock: socket.socket, buf: bytearray) -> None:
        sock.settimeout(0.5)
        keepalive = self.cfg.keepalive_s
        while not self._stopping.is_set():
            try:
                data = sock.recv(_READ)
            except TimeoutError:
                data = None
            now = time.monotonic()
            if data == b"":
                raise ConnectionError("the broker closed the connection")
            if data:
                self._last_recv = now
                buf += data
                packets, used = mqtt5.parse(buf)
                del buf[:used]
                for p in packets:
                    self._dispatch(p, now)
            if now - self._last_send >= keepalive / 2:
                self._send(mqtt5.pingreq())
            if now - self._last_recv > keepalive * 1.5:
                raise ConnectionError(f"nothing from the broker for {keepalive * 1.5:.0f} s")

    def _dispatch(self, p: mqtt5.Packet, now: float) -> None:
        if p.kind == mqtt5.PUBLISH:
            self.inbox.put(Inbound(self.generation, p.packet_id, p.qos, p.topic, p.payload, now))
        elif p.kind == mqtt5.PUBACK:
            with self._lock:
                d = self._pending.pop(p.packet_id, None)
            if d is not None:
                d.finish(p.reason < 0x80)
        elif p.kind == mqtt5.SUBACK:
            if p.reason >= 0x80:
                log.error("mqtt subscription to %r refused (reason code 0x%02x)", self.topic_filter, p.reason)
                return
            log.info("mqtt subscribed to %r", self.topic_filter)
            self.subscribed.set()
        elif p.kind == mqtt5.DISCONNECT:
            raise ConnectionError(f"the broker disconnected us (reason code 0x{p.reason:02x})")
