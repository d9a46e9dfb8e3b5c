"""The publishing end of the pipeline: outbox + MQTT link + gateway birth/death.

    publisher = Publisher(PublisherSettings(gateway="gw-0042", state_dir=...), MqttSettings(...))
    await publisher.start()
    msg_id = await publisher.submit(topic, payload, kind="alert")   # or submit_many([Outgoing, ...])
    ...
    await publisher.stop()            # bounded flush, offline status, disconnect

``submit`` returns once the message is durably in the outbox (or, while the disk refuses writes, held
in memory for it: ``edge.publish.store``); one pump task moves messages from the outbox to paho, at
most ``MqttSettings.inflight`` at a time, and deletes each on its PUBACK. Messages paho holds when the
connection drops are resent by paho after the reconnect; messages the process held when it died are
resent from the outbox after the restart (at-least-once; consumers dedupe on msg_id). Every database
operation runs on the outbox's writer thread: the event loop never waits for the disk.
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
from edge.publish.outbox import OutboxStats
from edge.publish.store import OutboxStore
from edge.timeouts import within
from wire import KINDS, Outgoing
from wire.timefmt import rfc3339
from wire.topics import DEFAULT_PREFIX, gateway_topic

__all__ = ["Publisher", "PublisherSettings", "boot_id"]

log = logging.getLogger(__name__)

_REFUSED_CODE = 0x80
_ACK_BATCH = 256        # acked rows deleted per transaction at most
_ACK_FLUSH_S = 0.05     # ... and never later than this after the first PUBACK of a batch
_ACK_RETRY_S = 1.0      # after the disk refused a delete


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
        self.outbox: OutboxStore | None = None
        self.link: MqttLink | None = None
        self._events: asyncio.Queue[Event | _Wake] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._mid_to_seq: dict[int, int] = {}
        self._acked: list[int] = []     # PUBACKed seqs whose rows are not deleted yet
        self._ack_retry_at = 0.0
        self._status_acks: dict[int, asyncio.Future[None]] = {}
        self._wake_pending = False
        self._drained = asyncio.Event()
        self._boot_id = boot_id()
        self.connected = False
        self.last_error: str | None = None
        self._refused = False
        self.counters = {"connects": 0, "connect_refused": 0, "connect_failed": 0, "disconnects": 0,
                         "published": 0, "invalid_payloads": 0, "submitted": 0}

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
        self.outbox = OutboxStore(self.settings.state_dir / "outbox.sqlite3", gateway=self.settings.gateway,
                                  max_bytes=self.settings.outbox_max_bytes, alert_ttl_s=self.settings.alert_ttl_s,
                                  synchronous=self.settings.outbox_synchronous, clock=self._clock,
                                  on_stored=self._wake)
        await self.outbox.open()
        self.link = MqttLink(self.mqtt_settings, loop)
        self._events = self.link.events   # type: ignore[assignment]
        self.link.set_will(self.status_topic, self._status("offline"))
        self.link.start()
        self._pump = asyncio.create_task(self._run_pump(), name="publisher-pump")
        if self.outbox.stats().depth:
            log.info("outbox holds %d messages from a previous run", self.outbox.stats().depth)
            self._wake()

    async def submit(self, topic: str, payload: dict[str, Any], *, kind: str) -> str | None:
        """Store ``payload`` durably for ``topic`` and schedule it; returns its ``msg_id`` (None while
        the disk refuses writes: the message is held in memory and stored, in order, later). Retained
        or not follows from the kind (``wire.kinds``).

        A payload that cannot be stored (unknown kind, NaN, not JSON-able) raises ``ValueError`` naming
        the topic; nothing is stored and ``counters["invalid_payloads"]`` counts it. Disk and lock
        problems never raise (``stats().store`` tells).
        """
        try:
            item = Outgoing(topic, kind, payload)
        except ValueError:
            self.counters["invalid_payloads"] += 1
            raise
        return (await self.submit_many([item]))[0]

    async def submit_many(self, items: Sequence[Outgoing], *,
                          state: dict[str, bytes] | None = None) -> list[str | None]:
        """``submit`` for several messages in one durable transaction (all or nothing), together with
        ``state`` blobs, e.g. the engine snapshot that produced them (saved as a state file the same
        transaction commits: ``edge.publish.statefiles``)."""
        if self.outbox is None:
            raise RuntimeError("publisher not started")
        try:
            ids = await self.outbox.submit(items, state=state)
        except ValueError:
            self.counters["invalid_payloads"] += 1
            raise
        self.counters["submitted"] += len(ids)
        self._wake()
        return ids

    def load_state(self, key: str) -> bytes | None:
        """The committed engine state saved under ``key`` (None on a first start)."""
        if self.outbox is None:
            raise RuntimeError("publisher not started")
        return self.outbox.load_state(key)

    async def wait_drained(self, timeout_s: float) -> bool:
        """True once every stored message has been acknowledged, False after ``timeout_s``."""
        self._check_drained()
        try:
            await within(self._drained.wait(), timeout_s)
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
                await within(fut, max(0.5, deadline - time.monotonic()))
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await asyncio.to_thread(self.link.stop)
        self.connected = False
        await self._flush_acks()
        lost = await self.outbox.close()
        self.outbox = None
        return flushed and not lost

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
        disk = "" if st.store == "ok" else f"; DISK {st.store.upper()}, {st.pending} held in memory"
        return (f"{link}; outbox {st.depth - len(self._acked)} queued, {st.disk_bytes // 1024} of "
                f"{st.budget_bytes // 1024} KiB on disk{disk}; "
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
        st = self.outbox.stats() if self.outbox is not None else None
        if st is not None and st.depth == len(self._acked) and not st.pending and not self._mid_to_seq:
            self._drained.set()
        else:
            self._drained.clear()

    async def _flush_acks(self) -> None:
        if self._acked and self.outbox is not None:
            if await self.outbox.ack(self._acked):
                self._acked = []
            else:       # the disk refused: the rows stay (in flight, not re-sent); retry later
                self._ack_retry_at = time.monotonic() + _ACK_RETRY_S

    async def _run_pump(self) -> None:
        assert self._events is not None and self.outbox is not None and self.link is not None
        first_ack_s = 0.0
        while True:
            if self._acked:
                wait_s = max(0.0, max(first_ack_s + _ACK_FLUSH_S, self._ack_retry_at) - time.monotonic())
                try:
                    batch = [await within(self._events.get(), wait_s)]
                except asyncio.TimeoutError:
                    batch = []
            else:
                batch = [await self._events.get()]
            while not self._events.empty():
                batch.append(self._events.get_nowait())
            had = len(self._acked)
            for ev in batch:
                try:
                    await self._handle(ev, self._acked)
                except Exception:   # one bad event must not stop publishing
                    log.exception("publisher: handling %r failed", ev)
            if self._acked and not had:
                first_ack_s = time.monotonic()
            # Deleting acked rows costs an fsync: batch them (a crash before the delete only means a
            # duplicate), at most _ACK_BATCH rows or _ACK_FLUSH_S after the first PUBACK of a batch.
            now = time.monotonic()
            if self._acked and now >= self._ack_retry_at and (len(self._acked) >= _ACK_BATCH
                                                                or now - first_ack_s >= _ACK_FLUSH_S):
                await self._flush_acks()
            await self._fill_window()
            self._check_drained()

    async def _handle(self, ev: Event | _Wake, acked: list[int]) -> None:
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
                await self.outbox.reject(seq)
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

    async def _fill_window(self) -> None:
        assert self.outbox is not None and self.link is not None
        if not self.connected:
            return
        room = self.mqtt_settings.inflight - len(self._mid_to_seq)
        if room <= 0:
            return
        msgs = await self.outbox.take(room)
        for i, msg in enumerate(msgs):
            try:
                mid = self.link.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
            except RuntimeError as exc:
                log.error("%s", exc)
                for rest in msgs[i:]:
                    await self.outbox.release(rest.seq)
                break
            self._mid_to_seq[mid] = msg.seq
