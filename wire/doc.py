"""``docs/wire.md``, generated from ``wire.kinds`` and ``wire.topics``: ``python -m wire.doc > docs/wire.md``.

A test regenerates it and fails when the committed page differs.
"""

from __future__ import annotations

import json

from wire.kinds import ENVELOPE, KINDS
from wire.spec import Field, Kind
from wire.topics import DEFAULT_PREFIX, Topic, build

__all__ = ["render"]

_HEAD = f"""# The wire format (MQTT topics and payloads), version 2

Generated from `wire/kinds.py` and `wire/topics.py` by `python -m wire.doc > docs/wire.md`; the JSON
Schemas in `schemas/` are generated from the same code (`python -m wire.schemas --write`). Tests fail
when either drifts. The `wire` package is the only code the edge (`edge/`) and the collector
(`collector/`) share: the edge builds payloads and topics with it, the collector parses and checks them
with it, and neither imports the other.

## Topics

`P` is the topic prefix (default `{DEFAULT_PREFIX}`). **The gateway id is the first level after `P`**,
so a broker ACL binds each gateway to its own subtree with one pattern line (mosquitto:
`pattern write P/%u/#` with the gateway id as user name, or `%c` for the client id; EMQX: the same
with `${{username}}`). Area topics carry grid and area after the gateway; gateway topics have no area.
A topic with two levels after `P` is a gateway topic, four or more an area topic, so ids never make a
topic ambiguous.

| topic | kind | retained | content |
|---|---|---|---|
"""

_RULES = """
## Rules for every payload

- JSON, UTF-8, numbers finite (`null` means "not known"; NaN and Infinity are refused), timestamps
  RFC 3339 UTC with `Z` (milliseconds only when not whole).
- `schema` is `meterwatch.<kind>/<version>`. A consumer refuses a kind or version it does not speak as
  `unknown_schema`, never as an invalid payload.
- `msg_id` is `<gateway>:<sequence>`, assigned by the gateway's outbox when the message is stored
  durably; never reused, also across restarts and a lost state directory (a new outbox starts its
  sequence at the wall clock in milliseconds). Delivery is at-least-once: consumers dedupe on it.
- `topic_seq` (stream kinds: every kind that is not retained) is 1, 2, 3 … per topic, assigned in the
  same transaction as `msg_id`. A jump is a lost message (broker queue overflow, session expiry, the
  outbox's drop policy); a smaller `topic_seq` with a larger `msg_id` sequence is a new outbox (state
  directory lost), not a loss. Retained kinds carry none: the broker keeps only the latest anyway.
- `gateway` (and `grid`, `area` for area kinds) equal the topic's levels, and the `msg_id`'s gateway
  part equals the topic's gateway. The collector refuses anything else as `spoofed`.
- Ids (`gateway`, `grid`, `area`) match `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`: valid topic levels and
  database tags. Meter, bus and subject ids: 1–64 characters, no control characters, no backslash.
- Properties a kind does not document are allowed by the schemas (a newer gateway may add one) but
  ignored by consumers; the collector counts them (`extra_fields`) and refuses a payload with more
  than 32 as `bloated`. A new stored property is a new schema version.

## Version 2 against version 1

- Topics: `P/{gateway}/{grid}/{area}/…` and `P/{gateway}/{status,health}` instead of
  `P/{grid}/{area}/…` and `P/gateway/{gateway}/…`; default prefix `meterwatch/v2` (was
  `meterwatch/v1`), so a broker can carry both fleets while they are upgraded.
- `msg_id` strictly `<gateway>:<sequence>`; `topic_seq` added to stream kinds.
- Documented what the engine emits beyond version 1 (`interval.master_e_fwd_kwh`,
  `interval.master_voltage_qualified_pct`, `meters_interval.u_qualified_pct`, `daily.partial`,
  `daily.persistent_abnormal`, `daily.ntl_swing_ratio`, `health.versions`, `health.outbox.inflight` …);
  `health.engine` is per area id.
"""


def _topic_row(k: Kind) -> str:
    t = Topic(gateway="{gateway}", kind=k.name, grid="{grid}" if k.scope == "area" else "",
              area="{area}" if k.scope == "area" else "")
    return f"| `{build('P', t)}` | `{k.name}` | {'yes' if k.retained else 'no'} | {k.doc} |"


def _type(f: Field) -> str:
    s = f.schema
    if "const" in s:
        return f"`{s['const']}`"
    if "enum" in s:
        return " / ".join(f"`{v}`" for v in s["enum"])
    if "anyOf" in s:
        return "time or null"
    t = s.get("type")
    types = [t] if isinstance(t, str) else list(t or [])
    if s.get("format") == "date-time":
        return "time"
    if "array" in types and isinstance(s.get("items"), dict):
        inner = s["items"].get("type", "object")
        return f"array of {inner if isinstance(inner, str) else ' or '.join(inner)}"
    return " or ".join(types) or "any"


def _kind_section(k: Kind) -> list[str]:
    lines = [f"### `{k.name}` — `{k.tag}`", "", k.doc, "",
             "| property | type | unit | required | meaning |", "|---|---|---|---|---|"]
    for f in k.fields:
        env = " (envelope)" if f.name in ENVELOPE else ""
        lines.append(f"| `{f.name}` | {_type(f)} | {f.unit} | {'yes' if f.required else 'no'} | "
                     f"{f.doc.replace('|', '/')}{env} |")
    nested = [f for f in k.fields if f.schema.get("type") in ("object", "array") and f.name != "schema"]
    for f in nested:
        item = f.schema.get("items") if f.schema.get("type") == "array" else f.schema
        if isinstance(item, dict) and item.get("properties"):
            props = ", ".join(f"`{p}`" for p in item["properties"])
            req = ", ".join(f"`{p}`" for p in item.get("required", ()))
            lines.append(f"\n`{f.name}`{'[]' if f.schema.get('type') == 'array' else ''}: {props}"
                         + (f" (required: {req})" if req else ""))
    return [*lines, ""]


def render() -> str:
    out = [_HEAD.rstrip("\n")]
    out += [_topic_row(k) for k in KINDS.values()]
    out.append(_RULES)
    out.append("## Payload kinds\n")
    for k in KINDS.values():
        out += _kind_section(k)
    example = {"schema": KINDS["realtime"].tag, "msg_id": "gw-0042:1795441958001", "gateway": "gw-0042",
               "grid": "jinli-1", "area": "A01", "ts": "2026-11-23T13:52:38.250Z", "topic_seq": 5121,
               "load_pct": 73.8, "u_a": 229.9, "i_a": 425.1, "hotspot_c": 61.2}
    out += ["## Example", "", f"Topic `{build(DEFAULT_PREFIX, Topic('gw-0042', 'realtime', 'jinli-1', 'A01'))}`:",
            "", "```json", json.dumps(example, ensure_ascii=False), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
