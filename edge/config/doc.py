"""Render the configuration reference (docs/config.md) from the dataclasses' metadata.

``python -m edge.config.doc > docs/config.md``; a test checks the committed file is up to date.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from detect.params import Params
from edge.config.model import (
    DEFAULT_PLANS,
    AreaConfig,
    BusConfig,
    GatewayConfig,
    MasterConfig,
    MeterConfig,
    MqttConfig,
    PlanConfig,
    PlausibilityConfig,
    PublishConfig,
    StatusConfig,
    TransformerConfig,
)

__all__ = ["render"]

_INTRO = """# Configuration reference

Generated from the code by `python -m edge.config.doc`; do not edit by hand.

One TOML file (UTF-8, as TOML requires) describes the gateway, its buses and its areas (see
`deploy/examples/edge.toml`). `meterwatch check-config FILE` validates it before any I/O and
`meterwatch run` runs the same checks before it starts anything; every problem is reported at once,
with file, line, key path and device:

- unknown keys (with the closest known one), wrong types, values out of range, duplicate meter ids or
  addresses on a bus, meters or masters on buses that do not exist, Modbus profiles that do not load,
  CSV rows that do not parse — every part of an area is checked even when another part is wrong;
- an MQTT `topic_prefix` the broker or paho would refuse (`$SYS/...`, wildcards, NUL or control
  characters, empty levels, more than 256 bytes or 16 levels);
- `gateway.timezone` that is not an IANA zone, or a `utc_offset_s` that disagrees with it (left out,
  `utc_offset_s` follows the zone's standard offset);
- TOML files that are not UTF-8 (a GBK `edge.toml`): the file, line and column of the first
  undecodable byte and how to convert it;
- on the machine it runs on (`check-config`, `run`): `password_file`, `ca_file`, `cert_file`,
  `key_file` that do not exist or cannot be read (the password file's name is never printed: it may be
  the password put there by mistake), and reading plans that do not fit their bus (a round longer than
  its deadline, or a bus needing more than 100 % of its wire).

Meter lists can come from the utility's archive export: `meters_csv` names a CSV file (relative to the
configuration file) with the columns `id,address,bus,phase,branch,kind,pv,ct_ratio` and optionally
`i_max_a` (`id`, `address`, `bus`, `phase` required; a replay needs only `id` and `phase`; `pv` accepts
yes/no/true/false/1/0, 是/否; `i_max_a` the meter's Imax, 60 or the nameplate 5(60)A).
It is read as archives write it: UTF-8 or GBK/GB18030, Chinese or English headers (户号, 通信地址, 相别,
倍率 ...) and values (A相, 三相四线, 200/5), a title above the header, trailing empty columns
(docs/replay.md). For single-phase meters the quantities
`u_a`, `i_a` are the meter's own voltage and current whatever grid phase (`phase`) it hangs on.
"""


def _default(fl: dataclasses.Field[Any]) -> str:
    if fl.default is not dataclasses.MISSING:
        return f"`{fl.default!r}`".replace("'", '"')
    if fl.default_factory is not dataclasses.MISSING:
        return "(table)"
    return "**required**"


def _allowed(meta: Any) -> str:
    if meta.get("choices"):
        return ", ".join(f"`{c}`" for c in meta["choices"])
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None or hi is not None:
        return f"{lo if lo is not None else '−∞'} … {hi if hi is not None else '∞'}"
    return ""


def _table(title: str, cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    hints = typing.get_type_hints(cls)
    out = [f"\n## `{title}`\n", (cls.__doc__ or "").strip().split("\n")[0] if cls.__doc__ and not
           cls.__doc__.startswith(cls.__name__) else "", "",
           "| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for fl in dataclasses.fields(cls):
        if fl.name in skip or fl.name.startswith("_") or dataclasses.is_dataclass(hints[fl.name]):
            continue
        tp = hints[fl.name]
        tname = getattr(tp, "__name__", str(tp)).replace("tuple", "list")
        unit = fl.metadata.get("unit", "")
        doc = fl.metadata.get("doc", "")
        out.append(f"| `{fl.name}` | {tname}{f' ({unit})' if unit else ''} | {_default(fl)} | "
                   f"{_allowed(fl.metadata)} | {doc} |")
    return out


def render() -> str:
    parts = [_INTRO]
    parts += _table("[gateway]", GatewayConfig)
    parts += _table("[mqtt]", MqttConfig)
    parts += _table("[publish]", PublishConfig)
    parts += _table("[status]", StatusConfig)
    parts += _table("[[bus]]", BusConfig)
    parts += _table("[plans.<name>]", PlanConfig)
    parts.append("\nDefault plans (a `[plans.<name>]` table of the same name overrides keys of it):\n")
    for name, spec in DEFAULT_PLANS.items():
        what = ", ".join(spec.get("quantities", ())) or "meter clock check (04000101/04000102)"
        parts.append(f"- `{name}`: {spec['device_class']}, every {spec['interval_s']} s, offset "
                     f"{spec.get('offset_s', 0)} s, priority {spec['priority']}: {what}")
    parts += _table("[[area]]", AreaConfig, skip=("meters", "detection"))
    parts += _table("[[area]] transformer = {…}", TransformerConfig)
    parts += _table("[[area]] master = {…}", MasterConfig)
    parts += _table("[[area.meter]] (or a CSV row)", MeterConfig)
    parts += _table("[area.plausibility]", PlausibilityConfig)
    parts.append("\n## Detection parameters: `[detection.<group>]`, per area `[area.detection.<group>]`\n")
    parts.append("Per-area tables override single keys on top of the gateway-wide values.")
    parts += _table("[detection]", Params)
    for fl in dataclasses.fields(Params):
        hints = typing.get_type_hints(Params)
        if dataclasses.is_dataclass(hints[fl.name]):
            parts += _table(f"[detection.{fl.name}]", hints[fl.name])
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
