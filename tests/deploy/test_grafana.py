"""The dashboards: generated JSON in step with the generator, and every panel's query run the way
Grafana runs it against a real InfluxDB 1.6 filled by the collector from a simulated grid, checked against
what the scenario's ground truth and the edge's own messages say (tests/deploy/grafana_data.py)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana_dashboards import render
from tests.collector.harness import influxql
from tests.deploy import grafana_data as gd

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
PROVISIONING = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "provisioning"


def test_dashboard_json_is_what_the_generator_renders() -> None:
    rendered = render()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"{name} is stale: run scripts/grafana_dashboards.py"


def test_dashboards_use_the_provisioned_datasource_the_utility_zone_and_link_to_each_other() -> None:
    ds = (PROVISIONING / "datasources" / "meterwatch.yaml").read_text()
    uid = re.search(r"uid:\s*(\S+)", ds).group(1)  # type: ignore[union-attr]
    assert "type: influxdb" in ds
    assert "folder: meterwatch" in (PROVISIONING / "dashboards" / "meterwatch.yaml").read_text()
    uids = set()
    for name, d in gd.dashboards(DASHBOARDS).items():
        uids.add(d["uid"])
        assert d["timezone"] == "Asia/Shanghai", name
        names = [v["name"] for v in d["templating"]["list"]]
        assert names[:2] == ["grid", "area"] or names[:1] == ["grid"] or names == ["gateway"], name
        assert any(link.get("tags") == ["meterwatch"] for link in d["links"]), name
        for p in d["panels"]:
            assert p["datasource"]["uid"] == uid and p["description"], (name, p["title"])
            assert "$timeFilter" in p["targets"][0]["query"], (name, p["title"])
            if "time(1d)" in p["targets"][0]["query"]:       # days are the utility's, not UTC's
                assert "tz('Asia/Shanghai')" in p["targets"][0]["query"], (name, p["title"])
    linked = {m for d in gd.dashboards(DASHBOARDS).values() for m in re.findall(r"/d/(meterwatch-[a-z-]+)",
                                                                                json.dumps(d))}
    assert linked <= uids and {"meterwatch-area-overview", "meterwatch-gateway", "meterwatch-meter-drilldown"} <= linked
    assert render("Europe/Berlin")["area-overview.json"].count("tz('Europe/Berlin')") == 2


# ---- against InfluxDB ---------------------------------------------------------------------------------

def run(url: str, dash: str, title: str, variables: dict[str, str], interval: str = "1h") -> list[dict[str, Any]]:
    d = gd.dashboards(DASHBOARDS)[dash]
    panel = next(p for p in d["panels"] if p["title"] == title)
    res = influxql(url, gd.panel_query(panel, d, variables, interval))["results"][0]
    assert "error" not in res, (dash, title, res)
    return gd.transform(panel, gd.rows(res))


EAST = {"grid": "(g-east)", "area": "(A01|A02)", "gateway": "(gw-east-1|gw-east-2)", "meter": f"({gd.THIEF})"}


@pytest.mark.integration
@pytest.mark.slow
def test_every_panel_query_runs_and_returns_data(grid_db: tuple[str, gd.Grid]) -> None:
    url, _ = grid_db
    empty = []
    for dash, d in gd.dashboards(DASHBOARDS).items():
        for p in d["panels"]:
            if not run(url, dash, p["title"], EAST):
                empty.append(f"{dash} / {p['title']}")
    assert empty == [], empty


# ---- what the panels must say -------------------------------------------------------------------------

def local_date(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, gd.TZ).strftime("%Y-%m-%d")


def active_alerts(grid: gd.Grid, areas: set[str]) -> dict[str, dict[str, Any]]:
    """Alert id -> last event, for the alerts whose last event is not ``cleared`` (what the edge said)."""
    last: dict[str, dict[str, Any]] = {}
    for a in grid.areas.values():
        for m in a.messages:
            if m.payload["schema"] == "meterwatch.alert/2" and a.id in areas:
                last[m.payload["alert_id"]] = m.payload
    return {k: v for k, v in last.items() if v["state"] != "cleared"}


def collection_success(grid: gd.Grid, start_ns: int, end_ns: int, gateways: set[str], bucket_ns: int) -> dict[int, float]:
    """Read success per bucket from the health counters: their increase between consecutive reports in
    the range, a restart (a counter going down) contributing nothing, as the query intends. InfluxDB
    computes the first 1-minute difference from the minute before the range: so does this."""
    ok: dict[int, float] = {}
    failed: dict[int, float] = {}
    for gw in gateways:
        pts = [(round(datetime.fromisoformat(h["ts"]).timestamp()) * 10**9, h["buses"][0]) for h in grid.health[gw]]
        pts = [(t, b) for t, b in pts if start_ns - 60 * 10**9 <= t <= end_ns]
        for (_, a), (t, b) in itertools.pairwise(pts):
            k = t - t % bucket_ns
            ok[k] = ok.get(k, 0.0) + max(b["reads_ok"] - a["reads_ok"], 0)
            failed[k] = failed.get(k, 0.0) + max(b["reads_failed"] - a["reads_failed"], 0)
    return {k: 100.0 * ok[k] / (ok[k] + failed[k]) for k in ok if ok[k] + failed[k] > 0}


def window(dash: str, title: str) -> tuple[int, int]:
    d = gd.dashboards(DASHBOARDS)[dash]
    start, end = gd.time_range(next(p for p in d["panels"] if p["title"] == title), d)
    return round(start.timestamp() * 1000) * 10**6, round(end.timestamp() * 1000) * 10**6


@pytest.mark.integration
@pytest.mark.slow
def test_grid_overview_ranks_yesterdays_loss_counts_alerts_and_gateways_as_the_scenario_implies(grid_db) -> None:
    url, grid = grid_db
    yesterday = (gd.NOW.astimezone(gd.TZ).date().toordinal() - 1)
    day = datetime.fromordinal(yesterday).strftime("%Y-%m-%d")
    a01, a02 = grid.areas["A01"], grid.areas["A02"]
    # Ground truth: A01 loses the thief's energy, A02 only its wires; the edge's daily losses follow it.
    assert a01.truth_loss_pct[day] > a02.truth_loss_pct[day] + 1.0
    for a in (a01, a02):
        assert a.daily()[day]["loss_pct"] == pytest.approx(a.truth_loss_pct[day], abs=1.5), (a.id, a.truth_loss_pct[day])
    ranking = run(url, "grid-overview", "Worst line loss yesterday 昨日线损排名", EAST)
    assert [r["area"] for r in ranking] == ["A01", "A02"]                     # worst first
    for r in ranking:
        daily = grid.areas[r["area"]].daily()[day]
        assert local_date(r["time"]) == day and r["loss %"] == pytest.approx(daily["loss_pct"])
        assert (r["band"], r["supply kWh"]) == (daily["band"], pytest.approx(daily["supply_kwh"]))

    active = active_alerts(grid, {"A01", "A02"})
    assert active and all(v["state"] in ("raised", "updated") for v in active.values())
    by_sev = run(url, "grid-overview", "Active alerts by severity 当前告警", EAST)[0]
    for sev in ("critical", "major", "warning", "info"):
        assert by_sev[sev] == sum(v["severity"] == sev for v in active.values()), sev
    listed = run(url, "grid-overview", "Alerts active now 当前告警列表", EAST)
    assert {r["alert_id"] for r in listed} == set(active)
    assert [r["Time (last)"] for r in listed] == sorted((r["Time (last)"] for r in listed), reverse=True)
    assert any(r["subject_id (last)"] == gd.THIEF and r["kind (last)"] == "theft_suspect" for r in listed)

    assert run(url, "grid-overview", "Gateways offline 离线网关", EAST)[0]["offline"] == 1     # gw-east-2's will
    gateways = {r["gateway"]: r for r in run(url, "grid-overview", "Gateways 网关", EAST)}
    assert (gateways["gw-east-1"]["online"], gateways["gw-east-2"]["state"]) == (1, "offline")

    start, end = window("grid-overview", "Collection success, last hour 近1小时抄读成功率")
    per_minute = collection_success(grid, start, end, {"gw-east-1", "gw-east-2"}, 60 * 10**9)
    assert per_minute and min(per_minute.values()) == pytest.approx(95.0)      # 5 failed of 100 this hour
    want = collection_success(grid, start, end, {"gw-east-1", "gw-east-2"}, 10**20)     # one bucket: the hour
    got = run(url, "grid-overview", "Collection success, last hour 近1小时抄读成功率", EAST)[0]["success"]
    assert got == pytest.approx(next(iter(want.values()))) and got < 96           # now, not since start (99+ %)

    per_day = run(url, "grid-overview", "Daily line loss per area 各台区日线损", EAST)
    assert len(per_day) >= 2 * (gd.DAYS - 2)
    for r in per_day:                         # each bar is the utility's day: its local date is the payload's
        daily = grid.areas[r["area"]].daily()[local_date(r["time"])]
        assert r["loss"] == pytest.approx(daily["loss_pct"])


@pytest.mark.integration
@pytest.mark.slow
def test_area_page_days_suspects_and_alert_history_are_those_the_edge_published(grid_db) -> None:
    url, grid = grid_db
    a01 = grid.areas["A01"]
    v = {**EAST, "area": "(A01)"}
    yesterday = datetime.fromordinal(gd.NOW.astimezone(gd.TZ).date().toordinal() - 1).strftime("%Y-%m-%d")
    bars = run(url, "area-overview", "Line loss by day 日线损", v)
    assert {local_date(r["time"]): r["loss"] for r in bars} == pytest.approx(
        {d: p["loss_pct"] for d, p in a01.daily().items() if p["loss_pct"] is not None})
    table = run(url, "area-overview", "Daily balance 日供售电量", v)
    assert local_date(table[0]["time"]) == yesterday                              # newest first
    for r in table:
        p = a01.daily()[local_date(r["time"])]
        assert (r["supply kWh"], r["sales kWh"], r["loss %"], r["band"]) == (
            pytest.approx(p["supply_kwh"]), pytest.approx(p["sales_kwh"]), pytest.approx(p["loss_pct"]), p["band"])
    # Yesterday's suspects, and only yesterday's: the bypassing customer first, as the ground truth says.
    suspects = run(url, "area-overview", "Theft suspects yesterday 昨日窃电嫌疑", v)
    published = a01.daily()[yesterday]["suspects"]
    assert [(r["rank"], r["meter"]) for r in suspects] == [(str(s["rank"]), s["meter"]) for s in published]
    assert suspects[0]["meter"] == gd.THIEF and {local_date(r["time"]) for r in suspects} == {yesterday}
    assert json.loads(suspects[0]["evidence"]) == published[0]["evidence"]
    history = run(url, "area-overview", "Alert history 告警记录", v)
    start, end = window("area-overview", "Alert history 告警记录")
    events = [m.payload for m in a01.messages if m.payload["schema"] == "meterwatch.alert/2"
              and start <= round(datetime.fromisoformat(m.payload["ts"]).timestamp() * 1000) * 10**6 <= end]
    assert len(history) == len(events) > 0
    assert sorted((r["state"], r["kind"], r["subject_id"]) for r in history) == sorted(
        (e["state"], e["kind"], e["subject"]["id"]) for e in events)
    assert [r["time"] for r in history] == sorted((r["time"] for r in history), reverse=True)


@pytest.mark.integration
@pytest.mark.slow
def test_gateway_page_reads_now_drops_and_state_follow_the_health_reports(grid_db) -> None:
    url, grid = grid_db
    v = {"gateway": "(gw-east-1)"}
    assert run(url, "gateway", "Online 在线", v)[0]["online"] == 1
    assert run(url, "gateway", "Online 在线", {"gateway": "(gw-east-2)"})[0]["online"] == 0
    assert run(url, "gateway", "Uptime 运行时间", v)[0]["uptime"] == grid.health["gw-east-1"][-1]["uptime_s"]
    start, end = window("gateway", "Read success per bus 各总线抄读成功率")
    want = collection_success(grid, start, end, {"gw-east-1"}, 3600 * 10**9)
    got = {r["time"]: r["success"] for r in run(url, "gateway", "Read success per bus 各总线抄读成功率", v)}
    assert got == pytest.approx(want) and min(got.values()) < 96 and max(got.values()) == 100
    drops = run(url, "gateway", "Drops 丢弃", v)
    assert sum(r["summaries"] for r in drops) == 3 and sum(r["alerts"] for r in drops) == 0


# Time-bucketed panels: InfluxDB's answer against the same aggregate computed here from the points the
# collector wrote (its own mapping of the edge's messages): the filters, tags and buckets are right.
AGG = {"mean": lambda xs: sum(xs) / len(xs), "max": max, "min": min, "sum": sum}
SERIES = [
    # dashboard, panel, variables, measurement, group-by tags, (alias, agg, field, scale)...
    ("area-overview", "Transformer load β 配变负载率", {"area": "(A01)"}, "realtime", (),
     [("β max", "mean", "load_pct", 1), ("β S", "mean", "load_s_pct", 1)]),
    ("area-overview", "Transformer heat 配变温度", {"area": "(A01)"}, "realtime", (),
     [("hot-spot", "max", "hotspot_c", 1), ("top oil", "max", "top_oil_c", 1)]),
    ("area-overview", "Voltage band 电压", {"area": "(A01)"}, "realtime", (),
     [("U a", "mean", "u_a", 1), ("U b", "mean", "u_b", 1), ("U c", "mean", "u_c", 1)]),
    ("area-overview", "Imbalance and neutral 三相不平衡", {"area": "(A01)"}, "realtime", (),
     [("imbalance", "mean", "imbalance_pct", 1), ("neutral", "mean", "neutral_pct", 1)]),
    ("area-overview", "Voltage quality and coverage 电压合格率与采集", {"area": "(A01)"}, "area_interval", (),
     [("U qualified", "mean", "voltage_qualified_pct", 1), ("meters read", "mean", "coverage_pct", 1)]),
    ("area-overview", "Customers low / high voltage 电压越限户数", {"area": "(A01)"}, "area_interval", (),
     [("low", "max", "meters_low_voltage", 1), ("high", "max", "meters_high_voltage", 1)]),
    ("gateway", "Bus wire use 总线占用", {"gateway": "(gw-east-2)"}, "bus_health", ("bus",),
     [("wire use", "mean", "utilisation", 100)]),
    ("gateway", "Devices offline per bus 离线设备", {"gateway": "(gw-east-1)"}, "bus_health", ("bus",),
     [("backed off", "max", "devices_backed_off", 1)]),
    ("gateway", "Round time 轮询周期", {"gateway": "(gw-east-1)"}, "bus_health", ("bus",),
     [("round", "max", "round_time_s", 1)]),
    ("gateway", "Outbox depth 待发消息", {"gateway": "(gw-east-1)"}, "gateway_health", (),
     [("depth", "max", "outbox_depth", 1)]),
    ("gateway", "Engine step time 引擎耗时", {"gateway": "(gw-east-1)"}, "area_engine", ("area",),
     [("max", "max", "max_advance_ms", 1), ("last", "mean", "last_advance_ms", 1)]),
    ("meter-drilldown", "Energy per interval 分时电量", {"area": "(A01)"}, "meter_interval", ("meter",),
     [("kWh", "sum", "e_kwh", 1)]),
    ("meter-drilldown", "Voltage min / mean / max 电压", {"area": "(A01)"}, "meter_interval", ("meter",),
     [("min", "min", "u_min", 1), ("mean", "mean", "u_mean", 1), ("max", "max", "u_max", 1)]),
    ("meter-drilldown", "Peak current 最大电流", {"area": "(A01)"}, "meter_interval", ("meter",),
     [("I max", "max", "i_max", 1)]),
]
FILTER_TAGS = {"area": "area", "gateway": "gateway", "meter": "meter"}


@pytest.fixture(scope="module")
def points(grid_db) -> list[Any]:
    from tests.collector.harness import expected_points

    return expected_points(grid_db[1].messages, "influxdb")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(("dash", "title", "variables", "measurement", "by", "fields"), SERIES,
                         ids=[f"{s[0]}/{s[1].split(' ')[0]}-{s[1].split(' ')[1]}" for s in SERIES])
def test_time_bucketed_panels_aggregate_exactly_what_was_written(grid_db, points, dash, title, variables,
                                                                 measurement, by, fields) -> None:
    url, _ = grid_db
    v = {**EAST, **variables}
    start, end = window(dash, title)
    bucket = 3600 * 10**9
    want_values: dict[tuple[Any, ...], dict[str, list[float]]] = {}
    for p in points:
        if p.measurement != measurement or not start <= p.time_ns <= end:
            continue
        if any(k in p.tags and f"({p.tags[k]})" != v[var] and var in variables
               for var, k in FILTER_TAGS.items()):
            continue
        if "meter" in p.tags and p.tags["meter"] != gd.THIEF:
            continue
        key = (*(p.tags[t] for t in by), p.time_ns - p.time_ns % bucket)
        for alias, _agg, name, _scale in fields:
            if p.fields.get(name) is not None:
                want_values.setdefault(key, {}).setdefault(alias, []).append(float(p.fields[name]))
    want = {(*k, a): AGG[agg](vals[a]) * scale for k, vals in want_values.items()
            for a, agg, _n, scale in fields if a in vals}
    got = {(*(r[t] for t in by), r["time"], a): r[a] for r in run(url, dash, title, v)
           for a, *_ in fields if r.get(a) is not None}
    assert want and got == pytest.approx(want, rel=1e-9, abs=1e-9), (dash, title)


@pytest.mark.integration
@pytest.mark.slow
def test_alerts_theft_and_meter_pages_and_the_variables(grid_db) -> None:
    url, grid = grid_db
    active = active_alerts(grid, {"A01", "A02"})
    assert run(url, "alerts", "Active alerts 当前告警数", EAST)[0]["active"] == len(active)
    assert {r["alert_id"] for r in run(url, "alerts", "Alerts active now 当前告警列表", EAST)} == set(active)
    start, end = window("alerts", "Alert events 告警事件")
    events = [m.payload for a in grid.areas.values() for m in a.messages if m.payload["schema"] == "meterwatch.alert/2"
              and start <= round(datetime.fromisoformat(m.payload["ts"]).timestamp() * 1000) * 10**6 <= end]
    assert sorted(r["alert_id"] for r in run(url, "alerts", "Alert events 告警事件", EAST)) == sorted(
        e["alert_id"] for e in events)
    raised = run(url, "alerts", "Alerts raised 新增告警", EAST)
    assert sum(r["raised"] for r in raised) == sum(e["state"] == "raised" for e in events)

    yesterday = datetime.fromordinal(gd.NOW.astimezone(gd.TZ).date().toordinal() - 1).strftime("%Y-%m-%d")
    ranking = run(url, "theft-suspects", "Suspect ranking yesterday 昨日嫌疑排名", EAST)
    published = [(a.id, s["rank"], s["meter"]) for a in grid.areas.values() for s in a.daily()[yesterday]["suspects"]]
    assert sorted((r["rank"], r["meter"]) for r in ranking) == sorted((str(k), m) for _, k, m in published)
    scores = run(url, "theft-suspects", "Suspect score per day 嫌疑分数", EAST)
    want = {}
    for a in grid.areas.values():
        for d, p in a.daily().items():
            for s in p["suspects"]:
                want[(d, str(s["rank"]))] = max(want.get((d, str(s["rank"])), float("-inf")), s["score"])
    assert {(local_date(r["time"]), r["rank"]): r["score"] for r in scores} == pytest.approx(want)
    thefts = run(url, "theft-suspects", "Theft alerts 窃电告警", EAST)
    assert thefts and all(r["subject_id"] == gd.THIEF for r in thefts)
    meter_alerts = run(url, "meter-drilldown", "Alerts on this meter 电表告警", {**EAST, "area": "(A01)"})
    assert {r["kind"] for r in meter_alerts} >= {"theft_suspect", "terminal_cover_open"}
    ranks = run(url, "meter-drilldown", "Suspect rank 嫌疑排名", {**EAST, "area": "(A01)"})
    assert {local_date(r["time"]) for r in ranks} == {d for d, p in grid.areas["A01"].daily().items()
                                                       if any(s["meter"] == gd.THIEF for s in p["suspects"])}

    variables = {v["name"]: v["query"] for d in gd.dashboards(DASHBOARDS).values() for v in d["templating"]["list"]}

    def values(name: str, grid_re: str = ".*", area: str = ".*") -> list[str]:
        res = influxql(url, variables[name].replace("$grid", grid_re).replace("$area", area))["results"][0]
        return sorted(row[1] for s in res.get("series", []) for row in s["values"])

    assert values("grid") == ["g-east"] and values("area", grid_re="(g-east)") == ["A01", "A02"]
    assert gd.THIEF in values("meter", grid_re="(g-east)", area="(A01)")
    assert values("gateway") == ["gw-east-1", "gw-east-2"]
