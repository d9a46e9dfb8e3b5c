"""Generate deploy/grafana/dashboards/*.json (InfluxQL) from the panel lists below.

    python scripts/grafana_dashboards.py [--timezone Asia/Shanghai] [--flavour influxdb|victoriametrics|all]

``--flavour victoriametrics`` writes the same six dashboards in MetricsQL for Grafana's Prometheus
datasource on VictoriaMetrics (deploy/grafana/dashboards-victoriametrics/, panel lists in
scripts/grafana_vm.py); the default ``all`` writes both sets.

Run after editing; a test fails when the JSON files and this script disagree. Days are the utility's:
``--timezone`` (default Asia/Shanghai) is the dashboards' time zone and the ``tz()`` of every daily
``GROUP BY time(1d)``, so a day's bar is the day the utility bills, not a UTC day eight hours off.
Alarm thresholds drawn on the panels are the detection defaults (``detect.params``); an area configured
otherwise keeps its own alarms, the lines show the defaults (docs/grafana.md).

A panel is its InfluxQL and what Grafana does around it: a relative time (``time_from``: daily data
needs more than the default 24 hours; ``now-1d/d`` is yesterday in the dashboards' zone), thresholds
drawn as lines, value mappings, transformations (grouping the alert events into the list of alerts
active now, ranking), and links between the pages. tests/deploy/test_grafana.py runs every query the
way Grafana would against InfluxDB filled from a simulated area and checks the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from detect.area import Area  # noqa: E402
from detect.cooling import OIL_HOTSPOT_LIMIT_C  # noqa: E402
from detect.params import Params  # noqa: E402

OUT = ROOT / "deploy" / "grafana" / "dashboards"
DS = {"type": "influxdb", "uid": "meterwatch-influx"}
TIMEZONE = "Asia/Shanghai"
P = Params()
U_NOM = P.voltage.nominal_v or Area.nominal_v     # 0: the area's LV system; the default 380/220 → 220 V
U_LOW = round(U_NOM * (1 + P.voltage.low_pct / 100), 1)       # 198.0 V
U_HIGH = round(U_NOM * (1 + P.voltage.high_pct / 100), 1)     # 235.4 V

GRID_F = '"grid" =~ /^$grid$/'
AREA = f'{GRID_F} AND "area" =~ /^$area$/ AND $timeFilter'
GW = '"gateway" =~ /^$gateway$/ AND $timeFilter'
SEVERITY_COLORS = {"critical": "dark-red", "major": "red", "warning": "orange", "info": "blue"}


def var(name: str, query: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    current = ({"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {})
    return {"name": name, "label": name, "type": "query", "datasource": DS, "query": query,
            "definition": query, "refresh": 2, "multi": multi, "includeAll": include_all, "allValue": ".*",
            "current": current, "sort": 1}


GRID = var("grid", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "grid"')
AREA_VAR = var("area", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "area" WHERE "grid" =~ /^$grid$/')
ONE_AREA = var("area", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "area" WHERE "grid" =~ /^$grid$/',
               multi=False, include_all=False)
METER = var("meter", 'SHOW TAG VALUES FROM "meter_interval" WITH KEY = "meter" '
                     'WHERE "grid" =~ /^$grid$/ AND "area" =~ /^$area$/')
GATEWAY = var("gateway", 'SHOW TAG VALUES FROM "realtime" WITH KEY = "gateway" '
                         'WHERE "grid" =~ /^$grid$/ AND "area" =~ /^$area$/')
ALL_GATEWAYS = var("gateway", 'SHOW TAG VALUES FROM "gateway_status" WITH KEY = "gateway"', multi=False,
                   include_all=False)


@dataclass(frozen=True)
class Panel:
    title: str
    query: str
    unit: str = "none"
    kind: str = "timeseries"                     # timeseries | table | stat | barchart
    description: str = ""                        # what the panel answers (docs/grafana.md repeats it)
    time_from: str | None = None                 # Grafana's relative time for this panel
    thresholds: tuple[tuple[float | None, str], ...] = ()   # (from value, colour); the first from None
    mappings: tuple[dict[str, Any], ...] = ()
    transformations: tuple[dict[str, Any], ...] = ()
    overrides: tuple[dict[str, Any], ...] = ()
    no_value: str | None = None
    width: int = 12


def steps(*pairs: tuple[float | None, str]) -> tuple[tuple[float | None, str], ...]:
    return pairs


def value_map(**texts: tuple[str, str]) -> dict[str, Any]:
    """Value mapping: raw value -> (text, colour)."""
    return {"type": "value", "options": {k: {"text": t, "color": c, "index": i}
                                         for i, (k, (t, c)) in enumerate(texts.items())}}


ONLINE = value_map(**{"1": ("online 在线", "green"), "0": ("OFFLINE 离线", "red")})
TRANSFORMER = value_map(master=("transformer 配变", "text"))
SEVERITY = {"type": "value", "options": {s: {"text": s, "color": c, "index": i}
                                         for i, (s, c) in enumerate(SEVERITY_COLORS.items())}}


def link(title: str, uid: str, params: str) -> dict[str, Any]:
    return {"title": title, "url": f"/d/meterwatch-{uid}?{params}&${{__url_time_range}}"}


def field_links(name: str, *links: dict[str, Any]) -> dict[str, Any]:
    return {"matcher": {"id": "byName", "options": name}, "properties": [{"id": "links", "value": list(links)}]}


AREA_LINK = field_links("area", link("area page 台区页", "area-overview", "var-grid=${__data.fields.grid}&var-area=${__value.raw}"))
GATEWAY_LINK = field_links("gateway", link("gateway page 网关页", "gateway", "var-gateway=${__value.raw}"))
ACTIVE_ALERTS = (
    # The alert events of the range, one row per alert id with its last state; cleared ones left out.
    {"id": "groupBy", "options": {"fields": {
        "alert_id": {"operation": "groupby", "aggregations": []},
        **{f: {"operation": "aggregate", "aggregations": ["last"]}
           for f in ("Time", "state", "area", "kind", "severity", "subject_type", "subject_id", "value", "unit",
                     "message")}}}},
    {"id": "filterByValue", "options": {"type": "exclude", "match": "any", "filters": [
        {"fieldName": "state (last)", "config": {"id": "equal", "options": {"value": "cleared"}}}]}},
    {"id": "sortBy", "options": {"sort": [{"field": "Time (last)", "desc": True}]}},
)
ALERT_FIELDS = '"alert_id", "state", "area", "kind", "severity", "subject_type", "subject_id", "value", "unit", "message"'


def grid_overview(tz: str) -> list[Panel]:
    return [
        Panel("Worst line loss yesterday 昨日线损排名", 'SELECT last("loss_pct") AS "loss %", last("loss_kwh") AS '
              '"loss kWh", last("supply_kwh") AS "supply kWh", last("band") AS "band", last("coverage_pct") AS '
              f'"coverage %" FROM "area_daily" WHERE {GRID_F} AND $timeFilter GROUP BY "grid", "area"', "none", "table",
              "Every area of the grid by yesterday's line loss (the utility's day), worst first; click an area.",
              time_from="now-1d/d", overrides=(AREA_LINK,),
              transformations=({"id": "sortBy", "options": {"sort": [{"field": "loss %", "desc": True}]}},)),
        Panel("Active alerts by severity 当前告警", 'SELECT sum("critical") AS "critical", sum("major") AS "major", '
              'sum("warning") AS "warning", sum("info") AS "info" FROM (SELECT last("critical") AS "critical", '
              'last("major") AS "major", last("warning") AS "warning", last("info") AS "info" FROM "alerts_active" '
              f'WHERE {GRID_F} AND $timeFilter GROUP BY "area")', "none", "stat",
              "Alerts active now in the grid, per severity (each area's latest retained list).", time_from="30d",
              no_value="0"),
        Panel("Gateways offline 离线网关", 'SELECT count("online") AS "offline" FROM (SELECT last("online") AS "online" '
              'FROM "gateway_status" WHERE $timeFilter GROUP BY "gateway") WHERE "online" = 0', "none", "stat",
              "Gateways whose last word was offline (their will): a dead gateway shows here, it does not vanish.",
              time_from="30d", no_value="0", thresholds=steps((None, "green"), (1, "red"))),
        Panel("Collection success, last hour 近1小时抄读成功率", 'SELECT 100 * sum("ok") / (sum("ok") + sum("failed")) '
              'AS "success" FROM (SELECT non_negative_difference(last("reads_ok")) AS "ok", '
              'non_negative_difference(last("reads_failed")) AS "failed" FROM "bus_health" WHERE $timeFilter '
              'GROUP BY time(1m), "gateway", "bus")', "percent", "stat",
              "Reads that succeeded in the last hour on every bus of every gateway (not since each daemon started).",
              time_from="1h", thresholds=steps((None, "red"), (95, "orange"), (P.collection.target_pct, "green"))),
        Panel("Alerts active now 当前告警列表", f'SELECT {ALERT_FIELDS} FROM "alert" WHERE {GRID_F} AND $timeFilter',
              "none", "table", "Every alert raised and not cleared, newest first (the last 30 days of events).",
              time_from="30d", transformations=ACTIVE_ALERTS, width=24,
              mappings=(TRANSFORMER, SEVERITY), overrides=(AREA_LINK,)),
        Panel("Gateways 网关", 'SELECT last("online") AS "online", last("state") AS "state", last("version") AS '
              '"version" FROM "gateway_status" WHERE $timeFilter GROUP BY "gateway"', "none", "table",
              "Every gateway's last status; click one for its page.", time_from="30d", mappings=(ONLINE,),
              overrides=(GATEWAY_LINK,)),
        Panel("Daily line loss per area 各台区日线损", f'SELECT last("loss_pct") AS "loss" FROM "area_daily" WHERE '
              f'{GRID_F} AND $timeFilter GROUP BY time(1d), "area" fill(none) tz(\'{tz}\')', "percent", "timeseries",
              "Each area's line loss per day over the last 30 days.", time_from="30d",
              thresholds=steps((None, "green"), (P.line_loss.high_pct, "red"))),
    ]


def area_page(tz: str) -> list[Panel]:
    ld = P.load
    return [
        Panel("Transformer load β 配变负载率", f'SELECT mean("load_pct") AS "β max", mean("load_s_pct") AS "β S" '
              f'FROM "realtime" WHERE {AREA} GROUP BY time($__interval) fill(none)', "percent", "timeseries",
              f"Load of the hottest phase and of the apparent power; the lines are the overload alarm "
              f"({ld.overload_pct:g} %, clears below {ld.overload_clear_pct:g} %).",
              thresholds=steps((None, "green"), (ld.overload_clear_pct, "orange"), (ld.overload_pct, "red"))),
        Panel("Transformer heat 配变温度", f'SELECT max("hotspot_c") AS "hot-spot", max("top_oil_c") AS "top oil" FROM '
              f'"realtime" WHERE {AREA} GROUP BY time($__interval) fill(none)', "celsius", "timeseries",
              f"Hot-spot and top-oil temperature (IEC 60076-7); the line is an oil transformer's hot-spot limit "
              f"({OIL_HOTSPOT_LIMIT_C:g} °C, normal cyclic loading; a dry type's follows its insulation class).",
              thresholds=steps((None, "green"), (OIL_HOTSPOT_LIMIT_C, "red"))),
        Panel("Voltage band 电压", f'SELECT mean("u_a") AS "U a", mean("u_b") AS "U b", mean("u_c") AS "U c" FROM '
              f'"realtime" WHERE {AREA} GROUP BY time($__interval) fill(none)', "volt", "timeseries",
              f"Transformer phase voltages; the band is {U_LOW:g}–{U_HIGH:g} V ({U_NOM:g} V "
              f"{P.voltage.low_pct:+g} %/{P.voltage.high_pct:+g} %, GB/T 12325).",
              thresholds=steps((None, "red"), (U_LOW, "green"), (U_HIGH, "red"))),
        Panel("Imbalance and neutral 三相不平衡", f'SELECT mean("imbalance_pct") AS "imbalance", mean("neutral_pct") '
              f'AS "neutral" FROM "realtime" WHERE {AREA} GROUP BY time($__interval) fill(none)', "percent",
              "timeseries", f"Three-phase current imbalance and neutral current (% of rated); the line is the "
              f"alarm ({P.imbalance.threshold_pct:g} %).",
              thresholds=steps((None, "green"), (P.imbalance.threshold_pct, "red"))),
        Panel("Line loss by day 日线损", f'SELECT last("loss_pct") AS "loss" FROM "area_daily" WHERE {AREA} '
              f'GROUP BY time(1d) fill(none) tz(\'{tz}\')', "percent", "barchart",
              f"Line loss per day of the utility's calendar; lines at {P.line_loss.negative_pct:g} % (negative) "
              f"and {P.line_loss.high_pct:g} % (high).", time_from="30d",
              thresholds=steps((None, "red"), (P.line_loss.negative_pct, "green"), (P.line_loss.high_pct, "red"))),
        Panel("Daily balance 日供售电量", f'SELECT last("supply_kwh") AS "supply kWh", last("sales_kwh") AS "sales kWh", '
              f'last("loss_kwh") AS "loss kWh", last("loss_pct") AS "loss %", last("technical_loss_kwh") AS '
              f'"technical kWh", last("ntl_kwh") AS "NTL kWh", last("band") AS "band", last("collection_rate_pct") '
              f'AS "collection %" FROM "area_daily" WHERE {AREA} GROUP BY time(1d) fill(none) tz(\'{tz}\')', "none",
              "table", "Supply, sales and loss per day, with the loss band and the collection rate.",
              time_from="30d", transformations=({"id": "sortBy", "options": {"sort": [{"field": "Time", "desc": True}]}},)),
        Panel("Theft suspects yesterday 昨日窃电嫌疑", f'SELECT "rank", "meter", "score", "stolen_kwh_per_day", '
              f'"since", "evidence" FROM "theft_suspect" WHERE {AREA}', "none", "table",
              "Yesterday's suspect list (the utility's day) with the estimated stolen kWh per day, since when and "
              "the evidence; click a meter for its page.",
              time_from="now-1d/d", width=24,
              overrides=(field_links("meter", link("meter page 电表页", "meter-drilldown",
                                                   "var-grid=${grid}&var-area=${area}&var-meter=${__value.raw}")),),
              transformations=({"id": "sortBy", "options": {"sort": [{"field": "rank"}]}},)),
        Panel("Alert history 告警记录", f'SELECT "state", "kind", "severity", "subject_type", "subject_id", "value", '
              f'"unit", "message" FROM "alert" WHERE {AREA}', "none", "table",
              "Every alert event of the area in the last 7 days, newest first.", time_from="7d", width=24,
              mappings=(TRANSFORMER, SEVERITY),
              transformations=({"id": "sortBy", "options": {"sort": [{"field": "Time", "desc": True}]}},)),
        Panel("Voltage quality and coverage 电压合格率与采集", f'SELECT mean("voltage_qualified_pct") AS "U qualified", '
              f'mean("coverage_pct") AS "meters read" FROM "area_interval" WHERE {AREA} GROUP BY time($__interval) '
              'fill(none)', "percent", "timeseries", "Share of meter voltages in the band, share of meters read, "
              "per 15-min interval."),
        Panel("Customers low / high voltage 电压越限户数", f'SELECT max("meters_low_voltage") AS "low", '
              f'max("meters_high_voltage") AS "high" FROM "area_interval" WHERE {AREA} GROUP BY time($__interval) '
              'fill(none)', "none", "timeseries", "Meters outside the voltage band per interval."),
    ]


def gateway_page() -> list[Panel]:
    success = ('SELECT 100 * sum("ok") / (sum("ok") + sum("failed")) AS "success" FROM (SELECT '
               'non_negative_difference(last("reads_ok")) AS "ok", non_negative_difference(last("reads_failed")) '
               f'AS "failed" FROM "bus_health" WHERE {GW} GROUP BY time(1m), "bus") WHERE $timeFilter '
               'GROUP BY time($__interval), "bus" fill(none)')
    return [
        Panel("Online 在线", f'SELECT last("online") AS "online" FROM "gateway_status" WHERE {GW} GROUP BY "gateway"',
              "none", "stat", "The gateway's last status: online, or OFFLINE when its will was published.",
              time_from="30d", mappings=(ONLINE,), thresholds=steps((None, "red"), (1, "green"))),
        Panel("Uptime 运行时间", f'SELECT last("uptime_s") AS "uptime" FROM "gateway_health" WHERE {GW} '
              'GROUP BY "gateway"', "s", "stat", "Seconds since the daemon started, from its last health report.",
              time_from="7d"),
        Panel("Read success per bus 各总线抄读成功率", success, "percent", "timeseries",
              "Reads that succeeded per interval (from the counters' increase, not since start).",
              thresholds=steps((None, "red"), (95, "green"))),
        Panel("Bus wire use 总线占用", f'SELECT mean("utilisation") * 100 AS "wire use" FROM "bus_health" WHERE {GW} '
              'GROUP BY time($__interval), "bus" fill(none)', "percent", "timeseries",
              "Share of the wire the bus is busy (100 % = no room for more reads)."),
        Panel("Devices offline per bus 离线设备", f'SELECT max("devices_backed_off") AS "backed off" FROM "bus_health" '
              f'WHERE {GW} GROUP BY time($__interval), "bus" fill(none)', "none", "timeseries",
              "Devices silent several times in a row, probed now and then."),
        Panel("Round time 轮询周期", f'SELECT max("round_time_s") AS "round" FROM "bus_health" WHERE {GW} '
              'GROUP BY time($__interval), "bus" fill(none)', "s", "timeseries",
              "How long the last round of each bus took."),
        Panel("Outbox depth 待发消息", f'SELECT max("outbox_depth") AS "depth" FROM "gateway_health" WHERE {GW} '
              'GROUP BY time($__interval) fill(none)', "none", "timeseries",
              "Messages stored on the gateway and not yet acknowledged by the broker."),
        Panel("Drops 丢弃", 'SELECT non_negative_difference(max("outbox_dropped_summaries")) AS "summaries", '
              'non_negative_difference(max("outbox_dropped_alerts")) AS "alerts" FROM "gateway_health" WHERE '
              f'{GW} GROUP BY time($__interval) fill(none)', "none", "timeseries",
              "Messages the outbox dropped per interval (bound reached, oldest summaries first; expired alerts).",
              thresholds=steps((None, "green"), (1, "red"))),
        Panel("Engine step time 引擎耗时", f'SELECT max("max_advance_ms") AS "max", mean("last_advance_ms") AS "last" '
              f'FROM "area_engine" WHERE {GW} GROUP BY time($__interval), "area" fill(none)', "ms", "timeseries",
              "How long an engine step takes per area."),
    ]


def alerts_page() -> list[Panel]:
    return [
        Panel("Active alerts 当前告警数", f'SELECT sum("count") AS "active" FROM (SELECT last("count") AS "count" FROM '
              f'"alerts_active" WHERE {AREA} GROUP BY "area")', "none", "stat", "Alerts active now.",
              time_from="30d", no_value="0"),
        Panel("Active by severity 按级别", f'SELECT last("critical") AS "critical", last("major") AS "major", '
              f'last("warning") AS "warning", last("info") AS "info" FROM "alerts_active" WHERE {AREA} '
              'GROUP BY time($__interval), "area" fill(previous)', "none", "timeseries",
              "Active alerts over time, per severity."),
        Panel("Alerts active now 当前告警列表", f'SELECT {ALERT_FIELDS} FROM "alert" WHERE {AREA}', "none", "table",
              "Every alert raised and not cleared, newest first.", time_from="30d", transformations=ACTIVE_ALERTS,
              width=24, mappings=(TRANSFORMER, SEVERITY), overrides=(AREA_LINK,)),
        Panel("Alerts raised 新增告警", f'SELECT count("active") AS "raised" FROM "alert" WHERE "state" = \'raised\' '
              f'AND {AREA} GROUP BY time($__interval), "severity" fill(none)', "none", "timeseries",
              "Alerts raised per interval, per severity."),
        Panel("Alert events 告警事件", f'SELECT "state", "area", "kind", "severity", "subject_type", "subject_id", '
              f'"value", "threshold", "unit", "message", "alert_id" FROM "alert" WHERE {AREA}', "none", "table",
              "Every alert event in the range.", width=24, mappings=(TRANSFORMER, SEVERITY),
              transformations=({"id": "sortBy", "options": {"sort": [{"field": "Time", "desc": True}]}},)),
    ]


def theft_page(tz: str) -> list[Panel]:
    return [
        Panel("Suspect ranking yesterday 昨日嫌疑排名", f'SELECT "rank", "meter", "score", "stolen_kwh_per_day", '
              f'"since", "evidence" FROM "theft_suspect" WHERE {AREA}', "none", "table",
              "Yesterday's suspects per area, by rank, with the estimated stolen kWh per day (估计日窃电量), the day "
              "the theft began as far as the evidence says (起始日) and the evidence (one day, not a mix of days).",
              time_from="now-1d/d", width=24,
              transformations=({"id": "sortBy", "options": {"sort": [{"field": "rank"}]}},)),
        Panel("Suspect score per day 嫌疑分数", f'SELECT max("score") AS "score" FROM "theft_suspect" WHERE {AREA} '
              f'GROUP BY time(1d), "rank" fill(none) tz(\'{tz}\')', "none", "timeseries",
              "The score of each rank per day."),
        Panel("Daily loss and non-technical loss 线损与非技术损耗", f'SELECT last("loss_pct") AS "loss %", '
              f'last("ntl_kwh") AS "NTL kWh" FROM "area_daily" WHERE {AREA} GROUP BY time(1d), "area" fill(none) '
              f'tz(\'{tz}\')', "none", "timeseries", "Daily loss and its non-technical part."),
        Panel("Theft alerts 窃电告警", f'SELECT "state", "subject_id", "value", "message" FROM "alert" '
              f'WHERE "kind" = \'theft_suspect\' AND {AREA}', "none", "table", "Theft suspect alert events."),
    ]


def meter_page() -> list[Panel]:
    m = '"meter" =~ /^$meter$/'
    return [
        Panel("Energy per interval 分时电量", f'SELECT sum("e_kwh") AS "kWh" FROM "meter_interval" WHERE {m} AND {AREA} '
              'GROUP BY time($__interval), "meter" fill(none)', "kwatth", "timeseries", "Energy per interval."),
        Panel("Voltage min / mean / max 电压", f'SELECT min("u_min") AS "min", mean("u_mean") AS "mean", max("u_max") '
              f'AS "max" FROM "meter_interval" WHERE {m} AND {AREA} GROUP BY time($__interval), "meter" fill(none)',
              "volt", "timeseries", "The meter's voltage.",
              thresholds=steps((None, "red"), (U_LOW, "green"), (U_HIGH, "red"))),
        Panel("Peak current 最大电流", f'SELECT max("i_max") AS "I max" FROM "meter_interval" WHERE {m} AND {AREA} '
              'GROUP BY time($__interval), "meter" fill(none)', "amp", "timeseries", "Peak current per interval."),
        Panel("Reads and estimates 抄读与估算", f'SELECT "read", "estimated", "e_kwh" FROM "meter_interval" WHERE {m} '
              f'AND {AREA}', "none", "table", "Whether each interval was read or estimated."),
        Panel("Suspect rank 嫌疑排名", f'SELECT "score", "rank" FROM "theft_suspect" WHERE {m} AND {AREA}', "none",
              "table", "The meter's days on the suspect list.", time_from="30d"),
        Panel("Alerts on this meter 电表告警", f'SELECT "state", "kind", "severity", "value", "message" FROM "alert" '
              f'WHERE "subject_id" =~ /^$meter$/ AND {AREA}', "none", "table", "Alert events about the meter.",
              time_from="30d"),
    ]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    variables: list[dict[str, Any]]
    panels: list[Panel]
    time: str = "now-24h"
    links: list[dict[str, Any]] = field(default_factory=list)


NAV = [{"title": "meterwatch", "type": "dashboards", "tags": ["meterwatch"], "asDropdown": True,
        "includeVars": True, "keepTime": True}]


def dashboards(tz: str = TIMEZONE) -> list[Dashboard]:
    return [
        Dashboard("grid-overview", "meterwatch · grid overview 网格总览", [GRID], grid_overview(tz)),
        Dashboard("area-overview", "meterwatch · area 台区", [GRID, ONE_AREA, GATEWAY], area_page(tz), links=[
            {"title": "gateway page 网关页", "type": "link", "url": "/d/meterwatch-gateway?var-gateway=${gateway}&${__url_time_range}"},
            {"title": "alerts 告警", "type": "link", "url": "/d/meterwatch-alerts?var-grid=${grid}&var-area=${area}&${__url_time_range}"},
            {"title": "theft suspects 窃电嫌疑", "type": "link", "url": "/d/meterwatch-theft-suspects?var-grid=${grid}&var-area=${area}"}]),
        Dashboard("gateway", "meterwatch · gateway 网关", [ALL_GATEWAYS], gateway_page()),
        Dashboard("alerts", "meterwatch · alerts 告警", [GRID, AREA_VAR], alerts_page(), time="now-7d"),
        Dashboard("theft-suspects", "meterwatch · theft suspects 窃电嫌疑", [GRID, AREA_VAR], theft_page(tz),
                  time="now-30d"),
        Dashboard("meter-drilldown", "meterwatch · meter 电表", [GRID, AREA_VAR, METER], meter_page(), time="now-7d"),
    ]


def field_defaults(p: Any) -> dict[str, Any]:
    """A panel's field defaults (unit, value mappings, thresholds, no-value text): the same for the
    InfluxQL and the MetricsQL set (``scripts/grafana_vm.py``)."""
    defaults: dict[str, Any] = {"unit": p.unit, "mappings": list(p.mappings)}
    if p.thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in p.thresholds]}
        if p.kind in ("timeseries", "barchart"):
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    if p.no_value is not None:
        defaults["noValue"] = p.no_value
    return defaults


def panel(i: int, p: Panel, pos: tuple[int, int]) -> dict[str, Any]:
    defaults = field_defaults(p)
    out: dict[str, Any] = {
        "id": i + 1, "title": p.title, "description": p.description, "type": p.kind, "datasource": DS,
        "gridPos": {"h": 8, "w": p.width, "x": pos[0], "y": pos[1]},
        "fieldConfig": {"defaults": defaults, "overrides": list(p.overrides)},
        "options": {},
        "targets": [{"refId": "A", "datasource": DS, "rawQuery": True, "query": p.query,
                     "resultFormat": "table" if p.kind == "table" else "time_series"}],
    }
    if p.time_from:
        out["timeFrom"] = p.time_from
    if p.transformations:
        out["transformations"] = list(p.transformations)
    return out


def _layout(panels: list[Panel]) -> list[tuple[int, int]]:
    x = y = 0
    out = []
    for p in panels:
        if x + p.width > 24:
            x, y = 0, y + 8
        out.append((x, y))
        x += p.width
    return out


def dashboard(d: Dashboard, tz: str, render_panel: Any = None) -> dict[str, Any]:
    """The dashboard's JSON; ``render_panel(i, panel, pos)`` renders a panel (default: InfluxQL's)."""
    render_panel = render_panel or panel
    return {
        "uid": f"meterwatch-{d.uid}", "title": d.title, "tags": ["meterwatch"], "timezone": tz,
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "1m",
        "time": {"from": d.time, "to": "now"}, "links": NAV + d.links,
        "templating": {"list": d.variables},
        "panels": [render_panel(i, p, pos) for i, (p, pos) in enumerate(zip(d.panels, _layout(d.panels), strict=True))],
    }


def render(tz: str = TIMEZONE) -> dict[str, str]:
    return {f"{d.uid}.json": json.dumps(dashboard(d, tz), indent=2, ensure_ascii=False) + "\n"
            for d in dashboards(tz)}


def main(argv: list[str] | None = None) -> int:
    from scripts import grafana_vm

    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--timezone", default=TIMEZONE, help=f"the utility's time zone (default {TIMEZONE})")
    ap.add_argument("--flavour", choices=("influxdb", "victoriametrics", "all"), default="all",
                    help="InfluxQL (InfluxDB), MetricsQL (VictoriaMetrics) or both (default)")
    ap.add_argument("--out", help=f"directory of the JSON files (default {OUT.relative_to(ROOT)} or "
                                  f"{grafana_vm.OUT.relative_to(ROOT)}; only with one flavour)")
    args = ap.parse_args(argv)
    sets = {"influxdb": (OUT, render), "victoriametrics": (grafana_vm.OUT, grafana_vm.render)}
    chosen = list(sets) if args.flavour == "all" else [args.flavour]
    if args.out and len(chosen) > 1:
        ap.error("--out needs one --flavour")
    for flavour in chosen:
        default_out, render_set = sets[flavour]
        out = Path(args.out) if args.out else default_out
        out.mkdir(parents=True, exist_ok=True)
        for name, text in render_set(args.timezone).items():
            (out / name).write_text(text, encoding="utf-8")
            print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
