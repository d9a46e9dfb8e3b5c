"""Payloads to InfluxDB points: the schema documented in docs/influx-schema.md.

Every point's timestamp comes from the payload (``ts``, ``interval_start`` or ``day_start``) and its
series key only from identifiers in the payload, so a redelivered message writes exactly the same
points again and overwrites them instead of adding duplicates.
"""

from __future__ import annotations

import json
from typing import Any

from collector.lineproto import FieldValue, Point, encode_head, encode_rows
from wire.kinds import ENVELOPE
from wire.timefmt import parse_ns as ts_ns

__all__ = ["MEASUREMENTS", "MappingError", "map_payload", "meters_lines"]

# measurement -> (tags, fixed fields). Dynamic fields (counter_*, engine_*, extra numbers) are listed in
# the doc; tests check that every emitted name is documented.
MEASUREMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "realtime": (("grid", "area", "gateway"), (
        "load_pct", "load_s_pct", "s_kva", "p_kw", "q_kvar", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n",
        "imbalance_pct", "hotspot_c", "top_oil_c", "ageing_rate", "pf", "f_hz", "neutral_pct",
        "loss_of_life_h", "time_to_limit_min", "t_amb_c", "msg_id")),
    "area_interval": (("grid", "area", "gateway"), (
        "supply_kwh", "sales_kwh", "loss_kwh", "loss_pct", "technical_loss_kwh", "ntl_kwh", "status",
        "coverage_pct", "load_max_pct", "load_mean_pct", "imbalance_pct", "neutral_pct", "hotspot_max_c",
        "voltage_qualified_pct", "meters_low_voltage", "meters_high_voltage", "meters_expected",
        "meters_read", "msg_id")),
    "meter_interval": (("grid", "area", "gateway", "meter"), (
        "e_kwh", "u_min", "u_max", "u_mean", "i_max", "read", "estimated")),
    "area_daily": (("grid", "area", "gateway"), (
        "supply_kwh", "sales_kwh", "loss_kwh", "loss_pct", "technical_loss_kwh", "ntl_kwh", "band", "status",
        "coverage_pct", "collection_rate_pct", "meters_expected", "meters_collected", "voltage_qualified_pct",
        "load_max_pct", "ageing_days", "abnormal_days", "suspects", "msg_id")),
    "theft_suspect": (("grid", "area", "gateway", "meter"), ("rank", "score", "evidence")),
    "alert": (("grid", "area", "gateway", "alert_id", "kind", "severity", "subject_type", "subject_id"), (
        "state", "active", "value", "threshold", "unit", "message", "raised_at", "cleared_at", "evidence",
        "msg_id")),
    "alerts_active": (("grid", "area", "gateway"), ("count", "critical", "major", "warning", "info", "msg_id")),
    "gateway_status": (("gateway",), ("state", "online", "version", "boot_id", "msg_id")),
    "gateway_health": (("gateway",), (
        "uptime_s", "version", "outbox_depth", "outbox_bytes", "outbox_inflight", "outbox_dropped_summaries",
        "outbox_dropped_alerts", "outbox_superseded", "outbox_rejected", "buses", "msg_id")),
    "bus_health": (("gateway", "bus"), (
        "reads_ok", "reads_failed", "utilisation", "round_time_s", "lateness_s", "devices_backed_off")),
}

_METER_ARRAYS = ("e_kwh", "u_min", "u_max", "u_mean", "i_max")
_SEVERITIES = ("critical", "major", "warning", "info")


class MappingError(ValueError):
    """A schema-valid payload that still cannot become points (bad timestamp, ragged arrays, bad id)."""


def _tag(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise MappingError(f"{name} {value!r} is not a string")
    if "\n" in value or value.endswith("\\"):
        raise MappingError(f"{name} {value!r} cannot be an InfluxDB tag (newline or trailing backslash)")
    return value


def _time(payload: dict[str, Any], key: str) -> int:
    try:
        return ts_ns(payload[key])
    except (ValueError, TypeError) as e:
        raise MappingError(f"{key}: {e}") from None


def _numbers(payload: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> dict[str, FieldValue]:
    """Every top-level number (schema fields and additional ones); nulls mean 'not known' and are left out."""
    return {k: float(v) for k, v in payload.items()
            if k not in skip and k not in ENVELOPE and (type(v) is float or type(v) is int)}


def _area_tags(p: dict[str, Any]) -> dict[str, str]:
    return {"grid": _tag("grid", p["grid"]), "area": _tag("area", p["area"]), "gateway": _tag("gateway", p["gateway"])}


def _realtime(p: dict[str, Any]) -> list[Point]:
    fields = _numbers(p)
    fields["msg_id"] = p["msg_id"]
    return [Point("realtime", _area_tags(p), fields, _time(p, "ts"))]


def _interval(p: dict[str, Any]) -> list[Point]:
    fields = _numbers(p)
    fields["status"] = p["status"]
    fields["msg_id"] = p["msg_id"]
    _time(p, "interval_end")
    return [Point("area_interval", _area_tags(p), fields, _time(p, "interval_start"))]


def _meter_columns(p: dict[str, Any]) -> tuple[list[str], list[tuple[str, list]], list[tuple[str, list]], int]:
    """Checked columns of a meters_interval: (meters, number arrays, flag arrays, time)."""
    meters = p["meters"]
    n = len(meters)
    arrays = {k: p[k] for k in (*_METER_ARRAYS, "read", "estimated") if k in p}
    ragged = [k for k, a in arrays.items() if len(a) != n]
    if ragged:
        raise MappingError(f"arrays {', '.join(ragged)} do not have one entry per meter ({n} meters)")
    if len(set(meters)) != n:
        raise MappingError("meters lists the same meter twice")
    for m in meters:
        _tag("meter", m)
    t = _time(p, "interval_start")
    _time(p, "interval_end")
    nums = [(k, a) for k, a in arrays.items() if k in _METER_ARRAYS]
    flags = [(k, a) for k, a in arrays.items() if k not in _METER_ARRAYS]
    return meters, nums, flags, t


def _meters(p: dict[str, Any]) -> list[Point]:
    meters, nums, flags, t = _meter_columns(p)
    base = _area_tags(p)
    out = []
    for i, m in enumerate(meters):
        fields: dict[str, FieldValue] = {k: float(a[i]) for k, a in nums if a[i] is not None}
        for k, a in flags:
            fields[k] = a[i]
        out.append(Point("meter_interval", {**base, "meter": m}, fields, t))
    return out


def meters_lines(p: dict[str, Any]) -> tuple[int, bytes]:
    """``(points, line protocol)`` of a meters_interval without building Points (same bytes as
    ``encode_many(map_payload("meters_interval", p))``); raises ``MappingError`` / ``ValueError``."""
    meters, nums, flags, t = _meter_columns(p)
    # The tag set is grid, area, gateway, meter: "meter" sorts last, so the head holds the other three.
    head = encode_head("meter_interval", _area_tags(p))
    return len(meters), encode_rows(head, "meter", meters, nums, flags, t)


def _daily(p: dict[str, Any]) -> list[Point]:
    t = _time(p, "day_start")
    _time(p, "day_end")
    fields = _numbers(p)
    fields.update({"band": p["band"], "suspects": float(len(p["suspects"])), "msg_id": p["msg_id"]})
    if "status" in p:
        fields["status"] = p["status"]
    base = _area_tags(p)
    out = [Point("area_daily", base, fields, t)]
    for s in p["suspects"]:
        sf: dict[str, FieldValue] = {"rank": float(s["rank"]), "score": float(s["score"])}
        if "evidence" in s:
            sf["evidence"] = json.dumps(s["evidence"], sort_keys=True)
        out.append(Point("theft_suspect", {**base, "meter": _tag("meter", s["meter"])}, sf, t))
    return out


def _alert(p: dict[str, Any]) -> list[Point]:
    subject = p["subject"]
    tags = {**_area_tags(p), "alert_id": _tag("alert_id", p["alert_id"]), "kind": p["kind"],
            "severity": p["severity"], "subject_type": subject["type"],
            "subject_id": _tag("subject.id", subject["id"]) if subject["id"] else ""}
    fields: dict[str, FieldValue] = {"state": p["state"], "active": 0.0 if p["state"] == "cleared" else 1.0}
    for k in ("value", "threshold"):
        if p[k] is not None:
            fields[k] = float(p[k])
    fields.update({"unit": p["unit"], "message": p["message"], "raised_at": p["raised_at"]})
    _time(p, "raised_at")
    if p["cleared_at"] is not None:
        _time(p, "cleared_at")
        fields["cleared_at"] = p["cleared_at"]
    fields["evidence"] = json.dumps(p["evidence"], sort_keys=True)
    fields["msg_id"] = p["msg_id"]
    return [Point("alert", tags, fields, _time(p, "ts"))]


def _alerts_active(p: dict[str, Any]) -> list[Point]:
    alerts = p["alerts"]
    fields: dict[str, FieldValue] = {"count": float(len(alerts))}
    for sev in _SEVERITIES:
        fields[sev] = float(sum(1 for a in alerts if a["severity"] == sev))
    fields["msg_id"] = p["msg_id"]
    return [Point("alerts_active", _area_tags(p), fields, _time(p, "ts"))]


def _status(p: dict[str, Any]) -> list[Point]:
    fields: dict[str, FieldValue] = {"state": p["state"], "online": 1.0 if p["state"] == "online" else 0.0,
                                     "version": p["version"], "boot_id": p["boot_id"], "msg_id": p["msg_id"]}
    return [Point("gateway_status", {"gateway": _tag("gateway", p["gateway"])}, fields, _time(p, "ts"))]


def _health(p: dict[str, Any]) -> list[Point]:
    t = _time(p, "ts")
    gw = {"gateway": _tag("gateway", p["gateway"])}
    fields = _numbers(p)
    if "version" in p:
        fields["version"] = p["version"]
    for k, v in p["outbox"].items():
        if type(v) is int or type(v) is float:
            fields[f"outbox_{k}"] = float(v)
    for prefix in ("engine", "counters"):
        for k, v in p.get(prefix, {}).items():
            if type(v) is int or type(v) is float:
                fields[f"{prefix[:-1] if prefix == 'counters' else prefix}_{k}"] = float(v)
    fields["buses"] = float(len(p["buses"]))
    fields["msg_id"] = p["msg_id"]
    out = [Point("gateway_health", gw, fields, t)]
    names = [b["name"] for b in p["buses"]]
    if len(set(names)) != len(names):
        raise MappingError("buses lists the same bus name twice")
    for b in p["buses"]:
        out.append(Point("bus_health", {**gw, "bus": _tag("bus", b["name"])}, _numbers(b, {"name"}), t))
    return out


_BY_KIND = {
    "realtime": _realtime, "interval": _interval, "meters_interval": _meters, "daily": _daily,
    "alert": _alert, "alerts_active": _alerts_active, "status": _status, "health": _health,
}


def map_payload(kind: str, payload: dict[str, Any]) -> list[Point]:
    """Points for one schema-valid payload of ``kind``; raises ``MappingError`` when it cannot be stored."""
    try:
        return _BY_KIND[kind](payload)
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MappingError(f"{kind} payload cannot be mapped: {type(e).__name__}: {e}") from None
