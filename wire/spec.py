"""The vocabulary the payload kinds are written in: ``Field`` and ``Kind``.

A ``Kind`` is one MQTT payload type: its name and schema version, whether it belongs to an area or to
the gateway, its topic suffix, whether it is retained, and its documented fields. The JSON Schemas in
``schemas/`` are generated from these (``python -m wire.schemas --write``), and the collector stores only
documented fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from wire.timefmt import PATTERN as TIME_PATTERN

__all__ = ["Field", "Kind", "Scope", "boolean", "integer", "json_obj", "number", "string", "timestamp"]

Scope = Literal["area", "gateway"]


@dataclass(frozen=True, slots=True)
class Field:
    """One top-level payload property: its JSON Schema, unit and meaning."""

    name: str
    schema: dict[str, Any]
    doc: str = ""
    unit: str = ""
    required: bool = True

    @property
    def nullable(self) -> bool:
        t = self.schema.get("type")
        return (isinstance(t, list) and "null" in t) or any(s.get("type") == "null" for s in self.schema.get("anyOf", ()))

    @property
    def is_number(self) -> bool:
        t = self.schema.get("type")
        types = set(t) if isinstance(t, list) else {t}
        return bool(types & {"number", "integer"}) and not types - {"number", "integer", "null"}


def _typed(kind: str, nullable: bool) -> dict[str, Any]:
    return {"type": [kind, "null"]} if nullable else {"type": kind}


def number(name: str, unit: str = "", doc: str = "", *, nullable: bool = True, required: bool = True) -> Field:
    """A measured or computed quantity; ``null`` means "not known" (never NaN on the wire)."""
    return Field(name, _typed("number", nullable), doc, unit, required)


def integer(name: str, doc: str = "", *, nullable: bool = False, minimum: int | None = None,
            required: bool = True, unit: str = "") -> Field:
    schema = _typed("integer", nullable)
    if minimum is not None:
        schema["minimum"] = minimum
    return Field(name, schema, doc, unit, required)


def string(name: str, doc: str = "", *, enum: Iterable[str] | None = None, pattern: str | None = None,
           min_length: int | None = None, max_length: int | None = None, required: bool = True) -> Field:
    schema: dict[str, Any] = {"enum": list(enum)} if enum is not None else {"type": "string"}
    if pattern is not None:
        schema["pattern"] = pattern
    if min_length is not None:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return Field(name, schema, doc, "", required)


def boolean(name: str, doc: str = "", *, required: bool = True) -> Field:
    return Field(name, {"type": "boolean"}, doc, "", required)


def time_schema(nullable: bool = False) -> dict[str, Any]:
    t = {"type": "string", "format": "date-time", "pattern": TIME_PATTERN}
    return {"anyOf": [t, {"type": "null"}]} if nullable else t


def timestamp(name: str, doc: str = "", *, nullable: bool = False, required: bool = True) -> Field:
    """An event time, RFC 3339 UTC with ``Z``."""
    return Field(name, time_schema(nullable), doc, "", required)


def json_obj(name: str, schema: dict[str, Any], doc: str = "", *, required: bool = True) -> Field:
    """An array or object property, described by its own JSON Schema."""
    return Field(name, schema, doc, "", required)


@dataclass(frozen=True)
class Kind:
    """One payload type on the wire."""

    name: str
    version: int
    scope: Scope                 # area: P/{gateway}/{grid}/{area}/{suffix}; gateway: P/{gateway}/{suffix}
    suffix: str                  # topic suffix, e.g. "summary/realtime"
    retained: bool               # state (the broker keeps the latest) rather than a stream of events
    doc: str
    fields: tuple[Field, ...]
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def tag(self) -> str:
        """The ``schema`` property of every payload of this kind, e.g. ``meterwatch.alert/2``."""
        return f"meterwatch.{self.name}/{self.version}"

    @property
    def stream(self) -> bool:
        """Streams (every kind that is not retained) carry ``topic_seq``: consecutive per topic, so a
        consumer sees a lost message as a jump."""
        return not self.retained
