"""From one MQTT message to points, or a reason to dead-letter it.

Order of checks: size, JSON (NaN/Infinity refused), schema tag, schema (fast compiled check, jsonschema
for the error text), topic agrees with the payload, mapping. Every refusal is a ``Rejected`` that names
the topic and the reason; the service dead-letters it and counts it under ``reason``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from collector.fastcheck import Check, UnsupportedSchema, compile_schema
from collector.lineproto import Point, encode_many
from collector.mapping import MappingError, map_payload, meters_lines
from edge.publish import schemas

__all__ = ["Rejected", "decode", "decode_lines"]

_SUFFIX_KIND = {suffix: kind for kind, suffix in schemas.TOPICS.items()}


class Rejected(ValueError):
    """A message that cannot be stored. ``reason`` is a short counter name, ``detail`` the explanation."""

    def __init__(self, topic: str, reason: str, detail: str) -> None:
        self.topic, self.reason, self.detail = topic, reason, detail
        super().__init__(f"{topic}: {reason}: {detail}")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@cache
def _check(kind: str) -> Check | None:
    try:
        return compile_schema(schemas.load_schema(kind))
    except UnsupportedSchema:
        return None  # jsonschema does the whole job for this kind


def _topic_kind(topic: str, prefix: str, payload: dict[str, Any]) -> str:
    if not topic.startswith(prefix + "/"):
        raise ValueError(f"topic is not under {prefix!r}")
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) == 3 and parts[0] == "gateway" and parts[2] in ("status", "health"):
        if payload.get("gateway") != parts[1]:
            raise ValueError(f"payload gateway {payload.get('gateway')!r} differs from topic {parts[1]!r}")
        return parts[2]
    if len(parts) >= 3 and "/".join(parts[2:]) in _SUFFIX_KIND:
        if (payload.get("grid"), payload.get("area")) != (parts[0], parts[1]):
            raise ValueError(f"payload grid/area {payload.get('grid')!r}/{payload.get('area')!r} "
                             f"differ from topic {parts[0]!r}/{parts[1]!r}")
        return _SUFFIX_KIND["/".join(parts[2:])]
    raise ValueError("topic names no known payload kind")


def _checked(topic: str, data: bytes, prefix: str, max_bytes: int) -> tuple[str, dict[str, Any]]:
    if len(data) > max_bytes:
        raise Rejected(topic, "oversized", f"{len(data)} bytes > limit {max_bytes}")
    try:
        payload = json.loads(data, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise Rejected(topic, "malformed_json", str(e)) from None
    if not isinstance(payload, dict):
        raise Rejected(topic, "malformed_json", f"top level is {type(payload).__name__}, not an object")
    try:
        kind = schemas.kind_of(payload)
    except ValueError as e:
        raise Rejected(topic, "unknown_schema", str(e)) from None
    check = _check(kind)
    if check is None or not check(payload):
        try:
            schemas.validate(payload)
        except ValueError as e:
            raise Rejected(topic, "schema_invalid", str(e)) from None
    try:
        topic_kind = _topic_kind(topic, prefix, payload)
    except ValueError as e:
        raise Rejected(topic, "topic_mismatch", str(e)) from None
    if topic_kind != kind:
        raise Rejected(topic, "topic_mismatch", f"topic is for {topic_kind}, payload is {kind}")
    return kind, payload


def decode(topic: str, data: bytes, *, prefix: str, max_bytes: int) -> tuple[str, list[Point]]:
    """``(kind, points)`` for a message, or raises ``Rejected``."""
    kind, payload = _checked(topic, data, prefix, max_bytes)
    try:
        return kind, map_payload(kind, payload)
    except MappingError as e:
        raise Rejected(topic, "unmappable", str(e)) from None


def decode_lines(topic: str, data: bytes, *, prefix: str, max_bytes: int) -> tuple[str, int, bytes]:
    """``(kind, number of points, line protocol)`` — what the service writes; raises ``Rejected``."""
    kind, payload = _checked(topic, data, prefix, max_bytes)
    try:
        if kind == "meters_interval":
            n, body = meters_lines(payload)
            return kind, n, body
        points = map_payload(kind, payload)
        return kind, len(points), encode_many(points)
    except (MappingError, ValueError) as e:  # ValueError: a number beyond float range (1e400 is inf)
        raise Rejected(topic, "unmappable", str(e)) from None
