"""The publishing end of the pipeline: outbox + MQTT link + gateway birth/death.

    publisher = Publisher(PublisherSettings(gateway="gw-0042", state_dir=...), MqttSettings(...))
    await publisher.start()
    msg_id = await publisher.submit(topic, payload, kind="alert")   # or submit_many([Outgoing, ...])
    ...
    await publisher.stop()            # bounded flush, offline status, disconnect

``submit`` returns once the message is durably in the outbox; one pump task moves messages from the
outbox to paho, at most ``MqttSettings.inflight`` at a time, and deletes each on its PUBACK. Messages
paho holds when the connection drops are resent by paho after the reconnect; messages the process held
when it died are resent from the outbox after the restart (at-least-once; consumers dedupe on msg_id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import __version__
from edge.publish.mqtt import (
    Acked,
    Connected,
    Disconnected,
    Event,
    MqttLink,
    MqttSettings,
    Refused,
    Unreachable,
)
from edge.publish.outbox import Outbox, OutboxStats
from wire import KINDS, Outgoing
from wire.timefmt import rfc3339
from wire.topics import DEFAULT_PREFIX, gateway_topic

__all__ = ["Publisher", "PublisherSettings", "boot_id"]

log = logging.getLogger(__name__)

_REFUSED_CODE = 0x80
_ACK_BATCH = 256        # acked rows deleted per transaction at most
_ACK_FLUSH_S = 0.05     # ... and never later than this after the first PUBACK of a batch


def boot_id() -> str:
    """The kernel's boot id (changes on every reboot); a random id where /proc does not have it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return str(uuid.uuid4())


@dataclass(frozen=True, kw_only=True)
class PublisherSettings:
    gateway: str
    state_dir: Path
    topic_prefix: str = DEFAULT_PREFIX
    outbox_max_bytes: int = 64 * 1024 * 1024
    alert_ttl_s: float = 7 * 86400.0
    outbox_synchronous: str = "FULL"
    flush_timeout_s: float = 5.0


class _Wake:
    """Queue marker: new messages are in the outbox."""


class Publisher:
    """Facade the pipeline uses. All methods run on one asyncio loop."""

    def __init__(self, settings: PublisherSettings, mqtt: MqttSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.mqtt_settings = mqtt
        self._clock = clock
        self.outbox: Outbox | None = None
        self.link: MqttLink | None = None
        self._events: asyncio.Queue[Event | _Wake] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._mid_to_seq: dict[int, int] = {}
        self._acked: list[int] = []     # PUBACKed seqs whose rows are not deleted yet
        self._status_acks: dict[int, asyncio.Future[None]] = {}
        self._wake_pending = False
        self._drained = asyncio.Event()
        self._boot_id = boot_id()
        self.connected = False
        self.last_error: str | None = None
        self._refused = False
        self.counters = {"connects": 0, "connect_refused": 0, "connect_failed": 0, "disconnects": 0,
                         "published": 0, "invalid_payloads": 0}

    # -- topics -------------------------------------------------------------------------------------
    def gateway_topic(self, kind: str) -> str:
        """The topic of a gateway payload kind (``status``, ``health``): ``P/{gateway}/{kind}``."""
        return gateway_topic(self.settings.topic_prefix, self.settings.gateway, kind)

    @property
    def status_topic(self) -> str:
        return self.gateway_topic("status")

    def _status(self, state: str) -> bytes:
        assert self.outbox is not None
        return json.dumps({
            "schema": KINDS["status"].tag, "msg_id": self.outbox.allocate_msg_id(),
            "gateway": self.settings.gateway, "ts": rfc3339(self._clock()), "state": state,
            "version": __version__, "boot_id": self._boot_id,
        }, separators=(",", ":")).encode()

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the outbox (resuming what a previous run left) and start connecting; returns at once."""
        loop = asyncio.get_running_loop()
        self.outbox = Outbox(self.settings.state_dir / "outbox.sqlite3", gateway=self.settings.gateway,
                             max_bytes=self.settings.outbox_max_bytes, alert_ttl_s=self.settings.alert_ttl_s,
                             synchronous=self.settings.outbox_synchronous, clock=self._clock)
        self.link = MqttLink(self.mqtt_settings, loop)
        self._events = self.link.events   # type: ignore[assignment]
        self.link.set_will(self.status_topic, self._status("offline"))
        self.link.start()
        self._pump = asyncio.create_task(self._run_pump(), name="publisher-pump")
        if self.outbox.stats().depth:
            log.info("outbox holds %d messages from a previous run", self.outbox.stats().depth)
            self._wake()

    async def submit(self, topic: str, payload: dict[str, Any], *, kind: str) -> str:
        """Store ``payload`` durably for ``topic`` and schedule it; returns its ``msg_id``. Retained or
        not follows from the kind (``wire.kinds``).

        A payload that cannot be stored (unknown kind, NaN, not JSON-able) raises ``ValueError`` naming
        the topic; nothing is stored and ``counters["invalid_payloads"]`` counts it.
        """
        try:
            item = Outgoing(topic, kind, payload)
        except ValueError:
            self.counters["invalid_payloads"] += 1
            raise
        return (await self.submit_many([item]))[0]

    async def submit_many(self, items: Sequence[Outgoing], *, state: dict[str, bytes] | None = None) -> list[str]:
        """``submit`` for several messages in one durable transaction (all or nothing), together with
        ``state`` blobs (see ``Outbox.put_many``)."""
        if self.outbox is None:
            raise RuntimeError("publisher not started")
        try:
            msgs = self.outbox.put_many(items, state=state)
        except ValueError:
            self.counters["invalid_payloads"] += 1
            raise
        self._wake()
        return [m.msg_id for m in msgs]

    async def wait_drained(self, timeout_s: float) -> bool:
        """True once every stored message has been acknowledged, False after ``timeout_s``."""
        self._check_drained()
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def stop(self, flush_timeout_s: float | None = None) -> bool:
        """Flush for at most ``flush_timeout_s``, publish the offline status, disconnect.

        Returns True when the outbox was empty at the end. What is left stays in the outbox for the
        next start.
        """
        if self.outbox is None or self.link is None:
            return True
        timeout = self.settings.flush_timeout_s if flush_timeout_s is None else flush_timeout_s
        deadline = time.monotonic() + timeout
        self._check_drained()
        flushed = await self.wait_drained(timeout) if self.connected else self._drained.is_set()
        if self.connected:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            mid = self.link.publish(self.status_topic, self._status("offline"), retain=True)
            self._status_acks[mid] = fut
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(fut, max(0.5, deadline - time.monotonic()))
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await asyncio.to_thread(self.link.stop)
        self.connected = False
        self._flush_acks()
        self.outbox.close()
        self.outbox = None
        return flushed

    @property
    def pumping(self) -> bool:
        """True while the task moving messages from the outbox to the broker runs."""
        return self._pump is not None and not self._pump.done()

    @property
    def inflight(self) -> int:
        """Messages handed to paho and not yet acknowledged (never more than ``MqttSettings.inflight``)."""
        return len(self._mid_to_seq)

    def status_line(self) -> str:
        """One line for systemd ``STATUS=``: link state and outbox figures."""
        if self.outbox is None:
            return "publisher stopped"
        st = self.outbox.stats()
        link = "mqtt connected" if self.connected else f"mqtt down ({self.last_error or 'connecting'})"
        return (f"{link}; outbox {st.depth - len(self._acked)} queued, {st.bytes // 1024} KiB; "
                f"dropped {st.dropped_summaries} summaries, {st.dropped_alerts} alerts")

    def stats(self) -> OutboxStats:
        if self.outbox is None:
            raise RuntimeError("publisher not started")
        return self.outbox.stats()

    # -- the pump -----------------------------------------------------------------------------------
    def _wake(self) -> None:
        if not self._wake_pending and self._events is not None:
            self._wake_pending = True
            self._events.put_nowait(_Wake())

    def _check_drained(self) -> None:
        # Acked rows awaiting their batched delete count as delivered.
        if (self.outbox is not None and self.outbox.stats().depth == len(self._acked)
                and not self._mid_to_seq):
            self._drained.set()
        else:
            self._drained.clear()

    def _flush_acks(self) -> None:
        if self._acked and self.outbox is not None:
            self.outbox.ack(self._acked)
            self._acked = []

    async def _run_pump(self) -> None:
        assert self._events is not None and self.outbox is not None and self.link is not None
        first_ack_s = 0.0
        while True:
            if self._acked:
                wait_s = max(0.0, first_ack_s + _ACK_FLUSH_S - time.monotonic())
                try:
                    batch = [await asyncio.wait_for(self._events.get(), wait_s)]
                except asyncio.TimeoutError:
                    batch = []
            else:
                batch = [await self._events.get()]
            while not self._events.empty():
                batch.append(self._events.get_nowait())
            had = len(self._acked)
            for ev in batch:
                try:
                    self._handle(ev, self._acked)
                except Exception:   # one bad event must not stop publishing
                    log.exception("publisher: handling %r failed", ev)
            if self._acked and not had:
                first_ack_s = time.monotonic()
            # Deleting acked rows costs an fsync: batch them (a crash before the delete only means a
            # duplicate), at most _ACK_BATCH rows or _ACK_FLUSH_S after the first PUBACK of a batch.
            if self._acked and (len(self._acked) >= _ACK_BATCH
                                or time.monotonic() - first_ack_s >= _ACK_FLUSH_S):
                self._flush_acks()
            self._fill_window()
            self._check_drained()

    def _handle(self, ev: Event | _Wake, acked: list[int]) -> None:
        assert self.outbox is not None and self.link is not None
        if isinstance(ev, _Wake):
            self._wake_pending = False
        elif isinstance(ev, Acked):
            if (fut := self._status_acks.pop(ev.mid, None)) is not None:
                if not fut.done():
                    fut.set_result(None)
                return
            seq = self._mid_to_seq.pop(ev.mid, None)
            if seq is None:
                return
            if ev.code >= _REFUSED_CODE:
                log.error("broker refused message %s (%s, code %d): dropped and counted as rejected",
                          self.outbox.msg_id(seq), ev.reason, ev.code)
                self.outbox.reject(seq)
            else:
                acked.append(seq)
                self.counters["published"] += 1
        elif isinstance(ev, Connected):
            self.connected = True
            self.last_error = None
            self._refused = False
            self.counters["connects"] += 1
            log.info("connected to %s as %s", self.link.describe(), self.mqtt_settings.client_id)
            self.link.publish(self.status_topic, self._status("online"), retain=True)
            # The next CONNECT carries a will with a fresh msg_id (consumers dedupe on it).
            self.link.set_will(self.status_topic, self._status("offline"))
        elif isinstance(ev, Refused):
            self.connected = False
            self.counters["connect_refused"] += 1
            self._refused = True
            self.last_error = (f"broker {self.link.describe()} refused the connection: {ev.reason} "
                               f"(code {ev.code}); check username/password file and certificates; "
                               "retrying with back-off")
            log.error("%s", self.last_error)
        elif isinstance(ev, Disconnected) and not self.connected and self._refused:
            self._refused = False     # the close that follows a refused CONNACK: already reported
        elif isinstance(ev, Unreachable) or (isinstance(ev, Disconnected) and not self.connected):
            # No session came up: broker down, network, or the TLS handshake/client certificate was
            # rejected (with TLS 1.3 the server refuses the certificate only after the handshake).
            self.counters["connect_failed"] += 1
            first = self.last_error is None
            detail = f": {ev.reason}" if isinstance(ev, Disconnected) else ""
            self.last_error = (f"cannot connect to {self.link.describe()}{detail} (broker down, network or "
                               "TLS failure); retrying with back-off")
            # Once per outage at warning level: a broker away for a day must not flood the journal.
            log.log(logging.WARNING if first else logging.DEBUG, "%s", self.last_error)
        elif isinstance(ev, Disconnected):
            self.counters["disconnects"] += 1
            log.warning("disconnected from %s: %s; reconnecting with back-off", self.link.describe(), ev.reason)
            self.connected = False

    def _fill_window(self) -> None:
        assert self.outbox is not None and self.link is not None
        if not self.connected:
            return
        room = self.mqtt_settings.inflight - len(self._mid_to_seq)
        for msg in self.outbox.take(room):
            try:
                mid = self.link.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
            except RuntimeError as exc:
                log.error("%s", exc)
                self.outbox.release(msg.seq)
                break
            self._mid_to_seq[mid] = msg.seq
