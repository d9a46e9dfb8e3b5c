"""The JSON Schemas of every MQTT payload (DESIGN §5), shared by the daemon, replay, tests and the collector.

Schemas live in ``schemas/<kind>.json`` at the repository root; ``kind`` is the part of the payload's
``"schema": "meterwatch.<kind>/<version>"`` before the slash.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["KINDS", "SCHEMA_DIR", "TOPICS", "kind_of", "load_schema", "validate", "validator"]

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"

KINDS: tuple[str, ...] = (
    "alert", "alerts_active", "realtime", "interval", "daily", "meters_interval", "status", "health",
)

# Topic suffix under P/{grid}/{area}/ (or P/gateway/{gateway}/) for each payload kind.
TOPICS: dict[str, str] = {
    "alert": "alert",
    "alerts_active": "alerts/active",
    "realtime": "summary/realtime",
    "interval": "summary/interval",
    "daily": "summary/daily",
    "meters_interval": "meters/interval",
    "status": "status",
    "health": "health",
}


@cache
def load_schema(kind: str) -> dict[str, Any]:
    if kind not in KINDS:
        raise KeyError(f"unknown payload kind {kind!r}; known: {', '.join(KINDS)}")
    with open(SCHEMA_DIR / f"{kind}.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(kind), format_checker=FormatChecker())


def kind_of(payload: dict[str, Any]) -> str:
    """``"meterwatch.alert/1"`` -> ``"alert"``; raises ``ValueError`` on anything else."""
    tag = payload.get("schema") if isinstance(payload, dict) else None
    if not isinstance(tag, str) or not tag.startswith("meterwatch.") or "/" not in tag:
        raise ValueError(f"payload has no meterwatch schema tag (got {tag!r})")
    kind = tag[len("meterwatch."):].split("/", 1)[0]
    if kind not in KINDS:
        raise ValueError(f"unknown payload kind {kind!r} in schema tag {tag!r}")
    return kind


def validate(payload: dict[str, Any]) -> str:
    """Validate a payload against the schema its tag names; returns the kind or raises ``ValueError``
    with every violation (path and message)."""
    kind = kind_of(payload)
    errors = sorted(validator(kind).iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors[:10]]
        raise ValueError(f"{kind} payload invalid: " + "; ".join(lines))
    return kind
