"""Every payload kind of the wire format, version 2 (docs/architecture.md, docs/wire.md).

Version 2 differs from version 1 in: the gateway id in every topic (``wire.topics``); ``msg_id`` strictly
``<gateway>:<sequence>``; ``topic_seq`` on every stream kind; identifiers restricted to what a topic level
and a database tag can hold; the fields the engine really emits documented (``master_e_fwd_kwh``,
``partial``, ``u_qualified_pct`` ...). Unknown properties stay allowed by the JSON Schemas (a newer
gateway may add one) but are ignored and counted by the collector: a new stored field is a new version.
"""

from __future__ import annotations

from typing import Any

from wire.spec import Field, Kind, boolean, integer, json_obj, number, string, timestamp

__all__ = ["ALERT_SEVERITIES", "ALERT_STATES", "ENGINE_STATS", "ENVELOPE", "HEALTH_COUNTERS", "ID_PATTERN", "KINDS",
           "SUBJECT_TYPES", "envelope"]

VERSION = 2
# Gateway, grid and area ids are MQTT topic levels and database tags: no / + # $, no spaces, no controls.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Meter and subject ids come from utility archives: anything printable but a backslash (line protocol).
NAME_PATTERN = r"^[^\x00-\x1f\x7f\\]{1,64}$"
MSG_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}:[0-9]{1,19}$"
ALERT_STATES = ("raised", "updated", "cleared")
ALERT_SEVERITIES = ("info", "warning", "major", "critical")
SUBJECT_TYPES = ("transformer", "meter", "branch", "area", "phase", "gateway")
LOSS_STATUS = ("computed", "estimated", "not_computable")
# health.engine{area}: the engine's step statistics (edge.pipeline.StepStats) consumers store.
ENGINE_STATS = ("steps", "messages", "alerts", "readings_fed", "readings_rejected", "snapshots", "last_advance_ms",
                "max_advance_ms", "last_snapshot_ms")
# health.counters: the daemon's and the publisher's (mqtt_*) counters consumers store. Another key is
# carried on the wire but not stored until it is documented here.
HEALTH_COUNTERS = ("queue_full_waits", "unrouted_reads", "engine_step_errors", "queue_depth", "telemetry_failed",
                   "mqtt_connects", "mqtt_connect_refused", "mqtt_connect_failed", "mqtt_disconnects",
                   "mqtt_published", "mqtt_invalid_payloads")


def envelope(kind_name: str, version: int, scope: str, stream: bool) -> tuple[Field, ...]:
    """The properties every payload of a kind starts with."""
    out = [
        Field("schema", {"const": f"meterwatch.{kind_name}/{version}"}, "payload kind and schema version"),
        string("msg_id", "`<gateway>:<sequence>`, assigned by the gateway's outbox; unique per gateway, "
               "never reused (consumers dedupe on it)", pattern=MSG_ID_PATTERN),
        string("gateway", "gateway id; equals the topic's gateway level", pattern=ID_PATTERN),
    ]
    if scope == "area":
        out += [string("grid", "service grid (网格) id; equals the topic's grid level", pattern=ID_PATTERN),
                string("area", "transformer area (台区) id; equals the topic's area level", pattern=ID_PATTERN)]
    out.append(timestamp("ts", "event time of the message (publication time for status)"))
    if stream:
        out.append(integer("topic_seq", "1, 2, 3 … per topic, assigned by the outbox with `msg_id`: a jump "
                           "means messages were lost between the gateway and the consumer", minimum=1))
    return tuple(out)


ENVELOPE = frozenset({"schema", "msg_id", "gateway", "grid", "area", "ts", "topic_seq"})

_EVIDENCE: dict[str, Any] = {"type": "object",
                             "additionalProperties": {"type": ["number", "string", "boolean", "null", "array"]}}
_ALERT_BODY: tuple[Field, ...] = (
    string("alert_id", "stable id of one alert's whole lifecycle (raise, updates, clear)", min_length=1,
           max_length=256),
    string("state", "raised / updated / cleared", enum=ALERT_STATES),
    string("kind", "what was detected (docs/detection.md lists the kinds)", pattern=r"^[a-z][a-z0-9_]*$"),
    string("severity", "info / warning / major / critical", enum=ALERT_SEVERITIES),
    json_obj("subject", {"type": "object", "properties": {
        "type": {"enum": list(SUBJECT_TYPES)},
        "id": {"type": "string", "maxLength": 64, "pattern": r"^[^\x00-\x1f\x7f\\]*$"},
        "branch": {"type": "string", "maxLength": 64, "pattern": r"^[^\x00-\x1f\x7f\\]*$"},
        "phase": {"enum": ["A", "B", "C", "ABC"]}},
        "required": ["type", "id"], "additionalProperties": False},
        "what the alert is about: `type` and `id`; a meter's also its `branch` and `phase` (`ABC`: three-phase), "
        "so that routing can tell a branch or phase outage's own meters"),
    number("value", doc="the measured value that decided"),
    number("threshold", doc="the threshold it was compared with"),
    string("unit", "unit of value and threshold"),
    timestamp("raised_at", "when the alert was raised"),
    timestamp("cleared_at", "when it cleared; null while active", nullable=True),
    string("message", "one line for people"),
    json_obj("evidence", _EVIDENCE, "the numbers behind the decision"),
)


def _alert_item() -> dict[str, Any]:
    props = {f.name: f.schema for f in _ALERT_BODY}
    return {"type": "object", "properties": props, "required": [f.name for f in _ALERT_BODY if f.name != "cleared_at"]}


def _array(items: dict[str, Any], max_items: int | None = None) -> dict[str, Any]:
    return {"type": "array", "items": items} | ({"maxItems": max_items} if max_items is not None else {})


# What one gateway can have: a bus and an area are a series each in the databases (tags), so a payload
# naming thousands of them is refused (a broken or hostile gateway must not flood the series index).
MAX_BUSES = 64
MAX_AREAS = 64


_NUMBERS = {"type": ["number", "null"]}
_BUS: dict[str, Any] = {"type": "object", "properties": {
    "name": {"type": "string", "pattern": NAME_PATTERN},
    "reads_ok": {"type": "integer"}, "reads_failed": {"type": "integer"},
    "utilisation": _NUMBERS, "round_time_s": _NUMBERS, "lateness_s": _NUMBERS,
    "devices_backed_off": {"type": "integer"}}, "required": ["name", "reads_ok", "reads_failed"]}
_OUTBOX: dict[str, Any] = {"type": "object", "properties": {
    k: {"type": "integer"} for k in ("depth", "bytes", "inflight", "dropped_summaries", "dropped_alerts",
                                     "superseded", "rejected")},
    "required": ["depth", "bytes", "dropped_summaries", "dropped_alerts"]}
_SUSPECT: dict[str, Any] = {"type": "object", "properties": {
    "meter": {"type": "string", "pattern": NAME_PATTERN}, "rank": {"type": "integer", "minimum": 1},
    "score": {"type": "number"}, "stolen_kwh_per_day": _NUMBERS,
    "since": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d$"}, "evidence": {"type": "object"}},
    "required": ["meter", "rank", "score"]}

_LOSS: tuple[Field, ...] = (
    number("supply_kwh", "kWh", "energy into the area (master meter)"),
    number("sales_kwh", "kWh", "energy billed to the customers (sum of meters)"),
    number("loss_kwh", "kWh", "supply − sales"),
    number("loss_pct", "%", "line loss rate, loss / supply"),
    number("technical_loss_kwh", "kWh", "modelled technical loss"),
    number("ntl_kwh", "kWh", "non-technical loss: loss − technical loss"),
    string("status", "computed / estimated / not_computable (docs/lineloss.md)", enum=LOSS_STATUS),
    number("coverage_pct", "%", "meters with an energy for the period"),
)

_REALTIME = (
    number("load_pct", "%", "β_max: hottest phase current over rated current"),
    number("load_s_pct", "%", "apparent power over rated kVA"),
    number("s_kva", "kVA", "apparent power"),
    number("p_kw", "kW", "active power"),
    number("q_kvar", "kvar", "reactive power"),
    number("u_a", "V", "phase A voltage"), number("u_b", "V", "phase B voltage"), number("u_c", "V", "phase C voltage"),
    number("i_a", "A", "phase A current"), number("i_b", "A", "phase B current"), number("i_c", "A", "phase C current"),
    number("i_n", "A", "neutral current"),
    number("imbalance_pct", "%", "three-phase current imbalance"),
    number("hotspot_c", "°C", "winding hot-spot temperature (IEC 60076-7)"),
    number("top_oil_c", "°C", "top-oil temperature"),
    number("ageing_rate", "", "relative ageing rate (1 = normal)"),
    number("pf", "", "power factor", required=False),
    number("f_hz", "Hz", "frequency", required=False),
    number("neutral_pct", "%", "neutral current over mean phase current", required=False),
    number("loss_of_life_h", "h", "loss of life accumulated by the transformer", required=False),
    number("time_to_limit_min", "min", "time to the hot-spot limit at this load; null = not within 24 h",
           required=False),
    number("t_amb_c", "°C", "ambient temperature used by the thermal model", required=False),
    string("ambient_source", "where t_amb_c came from: a fresh device reading, the replay's weather series, "
           "the configured monthly or design ambient (docs/detection.md)",
           enum=("measured", "weather", "monthly", "design"), required=False),
)

_INTERVAL = (
    timestamp("interval_start", "start of the 15-min interval"),
    timestamp("interval_end", "end of the interval"),
    *[f if f.name in ("status", "coverage_pct") else Field(f.name, f.schema, f.doc, f.unit, False) for f in _LOSS],
    number("master_e_fwd_kwh", "kWh", "master meter forward energy in the interval", required=False),
    number("load_max_pct", "%", "highest β_max in the interval", required=False),
    number("load_mean_pct", "%", "mean β_max", required=False),
    number("imbalance_pct", "%", "mean imbalance", required=False),
    number("neutral_pct", "%", "highest neutral ratio", required=False),
    number("hotspot_max_c", "°C", "highest hot-spot temperature", required=False),
    number("voltage_qualified_pct", "%", "voltage samples inside the band (meters and master)", required=False),
    integer("meters_low_voltage", "meters below the band at least once", nullable=True, required=False),
    integer("meters_high_voltage", "meters above the band at least once", nullable=True, required=False),
    integer("meters_expected", "meters of the area", required=False),
    integer("meters_read", "meters with any reading in the interval", required=False),
    json_obj("master_voltage_qualified_pct", _array(_NUMBERS), "per phase A, B, C: master voltage samples "
             "inside the band, %", required=False),
    string("technical_loss_method", "physics (the meters' voltage drops and currents) / model (a + b·ΣI²)",
           enum=("physics", "model"), required=False),
    number("physics_coverage_pct", "%", "meters whose voltage and current entered the technical loss",
           required=False),
    number("physics_fitted_pct", "%", "metering elements whose technical-loss term came from their drop fit "
           "(the neutral's loss placed on its phases); the rest by the magnitude method", required=False),
    json_obj("ntl_phase_kwh", _array(_NUMBERS), "per phase A, B, C: the interval's non-technical loss "
             "(the master's phase energy − the meters on it − the phase's technical loss), kWh", required=False),
)

_METERS = (
    timestamp("interval_start", "start of the 15-min interval"),
    timestamp("interval_end", "end of the interval"),
    json_obj("meters", _array({"type": "string", "pattern": NAME_PATTERN}), "meter ids; every array below has "
             "one entry per meter, same index"),
    json_obj("e_kwh", _array(_NUMBERS), "energy of each meter in the interval, kWh"),
    json_obj("u_min", _array(_NUMBERS), "lowest voltage, V", required=False),
    json_obj("u_max", _array(_NUMBERS), "highest voltage, V", required=False),
    json_obj("u_mean", _array(_NUMBERS), "mean voltage, V", required=False),
    json_obj("i_max", _array(_NUMBERS), "highest current, A", required=False),
    json_obj("u_qualified_pct", _array(_NUMBERS), "voltage samples inside the band, %", required=False),
    json_obj("read", _array({"type": "boolean"}), "the meter answered in the interval"),
    json_obj("estimated", _array({"type": "boolean"}), "the energy is estimated, not read", required=False),
)

_DAILY = (
    string("date", "the local date (gateway timezone)", pattern=r"^\d{4}-\d\d-\d\d$"),
    timestamp("day_start", "start of the local day"),
    timestamp("day_end", "end of the local day"),
    boolean("partial", "monitoring started during this day", required=False),
    *[Field(f.name, f.schema, f.doc, f.unit, False) for f in _LOSS],
    string("band", "negative / qualified / high / not_computable", enum=("negative", "qualified", "high",
                                                                         "not_computable")),
    number("collection_rate_pct", "%", "meters collected on the day"),
    integer("meters_expected", "meters of the area", required=False),
    integer("meters_collected", "meters with a reading on the day", required=False),
    number("voltage_qualified_pct", "%", "voltage samples inside the band", required=False),
    number("load_max_pct", "%", "highest β_max of the day", required=False),
    number("ageing_days", "d", "equivalent ageing days consumed", required=False),
    integer("abnormal_days", "consecutive days with an abnormal loss band", nullable=True, required=False),
    boolean("persistent_abnormal", "the abnormal band persisted long enough to alarm", required=False),
    number("ntl_swing_ratio", "", "day-to-day swing of the non-technical loss", required=False),
    json_obj("ntl_phase_pct", _array(_NUMBERS), "per phase A, B, C: the day's non-technical loss, % of the "
             "phase's supply", required=False),
    json_obj("suspects", _array(_SUSPECT), "theft suspects ranked: `meter`, `rank`, `score` (0–1), "
             "`stolen_kwh_per_day` (estimated, or null), `since` (local date), `evidence` (docs/lineloss.md)"),
)

_STATUS = (
    string("state", "online / offline (offline is also the MQTT will)", enum=("online", "offline")),
    string("version", "meterwatch version"),
    string("boot_id", "kernel boot id: changes with every reboot"),
)

_HEALTH = (
    number("uptime_s", "s", "daemon uptime", nullable=False),
    string("version", "meterwatch version", required=False),
    json_obj("versions", {"type": "object", "additionalProperties": {"type": "string"}},
             "versions of meterwatch, python and the libraries", required=False),
    json_obj("buses", _array(_BUS, MAX_BUSES), f"per bus (at most {MAX_BUSES}): `name`, `reads_ok`, `reads_failed`, `utilisation`, "
             "`round_time_s`, `lateness_s`, `devices_backed_off`"),
    json_obj("outbox", _OUTBOX, "outbox `depth`, `bytes`, `inflight` and cumulative drop counters"),
    json_obj("engine", {"type": "object", "maxProperties": MAX_AREAS, "additionalProperties": {
        "type": "object", "additionalProperties": {"type": ["number", "object"]}}},
             f"per area id (at most {MAX_AREAS}): the engine's step statistics ("
             + ", ".join(f"`{k}`" for k in ENGINE_STATS) + ")", required=False),
    json_obj("counters", {"type": "object", "additionalProperties": {"type": "number"}},
             "the daemon's and the publisher's counters; stored by the collector: "
             + ", ".join(f"`{k}`" for k in HEALTH_COUNTERS), required=False),
)


def _kind(name: str, scope: str, suffix: str, retained: bool, doc: str, body: tuple[Field, ...]) -> Kind:
    fields = envelope(name, VERSION, scope, not retained) + body
    return Kind(name=name, version=VERSION, scope=scope, suffix=suffix, retained=retained, doc=doc,  # type: ignore[arg-type]
                fields=fields)


KINDS: dict[str, Kind] = {k.name: k for k in (
    _kind("alert", "area", "alert", False,
          "One alert event: raised, updated or cleared. Same alert_id for the whole lifecycle.", _ALERT_BODY),
    _kind("alerts_active", "area", "alerts/active", True, "Retained list of the area's active alerts.",
          (json_obj("alerts", _array(_alert_item()), "every active alert, as in `alert` without the envelope"),)),
    _kind("realtime", "area", "summary/realtime", False, "Transformer state at one master/TTU poll.", _REALTIME),
    _kind("interval", "area", "summary/interval", False, "One 15-min interval of the area.", _INTERVAL),
    _kind("daily", "area", "summary/daily", False,
          "One day of the area: line loss and band, collection rate, theft suspects.", _DAILY),
    _kind("meters_interval", "area", "meters/interval", False,
          "One 15-min interval, every meter of the area as parallel arrays (same index as 'meters').", _METERS),
    _kind("status", "gateway", "status", True,
          "Retained gateway birth/death message; the offline one is the MQTT will.", _STATUS),
    _kind("health", "gateway", "health", False, "Gateway health every minute.", _HEALTH),
)}
