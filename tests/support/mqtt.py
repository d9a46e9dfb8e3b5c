"""A persistent-session MQTT subscriber for tests: records every message it gets, duplicates included."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.sim.broker import Broker

__all__ = ["BrokerThread", "Received", "Subscriber"]


@dataclass(frozen=True, kw_only=True)
class Received:
    topic: str
    payload: dict[str, Any]
    retain: bool


@dataclass
class Subscriber:
    """QoS 1 subscriber with ``clean_start=False`` and a one-hour session: the broker queues for it
    while it (or the broker) is away, as a collector would."""

    host: str
    port: int
    topics: tuple[str, ...]
    client_id: str = "test-subscriber"
    username: str | None = None
    password: str | None = None
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _client: paho.Client | None = None

    @classmethod
    @contextmanager
    def running(cls, port: int, *topics: str, client_id: str = "test-subscriber",
                username: str | None = None, password: str | None = None) -> Iterator[Subscriber]:
        sub = cls(host="127.0.0.1", port=port, topics=topics, client_id=client_id, username=username,
                  password=password)
        sub.start()
        try:
            yield sub
        finally:
            sub.stop()

    def start(self) -> None:
        subscribed = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5)
        c.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        if self.username is not None:
            c.username_pw_set(self.username, self.password)

        def on_connect(client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            # Subscribe only when the broker has no session for us: after a broker restart the
            # subscriptions (and the messages queued meanwhile) must come from its persisted session.
            if not rc.is_failure and not flags.session_present:
                client.subscribe([(t, 1) for t in self.topics])

        def on_subscribe(*_: Any) -> None:
            subscribed.set()

        def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
            try:
                payload = json.loads(msg.payload)
            except ValueError:
                payload = {"_raw": msg.payload.decode("utf-8", "replace")}
            with self._lock:
                self.messages.append(Received(topic=msg.topic, payload=payload, retain=bool(msg.retain)))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect_async(self.host, self.port, clean_start=False, properties=props)
        c.loop_start()
        self._client = c
        if not subscribed.wait(10):
            raise TimeoutError("test subscriber did not get SUBACK within 10 s")

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def msg_ids(self, topic_suffix: str = "") -> list[str]:
        return [m.payload.get("msg_id", "") for m in self.snapshot() if m.topic.endswith(topic_suffix)]

    def wait_for(self, wanted: set[str], timeout_s: float = 20.0, topic_suffix: str = "") -> set[str]:
        """Wait until every msg_id in ``wanted`` arrived; returns the ones still missing."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = wanted - set(self.msg_ids(topic_suffix))
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.05)


class BrokerThread:
    """The demo's embedded broker (``edge.sim.broker``) on its own event loop in a thread:
    ``with BrokerThread() as broker: ... broker.port``; ``BrokerThread(port)`` brings one back on a port."""

    def __init__(self, port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.broker = Broker(port=port)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            async with self.broker:
                self.ready.set()
                self.stop = asyncio.Event()
                await self.stop.wait()

        self.loop.run_until_complete(main())

    def __enter__(self) -> Broker:
        self.thread.start()
        assert self.ready.wait(5)
        return self.broker

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)
