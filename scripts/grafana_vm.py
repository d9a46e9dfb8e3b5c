"""The six dashboards in MetricsQL, for Grafana's Prometheus datasource pointed at VictoriaMetrics.

Written by ``python scripts/grafana_dashboards.py --flavour victoriametrics`` into
deploy/grafana/dashboards-victoriametrics/: same uids, titles, variables, links, zone and thresholds as
the InfluxQL set (scripts/grafana_dashboards.py), so a utility installs one set or the other.

On VictoriaMetrics a measurement's number is the metric ``<measurement>_<field>`` and its tags and ids
(alert id, subject, suspect meter) are labels (collector/schema.py). Texts are not stored there: alert
state and message, the loss band, a suspect's evidence and "since", gateway state and version. The
panels that show them in InfluxQL say in their description what is missing here; alert state is the
``alert_active`` number (1 raised or updated, 0 cleared).

How the queries are written, and why:

- **Time buckets** are Prometheus windows ``[$__interval]`` ending at each step (InfluxQL's start at it).
- **Days** are the utility's: daily points are stamped at the local midnight that starts their day, and a
  daily panel steps by ``1d`` over ``last_over_time(x[1d])``. Any window (t-1d, t] holds exactly one local
  midnight and t lies in that local day, so the bar is right however the steps are aligned: on UTC
  midnight (VictoriaMetrics' cache alignment, Grafana before 9) or on the zone's midnight (Grafana's
  ``utcOffsetSec``), DST or not. An ``offset`` would break one of the two (docs/grafana.md).
- **Yesterday** (``now-1d/d``) is an instant query at the range's end (local midnight - 1 ms) over
  ``[1d]``: exactly yesterday's points, never today's or the day before.
- **Now** is an instant query at the range's end over ``[$__range]`` (the last value in the range).
- **Event lists** (alert events, reads) are instant queries of a range selector ``x[$__range]``: the raw
  samples, one row each, merged with their sibling fields on time and labels.
- **Counters** use ``increase``: a daemon restart (counter reset) counts the reads after it, where
  InfluxQL's ``non_negative_difference`` drops the interval of the restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from detect.cooling import OIL_HOTSPOT_LIMIT_C
from scripts.grafana_dashboards import (
    AREA_LINK,
    GATEWAY_LINK,
    ONLINE,
    ROOT,
    SEVERITY,
    TIMEZONE,
    TRANSFORMER,
    U_HIGH,
    U_LOW,
    U_NOM,
    Dashboard,
    P,
    dashboard,
    field_defaults,
    field_links,
    link,
    steps,
    value_map,
)

OUT = ROOT / "deploy" / "grafana" / "dashboards-victoriametrics"
DS = {"type": "prometheus", "uid": "meterwatch-vm"}
GRID = 'grid=~"$grid"'
AREA = 'grid=~"$grid", area=~"$area"'
GW = 'gateway=~"$gateway"'
METER = f'{AREA}, meter=~"$meter"'
ACTIVE = value_map(**{"1": ("active 生效", "red"), "0": ("cleared 已消除", "green")})
NO_TEXT = " Not on VictoriaMetrics (it stores no text): {}."


@dataclass(frozen=True)
class Q:
    """One target: its MetricsQL, the legend of its series, the column its value becomes in a table."""
    expr: str
    legend: str = ""
    column: str = ""


@dataclass(frozen=True)
class VPanel:
    title: str
    queries: tuple[Q, ...]
    unit: str = "none"
    kind: str = "timeseries"
    description: str = ""
    time_from: str | None = None
    instant: bool = False        # one value per series at the range's end (or the raw samples of x[range])
    step: str = ""               # minimum step ("1d" for daily panels)
    thresholds: tuple[tuple[float | None, str], ...] = ()
    mappings: tuple[dict[str, Any], ...] = ()
    transformations: tuple[dict[str, Any], ...] = ()
    overrides: tuple[dict[str, Any], ...] = ()
    no_value: str | None = None
    width: int = 12


def var(name: str, query: str, *, multi: bool = True, include_all: bool = True) -> dict[str, Any]:
    current = ({"selected": True, "text": ["All"], "value": ["$__all"]} if include_all else {})
    return {"name": name, "label": name, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": f"var-{name}"}, "definition": query, "refresh": 2,
            "multi": multi, "includeAll": include_all, "allValue": ".*", "current": current, "sort": 1}


GRID_VAR = var("grid", "label_values(realtime_load_pct, grid)")
AREA_VAR = var("area", f"label_values(realtime_load_pct{{{GRID}}}, area)")
ONE_AREA = var("area", f"label_values(realtime_load_pct{{{GRID}}}, area)", multi=False, include_all=False)
METER_VAR = var("meter", f"label_values(meter_interval_e_kwh{{{AREA}}}, meter)")
GATEWAY_VAR = var("gateway", f"label_values(realtime_load_pct{{{AREA}}}, gateway)")
ALL_GATEWAYS = var("gateway", "label_values(gateway_status_online, gateway)", multi=False, include_all=False)


def table(*names: str, sort: str = "", desc: bool = False) -> tuple[dict[str, Any], ...]:
    """Drop the metric name (raw samples carry it) and ``db``, merge the targets' tables on their labels and
    time, name the value columns, sort."""
    rename = {(f"Value #{chr(65 + i)}" if len(names) > 1 else "Value"): n for i, n in enumerate(names)}
    out: list[dict[str, Any]] = [{"id": "organize", "options": {"excludeByName": {"__name__": True, "db": True}}}]
    if len(names) > 1:
        out.append({"id": "merge", "options": {}})
    out.append({"id": "organize", "options": {"renameByName": rename}})
    if sort:
        out.append({"id": "sortBy", "options": {"sort": [{"field": sort, "desc": desc}]}})
    return tuple(out)


def over(fn: str, metric: str, sel: str, window: str = "$__interval") -> str:
    return f"{fn}({metric}{{{sel}}}[{window}])"


def daily(metric: str, sel: str, by: str = "grid, area") -> str:
    return f"max by ({by}) (last_over_time({metric}{{{sel}}}[1d]))"


def active_alerts(sel: str) -> tuple[Q, ...]:
    """The alerts whose last event in the range is not a clear: when that event was, and its value."""
    active = f"(last_over_time(alert_active{{{sel}}}[$__range]) == 1)"
    return (Q(f"tlast_over_time(alert_active{{{sel}}}[$__range]) * 1000 and {active}"),
            Q(f"last_over_time(alert_value{{{sel}}}[$__range]) and on (alert_id) {active}"))


ACTIVE_TABLE = table("last event", "value", sort="last event", desc=True)
ACTIVE_UNITS = (AREA_LINK,
                {"matcher": {"id": "byName", "options": "last event"},
                 "properties": [{"id": "unit", "value": "dateTimeAsIso"}]})
ALERT_NO_TEXT = NO_TEXT.format("the state (raised / updated) and the message; the text is on the edge's "
                               "status page and in Alertmanager")


def events(metric: str, sel: str, *more: str) -> tuple[Q, ...]:
    """The raw samples of the range (one row each) of ``metric`` and its sibling fields."""
    return tuple(Q(f"{m}{{{sel}}}[$__range]") for m in (metric, *more))


def grid_overview() -> list[VPanel]:
    return [
        VPanel("Worst line loss yesterday 昨日线损排名", tuple(Q(daily(f"area_daily_{f}", GRID)) for f in
               ("loss_pct", "loss_kwh", "supply_kwh", "coverage_pct")), "none", "table",
               "Every area of the grid by yesterday's line loss (the utility's day), worst first; click an area."
               + NO_TEXT.format("the loss band"), time_from="now-1d/d", instant=True, overrides=(AREA_LINK,),
               transformations=table("loss %", "loss kWh", "supply kWh", "coverage %", sort="loss %", desc=True)),
        VPanel("Active alerts by severity 当前告警", tuple(
            Q(f"sum(last_over_time(alerts_active_{s}{{{GRID}}}[$__range]))", s)
            for s in ("critical", "major", "warning", "info")), "none", "stat",
               "Alerts active now in the grid, per severity (each area's latest retained list).", time_from="30d",
               instant=True, no_value="0"),
        VPanel("Gateways offline 离线网关", (Q("count(last_over_time(gateway_status_online[$__range]) == 0)",
                                              "offline"),), "none", "stat",
               "Gateways whose last word was offline (their will): a dead gateway shows here, it does not vanish.",
               time_from="30d", instant=True, no_value="0", thresholds=steps((None, "green"), (1, "red"))),
        VPanel("Collection success, last hour 近1小时抄读成功率", (Q(
            "100 * sum(increase(bus_health_reads_ok[$__range])) / (sum(increase(bus_health_reads_ok[$__range])) "
            "+ sum(increase(bus_health_reads_failed[$__range])))", "success"),), "percent", "stat",
               "Reads that succeeded in the last hour on every bus of every gateway (not since each daemon started).",
               time_from="1h", instant=True,
               thresholds=steps((None, "red"), (95, "orange"), (P.collection.target_pct, "green"))),
        VPanel("Alerts active now 当前告警列表", active_alerts(GRID), "none", "table",
               "Every alert raised and not cleared, newest first (the last 30 days of events)." + ALERT_NO_TEXT,
               time_from="30d", instant=True, transformations=ACTIVE_TABLE, width=24,
               mappings=(TRANSFORMER, SEVERITY), overrides=ACTIVE_UNITS),
        VPanel("Gateways 网关", (Q("last_over_time(gateway_status_online[$__range])"),), "none", "table",
               "Every gateway's last status; click one for its page." + NO_TEXT.format("its state and version"),
               time_from="30d", instant=True, mappings=(ONLINE,), overrides=(GATEWAY_LINK,),
               transformations=table("online")),
        VPanel("Daily line loss per area 各台区日线损", (Q(daily("area_daily_loss_pct", GRID), "loss {{area}}"),),
               "percent", "timeseries", "Each area's line loss per day over the last 30 days.", time_from="30d",
               step="1d", thresholds=steps((None, "green"), (P.line_loss.high_pct, "red"))),
    ]


def area_page() -> list[VPanel]:
    ld = P.load
    rt = "realtime_"
    return [
        VPanel("Transformer load β 配变负载率", (Q(over("avg_over_time", rt + "load_pct", AREA), "β max"),
                                              Q(over("avg_over_time", rt + "load_s_pct", AREA), "β S")), "percent",
               description=f"Load of the hottest phase and of the apparent power; the lines are the overload alarm "
               f"({ld.overload_pct:g} %, clears below {ld.overload_clear_pct:g} %).",
               thresholds=steps((None, "green"), (ld.overload_clear_pct, "orange"), (ld.overload_pct, "red"))),
        VPanel("Transformer heat 配变温度", (Q(over("max_over_time", rt + "hotspot_c", AREA), "hot-spot"),
                                         Q(over("max_over_time", rt + "top_oil_c", AREA), "top oil")), "celsius",
               description=f"Hot-spot and top-oil temperature (IEC 60076-7); the line is an oil transformer's hot-spot "
               f"limit ({OIL_HOTSPOT_LIMIT_C:g} °C, normal cyclic loading; a dry type's follows its insulation class).",
               thresholds=steps((None, "green"), (OIL_HOTSPOT_LIMIT_C, "red"))),
        VPanel("Voltage band 电压", tuple(Q(over("avg_over_time", f"{rt}u_{p}", AREA), f"U {p}") for p in "abc"),
               "volt", description=f"Transformer phase voltages; the band is {U_LOW:g}–{U_HIGH:g} V ({U_NOM:g} V "
               f"{P.voltage.low_pct:+g} %/{P.voltage.high_pct:+g} %, GB/T 12325).",
               thresholds=steps((None, "red"), (U_LOW, "green"), (U_HIGH, "red"))),
        VPanel("Imbalance and neutral 三相不平衡", (Q(over("avg_over_time", rt + "imbalance_pct", AREA), "imbalance"),
                                              Q(over("avg_over_time", rt + "neutral_pct", AREA), "neutral")),
               "percent", description=f"Three-phase current imbalance and neutral current (% of rated); the line is "
               f"the alarm ({P.imbalance.threshold_pct:g} %).", thresholds=steps((None, "green"), (P.imbalance.threshold_pct, "red"))),
        VPanel("Line loss by day 日线损", (Q(daily("area_daily_loss_pct", AREA), "loss"),), "percent", "barchart",
               f"Line loss per day of the utility's calendar; lines at {P.line_loss.negative_pct:g} % (negative) "
               f"and {P.line_loss.high_pct:g} % (high).", time_from="30d", step="1d",
               thresholds=steps((None, "red"), (P.line_loss.negative_pct, "green"), (P.line_loss.high_pct, "red"))),
        VPanel("Daily balance 日供售电量", tuple(Q(daily(f"area_daily_{f}", AREA)) for f in (
            "supply_kwh", "sales_kwh", "loss_kwh", "loss_pct", "technical_loss_kwh", "ntl_kwh", "collection_rate_pct")),
               "none", "table", "Supply, sales and loss per day, with the collection rate."
               + NO_TEXT.format("the loss band"), time_from="30d", step="1d",
               transformations=table("supply kWh", "sales kWh", "loss kWh", "loss %", "technical kWh", "NTL kWh",
                                     "collection %", sort="Time", desc=True)),
        VPanel("Theft suspects yesterday 昨日窃电嫌疑", (Q(f"last_over_time(theft_suspect_score{{{AREA}}}[1d])"),
                                                   Q(f"last_over_time(theft_suspect_stolen_kwh_per_day{{{AREA}}}[1d])")),
               "none", "table", "Yesterday's suspect list (the utility's day) with the estimated stolen kWh per day; "
               "click a meter for its page." + NO_TEXT.format("since when and the evidence (on the area's daily "
                                                               "summary and the theft alert)"),
               time_from="now-1d/d", instant=True, width=24,
               overrides=(field_links("meter", link("meter page 电表页", "meter-drilldown",
                                                   "var-grid=${grid}&var-area=${area}&var-meter=${__value.raw}")),),
               transformations=table("score", "stolen_kwh_per_day", sort="rank")),
        VPanel("Alert history 告警记录", events("alert_active", AREA, "alert_value"), "none", "table",
               "Every alert event of the area in the last 7 days, newest first; active 1 = raised or updated, "
               "0 = cleared." + ALERT_NO_TEXT, time_from="7d", instant=True, width=24,
               mappings=(TRANSFORMER, SEVERITY, ACTIVE), transformations=table("active", "value", sort="Time", desc=True)),
        VPanel("Voltage quality and coverage 电压合格率与采集", (
            Q(over("avg_over_time", "area_interval_voltage_qualified_pct", AREA), "U qualified"),
            Q(over("avg_over_time", "area_interval_coverage_pct", AREA), "meters read")), "percent",
               description="Share of meter voltages in the band, share of meters read, per 15-min interval."),
        VPanel("Customers low / high voltage 电压越限户数", (
            Q(over("max_over_time", "area_interval_meters_low_voltage", AREA), "low"),
            Q(over("max_over_time", "area_interval_meters_high_voltage", AREA), "high")),
               description="Meters outside the voltage band per interval."),
    ]


def gateway_page() -> list[VPanel]:
    def inc(f: str) -> str:
        return f"sum by (bus) (increase(bus_health_{f}{{{GW}}}[$__interval]))"

    def bus(fn: str, f: str, legend: str, scale: str = "") -> Q:
        return Q(over(fn, f"bus_health_{f}", GW) + scale, f"{legend} {{{{bus}}}}")

    return [
        VPanel("Online 在线", (Q(f"last_over_time(gateway_status_online{{{GW}}}[$__range])", "online"),), "none", "stat",
               "The gateway's last status: online, or OFFLINE when its will was published.", time_from="30d",
               instant=True, mappings=(ONLINE,), thresholds=steps((None, "red"), (1, "green"))),
        VPanel("Uptime 运行时间", (Q(f"last_over_time(gateway_health_uptime_s{{{GW}}}[$__range])", "uptime"),), "s",
               "stat", "Seconds since the daemon started, from its last health report.", time_from="7d", instant=True),
        VPanel("Read success per bus 各总线抄读成功率", (Q(f"100 * {inc('reads_ok')} / ({inc('reads_ok')} + "
                                                      f"{inc('reads_failed')})", "{{bus}}"),), "percent",
               description="Reads that succeeded per interval (from the counters' increase, not since start).",
               thresholds=steps((None, "red"), (95, "green"))),
        VPanel("Bus wire use 总线占用", (bus("avg_over_time", "utilisation", "wire use", " * 100"),), "percent",
               description="Share of the wire the bus is busy (100 % = no room for more reads)."),
        VPanel("Devices offline per bus 离线设备", (bus("max_over_time", "devices_backed_off", "backed off"),),
               description="Devices silent several times in a row, probed now and then."),
        VPanel("Round time 轮询周期", (bus("max_over_time", "round_time_s", "round"),), "s",
               description="How long the last round of each bus took."),
        VPanel("Outbox depth 待发消息", (Q(over("max_over_time", "gateway_health_outbox_depth", GW), "depth"),),
               description="Messages stored on the gateway and not yet acknowledged by the broker."),
        VPanel("Drops 丢弃", (Q(f"increase(gateway_health_outbox_dropped_summaries{{{GW}}}[$__interval])", "summaries"),
                            Q(f"increase(gateway_health_outbox_dropped_alerts{{{GW}}}[$__interval])", "alerts")),
               description="Messages the outbox dropped per interval (bound reached, oldest summaries first; "
               "expired alerts).", thresholds=steps((None, "green"), (1, "red"))),
        VPanel("Engine step time 引擎耗时", (Q(over("max_over_time", "area_engine_max_advance_ms", GW), "max {{area}}"),
                                          Q(over("avg_over_time", "area_engine_last_advance_ms", GW), "last {{area}}")),
               "ms", description="How long an engine step takes per area."),
    ]


def alerts_page() -> list[VPanel]:
    # Raised in a window: an alert id with events in it and none in the 30 days before (ids are unique).
    raised = (f"count by (severity) (count_over_time(alert_active{{{AREA}}}[$__interval]) unless on (alert_id) "
              f"count_over_time(alert_active{{{AREA}}}[30d] offset $__interval))")
    return [
        VPanel("Active alerts 当前告警数", (Q(f"sum(last_over_time(alerts_active_count{{{AREA}}}[$__range]))",
                                           "active"),), "none", "stat", "Alerts active now.", time_from="30d",
               instant=True, no_value="0"),
        VPanel("Active by severity 按级别", tuple(
            Q(f"keep_last_value(sum by (area) (last_over_time(alerts_active_{s}{{{AREA}}}[$__interval])))",
              f"{s} {{{{area}}}}") for s in ("critical", "major", "warning", "info")),
               description="Active alerts over time, per severity."),
        VPanel("Alerts active now 当前告警列表", active_alerts(AREA), "none", "table",
               "Every alert raised and not cleared, newest first." + ALERT_NO_TEXT, time_from="30d", instant=True,
               transformations=ACTIVE_TABLE, width=24, mappings=(TRANSFORMER, SEVERITY), overrides=ACTIVE_UNITS),
        VPanel("Alerts raised 新增告警", (Q(raised, "{{severity}}"),), description="Alerts raised per interval, "
               "per severity: alert ids first seen in the interval (none in the 30 days before)."),
        VPanel("Alert events 告警事件", events("alert_active", AREA, "alert_value", "alert_threshold"), "none", "table",
               "Every alert event in the range; active 1 = raised or updated, 0 = cleared." + ALERT_NO_TEXT,
               instant=True, width=24, mappings=(TRANSFORMER, SEVERITY, ACTIVE),
               transformations=table("active", "value", "threshold", sort="Time", desc=True)),
    ]


def theft_page() -> list[VPanel]:
    return [
        VPanel("Suspect ranking yesterday 昨日嫌疑排名", (
            Q(f"last_over_time(theft_suspect_score{{{AREA}}}[1d])"),
            Q(f"last_over_time(theft_suspect_stolen_kwh_per_day{{{AREA}}}[1d])")), "none", "table",
               "Yesterday's suspects per area, by rank, with the estimated stolen kWh per day (估计日窃电量); one day, "
               "not a mix of days." + NO_TEXT.format("the day the theft began (起始日) and the evidence"),
               time_from="now-1d/d", instant=True, width=24,
               transformations=table("score", "stolen_kwh_per_day", sort="rank")),
        VPanel("Suspect score per day 嫌疑分数", (Q(daily("theft_suspect_score", AREA, "rank"), "score {{rank}}"),),
               description="The score of each rank per day.", step="1d"),
        VPanel("Daily loss and non-technical loss 线损与非技术损耗", (
            Q(daily("area_daily_loss_pct", AREA, "area"), "loss % {{area}}"),
            Q(daily("area_daily_ntl_kwh", AREA, "area"), "NTL kWh {{area}}")),
               description="Daily loss and its non-technical part.", step="1d"),
        VPanel("Theft alerts 窃电告警", events("alert_active", f'kind="theft_suspect", {AREA}', "alert_value"), "none",
               "table", "Theft suspect alert events; active 1 = raised or updated, 0 = cleared." + ALERT_NO_TEXT,
               instant=True, mappings=(ACTIVE,), transformations=table("active", "value", sort="Time", desc=True)),
    ]


def meter_page() -> list[VPanel]:
    mi = "meter_interval_"
    return [
        VPanel("Energy per interval 分时电量", (Q(f"sum by (meter) ({over('sum_over_time', mi + 'e_kwh', METER)})",
                                             "kWh {{meter}}"),), "kwatth", description="Energy per interval."),
        VPanel("Voltage min / mean / max 电压", (Q(over("min_over_time", mi + "u_min", METER), "min {{meter}}"),
                                              Q(over("avg_over_time", mi + "u_mean", METER), "mean {{meter}}"),
                                              Q(over("max_over_time", mi + "u_max", METER), "max {{meter}}")),
               "volt", description="The meter's voltage.",
               thresholds=steps((None, "red"), (U_LOW, "green"), (U_HIGH, "red"))),
        VPanel("Peak current 最大电流", (Q(over("max_over_time", mi + "i_max", METER), "I max {{meter}}"),), "amp",
               description="Peak current per interval."),
        VPanel("Reads and estimates 抄读与估算", events(mi + "read", METER, mi + "estimated", mi + "e_kwh"), "none",
               "table", "Whether each interval was read or estimated (1 = yes).", instant=True,
               transformations=table("read", "estimated", "e_kwh")),
        VPanel("Suspect rank 嫌疑排名", events("theft_suspect_score", METER), "none", "table",
               "The meter's days on the suspect list.", time_from="30d", instant=True, transformations=table("score")),
        VPanel("Alerts on this meter 电表告警", events("alert_active", f'subject_id=~"$meter", {AREA}', "alert_value"),
               "none", "table", "Alert events about the meter; active 1 = raised or updated, 0 = cleared."
               + ALERT_NO_TEXT, time_from="30d", instant=True, mappings=(ACTIVE,),
               transformations=table("active", "value")),
    ]


def dashboards() -> list[Dashboard]:
    from scripts.grafana_dashboards import dashboards as influx_set

    pages = {"grid-overview": grid_overview(), "area-overview": area_page(), "gateway": gateway_page(),
             "alerts": alerts_page(), "theft-suspects": theft_page(), "meter-drilldown": meter_page()}
    variables = {"grid-overview": [GRID_VAR], "area-overview": [GRID_VAR, ONE_AREA, GATEWAY_VAR],
                 "gateway": [ALL_GATEWAYS], "alerts": [GRID_VAR, AREA_VAR], "theft-suspects": [GRID_VAR, AREA_VAR],
                 "meter-drilldown": [GRID_VAR, AREA_VAR, METER_VAR]}
    return [Dashboard(d.uid, d.title, variables[d.uid], pages[d.uid], d.time, d.links) for d in influx_set()]


def panel(i: int, p: VPanel, pos: tuple[int, int]) -> dict[str, Any]:
    defaults = field_defaults(p)
    fmt = "table" if p.kind == "table" else "time_series"
    targets = [{"refId": chr(65 + k), "datasource": DS, "expr": q.expr, "legendFormat": q.legend,
                "instant": p.instant, "range": not p.instant, "format": fmt, "interval": p.step}
               for k, q in enumerate(p.queries)]
    out: dict[str, Any] = {
        "id": i + 1, "title": p.title, "description": p.description, "type": p.kind, "datasource": DS,
        "gridPos": {"h": 8, "w": p.width, "x": pos[0], "y": pos[1]},
        "fieldConfig": {"defaults": defaults, "overrides": list(p.overrides)}, "options": {}, "targets": targets,
    }
    if p.time_from:
        out["timeFrom"] = p.time_from
    if p.transformations:
        out["transformations"] = list(p.transformations)
    return out


def render(tz: str = TIMEZONE) -> dict[str, str]:
    return {f"{d.uid}.json": json.dumps(dashboard(d, tz, panel), indent=2, ensure_ascii=False) + "\n"
            for d in dashboards()}

