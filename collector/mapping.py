"""Payloads to points, as declared in ``collector.schema`` (docs/influx-schema.md).

Every point's time comes from the payload (``ts``, ``interval_start`` or ``day_start``) and its series
key only from identifiers in the payload, so a redelivered message writes exactly the same points again
and overwrites them instead of adding duplicates. Alert events are the one place where several messages
share a series and a millisecond (three meters' low-voltage alerts of one step): their time carries
``topic_seq mod 10⁶`` in the nanoseconds below the payload's millisecond, which keeps them apart and is
still the same for a redelivery.

``map_payload`` builds the points for InfluxDB (identifiers as string fields); ``for_server`` reshapes
them for VictoriaMetrics (identifiers as labels, no strings).
"""

from __future__ import annotations

import json
from typing import Any

from collector.lineproto import FieldValue, Point, encode_head, encode_rows
from collector.schema import MEASUREMENTS, OUTBOX, PHASES, Server
from wire.kinds import ENGINE_STATS, HEALTH_COUNTERS
from wire.timefmt import parse_ns

__all__ = ["MappingError", "for_server", "map_payload", "meters_lines"]

_METER_ARRAYS = MEASUREMENTS["meter_interval"].numbers
_METER_FLAGS = MEASUREMENTS["meter_interval"].flags
_DAILY_NUMBERS = tuple(n for n in MEASUREMENTS["area_daily"].numbers if n != "suspects")   # suspects: a count
_SEVERITIES = ("critical", "major", "warning", "info")
_NS_PER_MS = 1_000_000


class MappingError(ValueError):
    """A schema-valid payload that still cannot become points (bad timestamp, ragged arrays, bad id)."""


def _time(payload: dict[str, Any], key: str) -> int:
    try:
        return parse_ns(payload[key])
    except (ValueError, TypeError) as e:
        raise MappingError(f"{key}: {e}") from None


def _num(v: Any) -> float:
    try:
        f = float(v)
    except OverflowError:
        raise MappingError(f"number {str(v)[:20]}… is beyond the range of a float") from None
    if f - f != 0:
        raise MappingError(f"non-finite number {v!r} cannot be stored")
    return f


def _numbers(payload: dict[str, Any], names: tuple[str, ...]) -> dict[str, FieldValue]:
    """The declared numbers present in ``payload``; nulls mean "not known" and are left out. (Floats
    pass as they are: the line protocol encoder refuses non-finite ones.)"""
    out: dict[str, FieldValue] = {}
    for k in names:
        v = payload.get(k)
        if v is None:
            continue
        t = type(v)
        if t is float:
            out[k] = v
        elif t is int:
            out[k] = _num(v)
    return out


def _area_tags(p: dict[str, Any]) -> dict[str, str]:
    return {"grid": p["grid"], "area": p["area"], "gateway": p["gateway"]}


def _realtime(p: dict[str, Any]) -> list[Point]:
    fields = _numbers(p, MEASUREMENTS["realtime"].numbers)
    if p.get("ambient_source"):
        fields["ambient_source"] = p["ambient_source"]
    fields["msg_id"] = p["msg_id"]
    return [Point("realtime", _area_tags(p), fields, _time(p, "ts"))]


def _interval(p: dict[str, Any]) -> list[Point]:
    fields = _numbers(p, MEASUREMENTS["area_interval"].numbers)
    for ph, v in zip(PHASES, p.get("master_voltage_qualified_pct") or (), strict=False):
        if v is not None:
            fields[f"master_voltage_qualified_pct_{ph}"] = _num(v)
    fields["status"] = p["status"]
    fields["msg_id"] = p["msg_id"]
    _time(p, "interval_end")
    return [Point("area_interval", _area_tags(p), fields, _time(p, "interval_start"))]


def _meter_columns(p: dict[str, Any]) -> tuple[list[str], list[tuple[str, list]], list[tuple[str, list]], int]:
    """Checked columns of a meters_interval: (meters, number arrays, flag arrays, time)."""
    meters = p["meters"]
    n = len(meters)
    arrays = {k: p[k] for k in (*_METER_ARRAYS, *_METER_FLAGS) if k in p}
    ragged = [k for k, a in arrays.items() if len(a) != n]
    if ragged:
        raise MappingError(f"arrays {', '.join(ragged)} do not have one entry per meter ({n} meters)")
    if len(set(meters)) != n:
        raise MappingError("meters lists the same meter twice")
    t = _time(p, "interval_start")
    _time(p, "interval_end")
    nums = [(k, a) for k, a in arrays.items() if k in _METER_ARRAYS]
    flags = [(k, a) for k, a in arrays.items() if k in _METER_FLAGS]
    return meters, nums, flags, t


def _meters(p: dict[str, Any]) -> list[Point]:
    meters, nums, flags, t = _meter_columns(p)
    base = _area_tags(p)
    out = []
    for i, m in enumerate(meters):
        fields: dict[str, FieldValue] = {k: _num(a[i]) for k, a in nums if a[i] is not None}
        for k, a in flags:
            fields[k] = a[i]
        out.append(Point("meter_interval", {**base, "meter": m}, fields, t))
    return out


def meters_lines(p: dict[str, Any]) -> tuple[int, bytes]:
    """``(points, line protocol)`` of a meters_interval without building Points (same bytes as
    ``encode_many(map_payload("meters_interval", p))`` on both servers: ``meter`` is a tag on both);
    raises ``MappingError`` / ``ValueError``."""
    meters, nums, flags, t = _meter_columns(p)
    # The tag set is grid, area, gateway, meter: "meter" sorts last, so the head holds the other three.
    head = encode_head("meter_interval", _area_tags(p))
    return len(meters), encode_rows(head, "meter", meters, nums, flags, t)


def _daily(p: dict[str, Any]) -> list[Point]:
    t = _time(p, "day_start")
    _time(p, "day_end")
    fields = _numbers(p, _DAILY_NUMBERS)
    for k in MEASUREMENTS["area_daily"].flags:
        if k in p:
            fields[k] = p[k]
    fields.update({"suspects": float(len(p["suspects"])), "date": p["date"], "band": p["band"],
                   "msg_id": p["msg_id"]})
    if "status" in p:
        fields["status"] = p["status"]
    base = _area_tags(p)
    out = [Point("area_daily", base, fields, t)]
    ranks = [s["rank"] for s in p["suspects"]]
    if len(set(ranks)) != len(ranks):
        raise MappingError("suspects lists the same rank twice")
    for s in p["suspects"]:
        sf: dict[str, FieldValue] = {"score": _num(s["score"]), "meter": s["meter"]}
        if s.get("stolen_kwh_per_day") is not None:
            sf["stolen_kwh_per_day"] = _num(s["stolen_kwh_per_day"])
        if s.get("since"):
            sf["since"] = str(s["since"])
        if "evidence" in s:
            sf["evidence"] = json.dumps(s["evidence"], sort_keys=True, ensure_ascii=False)
        out.append(Point("theft_suspect", {**base, "rank": str(s["rank"])}, sf, t))
    return out


def _alert(p: dict[str, Any]) -> list[Point]:
    subject = p["subject"]
    tags = {**_area_tags(p), "kind": p["kind"], "severity": p["severity"], "subject_type": subject["type"]}
    fields: dict[str, FieldValue] = {"active": 0.0 if p["state"] == "cleared" else 1.0}
    fields.update(_numbers(p, ("value", "threshold")))
    fields.update({"alert_id": p["alert_id"], "subject_id": subject["id"], "state": p["state"], "unit": p["unit"],
                   "message": p["message"], "raised_at": p["raised_at"]})
    _time(p, "raised_at")
    if p["cleared_at"] is not None:
        _time(p, "cleared_at")
        fields["cleared_at"] = p["cleared_at"]
    fields["evidence"] = json.dumps(p["evidence"], sort_keys=True, ensure_ascii=False)
    fields["msg_id"] = p["msg_id"]
    t = _time(p, "ts")
    return [Point("alert", tags, fields, t - t % _NS_PER_MS + p["topic_seq"] % _NS_PER_MS)]


def _alerts_active(p: dict[str, Any]) -> list[Point]:
    alerts = p["alerts"]
    fields: dict[str, FieldValue] = {"count": float(len(alerts))}
    for sev in _SEVERITIES:
        fields[sev] = float(sum(1 for a in alerts if a["severity"] == sev))
    fields["msg_id"] = p["msg_id"]
    return [Point("alerts_active", _area_tags(p), fields, _time(p, "ts"))]


def _status(p: dict[str, Any]) -> list[Point]:
    fields: dict[str, FieldValue] = {"online": 1.0 if p["state"] == "online" else 0.0, "state": p["state"],
                                     "version": p["version"], "boot_id": p["boot_id"], "msg_id": p["msg_id"]}
    return [Point("gateway_status", {"gateway": p["gateway"]}, fields, _time(p, "ts"))]


def _health(p: dict[str, Any]) -> list[Point]:
    t = _time(p, "ts")
    gw = {"gateway": p["gateway"]}
    fields = _numbers(p, ("uptime_s",))
    fields.update({f"outbox_{k}": v for k, v in _numbers(p["outbox"], OUTBOX).items()})
    counters = p.get("counters", {})
    fields.update({f"counter_{k}": v for k, v in _numbers(counters, HEALTH_COUNTERS).items()})
    fields["buses"] = float(len(p["buses"]))
    if "version" in p:
        fields["version"] = p["version"]
    fields["msg_id"] = p["msg_id"]
    out = [Point("gateway_health", gw, fields, t)]
    names = [b["name"] for b in p["buses"]]
    if len(set(names)) != len(names):
        raise MappingError("buses lists the same bus name twice")
    for b in p["buses"]:
        bus_fields = _numbers(b, MEASUREMENTS["bus_health"].numbers)
        if bus_fields:
            out.append(Point("bus_health", {**gw, "bus": b["name"]}, bus_fields, t))
    for area, stats in p.get("engine", {}).items():
        engine_fields = _numbers(stats, ENGINE_STATS)
        if engine_fields:
            out.append(Point("area_engine", {**gw, "area": area}, engine_fields, t))
    return out


_BY_KIND = {
    "realtime": _realtime, "interval": _interval, "meters_interval": _meters, "daily": _daily,
    "alert": _alert, "alerts_active": _alerts_active, "status": _status, "health": _health,
}


def map_payload(kind: str, payload: dict[str, Any]) -> list[Point]:
    """Points for one accepted payload of ``kind`` (InfluxDB shape); raises ``MappingError``."""
    try:
        return _BY_KIND[kind](payload)
    except MappingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MappingError(f"{kind} payload cannot be mapped: {type(e).__name__}: {e}") from None


def for_server(points: list[Point], server: Server) -> list[Point]:
    """The points as ``server`` stores them: unchanged for InfluxDB; for VictoriaMetrics identifiers
    become labels and other strings are left out (a point left with no field is dropped)."""
    if server == "influxdb":
        return points
    out = []
    for p in points:
        ids = MEASUREMENTS[p.measurement].ids
        tags = {**p.tags, **{k: str(p.fields[k]) for k in ids if k in p.fields}}
        fields = {k: v for k, v in p.fields.items() if type(v) is not str}
        if fields:
            out.append(Point(p.measurement, tags, fields, p.time_ns))
    return out
