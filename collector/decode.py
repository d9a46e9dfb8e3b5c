"""From one MQTT message to a trusted payload, or a reason to dead-letter it.

Order of checks, each with its own dead-letter reason (also the counter name):

1. ``oversized``: more bytes than ``max_payload_bytes`` (before parsing anything);
2. ``malformed_json``: not UTF-8 JSON, not an object, or NaN/Infinity;
3. ``unknown_schema``: no ``meterwatch.<kind>/<version>`` tag, or a kind or version this build does not
   speak (``wire.schemas.kind_of``);
4. ``schema_invalid``: the kind's JSON Schema is violated (fast compiled check; jsonschema writes the text);
5. ``topic_unknown``: the topic is not in the layout of ``wire.topics``;
6. ``topic_mismatch``: the topic is for another payload kind;
7. ``spoofed``: the payload's gateway, grid or area (or its msg_id's gateway) differs from the topic's.
   The broker's ACL binds a client to its ``P/{gateway}/#`` subtree, so the topic is what the broker
   vouched for; a payload claiming to be someone else is refused, never stored under the victim's name;
8. ``bloated``: more than ``max_extra_fields`` undocumented top-level properties. Fewer are dropped and
   counted (``extra_fields``): only documented fields are ever stored.

The mapping can still refuse a payload (``unmappable``: a timestamp that does not exist, ragged arrays,
a number beyond float range); that happens in ``collector.mapping``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from collector.lineproto import Point, encode_many
from collector.mapping import MappingError, for_server, map_payload, meters_lines
from collector.schema import Server
from wire import Topic, TopicError, parse_msg_id
from wire.schemas import SchemaInvalid, UnknownSchema, is_valid, kind_of, undocumented, validate
from wire.spec import Kind
from wire.topics import parse

__all__ = ["REASONS", "Accepted", "Decoded", "Rejected", "Rules", "accept", "decode", "decode_lines"]

REASONS = ("oversized", "malformed_json", "unknown_schema", "schema_invalid", "topic_unknown", "topic_mismatch",
           "spoofed", "bloated", "unmappable", "db_rejected", "collector_error")


class Rejected(ValueError):
    """A message that cannot be stored. ``reason`` is one of ``REASONS``, ``detail`` the explanation."""

    def __init__(self, topic: str, reason: str, detail: str) -> None:
        self.topic, self.reason, self.detail = topic, reason, detail
        super().__init__(f"{topic}: {reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A payload that passed every check: what it is, where it came from, what was dropped from it."""

    kind: Kind
    topic: Topic
    payload: dict[str, Any]     # documented properties only
    extras: int                 # undocumented properties dropped


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json(topic: str, data: bytes, max_bytes: int) -> dict[str, Any]:
    """orjson (~5x faster than json on our payloads, and it refuses NaN/Infinity itself). It also refuses
    numbers beyond float range; the standard library, asked only then, reads those so that the mapping
    names them (``unmappable``) and only invalid JSON is ``malformed_json``."""
    if len(data) > max_bytes:
        raise Rejected(topic, "oversized", f"{len(data)} bytes > limit {max_bytes}")
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            payload = json.loads(data, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as e:
            raise Rejected(topic, "malformed_json", str(e)) from None
    if not isinstance(payload, dict):
        raise Rejected(topic, "malformed_json", f"top level is {type(payload).__name__}, not an object")
    return payload


def _kind(topic: str, payload: dict[str, Any]) -> Kind:
    try:
        kind = kind_of(payload)
    except UnknownSchema as e:
        raise Rejected(topic, "unknown_schema", str(e)) from None
    if not is_valid(payload, kind.name):
        try:
            validate(payload)
        except SchemaInvalid as e:
            raise Rejected(topic, "schema_invalid", str(e)) from None
    return kind


_TOPICS: dict[tuple[str, str], Topic] = {}     # parsed topics: one entry per stream, bounded below


def _parse_topic(prefix: str, topic: str) -> Topic:
    t = _TOPICS.get((prefix, topic))
    if t is None:
        t = parse(prefix, topic)
        if len(_TOPICS) >= 200_000:
            _TOPICS.clear()
        _TOPICS[(prefix, topic)] = t
    return t


def _trusted(topic: str, prefix: str, kind: Kind, payload: dict[str, Any]) -> Topic:
    try:
        t = _parse_topic(prefix, topic)
    except TopicError as e:
        raise Rejected(topic, "topic_unknown", str(e)) from None
    if t.kind != kind.name:
        raise Rejected(topic, "topic_mismatch", f"topic is for {t.kind}, payload is {kind.name}")
    claims = [("gateway", t.gateway), ("msg_id gateway", t.gateway)]
    if kind.scope == "area":
        claims += [("grid", t.grid), ("area", t.area)]
    for name, expected in claims:
        got = parse_msg_id(payload["msg_id"])[0] if name == "msg_id gateway" else payload[name]
        if got != expected:
            raise Rejected(topic, "spoofed", f"payload {name} {got!r} is not the topic's {expected!r}")
    return t


def accept(topic: str, data: bytes, *, prefix: str, max_bytes: int, max_extra_fields: int = 32) -> Accepted:
    """Every check but the mapping; raises ``Rejected``."""
    payload = _json(topic, data, max_bytes)
    kind = _kind(topic, payload)
    t = _trusted(topic, prefix, kind, payload)
    extra = undocumented(payload, kind.name)
    if len(extra) > max_extra_fields:
        raise Rejected(topic, "bloated", f"{len(extra)} undocumented properties (limit {max_extra_fields}), "
                                         f"e.g. {', '.join(repr(k) for k in extra[:5])}")
    if extra:
        payload = {k: v for k, v in payload.items() if k in kind.by_name}
    return Accepted(kind, t, payload, len(extra))



@dataclass(frozen=True, slots=True)
class Rules:
    """What the collector accepts and how it stores it (from ``collector.toml``)."""

    prefix: str
    max_bytes: int
    max_extra_fields: int = 32
    server: Server = "influxdb"
    per_meter: bool = True


@dataclass(frozen=True, slots=True)
class Decoded:
    """An accepted message and its points as line protocol for the configured server."""

    accepted: Accepted
    points: int
    body: bytes


def decode(topic: str, data: bytes, *, prefix: str, max_bytes: int) -> tuple[str, list[Point]]:
    """``(kind, points)`` of a message as InfluxDB stores them, or raises ``Rejected``."""
    a = accept(topic, data, prefix=prefix, max_bytes=max_bytes)
    try:
        return a.kind.name, map_payload(a.kind.name, a.payload)
    except (MappingError, ValueError) as e:
        raise Rejected(topic, "unmappable", str(e)) from None


def decode_lines(topic: str, data: bytes, rules: Rules) -> Decoded:
    """The accepted message and its line protocol (what the service writes); raises ``Rejected``."""
    a = accept(topic, data, prefix=rules.prefix, max_bytes=rules.max_bytes, max_extra_fields=rules.max_extra_fields)
    try:
        if a.kind.name == "meters_interval":
            n, body = meters_lines(a.payload)           # validated even when not stored
            return Decoded(a, n, body) if rules.per_meter else Decoded(a, 0, b"")
        points = for_server(map_payload(a.kind.name, a.payload), rules.server)
        return Decoded(a, len(points), encode_many(points))
    except (MappingError, ValueError) as e:
        raise Rejected(topic, "unmappable", str(e)) from None
