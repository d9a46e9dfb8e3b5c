"""The MQTT link: paho-mqtt 2.x (VERSION2 callbacks, MQTT 5) on its own network thread.

paho's callbacks run on paho's thread. They only translate what happened into a small event object
and hand it to the asyncio loop with ``call_soon_threadsafe``; they never block, never touch the
outbox and never raise (an exception there would be logged by paho and could kill its loop).
Reconnecting, with exponential back-off between ``reconnect_min_s`` and ``reconnect_max_s``, is
paho's own loop; a refused CONNACK (wrong password) is reported as ``Refused`` and retried the same way.
The password file is read again before every connection attempt, so a rotated credential is picked
up without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.errors import ConfigError, ConfigIssue

__all__ = [
    "Acked",
    "Connected",
    "Disconnected",
    "Event",
    "MqttLink",
    "MqttSettings",
    "Refused",
    "Unreachable",
    "parse_broker_url",
    "read_password",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Connected:
    session_present: bool


@dataclass(frozen=True, kw_only=True)
class Refused:
    """The broker answered CONNACK with a failure (e.g. 134 bad user name or password)."""

    code: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Unreachable:
    """No connection at all: broker down, network, DNS or TLS handshake failure."""


@dataclass(frozen=True, kw_only=True)
class Disconnected:
    code: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Acked:
    """PUBACK for ``mid``; ``code`` >= 0x80 means the broker refused the message."""

    mid: int
    code: int
    reason: str


Event = Connected | Refused | Unreachable | Disconnected | Acked


def _config_error(key: str, message: str) -> ConfigError:
    # The config loader knows the file and line; here only the key is known.
    return ConfigError([ConfigIssue(file="<mqtt settings>", line=None, key=f"mqtt.{key}", message=message)])


def parse_broker_url(url: str) -> tuple[str, int, bool]:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` -> (host, port, tls)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise _config_error("url", f"{url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise _config_error("url", f"{url!r}: no host")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise _config_error("url", f"{url!r}: {exc}") from None
    return parts.hostname, port, tls


def read_password(path: Path) -> str:
    """Read a password file; a relative path is looked up in ``$CREDENTIALS_DIRECTORY`` (systemd
    ``LoadCredential=``). One trailing newline is stripped."""
    if not path.is_absolute() and os.environ.get("CREDENTIALS_DIRECTORY"):
        path = Path(os.environ["CREDENTIALS_DIRECTORY"]) / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _config_error("password_file", f"{str(path)!r}: {exc.strerror or exc}") from None
    return text[:-1] if text.endswith("\n") else text


@dataclass(frozen=True, kw_only=True)
class MqttSettings:
    """Where and how to connect. Files are paths so that rotated credentials are re-read."""

    url: str
    client_id: str
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    inflight: int = 32
    session_expiry_s: int = 0

    def check(self) -> None:
        """Validate before any I/O; names the offending key."""
        parse_broker_url(self.url)
        for key in ("ca_file", "cert_file", "key_file"):
            p = getattr(self, key)
            if p is not None and not Path(p).is_file():
                raise _config_error(key, f"{str(p)!r}: no such file")
        if self.key_file is not None and self.cert_file is None:
            raise _config_error("key_file", "given without cert_file")
        if self.password_file is not None:
            read_password(Path(self.password_file))
        if not 1 <= self.inflight <= 65535:
            raise _config_error("inflight", f"{self.inflight} is not in 1..65535")


class MqttLink:
    """One paho client whose events arrive on an ``asyncio.Queue``."""

    def __init__(self, settings: MqttSettings, loop: asyncio.AbstractEventLoop) -> None:
        settings.check()
        self.settings = settings
        self.host, self.port, self.tls = parse_broker_url(settings.url)
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._loop = loop
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                        protocol=paho.MQTTv5, reconnect_on_failure=True)
        c.suppress_exceptions = True
        c.max_inflight_messages_set(settings.inflight)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)  # type: ignore[arg-type]
        if self.tls or settings.ca_file:
            ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
            if settings.cert_file:
                ctx.load_cert_chain(str(settings.cert_file),
                                    str(settings.key_file) if settings.key_file else None)
            c.tls_set_context(ctx)
        c.on_pre_connect = self._on_pre_connect
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        self.client = c

    # -- paho thread: translate and hand over, nothing else ----------------------------------------
    def _post(self, event: Event) -> None:
        # RuntimeError: the loop closed during shutdown and nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.events.put_nowait, event)

    def _on_pre_connect(self, client: paho.Client, userdata: Any) -> None:
        if self.settings.username is None:
            return
        password = None
        if self.settings.password_file is not None:
            try:
                password = read_password(Path(self.settings.password_file))
            except Exception as exc:   # never raise into paho's thread; the broker will refuse us
                log.error("%s; connecting without a password", exc)
        client.username_pw_set(self.settings.username, password)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any,
                    properties: Any = None) -> None:
        try:
            if rc.is_failure:
                self._post(Refused(code=int(rc.value), reason=str(rc)))
            else:
                self._post(Connected(session_present=bool(getattr(flags, "session_present", False))))
        except Exception:   # never raise into paho's thread
            log.exception("mqtt on_connect")

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        try:
            self._post(Unreachable())
        except Exception:
            log.exception("mqtt on_connect_fail")

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any,
                       properties: Any = None) -> None:
        try:
            self._post(Disconnected(code=int(getattr(rc, "value", 0)), reason=str(rc)))
        except Exception:
            log.exception("mqtt on_disconnect")

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, rc: Any,
                    properties: Any = None) -> None:
        try:
            self._post(Acked(mid=mid, code=int(getattr(rc, "value", 0)), reason=str(rc)))
        except Exception:
            log.exception("mqtt on_publish")

    # -- asyncio side --------------------------------------------------------------------------------
    def set_will(self, topic: str, payload: bytes) -> None:
        """The retained QoS 1 message the broker publishes if this client vanishes (used from the next
        CONNECT on)."""
        self.client.will_set(topic, payload, qos=1, retain=True)

    def start(self) -> None:
        props = None
        if self.settings.session_expiry_s:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.settings.session_expiry_s
        self.client.connect_async(self.host, self.port, keepalive=self.settings.keepalive_s,
                                  clean_start=True, properties=props)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Queue a publish in paho (sent now if connected, else after the reconnect); returns the mid."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"mqtt publish to {topic!r} failed: {paho.error_string(info.rc)}")
        return int(info.mid)

    def stop(self) -> None:
        """Disconnect cleanly (no will) and join paho's thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def describe(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"
