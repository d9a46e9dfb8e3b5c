"""A compiled checker for the JSON Schema subset our payload schemas use, ~50x faster than jsonschema.

jsonschema walks a 2000-meter ``meters_interval`` array item by item through generic keyword dispatch
(~14 ms for 500 meters), which alone would cap a collector below 40 000 points/s. The schemas use a
small subset (type, const, enum, pattern, min/maxLength, minimum, required, properties,
additionalProperties, items, anyOf, format), so each schema is compiled once into nested closures.

The checker only answers valid / invalid. For an invalid payload the caller asks jsonschema
(``wire.schemas.validate``) for the full message, so error texts stay the reference ones.
``format`` is accepted and not checked, like jsonschema without its optional format packages; the
mapping parses every timestamp it uses and rejects bad ones. A schema using any other keyword is
refused at compile time (``UnsupportedSchema``) so the caller falls back to jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["Check", "UnsupportedSchema", "compile_schema"]

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "title", "description", "format", "$comment"}
_SUPPORTED = _IGNORED | {"type", "const", "enum", "pattern", "minLength", "maxLength", "minimum", "required",
                         "properties", "additionalProperties", "items", "anyOf", "maxItems", "maxProperties"}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this checker does not implement."""


def _is_number(v: Any) -> bool:
    t = type(v)
    return t is float or t is int


_TYPES: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "number": _is_number,
    "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def _type_check(spec: str | list[str]) -> Check:
    names = [spec] if isinstance(spec, str) else list(spec)
    for n in names:
        if n not in _TYPES:
            raise UnsupportedSchema(f"type {n!r}")
    # Fast paths for the shapes that dominate: numbers, nullable numbers, booleans.
    if set(names) == {"number", "null"}:
        return lambda v: v is None or type(v) is float or type(v) is int
    checks = [_TYPES[n] for n in names]
    if len(checks) == 1:
        return checks[0]
    return lambda v: any(c(v) for c in checks)


def compile_schema(schema: dict[str, Any]) -> Check:
    """Compile ``schema`` into a predicate; raises ``UnsupportedSchema`` for keywords outside the subset."""
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise UnsupportedSchema(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: v == const and type(v) is type(const))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: any(v == a and type(v) is type(a) for a in allowed))
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        if schema.get("type") == "string" and len(checks) == 1:   # the common case: one test, not two
            checks[0] = lambda v: type(v) is str and search(v) is not None
        else:
            checks.append(lambda v: type(v) is not str or search(v) is not None)
    if "minLength" in schema:
        lo = int(schema["minLength"])
        checks.append(lambda v: type(v) is not str or len(v) >= lo)
    if "maxLength" in schema:
        hi = int(schema["maxLength"])
        checks.append(lambda v: type(v) is not str or len(v) <= hi)
    if "minimum" in schema:
        low = schema["minimum"]
        checks.append(lambda v: not _is_number(v) or v >= low)
    if "anyOf" in schema:
        alts = [compile_schema(s) for s in schema["anyOf"]]
        checks.append(lambda v: any(a(v) for a in alts))
    if "items" in schema:
        checks.append(_items_check(schema["items"]))
    if "maxItems" in schema:
        n_items = int(schema["maxItems"])
        checks.append(lambda v: type(v) is not list or len(v) <= n_items)
    if "maxProperties" in schema:
        n_props = int(schema["maxProperties"])
        checks.append(lambda v: type(v) is not dict or len(v) <= n_props)
    if any(k in schema for k in ("required", "properties", "additionalProperties")):
        checks.append(_object_check(schema))
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    return lambda v: all(c(v) for c in checks)


def _items_check(item_schema: dict[str, Any]) -> Check:
    if set(item_schema) - _IGNORED == {"type"}:
        each = _type_check(item_schema["type"])
    else:
        each = compile_schema(item_schema)
    return lambda v: type(v) is not list or all(map(each, v))


def _number_or_null(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return set(schema) - _IGNORED == {"type"} and isinstance(t, list) and set(t) == {"number", "null"}


def _object_check(schema: dict[str, Any]) -> Check:
    """Required keys as one set test; properties that are a nullable number (most of them) checked
    inline; the others through their compiled checks."""
    required = frozenset(schema.get("required", ()))
    spec = schema.get("properties", {})
    numbers = frozenset(k for k, s in spec.items() if _number_or_null(s))
    props = {k: compile_schema(s) for k, s in spec.items() if k not in numbers}
    extra_spec = schema.get("additionalProperties", True)
    extra: Check | None
    if extra_spec is True:
        extra = None
    elif extra_spec is False:
        extra = lambda v: False  # noqa: E731 - a predicate, like the others
    else:
        extra = compile_schema(extra_spec)

    def check(v: Any) -> bool:
        if type(v) is not dict:
            return True
        if not required <= v.keys():
            return False
        for k, item in v.items():
            if k in numbers:
                if item is not None and (t := type(item)) is not float and t is not int:
                    return False
                continue
            c = props.get(k, extra)
            if c is not None and not c(item):
                return False
        return True

    return check
