"""Typed reading of TOML tables: every problem becomes an issue with file, line and key, never an exception.

``build(doc, cls, table, key)`` fills a frozen dataclass from a table. Each field's ``metadata`` may carry
``min``/``max`` (inclusive), ``choices``, ``pattern`` (a full-match regular expression) and ``check`` (a
callable returning why a value cannot work, or None). ``value`` checks one value the same way, for
tables that are not dataclasses; ``check_keys`` reports keys a table does not know.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from tomlconf._doc import Doc

__all__ = ["build", "build_valid", "check_keys", "join", "value"]

T = TypeVar("T")
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def join(key: str, name: str) -> str:
    """``key.name``, or ``name`` at the top level."""
    return f"{key}.{name}" if key else name


def check_keys(doc: Doc, table: Mapping[str, Any], key: str, known: Iterable[str],
               device: str | None = None) -> list[str]:
    """Report every key of ``table`` not in ``known`` (with the closest known one); returns them."""
    known = sorted(known)
    unknown = [name for name in table if name not in known]
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        doc.error(join(key, name), f"unknown key {name!r}{hint} known keys: {', '.join(known)}", device)
    return unknown


def _type_ok(tp: Any, v: Any) -> bool:
    if tp is bool:
        return isinstance(v, bool)
    if tp is float:
        return isinstance(v, int | float) and not isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, str) if tp is str else True


def value(doc: Doc, key: str, tp: Any, v: Any, meta: Mapping[str, Any] | None = None,
          device: str | None = None) -> Any:
    """``v`` checked against type ``tp`` (a scalar type or ``tuple[X, ...]``) and ``meta``; None after
    reporting when it does not fit. Integers are accepted (and converted) where a float is wanted."""
    meta = meta or {}
    if typing.get_origin(tp) is tuple:
        if not isinstance(v, list):
            doc.error(key, f"expected a list, got {type(v).__name__} {v!r}", device)
            return None
        items = [value(doc, f"{key}[{i}]", typing.get_args(tp)[0], x, {}, device) for i, x in enumerate(v)]
        if any(x is None for x in items):
            return None
        check: Callable[[Any], str | None] | None = meta.get("check")     # a check of the list as a whole
        why = check(tuple(items)) if check is not None else None
        if why:
            doc.error(key, why, device)
            return None
        return tuple(items)
    if not _type_ok(tp, v):
        doc.error(key, f"expected {_TYPE_NAMES.get(tp, str(tp))}, got {type(v).__name__} {v!r}", device)
        return None
    v = float(v) if tp is float else v
    why = _meta_problem(v, meta)
    if why:
        doc.error(key, why, device)
        return None
    return v


def _meta_problem(v: Any, meta: Mapping[str, Any]) -> str | None:
    choices = meta.get("choices")
    if choices is not None and v not in choices:
        return f"{v!r} is not one of {', '.join(str(c) for c in choices)}"
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        return f"{v!r} is out of range [{lo}, {hi}]"
    pattern = meta.get("pattern")
    if pattern and not re.fullmatch(pattern, v):
        return f"{v!r} is not a valid value (expected to match {pattern})"
    check: Callable[[Any], str | None] | None = meta.get("check")
    return check(v) if check is not None else None


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(doc: Doc, cls: type[T], table: Any, key: str, device: str | None = None, *,
          nested: Mapping[str, Callable[[Any, str], Any]] | None = None, base: T | None = None) -> T | None:
    """Dataclass ``cls`` from a TOML table: unknown keys, missing keys, types and metadata, all reported.

    ``nested`` builds fields whose value is itself structured; ``base`` supplies the values of keys the
    table leaves out (a per-area override on top of gateway-wide values). None when anything failed.
    """
    if not isinstance(table, dict):
        doc.error(key, f"expected a table, got {type(table).__name__} {table!r}", device)
        return None
    hints = _hints(cls)
    fields = {fl.name: fl for fl in dataclasses.fields(cls)  # type: ignore[arg-type]
              if fl.init and not fl.name.startswith("_")}
    check_keys(doc, table, key, fields, device)
    kwargs: dict[str, Any] = {}
    failed = False
    for name, fl in fields.items():
        sub = join(key, name)
        if name not in table:
            if base is not None:
                kwargs[name] = getattr(base, name)
            elif fl.default is dataclasses.MISSING and fl.default_factory is dataclasses.MISSING:
                doc.error(sub, "required key is missing", device, line=doc.line(key) if key else None)
                failed = True
            continue
        built = _field(doc, fl, hints[name], table[name], sub, device, nested, base)
        failed = failed or built is None
        if built is not None:
            kwargs[name] = built
    return None if failed else cls(**kwargs)


def build_valid(doc: Doc, cls: type[T], table: Any, key: str, device: str | None = None) -> T | None:
    """Like ``build``, but keys that fail are left at their defaults instead of failing the whole table,
    so checks across keys still see the good ones. None only when a required key is missing or bad."""
    before = len(doc.issues)
    built = build(doc, cls, table, key, device)
    if built is not None or not isinstance(table, dict):
        return built
    prefix = f"{key}." if key else ""
    bad = {re.split(r"[.\[]", i.key[len(prefix):])[0] for i in doc.issues[before:] if i.key.startswith(prefix)}
    return build(Doc({}, {}, doc.file), cls, {k: v for k, v in table.items() if k not in bad}, key, device)


def _field(doc: Doc, fl: dataclasses.Field[Any], tp: Any, v: Any, key: str, device: str | None,
           nested: Mapping[str, Callable[[Any, str], Any]] | None, base: Any) -> Any:
    if nested and fl.name in nested:
        return nested[fl.name](v, key)
    if dataclasses.is_dataclass(tp):
        sub_base = getattr(base, fl.name) if base is not None else None
        return build(doc, typing.cast(type, tp), v, key, device, base=sub_base)
    return value(doc, key, tp, v, fl.metadata, device)
