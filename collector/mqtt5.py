"""The MQTT 5 packets the collector sends and reads (OASIS MQTT Version 5.0, §2–§3): encoders, and a
parser that cuts a received byte buffer into packets.

Only what a persistent-session subscriber needs: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH (both ways,
QoS 0 and 1), PUBACK (both ways), PINGREQ/PINGRESP, DISCONNECT. PUBLISH properties are skipped, not
decoded: the collector uses none, and decoding them was half of paho's cost per message.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CONNACK", "DISCONNECT", "PINGRESP", "PUBACK", "PUBLISH", "SUBACK", "Packet", "ProtocolError",
           "connect", "disconnect", "parse", "pingreq", "puback", "publish", "subscribe"]

CONNACK, PUBLISH, PUBACK, SUBACK, PINGRESP, DISCONNECT = 2, 3, 4, 9, 13, 14
_U16 = struct.Struct(">H")


# CONNACK reason codes (§3.2.2.2) a collector meets; the others are printed as numbers.
CONNACK_REASONS = {0x80: "unspecified error", 0x84: "unsupported protocol version",
                   0x85: "client identifier not valid", 0x86: "bad user name or password",
                   0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned",
                   0x8C: "bad authentication method", 0x95: "packet too large", 0x97: "quota exceeded"}


class ProtocolError(ValueError):
    """The broker sent bytes that are not MQTT 5 as we speak it: the connection is dropped."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return _U16.pack(len(b)) + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _varint(len(body)) + body


def connect(client_id: str, *, keepalive_s: int, session_expiry_s: int, receive_maximum: int,
            username: str = "", password: str | None = None) -> bytes:
    """CONNECT with clean start off: the broker resumes our session and its queue (§3.1)."""
    flags = (0x80 if username else 0) | (0x40 if password is not None else 0)
    props = b"\x11" + struct.pack(">I", session_expiry_s) + b"\x21" + _U16.pack(receive_maximum)
    body = _str("MQTT") + bytes((5, flags)) + _U16.pack(keepalive_s) + _varint(len(props)) + props + _str(client_id)
    if username:
        body += _str(username)
    if password is not None:
        body += _str(password)
    return _packet(0x10, body)


def subscribe(packet_id: int, topic_filter: str | Sequence[str], qos: int = 1) -> bytes:
    """One SUBSCRIBE for one filter or several (the Alertmanager sink follows three)."""
    filters = [topic_filter] if isinstance(topic_filter, str) else topic_filter
    return _packet(0x82, _U16.pack(packet_id) + b"\x00" + b"".join(_str(f) + bytes((qos,)) for f in filters))


def publish(topic: str, payload: bytes, *, qos: int = 0, packet_id: int = 0, retain: bool = False) -> bytes:
    head = _str(topic) + (_U16.pack(packet_id) if qos else b"") + b"\x00"
    return _packet(0x30 | (qos << 1) | int(retain), head + payload)


def puback(packet_id: int) -> bytes:
    """Success PUBACK in its short form (reason code and properties omitted, §3.4.2.1)."""
    return b"\x40\x02" + _U16.pack(packet_id)


def pingreq() -> bytes:
    return b"\xc0\x00"


def disconnect() -> bytes:
    """Normal disconnection: the session stays for its expiry interval."""
    return b"\xe0\x00"


@dataclass(slots=True)
class Packet:
    """A received packet. PUBLISH: ``topic``, ``payload``, ``qos``, ``packet_id``. CONNACK:
    ``session_present`` and ``reason``. PUBACK/SUBACK: ``packet_id`` and ``reason`` (SUBACK: the worst
    reason code of its filters)."""

    kind: int
    packet_id: int = 0
    qos: int = 0
    topic: str = ""
    payload: bytes = b""
    reason: int = 0
    session_present: bool = False


def _read_varint(buf: bytes | bytearray | memoryview, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if i >= len(buf):
            return -1, i
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 21:
            raise ProtocolError("variable byte integer longer than 4 bytes")


def _publish(first: int, body: memoryview) -> Packet:
    qos = (first >> 1) & 3
    n = _U16.unpack_from(body, 0)[0]
    topic = bytes(body[2:2 + n]).decode("utf-8")
    i = 2 + n
    pid = 0
    if qos:
        pid = _U16.unpack_from(body, i)[0]
        i += 2
    plen, i = _read_varint(body, i)
    return Packet(PUBLISH, pid, qos, topic, bytes(body[i + plen:]))


def _decode(first: int, body: memoryview) -> Packet:
    kind = first >> 4
    if kind == PUBLISH:
        return _publish(first, body)
    if kind == CONNACK:
        return Packet(CONNACK, reason=body[1], session_present=bool(body[0] & 1))
    if kind in (PUBACK, SUBACK):
        pid = _U16.unpack_from(body, 0)[0]
        if kind == SUBACK:
            plen, i = _read_varint(body, 2)
            return Packet(SUBACK, pid, reason=max(body[i + plen:]))   # the worst of its filters' codes
        return Packet(PUBACK, pid, reason=body[2] if len(body) > 2 else 0)
    if kind == DISCONNECT:
        return Packet(DISCONNECT, reason=body[0] if len(body) else 0)
    return Packet(kind)


def parse(buf: bytearray) -> tuple[list[Packet], int]:
    """Every complete packet at the start of ``buf`` and how many bytes they took."""
    out = []
    i, end = 0, len(buf)
    view = memoryview(buf)
    try:
        while i + 2 <= end:
            length, j = _read_varint(buf, i + 1)
            if length < 0 or j + length > end:
                break
            out.append(_decode(buf[i], view[j:j + length]))
            i = j + length
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise ProtocolError(f"malformed packet: {e}") from None
    finally:
        view.release()
    return out, i
