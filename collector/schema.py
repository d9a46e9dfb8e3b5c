"""The measurement schema the collector writes: the contract for dashboards and queries.

Every measurement names its tags, identifiers, numbers, flags and texts. ``docs/influx-schema.md`` is
generated from this module (``python -m collector.schemadoc > docs/influx-schema.md``; a test fails when
they differ), and a test checks that the mapping emits nothing undeclared.

Roles, and why:

- **tags** are low-cardinality identifiers (grid, area, gateway, alert kind, severity, bus): series
  keys on both databases.
- **ids** grow without bound (alert ids, alert subjects, suspect meters). On InfluxDB they are string
  fields: as tags they would create a series each (~470 000 alert series a day at 100 000 areas) and
  hit ``max-values-per-tag``. On VictoriaMetrics, where a series is cheap and strings cannot be stored,
  they are labels.
- **numbers** are floats on both (JSON does not tell 5 from 5.0; a type change would be a 400).
- **flags** are booleans (InfluxDB) or 1/0 (VictoriaMetrics).
- **texts** are strings, written to InfluxDB only: VictoriaMetrics stores no strings (it would turn each
  into a 0-valued series).
- **per_meter**: one series per meter (``meter`` tag). Written only with ``[influx] per_meter`` on
  (default: on for VictoriaMetrics, off for InfluxDB; docs/capacity.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wire.kinds import ENGINE_STATS, HEALTH_COUNTERS, KINDS

__all__ = ["MEASUREMENTS", "Measurement", "Server"]

Server = str   # "influxdb" | "victoriametrics"
SERVERS = ("influxdb", "victoriametrics")
AREA_TAGS = ("grid", "area", "gateway")
OUTBOX = ("depth", "bytes", "inflight", "dropped_summaries", "dropped_alerts", "superseded", "rejected")
PHASES = ("a", "b", "c")


@dataclass(frozen=True)
class Measurement:
    name: str
    source: str               # payload kind (and part) it comes from
    time: str                 # payload property that is the point's time
    doc: str
    tags: tuple[str, ...] = AREA_TAGS
    ids: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    per_meter: bool = False
    units: dict[str, str] = field(default_factory=dict)

    def fields(self, server: Server) -> tuple[str, ...]:
        texts = self.texts + self.ids if server == "influxdb" else ()
        return self.numbers + self.flags + texts

    def tag_keys(self, server: Server) -> tuple[str, ...]:
        return self.tags + self.ids if server == "victoriametrics" else self.tags


def _numbers(kind: str, *, skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in KINDS[kind].fields if f.is_number and f.name not in skip and f.name != "topic_seq")


def _units(*kinds: str) -> dict[str, str]:
    return {f.name: f.unit for k in kinds for f in KINDS[k].fields if f.unit}


_INTERVAL_NUMBERS = _numbers("interval") + tuple(f"master_voltage_qualified_pct_{p}" for p in PHASES)

MEASUREMENTS: dict[str, Measurement] = {m.name: m for m in (
    Measurement("realtime", "realtime", "ts", "transformer state at each master poll",
                numbers=_numbers("realtime"), texts=("ambient_source", "msg_id"), units=_units("realtime")),
    Measurement("area_interval", "interval", "interval_start", "one 15-min interval of the area",
                numbers=_INTERVAL_NUMBERS, texts=("status", "msg_id"),
                units={**_units("interval"), **{f"master_voltage_qualified_pct_{p}": "%" for p in PHASES}}),
    Measurement("meter_interval", "meters_interval (one point per meter)", "interval_start",
                "each meter's 15-min interval", tags=(*AREA_TAGS, "meter"),
                numbers=("e_kwh", "u_min", "u_max", "u_mean", "i_max", "u_qualified_pct"),
                flags=("read", "estimated"), per_meter=True,
                units={"e_kwh": "kWh", "u_min": "V", "u_max": "V", "u_mean": "V", "i_max": "A",
                       "u_qualified_pct": "%"}),
    Measurement("area_daily", "daily", "day_start", "one local day of the area",
                numbers=(*_numbers("daily"), "suspects"), flags=("partial", "persistent_abnormal"),
                texts=("date", "band", "status", "msg_id"), units=_units("daily")),
    Measurement("theft_suspect", "daily.suspects[] (one point per rank)", "day_start",
                "the day's theft suspects, one series per rank", tags=(*AREA_TAGS, "rank"), ids=("meter",),
                numbers=("score", "stolen_kwh_per_day"), texts=("evidence", "since"),
                units={"stolen_kwh_per_day": "kWh"}),
    Measurement("alert", "alert (raised / updated / cleared)", "ts (+ topic_seq mod 10⁶ ns)",
                "one point per alert event", tags=(*AREA_TAGS, "kind", "severity", "subject_type"),
                ids=("alert_id", "subject_id"), numbers=("active", "value", "threshold"),
                texts=("state", "unit", "message", "raised_at", "cleared_at", "evidence", "msg_id")),
    Measurement("alerts_active", "alerts_active (retained list)", "ts", "active alerts of the area by severity",
                numbers=("count", "critical", "major", "warning", "info"), texts=("msg_id",)),
    Measurement("gateway_status", "status (birth / will)", "ts", "gateway online / offline",
                tags=("gateway",), numbers=("online",), texts=("state", "version", "boot_id", "msg_id")),
    Measurement("gateway_health", "health", "ts", "the gateway's outbox, buses and counters every minute",
                tags=("gateway",),
                numbers=("uptime_s", *(f"outbox_{k}" for k in OUTBOX), "buses",
                         *(f"counter_{k}" for k in HEALTH_COUNTERS)),
                texts=("version", "msg_id"), units={"uptime_s": "s", "outbox_bytes": "B"}),
    Measurement("bus_health", "health.buses[] (one point per bus)", "ts", "each bus of the gateway",
                tags=("gateway", "bus"),
                numbers=("reads_ok", "reads_failed", "utilisation", "round_time_s", "lateness_s",
                         "devices_backed_off"), units={"round_time_s": "s", "lateness_s": "s"}),
    Measurement("area_engine", "health.engine{} (one point per area)", "ts", "the engine's step statistics",
                tags=("gateway", "area"), numbers=ENGINE_STATS,
                units={"last_advance_ms": "ms", "max_advance_ms": "ms", "last_snapshot_ms": "ms"}),
    Measurement("collector_gap", "the collector itself (topic_seq jumps)", "ts of the message after the gap",
                "messages lost between a gateway and the collector", tags=("gateway", "kind"),
                numbers=("missing", "first_missing", "last_missing"), texts=("topic", "collector")),
)}
