"""Load and validate an edge configuration entirely before any I/O to devices or brokers.

Every problem is collected (not only the first) as a ``ConfigIssue`` naming the file, line, key path
and device; ``load_config`` raises one ``ConfigError`` carrying all of them. Parsing, key positions and
typed checks are ``tomlconf``'s; the parts live beside this module (``buses``, ``areas``, ``meterlist``,
``localtime``, ``checks``). What depends on the machine or on the planner — credential files, the wire
capacity of the plans — is checked by ``edge.preflight``, which ``check-config`` and ``run`` both use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detect.params import Params
from edge.config.areas import AreaContext, build_areas
from edge.config.buses import build_buses, build_plans
from edge.config.localtime import gateway_params
from edge.config.meterlist import CSV_COLUMNS
from edge.config.model import Config, GatewayConfig, MqttConfig, PublishConfig, StatusConfig
from edge.errors import ConfigError
from tomlconf import Doc, build, check_keys, key_lines, parse_toml, read_text

__all__ = ["AREA_FILE_KEYS", "CSV_COLUMNS", "load_config", "load_config_doc", "load_config_text", "parse_toml",
           "read_text"]

# Optional top-level tables that are one dataclass each: a new one is a dataclass in model.py, a field of
# Config with a default, an entry here and a table in doc.py.
SECTIONS: dict[str, type] = {"publish": PublishConfig, "status": StatusConfig}
TOP_LEVEL = ("gateway", "mqtt", *SECTIONS, "bus", "plans", "detection", "area")
# Keys an area file written by ``meterwatch simulate --export`` (or a utility archive) may carry beside
# the documented ones (docs/config.md); only ``load_config_doc(..., areas_only=True)`` accepts them.
AREA_FILE_KEYS = ("grid", "branches")


def load_config(path: str | Path) -> Config:
    """Load a configuration file. Raises ``ConfigError`` naming file, line, key and device for each issue."""
    p = Path(path)
    return load_config_text(read_text(p, what="configuration"), str(p), p.parent)


def load_config_text(text: str, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """Parse and validate a configuration given as TOML text. Raises ``ConfigError`` with every issue."""
    return load_config_doc(parse_toml(text, file), key_lines(text), file, base_dir)


def load_config_doc(data: dict[str, Any], lines: dict[str, int], file: str = "<config>",
                    base_dir: Path | None = None, *, areas_only: bool = False) -> Config:
    """Validate a parsed configuration document (``lines``: key → line, from ``key_lines``).

    ``areas_only``: an area file for replay — ``[gateway]``/``[mqtt]``/``[[bus]]`` are optional, meters are
    not checked against buses, and ``[[area]]`` may carry ``grid`` and ``branches``; placeholders fill the
    gateway and MQTT tables (the grid from the first area that names one).
    """
    doc = Doc(data, lines, file)
    check_keys(doc, data, "", TOP_LEVEL)
    stated_zone = _stated_timezone(data)
    if areas_only:
        data = _area_file(data)
    for required in ("gateway", "mqtt"):
        if required not in data:
            doc.error(required, f"required table [{required}] is missing")
    gateway = build(doc, GatewayConfig, data["gateway"], "gateway") if "gateway" in data else None
    mqtt = build(doc, MqttConfig, data["mqtt"], "mqtt") if "mqtt" in data else None
    sections: dict[str, Any] = {name: build(doc, cls, data.get(name, {}), name) for name, cls in SECTIONS.items()}
    params = build(doc, Params, data.get("detection", {}), "detection") or Params()
    params = gateway_params(doc, params, data.get("detection"), stated_zone)
    plans = build_plans(doc, data.get("plans", {}))
    if mqtt is not None:
        _check_mqtt(doc, mqtt)
    if sections.get("status") is not None:
        _check_status(doc, sections["status"])
    buses = build_buses(doc, data.get("bus", []))
    ctx = AreaContext(buses={b.name: b for b in buses}, params=params, base_dir=base_dir or Path(file).parent,
                      areas_only=areas_only, timezone=stated_zone)
    areas = build_areas(doc, data.get("area", []), ctx)
    if doc.issues or gateway is None or mqtt is None or None in sections.values():
        raise ConfigError(doc.issues)
    return Config(gateway=gateway, mqtt=mqtt, **sections, buses=tuple(buses), plans=plans, areas=tuple(areas),
                  source=file)


def _stated_timezone(data: dict[str, Any]) -> str | None:
    """The gateway's time zone when the file has a ``[gateway]`` table (explicit or the default)."""
    gw = data.get("gateway")
    if not isinstance(gw, dict):
        return None
    tz = gw.get("timezone", GatewayConfig.__dataclass_fields__["timezone"].default)
    return tz if isinstance(tz, str) else None


def _area_file(data: dict[str, Any]) -> dict[str, Any]:
    """An area file's document with placeholder gateway and MQTT tables and its extra keys removed."""
    data = dict(data)
    raw = data.get("area", [])
    entries = raw if isinstance(raw, list) else []
    grid = next((str(a["grid"]) for a in entries if isinstance(a, dict) and a.get("grid")), "replay")
    data.setdefault("gateway", {"id": "replay", "grid": grid})
    data.setdefault("mqtt", {"url": "mqtt://localhost"})
    if isinstance(raw, list):   # a [area] table (not [[area]]) is reported as such later
        data["area"] = [{k: v for k, v in a.items() if k not in AREA_FILE_KEYS} if isinstance(a, dict) else a
                        for a in raw]
    return data


def _check_status(doc: Doc, status: StatusConfig) -> None:
    from edge.config.checks import listen_problem

    why = listen_problem(status.listen, has_token=bool(status.token_file))
    if why:
        doc.error("status.listen", why)


def _check_mqtt(doc: Doc, mqtt: MqttConfig) -> None:
    if mqtt.url.startswith("mqtt://") and (mqtt.cert_file or mqtt.ca_file):
        doc.error("mqtt.url", "ca_file/cert_file given but the url is mqtt:// (use mqtts://)")
    if bool(mqtt.cert_file) != bool(mqtt.key_file):
        doc.error("mqtt.cert_file", "cert_file and key_file go together")
    if mqtt.password_file and not mqtt.username:
        doc.error("mqtt.password_file", "password_file given without a username")
