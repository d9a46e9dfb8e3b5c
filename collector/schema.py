"""The measurement schema the collector writes: the contract for dashboards and queries.

Every measurement names its tags, identifiers, numbers, flags and texts. ``docs/influx-schema.md`` is
generated from this module (``python -m collector.schema > docs/influx-schema.md``; a test fails when
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

__all__ = ["MEASUREMENTS", "Measurement", "Server", "render"]

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
                numbers=_numbers("realtime"), texts=("msg_id",), units=_units("realtime")),
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


_HEAD = """# Measurement schema (what the collector writes)

Generated from `collector/schema.py` by `python -m collector.schema > docs/influx-schema.md`; a test
fails when this page and the code differ, and another when the mapping (`collector/mapping.py`) emits a
measurement, tag or field that is not declared here. The payloads these points come from are the wire
format of [wire.md](wire.md).

## Rules that hold for every measurement

- **Timestamps come from the payload**, never from the collector's clock: `ts` for events and
  snapshots, `interval_start` for 15-min intervals, `day_start` for days. With series keys built only
  from identifiers in the payload, a **redelivered message writes exactly the same points** and
  overwrites them (at-least-once delivery without duplicates). Precision: nanoseconds on InfluxDB
  (the payload's fraction kept exactly), milliseconds on VictoriaMetrics.
- **Alert events** share a series per area, kind, severity and subject type, so two events of one step
  would share a point: their time is the payload's `ts` with `topic_seq mod 10⁶` in the nanoseconds
  below its millisecond (unique per topic, the same for a redelivery).
- **Numbers are always floats** (no `i` suffix): JSON does not distinguish `5` from `5.0`, and a field
  stored once as float and then sent as integer makes InfluxDB refuse the write.
- **`null` means "not known"** and the field is left out of the point.
- **Only declared fields are stored.** A payload's undocumented properties are dropped and counted
  (`extra_fields` in the collector's health); a payload with many is refused (`bloated`). Health
  counters are stored only for the names `wire.kinds.HEALTH_COUNTERS` lists.
- **Strings** keep their exact text on InfluxDB (a newline stays a newline; `\\` and `"` are escaped in
  line protocol). VictoriaMetrics stores no strings: text fields are not sent to it.

## Cardinality: tags, identifiers and the per-meter measurement

Tags are low-cardinality identifiers and bounded by the fleet: about one series per area and numeric
field (`grid`, `area`, `gateway`), a handful more per alert kind and severity. Identifiers that grow
without bound — alert ids, alert subjects, suspect meters — are **string fields on InfluxDB** (as tags
they would add ~470 000 series a day at 100 000 areas and reach InfluxDB 1.x's `max-values-per-tag` =
100 000 within days) and **labels on VictoriaMetrics**, where a series is cheap and a string field
cannot be stored. Message ids are texts: InfluxDB only. The one per-meter measurement, `meter_interval`, has a `meter`
tag on both: it is written only when `[influx] per_meter` is on — by default with VictoriaMetrics, not
with InfluxDB (see [capacity.md](capacity.md) for the numbers at 1 000, 10 000 and 100 000 areas).
Theft suspects are one series per area and **rank**, the meter a field (a label on VictoriaMetrics).

## Measurements

| measurement | from payload | time | tags | identifiers | numbers (floats) | flags (booleans) | texts (InfluxDB only) |
|---|---|---|---|---|---|---|---|
"""


def _names(names: tuple[str, ...], units: dict[str, str] | None = None) -> str:
    units = units or {}
    return ", ".join(f"`{n}`" + (f" [{units[n]}]" if units.get(n) else "") for n in names) or "–"


def _row(m: Measurement) -> str:
    star = " ¹" if m.per_meter else ""
    return (f"| `{m.name}`{star} | {m.source} | {m.time} | {_names(m.tags)} | {_names(m.ids)} | "
            f"{_names(m.numbers, m.units)} | {_names(m.flags)} | {_names(m.texts)} |")


def _example() -> list[str]:
    from collector.lineproto import encode
    from collector.mapping import for_server, map_payload
    from collector.testing import AreaSpec, area_stream
    from wire.schemas import kind_of

    out = []
    want = {"realtime", "alert", "meters_interval"}
    for m in area_stream(AreaSpec(meters=2, intervals=1, realtime_per_interval=1)):
        kind = kind_of(m.payload).name
        if kind in want:
            want.discard(kind)
            p = map_payload(kind, m.payload)[0]
            out.append(("InfluxDB", encode(p)))
            vm = for_server([p], "victoriametrics")
            if vm and kind == "alert":
                out.append(("VictoriaMetrics", encode(vm[0])))
    return ["```", *(f"{line}" for _, line in out), "```"]


def render() -> str:
    lines = [_HEAD.rstrip("\n")]
    lines += [_row(m) for m in MEASUREMENTS.values()]
    lines += ["", "¹ written only with `[influx] per_meter` on.", "",
              "On VictoriaMetrics every number and flag is the metric `<measurement>_<field>` with the tags and "
              "identifiers as labels.", "",
              "## Example line protocol (InfluxDB; the last line is the alert as VictoriaMetrics gets it)", ""]
    lines += _example()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
