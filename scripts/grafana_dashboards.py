"""Generate deploy/grafana/dashboards/*.json (InfluxQL) from the panel list below.

Run ``python scripts/grafana_dashboards.py`` after editing; a test fails when the JSON files and this
script disagree. One list of (title, query, unit, kind) per dashboard keeps the InfluxQL readable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards"
DS = {"type": "influxdb", "uid": "meterwatch-influx"}
AREA = "\"grid\" =~ /^$grid$/ AND \"area\" =~ /^$area$/ AND $timeFilter"


def var(name: str, query: str, *, multi: bool = True) -> dict[str, Any]:
    return {"name": name, "label": name, "type": "query", "datasource": DS, "query": query,
            "definition": query, "refresh": 2, "multi": multi, "includeAll": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1}


GRID = var("grid", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "grid"')
AREA_VAR = var("area", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "area" WHERE "grid" =~ /^$grid$/')
METER = var("meter", 'SHOW TAG VALUES FROM "meter_interval" WITH KEY = "meter" '
                     'WHERE "grid" =~ /^$grid$/ AND "area" =~ /^$area$/')
GATEWAY = var("gateway", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "gateway" '
                         'WHERE "grid" =~ /^$grid$/ AND "area" =~ /^$area$/')

Panel = tuple[str, str, str, str]  # title, InfluxQL, unit, timeseries|table|stat

DASHBOARDS: dict[str, tuple[str, list[dict[str, Any]], list[Panel]]] = {
    "area-overview": ("meterwatch · area overview", [GRID, AREA_VAR], [
        ("Load rate β (hottest phase)", f'SELECT mean("load_pct") AS "load" FROM "realtime" WHERE {AREA} '
         'GROUP BY time($__interval), "area" fill(none)', "percent", "timeseries"),
        ("Hot-spot and top-oil temperature", f'SELECT max("hotspot_c") AS "hot-spot", max("top_oil_c") AS "top oil" '
         f'FROM "realtime" WHERE {AREA} GROUP BY time($__interval), "area" fill(none)', "celsius", "timeseries"),
        ("Voltage per phase", f'SELECT mean("u_a") AS "U_a", mean("u_b") AS "U_b", mean("u_c") AS "U_c" '
         f'FROM "realtime" WHERE {AREA} GROUP BY time($__interval), "area" fill(none)', "volt", "timeseries"),
        ("Current per phase and neutral", f'SELECT mean("i_a") AS "I_a", mean("i_b") AS "I_b", mean("i_c") AS "I_c", '
         f'mean("i_n") AS "I_N" FROM "realtime" WHERE {AREA} GROUP BY time($__interval), "area" fill(none)',
         "amp", "timeseries"),
        ("Line loss per interval", f'SELECT mean("loss_pct") AS "loss" FROM "area_interval" WHERE {AREA} '
         'GROUP BY time($__interval), "area" fill(none)', "percent", "timeseries"),
        ("Daily line loss and band", f'SELECT last("loss_pct") AS "loss %", last("band") AS "band", '
         f'last("collection_rate_pct") AS "collection %" FROM "area_daily" WHERE {AREA} GROUP BY time(1d), "area" '
         'fill(none)', "none", "table"),
        ("Voltage quality", f'SELECT mean("voltage_qualified_pct") AS "qualified", max("meters_low_voltage") '
         f'AS "meters low" FROM "area_interval" WHERE {AREA} GROUP BY time($__interval), "area" fill(none)',
         "percent", "timeseries"),
        ("Three-phase imbalance and neutral", f'SELECT mean("imbalance_pct") AS "imbalance", mean("neutral_pct") '
         f'AS "neutral" FROM "realtime" WHERE {AREA} GROUP BY time($__interval), "area" fill(none)', "percent",
         "timeseries"),
        ("Coverage (meters read)", f'SELECT mean("coverage_pct") AS "coverage" FROM "area_interval" WHERE {AREA} '
         'GROUP BY time($__interval), "area" fill(none)', "percent", "timeseries"),
    ]),
    "alerts": ("meterwatch · alerts", [GRID, AREA_VAR], [
        ("Active alerts", f'SELECT last("count") AS "active" FROM "alerts_active" WHERE {AREA} GROUP BY "area"',
         "none", "stat"),
        ("Active by severity", f'SELECT last("critical") AS "critical", last("major") AS "major", '
         f'last("warning") AS "warning", last("info") AS "info" FROM "alerts_active" WHERE {AREA} '
         'GROUP BY time($__interval), "area" fill(previous)', "none", "timeseries"),
        ("Alerts raised", f'SELECT count("active") AS "raised" FROM "alert" WHERE "state" = \'raised\' AND {AREA} '
         'GROUP BY time($__interval), "severity" fill(none)', "none", "timeseries"),
        ("Alert events", f'SELECT "state", "area", "kind", "severity", "subject_type", "subject_id", "value", '
         f'"threshold", "unit", "message", "alert_id" FROM "alert" WHERE {AREA}', "none", "table"),
    ]),
    "theft-suspects": ("meterwatch · theft suspects", [GRID, AREA_VAR], [
        ("Suspect ranking (latest day)", f'SELECT last("meter") AS "meter", last("score") AS "score", '
         f'last("evidence") AS "evidence" FROM "theft_suspect" WHERE {AREA} GROUP BY "area", "rank"',
         "none", "table"),
        ("Suspect score per day", f'SELECT max("score") AS "score" FROM "theft_suspect" WHERE {AREA} '
         'GROUP BY time(1d), "rank" fill(none)', "none", "timeseries"),
        ("Daily loss and non-technical loss", f'SELECT last("loss_pct") AS "loss %", last("ntl_kwh") AS "NTL kWh" '
         f'FROM "area_daily" WHERE {AREA} GROUP BY time(1d), "area" fill(none)', "none", "timeseries"),
        ("Theft alerts", f'SELECT "state", "subject_id", "value", "message" FROM "alert" '
         f'WHERE "kind" = \'theft_suspect\' AND {AREA}', "none", "table"),
    ]),
    "meter-drilldown": ("meterwatch · meter drill-down", [GRID, AREA_VAR, METER], [
        ("Energy per interval", f'SELECT sum("e_kwh") AS "kWh" FROM "meter_interval" WHERE "meter" =~ /^$meter$/ '
         f'AND {AREA} GROUP BY time($__interval), "meter" fill(none)', "kwatth", "timeseries"),
        ("Voltage min / mean / max", f'SELECT min("u_min") AS "min", mean("u_mean") AS "mean", max("u_max") AS "max" '
         f'FROM "meter_interval" WHERE "meter" =~ /^$meter$/ AND {AREA} GROUP BY time($__interval), "meter" '
         'fill(none)', "volt", "timeseries"),
        ("Peak current", f'SELECT max("i_max") AS "I max" FROM "meter_interval" WHERE "meter" =~ /^$meter$/ AND '
         f'{AREA} GROUP BY time($__interval), "meter" fill(none)', "amp", "timeseries"),
        ("Reads and estimates", f'SELECT "read", "estimated", "e_kwh" FROM "meter_interval" WHERE '
         f'"meter" =~ /^$meter$/ AND {AREA}', "none", "table"),
        ("Suspect rank", f'SELECT "score", "rank" FROM "theft_suspect" WHERE "meter" =~ /^$meter$/ AND {AREA}',
         "none", "table"),
        ("Alerts on this meter", f'SELECT "state", "kind", "severity", "value", "message" FROM "alert" '
         f'WHERE "subject_id" =~ /^$meter$/ AND {AREA}', "none", "table"),
    ]),
    "gateway-health": ("meterwatch · gateway health", [GRID, AREA_VAR, GATEWAY], [
        ("Online", 'SELECT last("online") AS "online" FROM "gateway_status" WHERE "gateway" =~ /^$gateway$/ '
         'AND $timeFilter GROUP BY "gateway"', "none", "stat"),
        ("Read success per bus", 'SELECT 100 * mean("reads_ok") / (mean("reads_ok") + mean("reads_failed")) '
         'AS "success" FROM "bus_health" WHERE "gateway" =~ /^$gateway$/ AND $timeFilter '
         'GROUP BY time($__interval), "gateway", "bus" fill(none)', "percent", "timeseries"),
        ("Bus utilisation", 'SELECT mean("utilisation") * 100 AS "utilisation" FROM "bus_health" '
         'WHERE "gateway" =~ /^$gateway$/ AND $timeFilter GROUP BY time($__interval), "gateway", "bus" fill(none)',
         "percent", "timeseries"),
        ("Round time", 'SELECT max("round_time_s") AS "round" FROM "bus_health" WHERE "gateway" =~ /^$gateway$/ '
         'AND $timeFilter GROUP BY time($__interval), "gateway", "bus" fill(none)', "s", "timeseries"),
        ("Outbox depth and drops", 'SELECT max("outbox_depth") AS "depth", max("outbox_dropped_summaries") AS '
         '"dropped summaries", max("outbox_dropped_alerts") AS "dropped alerts" FROM "gateway_health" '
         'WHERE "gateway" =~ /^$gateway$/ AND $timeFilter GROUP BY time($__interval), "gateway" fill(none)',
         "none", "timeseries"),
        ("Uptime", 'SELECT last("uptime_s") AS "uptime" FROM "gateway_health" WHERE "gateway" =~ /^$gateway$/ '
         'AND $timeFilter GROUP BY "gateway"', "s", "stat"),
    ]),
}


def panel(i: int, title: str, query: str, unit: str, kind: str) -> dict[str, Any]:
    return {
        "id": i + 1, "title": title, "type": kind, "datasource": DS,
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [{"refId": "A", "datasource": DS, "rawQuery": True, "query": query,
                     "resultFormat": "table" if kind == "table" else "time_series"}],
    }


def dashboard(uid: str, title: str, variables: list[dict[str, Any]], panels: list[Panel]) -> dict[str, Any]:
    return {
        "uid": f"meterwatch-{uid}", "title": title, "tags": ["meterwatch"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": variables},
        "panels": [panel(i, *p) for i, p in enumerate(panels)],
    }


def render() -> dict[str, str]:
    return {f"{uid}.json": json.dumps(dashboard(uid, title, v, p), indent=2, ensure_ascii=False) + "\n"
            for uid, (title, v, p) in DASHBOARDS.items()}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    sys.exit(0)
