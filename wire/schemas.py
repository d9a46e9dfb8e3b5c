"""JSON Schemas of the payload kinds, generated from ``wire.kinds``, and validation.

``schemas/<kind>.json`` at the repository root are written by ``python -m wire.schemas --write`` and
checked by ``python -m wire.schemas --check`` (a test runs it): they are for other consumers and people;
this module validates against the schemas it generates, never against the files.

Two validators: ``validate`` (jsonschema, every violation with its path: the error text of a refusal)
and ``is_valid`` (a compiled check of the same schema, ~50× faster, for the collector's hot path).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wire.fastcheck import Check, compile_schema
from wire.kinds import KINDS
from wire.spec import Kind

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["SCHEMA_DIR", "SchemaInvalid", "UnknownSchema", "is_valid", "json_schema", "kind_of", "render",
           "undocumented", "validate", "validator"]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
_NAMESPACE = "meterwatch."


class UnknownSchema(ValueError):
    """The payload names no schema this version of the wire format knows (kind or version)."""


class SchemaInvalid(ValueError):
    """The payload does not satisfy its kind's schema; the message lists the violations."""


@cache
def json_schema(kind: str) -> dict[str, Any]:
    k = KINDS[kind]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://meterwatch.invalid/schemas/{k.name}-{k.version}.json",
        "title": k.tag,
        "description": k.doc,
        "type": "object",
        "properties": {f.name: ({**f.schema, "description": f.doc + (f" [{f.unit}]" if f.unit else "")}
                                if f.doc else f.schema) for f in k.fields},
        "required": [f.name for f in k.fields if f.required],
        "additionalProperties": True,
    }


def render(kind: str) -> str:
    """The text of ``schemas/<kind>.json``."""
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


@cache
def validator(kind: str) -> Draft202012Validator:
    # jsonschema is imported only when an error text is needed: the daemon never loads it.
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(json_schema(kind), format_checker=FormatChecker())


@cache
def _check(kind: str) -> Check:
    return compile_schema(json_schema(kind))


def kind_of(payload: Any) -> Kind:
    """The ``Kind`` a payload's ``schema`` property names; ``UnknownSchema`` for anything else, including
    a known kind in a version this build does not speak."""
    tag = payload.get("schema") if isinstance(payload, dict) else None
    if not isinstance(tag, str) or not tag.startswith(_NAMESPACE) or "/" not in tag:
        raise UnknownSchema(f"payload has no meterwatch schema tag (got {tag!r})")
    name, _, version = tag[len(_NAMESPACE):].partition("/")
    kind = KINDS.get(name)
    if kind is None:
        raise UnknownSchema(f"unknown payload kind {name!r} in schema tag {tag!r}; known: {', '.join(KINDS)}")
    if version != str(kind.version):
        raise UnknownSchema(f"{name} version {version!r} is not supported (this build speaks {kind.tag})")
    return kind


def is_valid(payload: dict[str, Any], kind: str) -> bool:
    """Fast yes/no against ``kind``'s schema."""
    return _check(kind)(payload)


def validate(payload: Any) -> str:
    """Validate a payload against the schema its tag names; returns the kind name or raises
    ``UnknownSchema`` / ``SchemaInvalid`` (every violation with its path, at most ten)."""
    kind = kind_of(payload).name
    errors = sorted(validator(kind).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors[:10]]
        raise SchemaInvalid(f"{kind} payload invalid: " + "; ".join(lines))
    return kind


def undocumented(payload: dict[str, Any], kind: str) -> list[str]:
    """Top-level properties the kind does not document (consumers ignore them)."""
    known = KINDS[kind].by_name
    return [k for k in payload if k not in known]


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m wire.schemas", description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="write schemas/<kind>.json")
    ap.add_argument("--dir", type=Path, default=SCHEMA_DIR)
    args = ap.parse_args(argv)
    stale = []
    for kind in KINDS:
        path = args.dir / f"{kind}.json"
        text = render(kind)
        if args.write:
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    extra = sorted(str(p) for p in args.dir.glob("*.json") if p.stem not in KINDS)
    for p in extra:
        print(f"{p}: no such payload kind", file=sys.stderr)
    for p in stale:
        print(f"{p}: differs from wire.kinds (run python -m wire.schemas --write)", file=sys.stderr)
    return 1 if stale or extra else 0


if __name__ == "__main__":
    raise SystemExit(_main())
