"""docs/influx-schema.md, rendered from ``collector.schema`` with example points from ``collector.mapping``
(``python -m collector.schemadoc > docs/influx-schema.md``; a test fails when the page and the code differ).
Apart from the schema so that the schema, which the mapping reads, imports nothing of the mapping."""

from __future__ import annotations

from collector.lineproto import encode
from collector.mapping import for_server, map_payload
from collector.schema import MEASUREMENTS, Measurement
from collector.testing import AreaSpec, area_stream
from wire.schemas import kind_of

__all__ = ["render"]

_HEAD = """# Measurement schema (what the collector writes)

Generated from `collector/schema.py` by `python -m collector.schemadoc > docs/influx-schema.md`; a test
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
