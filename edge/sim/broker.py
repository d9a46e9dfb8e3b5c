"""A small MQTT broker for ``meterwatch demo`` (no services to install), MQTT 3.1.1 and 5.

Enough of the protocol for the demo and commissioning on a laptop: CONNECT (clean or resumed
in-memory sessions), PUBLISH QoS 0/1 with PUBACK, SUBSCRIBE/UNSUBSCRIBE with ``+``/``#`` wildcards,
retained messages, the will on an abnormal disconnect, PINGREQ, DISCONNECT. QoS 2 is downgraded to 1.
It is not a production broker: no TLS, no authentication, no persistence. Production uses mosquitto,
EMQX or another real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from edge.timeouts import within

__all__ = ["Broker", "topic_matches"]

log = logging.getLogger(__name__)

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT filter match: ``+`` one level, ``#`` the rest; ``$``-topics only match explicit filters."""
    if topic.startswith("$") and not pattern.startswith("$"):
        return False
    p, t = pattern.split("/"), topic.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or part not in ("+", t[i]):
            return False
    return len(p) == len(t)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return len(b).to_bytes(2, "big") + b


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u8(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def u16(self) -> int:
        self.pos += 2
        return int.from_bytes(self.data[self.pos - 2:self.pos], "big")

    def varint(self) -> int:
        n, mult = 0, 1
        while True:
            b = self.u8()
            n += (b & 0x7F) * mult
            if not b & 0x80:
                return n
            mult *= 128

    def bin(self) -> bytes:
        n = self.u16()
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def text(self) -> str:
        return self.bin().decode()

    def props(self) -> bytes:
        n = self.varint()
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def rest(self) -> bytes:
        return self.data[self.pos:]


@dataclass
class _Session:
    client_id: str
    v5: bool
    writer: asyncio.StreamWriter | None = None
    subs: dict[str, int] = field(default_factory=dict)
    next_id: int = 1
    will: tuple[str, bytes, int, bool] | None = None

    def packet_id(self) -> int:
        pid = self.next_id
        self.next_id = pid % 65535 + 1
        return pid


class Broker:
    """``async with Broker(port=0) as b: ...`` serves on 127.0.0.1; ``b.port`` is the bound port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.retained: dict[str, tuple[bytes, int]] = {}
        self.sessions: dict[str, _Session] = {}
        self.messages_in = 0
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def __aenter__(self) -> Broker:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server:
            self._server.close()
            for s in self.sessions.values():
                if s.writer:
                    s.writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            # the connections' own tasks end here, not with the loop ("Task was destroyed but it is pending")
            for task in self._clients:
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)

    async def _read_packet(self, reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
        head = await reader.readexactly(1)
        n, mult = 0, 1
        while True:
            b = (await reader.readexactly(1))[0]
            n += (b & 0x7F) * mult
            if not b & 0x80:
                break
            mult *= 128
            if mult > 128 ** 4:
                raise ValueError("malformed remaining length")
        body = await reader.readexactly(n) if n else b""
        return head[0] >> 4, head[0] & 0x0F, body

    def _send(self, s: _Session, ptype: int, flags: int, body: bytes) -> None:
        if s.writer is not None and not s.writer.is_closing():
            s.writer.write(bytes([ptype << 4 | flags]) + _varint(len(body)) + body)

    def _deliver(self, s: _Session, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        head = _str(topic)
        if qos:
            head += s.packet_id().to_bytes(2, "big")
        if s.v5:
            head += b"\x00"
        self._send(s, PUBLISH, (qos << 1) | int(retain), head + payload)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Route a message to every matching subscription (also used for wills)."""
        self.messages_in += 1
        if retain:
            if payload:
                self.retained[topic] = (payload, qos)
            else:
                self.retained.pop(topic, None)
        for s in self.sessions.values():
            granted = [q for f, q in s.subs.items() if topic_matches(f, topic)]
            if granted and s.writer is not None:
                self._deliver(s, topic, payload, min(qos, max(granted)), False)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session: _Session | None = None
        clean_exit = False
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            ptype, _, body = await within(self._read_packet(reader), 10)
            if ptype != CONNECT:
                return
            r = _Reader(body)
            r.text()
            level = r.u8()
            v5 = level == 5
            flags = r.u8()
            r.u16()
            if v5:
                r.props()
            client_id = r.text() or f"auto-{id(writer):x}"
            will = None
            if flags & 0x04:
                if v5:
                    r.props()
                will = (r.text(), r.bin(), (flags >> 3) & 3, bool(flags & 0x20))
            clean = bool(flags & 0x02)
            old = self.sessions.get(client_id)
            if old is not None and old.writer is not None:
                old.writer.close()
            present = old is not None and not clean
            session = old if present and old is not None else _Session(client_id, v5)
            session.v5, session.writer, session.will = v5, writer, will
            self.sessions[client_id] = session
            self._send(session, CONNACK, 0, bytes([int(present), 0]) + (b"\x00" if v5 else b""))
            while True:
                ptype, flags, body = await self._read_packet(reader)
                r = _Reader(body)
                if ptype == PUBLISH:
                    qos = min((flags >> 1) & 3, 1)
                    topic = r.text()
                    pid = r.u16() if (flags >> 1) & 3 else 0
                    if v5:
                        r.props()
                    self.publish(topic, r.rest(), qos, bool(flags & 1))
                    if qos:
                        self._send(session, PUBACK, 0, pid.to_bytes(2, "big"))
                elif ptype == SUBSCRIBE:
                    pid = r.u16()
                    if v5:
                        r.props()
                    codes = bytearray()
                    while r.pos < len(r.data):
                        flt, opts = r.text(), r.u8()
                        q = min(opts & 3, 1)
                        session.subs[flt] = q
                        codes.append(q)
                        for t, (payload, rq) in list(self.retained.items()):
                            if topic_matches(flt, t):
                                self._deliver(session, t, payload, min(q, rq), True)
                    self._send(session, SUBACK, 0, pid.to_bytes(2, "big") + (b"\x00" if v5 else b"") + bytes(codes))
                elif ptype == UNSUBSCRIBE:
                    pid = r.u16()
                    if v5:
                        r.props()
                    n = 0
                    while r.pos < len(r.data):
                        session.subs.pop(r.text(), None)
                        n += 1
                    self._send(session, UNSUBACK, 0, pid.to_bytes(2, "big") + ((b"\x00" + b"\x00" * n) if v5 else b""))
                elif ptype == PINGREQ:
                    self._send(session, PINGRESP, 0, b"")
                elif ptype == DISCONNECT:
                    clean_exit = True
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, ValueError, IndexError,
                asyncio.CancelledError):
            pass
        finally:
            if session is not None and session.writer is writer:
                session.writer = None
                if session.will and not clean_exit:
                    topic, payload, qos, retain = session.will
                    self.publish(topic, payload, qos, retain)
            writer.close()
            self._clients.discard(task)
