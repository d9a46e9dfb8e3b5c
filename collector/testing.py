"""Schema-valid payload streams of every kind, for tests and benchmarks.

The edge daemon and replay produce the real thing; this generator stands in for them where a test or a
benchmark needs a deterministic stream with every payload kind and every optional field exercised.
Each message is ``(topic, payload)`` exactly as the daemon would publish it (``wire``: topics, kinds,
``msg_id`` ``<gateway>:<n>`` and per-topic ``topic_seq`` as the outbox stamps them).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wire import KINDS, Topic, format_msg_id, stamp
from wire.timefmt import rfc3339 as wire_time
from wire.topics import DEFAULT_PREFIX, build

__all__ = ["AreaSpec", "Message", "area_stream", "dump_jsonl", "load_jsonl", "rfc3339", "topic_for"]

INTERVAL_S = 900


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: dict[str, Any]

    def encode(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


@dataclass(frozen=True, kw_only=True, slots=True)
class AreaSpec:
    """One simulated area: who publishes it and how big it is."""

    grid: str = "jinli-1"
    area: str = "A01"
    gateway: str = "gw-0001"
    meters: int = 40
    realtime_per_interval: int = 3
    intervals: int = 8
    start: datetime = datetime(2026, 3, 1, tzinfo=timezone.utc)
    seed: int = 1
    revisions: bool = False   # re-send each interval once, corrected, right after the original (same point)


def load_jsonl(path: str | Path) -> list[Message]:
    """Messages from ``meterwatch replay --out`` output: one ``{"topic": ..., "payload": ...}`` per line
    (docs/replay.md). Lets the end-to-end tests run over a replay instead of this generator."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict) or set(row) != {"topic", "payload"}:
                    raise ValueError(f"{path}:{n}: expected an object with topic and payload")
                out.append(Message(row["topic"], row["payload"]))
    return out


def dump_jsonl(messages: Iterable[Message], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for m in messages:
            fh.write(json.dumps({"topic": m.topic, "payload": m.payload}, separators=(",", ":")) + "\n")


def rfc3339(t: datetime) -> str:
    """UTC RFC 3339 with ``Z`` and milliseconds only when there are any (the payload convention)."""
    return wire_time(t.timestamp())


def topic_for(prefix: str, kind: str, *, grid: str = "", area: str = "", gateway: str = "") -> str:
    scoped = KINDS[kind].scope == "area"
    return build(prefix, Topic(gateway=gateway, kind=kind, grid=grid if scoped else "", area=area if scoped else ""))


class _Ids:
    """msg_id and topic_seq as the gateway's outbox assigns them."""

    def __init__(self, gateway: str) -> None:
        self.gateway, self.n = gateway, 0
        self.per_topic: dict[str, int] = {}

    def stamp(self, topic: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        seq = None
        if KINDS[kind].stream:
            seq = self.per_topic[topic] = self.per_topic.get(topic, 0) + 1
        return stamp(payload, msg_id=format_msg_id(self.gateway, self.n), topic_seq=seq)


def _maybe(rng: random.Random, value: float, p_null: float = 0.05) -> float | None:
    return None if rng.random() < p_null else round(value, 3)


def area_stream(spec: AreaSpec, prefix: str = DEFAULT_PREFIX) -> Iterator[Message]:
    """Every payload kind for ``spec.intervals`` 15-min intervals, in publishing order."""
    rng = random.Random(spec.seed)
    ids = _Ids(spec.gateway)
    env = {"gateway": spec.gateway, "grid": spec.grid, "area": spec.area}
    meters = [f"{spec.area}-m{i:04d}" for i in range(spec.meters)]

    def msg(kind: str, ts: datetime, body: dict[str, Any]) -> Message:
        area_level = KINDS[kind].scope == "area"
        head: dict[str, Any] = {"schema": KINDS[kind].tag, **(env if area_level else {"gateway": spec.gateway}),
                                "ts": rfc3339(ts), **body}
        topic = topic_for(prefix, kind, **env)
        return Message(topic, ids.stamp(topic, kind, head))

    yield msg("status", spec.start, {"state": "online", "version": "0.1.0", "boot_id": f"boot-{spec.seed}"})
    active: dict[str, dict[str, Any]] = {}
    for k in range(spec.intervals):
        t0 = spec.start + timedelta(seconds=k * INTERVAL_S)
        t1 = t0 + timedelta(seconds=INTERVAL_S)
        for j in range(spec.realtime_per_interval):
            ts = t0 + timedelta(seconds=(j + 1) * INTERVAL_S / (spec.realtime_per_interval + 1), milliseconds=250)
            yield msg("realtime", ts, _realtime(rng))
        body = _interval(rng, t0, t1, spec.meters)
        yield msg("interval", t1, body)
        if spec.revisions:
            yield msg("interval", t1 + timedelta(seconds=5), _revised(body))
        yield msg("meters_interval", t1, _meters(rng, t0, t1, meters))
        yield from _alerts(rng, k, t1, meters, active, msg)
        yield msg("health", t1, _health(rng, k, spec.area))
    day0 = spec.start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = spec.start + timedelta(seconds=spec.intervals * INTERVAL_S)
    yield msg("daily", end, _daily(rng, day0, meters))
    yield msg("status", end + timedelta(seconds=1), {"state": "offline", "version": "0.1.0",
                                                       "boot_id": f"boot-{spec.seed}"})


def _revised(body: dict[str, Any]) -> dict[str, Any]:
    """The interval recomputed: what a gateway re-sends when late meter readings arrive."""
    sales = round(body["sales_kwh"] + 0.5, 3)
    return {**body, "sales_kwh": sales, "loss_kwh": round(body["supply_kwh"] - sales, 3),
            "status": "computed", "meters_read": body["meters_expected"]}


def _realtime(rng: random.Random) -> dict[str, Any]:
    i = [rng.uniform(200, 500) for _ in range(3)]
    u = [rng.uniform(215, 238) for _ in range(3)]
    return {
        "load_pct": round(max(i) / 577.0 * 100, 2), "load_s_pct": round(sum(i) / 3 / 577.0 * 100, 2),
        "s_kva": round(sum(a * b for a, b in zip(i, u, strict=True)) / 1000, 2), "p_kw": _maybe(rng, 250),
        "q_kvar": _maybe(rng, 40), "u_a": round(u[0], 1), "u_b": round(u[1], 1), "u_c": _maybe(rng, u[2]),
        "i_a": round(i[0], 1), "i_b": round(i[1], 1), "i_c": round(i[2], 1), "i_n": _maybe(rng, 30),
        "imbalance_pct": round((max(i) - min(i)) / max(i) * 100, 2), "hotspot_c": _maybe(rng, 70),
        "top_oil_c": _maybe(rng, 55), "ageing_rate": _maybe(rng, 0.4), "pf": _maybe(rng, 0.95),
        "f_hz": 50.01, "neutral_pct": _maybe(rng, 6), "loss_of_life_h": _maybe(rng, 0.001),
        "time_to_limit_min": None, "t_amb_c": 21.5,
    }


def _interval(rng: random.Random, t0: datetime, t1: datetime, n: int) -> dict[str, Any]:
    supply = rng.uniform(40, 90)
    sales = supply * rng.uniform(0.85, 0.99)
    return {
        "interval_start": rfc3339(t0), "interval_end": rfc3339(t1), "supply_kwh": round(supply, 3),
        "sales_kwh": round(sales, 3), "loss_kwh": round(supply - sales, 3),
        "loss_pct": round((supply - sales) / supply * 100, 3), "technical_loss_kwh": round(supply * 0.03, 3),
        "ntl_kwh": _maybe(rng, 1.2), "status": rng.choice(("computed", "computed", "estimated")),
        "coverage_pct": round(rng.uniform(95, 100), 2), "load_max_pct": round(rng.uniform(40, 90), 2),
        "load_mean_pct": round(rng.uniform(30, 60), 2), "imbalance_pct": round(rng.uniform(2, 20), 2),
        "neutral_pct": round(rng.uniform(1, 10), 2), "hotspot_max_c": round(rng.uniform(50, 90), 2),
        "voltage_qualified_pct": round(rng.uniform(95, 100), 2), "meters_low_voltage": rng.randint(0, 3),
        "meters_high_voltage": 0, "meters_expected": n, "meters_read": n - rng.randint(0, 2),
    }


def _meters(rng: random.Random, t0: datetime, t1: datetime, meters: list[str]) -> dict[str, Any]:
    n = len(meters)
    read = [rng.random() > 0.03 for _ in range(n)]
    e = [round(rng.uniform(0, 2), 3) if r else None for r in read]
    u = [rng.uniform(210, 235) if r else None for r in read]
    return {
        "interval_start": rfc3339(t0), "interval_end": rfc3339(t1), "meters": meters, "e_kwh": e,
        "u_min": [None if x is None else round(x - 3, 1) for x in u],
        "u_max": [None if x is None else round(x + 3, 1) for x in u],
        "u_mean": [None if x is None else round(x, 1) for x in u],
        "i_max": [round(rng.uniform(0, 30), 2) if r else None for r in read],
        "read": read, "estimated": [not r for r in read],
    }


_KINDS = (("overload", "major", "transformer", "%"), ("voltage_low", "warning", "meter", "V"),
          ("theft_suspect", "critical", "meter", "score"), ("imbalance", "info", "area", "%"))


def _alerts(rng: random.Random, k: int, ts: datetime, meters: list[str], active: dict[str, dict[str, Any]],
            msg: Any) -> Iterator[Message]:
    """Raise an alert every other interval, update it once, clear it two intervals later."""
    changed = False
    if k % 2 == 0:
        kind, sev, subj, unit = _KINDS[(k // 2) % len(_KINDS)]
        sid = rng.choice(meters) if subj == "meter" else ("T1" if subj == "transformer" else "area")
        body: dict[str, Any] = {"alert_id": f"{kind}-{sid}-{k}", "state": "raised", "kind": kind, "severity": sev,
                "subject": {"type": subj, "id": sid}, "value": round(rng.uniform(90, 130), 2),
                "threshold": 95.0, "unit": unit, "raised_at": rfc3339(ts), "cleared_at": None,
                "message": f"{kind} on {subj} {sid}: \"value\" above threshold, see evidence",
                "evidence": {"samples": 4, "window_s": 900, "peak": 128.5, "phases": ["a", "c"], "note": None}}
        active[body["alert_id"]] = body
        changed = True
        yield msg("alert", ts, body)
    for aid, body in list(active.items()):
        age = k - int(aid.rsplit("-", 1)[1])
        if age == 1:
            body = {**body, "state": "updated", "value": round(float(body["value"]) + 1.5, 2)}
            active[aid] = body
            changed = True
            yield msg("alert", ts, body)
        elif age >= 2:
            body = {**body, "state": "cleared", "value": None, "cleared_at": rfc3339(ts)}
            del active[aid]
            changed = True
            yield msg("alert", ts, body)
    if changed:
        yield msg("alerts_active", ts, {"alerts": list(active.values())})


def _health(rng: random.Random, k: int, area: str) -> dict[str, Any]:
    return {
        "uptime_s": 60.0 + k * INTERVAL_S, "version": "0.1.0",
        "buses": [{"name": "rs485-1", "reads_ok": 100 * (k + 1), "reads_failed": rng.randint(0, 5),
                   "utilisation": round(rng.uniform(0.3, 0.9), 3), "round_time_s": round(rng.uniform(60, 200), 1),
                   "lateness_s": None, "devices_backed_off": rng.randint(0, 2)},
                  {"name": "ttu", "reads_ok": 900 * (k + 1), "reads_failed": 0, "utilisation": 0.05,
                   "round_time_s": 1.0, "lateness_s": 0.0, "devices_backed_off": 0}],
        "outbox": {"depth": rng.randint(0, 10), "bytes": rng.randint(0, 4096), "inflight": rng.randint(0, 3),
                   "dropped_summaries": 0, "dropped_alerts": 0, "superseded": k // 3, "rejected": 0},
        "engine": {area: {"steps": 15.0 * (k + 1), "messages": 9.0 * (k + 1), "alerts": float(k),
                          "readings_fed": 500.0 * (k + 1), "readings_rejected": float(k % 2), "snapshots": float(k),
                          "last_advance_ms": round(rng.uniform(1, 9), 2), "max_advance_ms": 12.5,
                          "last_snapshot_ms": 3.25}},
        "counters": {"mqtt_disconnects": float(k // 4), "mqtt_published": 20.0 * (k + 1), "queue_depth": 0.0,
                     "unrouted_reads": 0.0},
    }


def _daily(rng: random.Random, day0: datetime, meters: list[str]) -> dict[str, Any]:
    suspects = rng.sample(meters, min(3, len(meters)))
    return {
        "date": day0.strftime("%Y-%m-%d"), "day_start": rfc3339(day0),
        "day_end": rfc3339(day0 + timedelta(days=1)), "supply_kwh": 4321.5, "sales_kwh": 3900.25,
        "loss_kwh": 421.25, "loss_pct": 9.748, "technical_loss_kwh": 130.0, "ntl_kwh": 291.25,
        "band": "qualified", "status": "computed", "coverage_pct": 99.2, "collection_rate_pct": 98.75,
        "meters_expected": len(meters), "meters_collected": len(meters) - 1, "voltage_qualified_pct": 99.1,
        "load_max_pct": 88.0, "ageing_days": 0.8, "abnormal_days": 2,
        "suspects": [{"meter": m, "rank": r + 1, "score": round(0.9 - r * 0.2, 2),
                      "stolen_kwh_per_day": None if r == 2 else 12.5 - r, "since": day0.strftime("%Y-%m-%d"),
                      "evidence": {"drop_kwh_per_day": 12.5 - r, "physical_strength": 0.5 if r == 0 else 0.0}}
                     for r, m in enumerate(suspects)],
    }
