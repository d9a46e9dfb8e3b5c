"""The VictoriaMetrics dashboards (MetricsQL, Grafana's Prometheus datasource): generated JSON in step
with the generator, and every panel's targets run the way Grafana runs them (tests/deploy/grafana_prom.py)
against a real VictoriaMetrics filled by the collector from the simulated grid of tests/deploy/conftest.py,
checked against the InfluxQL set on InfluxDB with the same data and against what the edge published."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.grafana_dashboards import render as render_influx
from scripts.grafana_vm import render
from tests.deploy import grafana_data as gd
from tests.deploy import grafana_prom as gp
from tests.deploy.test_grafana import AGG, EAST, FILTER_TAGS, SERIES, active_alerts, local_date
from tests.deploy.test_grafana import run as run_influx

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards-victoriametrics"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
VM = gd.dashboards(DASHBOARDS)


def run(url: str, dash: str, title: str, variables: dict[str, str], **kw: Any) -> list[dict[str, Any]]:
    return gp.run(url, VM[dash], title, variables, **kw)


def test_vm_dashboard_json_is_what_the_generator_renders_with_the_influx_sets_pages() -> None:
    rendered = render()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"{name} is stale: run scripts/grafana_dashboards.py"
    ds = (PROVISIONING / "datasources" / "meterwatch-victoriametrics.yaml").read_text()
    uid = re.search(r"uid:\s*(\S+)", ds).group(1)  # type: ignore[union-attr]
    assert "type: prometheus" in ds
    for name, text in render_influx().items():          # same pages, titles, variables, links, zone
        influx, vm = json.loads(text), VM[name.removesuffix(".json")]
        same = ("uid", "title", "timezone", "links", "time")
        assert {k: vm[k] for k in same} == {k: influx[k] for k in same}, name
        assert [v["name"] for v in vm["templating"]["list"]] == [v["name"] for v in influx["templating"]["list"]]
        assert [(p["title"], p["type"], p.get("timeFrom")) for p in vm["panels"]] == [
            (p["title"], p["type"], p.get("timeFrom")) for p in influx["panels"]], name
        for p in vm["panels"]:
            assert p["datasource"]["uid"] == uid and p["description"], (name, p["title"])
            for t in p["targets"]:
                assert t["datasource"]["uid"] == uid and t["expr"], (name, p["title"])
                if "[1d]" in t["expr"] and not t["instant"]:       # a daily series steps by the day
                    assert t["interval"] == "1d", (name, p["title"])
    assert render("Europe/Berlin")["area-overview.json"].count('"timezone": "Europe/Berlin"') == 1


@pytest.mark.integration
@pytest.mark.slow
def test_every_vm_panel_query_runs_and_returns_data(grid_vm: tuple[str, gd.Grid]) -> None:
    url, _ = grid_vm
    empty = []
    for dash, d in VM.items():
        for p in d["panels"]:
            for k, rows in enumerate(gp.query(url, p, d, EAST)):
                if not rows:
                    empty.append(f"{dash} / {p['title']} / {p['targets'][k]['refId']}")
    assert empty == [], empty


# ---- what the panels must say: the InfluxQL set's figures on the same data --------------------------

def values(rows: list[dict[str, Any]]) -> dict[str, float]:
    """A stat panel's values by legend (targets that returned nothing are absent: Grafana's no-value)."""
    return {k: v for r in rows for k, v in r.items() if isinstance(v, float)}


def window(dash: str, title: str) -> tuple[int, int]:
    start, end = gd.time_range(next(p for p in VM[dash]["panels"] if p["title"] == title), VM[dash])
    return round(start.timestamp() * 1000) * 10**6, round(end.timestamp() * 1000) * 10**6


def increases(grid: gd.Grid, start_ns: int, end_ns: int, gateways: set[str], step_ns: int) -> dict[int, float]:
    """Read success per Prometheus window (t - step, t] from the health counters, as ``increase`` counts:
    each report's increase over the one before it (which may lie before the window); after a restart
    (a counter going down) the new count, the reads since the restart."""
    ok: dict[int, float] = {}
    failed: dict[int, float] = {}
    for gw in gateways:
        pts = [(round(datetime.fromisoformat(h["ts"]).timestamp()) * 10**9, h["buses"][0]) for h in grid.health[gw]]
        for (_, a), (t, b) in itertools.pairwise(pts):
            if not start_ns < t <= end_ns:
                continue
            k = -(-t // step_ns) * step_ns
            for acc, f in ((ok, "reads_ok"), (failed, "reads_failed")):
                acc[k] = acc.get(k, 0.0) + (b[f] - a[f] if b[f] >= a[f] else b[f])
    return {k: 100.0 * ok[k] / (ok[k] + failed[k]) for k in ok if ok[k] + failed[k] > 0}


def yesterday() -> str:
    return datetime.fromordinal(gd.NOW.astimezone(gd.TZ).date().toordinal() - 1).strftime("%Y-%m-%d")


@pytest.mark.integration
@pytest.mark.slow
def test_vm_grid_overview_ranks_counts_and_lists_as_the_influxdb_set(grid_db, grid_vm) -> None:
    influx, (url, grid) = grid_db[0], grid_vm
    ranking = run(url, "grid-overview", "Worst line loss yesterday 昨日线损排名", EAST)
    want = run_influx(influx, "grid-overview", "Worst line loss yesterday 昨日线损排名", EAST)
    assert [r["area"] for r in ranking] == [r["area"] for r in want] == ["A01", "A02"]
    for got, w in zip(ranking, want, strict=True):
        assert local_date(got["time"]) == local_date(w["time"]) == yesterday()
        for col in ("loss %", "loss kWh", "supply kWh", "coverage %"):
            assert got[col] == pytest.approx(w[col], rel=1e-9), col

    by_sev = values(run(url, "grid-overview", "Active alerts by severity 当前告警", EAST))
    want_sev = run_influx(influx, "grid-overview", "Active alerts by severity 当前告警", EAST)[0]
    assert {s: by_sev.get(s, 0.0) for s in ("critical", "major", "warning", "info")} == {
        s: want_sev[s] for s in ("critical", "major", "warning", "info")}
    assert values(run(url, "grid-overview", "Gateways offline 离线网关", EAST)) == {"offline": 1.0}
    title = "Collection success, last hour 近1小时抄读成功率"
    success = values(run(url, "grid-overview", title, EAST))["success"]
    start, end = window("grid-overview", title)
    want_ok = increases(grid, start, end, {"gw-east-1", "gw-east-2"}, 10**20)
    assert success == pytest.approx(next(iter(want_ok.values()))) == 95.0          # the hour: 5 failed in 100
    # InfluxQL's 1-minute differences also take the minute before the range (all read): a hair above.
    assert 0 < run_influx(influx, "grid-overview", title, EAST)[0]["success"] - success < 0.1

    active = active_alerts(grid, {"A01", "A02"})
    listed = run(url, "grid-overview", "Alerts active now 当前告警列表", EAST)
    want_listed = {r["alert_id"]: r for r in run_influx(influx, "grid-overview", "Alerts active now 当前告警列表", EAST)}
    assert {r["alert_id"] for r in listed} == set(want_listed) == set(active)
    for r in listed:                              # when its last event was, and what it says, as on InfluxDB
        w = want_listed[r["alert_id"]]
        assert r["last event"] == w["Time (last)"] // 10**6
        assert (r["kind"], r["severity"], r["subject_id"]) == (w["kind (last)"], w["severity (last)"], w["subject_id (last)"])
        assert r.get("value") == (pytest.approx(w["value (last)"]) if w["value (last)"] is not None else None)
    assert [r["last event"] for r in listed] == sorted((r["last event"] for r in listed), reverse=True)

    gateways = {r["gateway"]: r["online"] for r in run(url, "grid-overview", "Gateways 网关", EAST)}
    assert gateways == {r["gateway"]: r["online"] for r in run_influx(influx, "grid-overview", "Gateways 网关", EAST)}
    assert gateways == {"gw-east-1": 1, "gw-east-2": 0}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("utc_offset_s", [0, 8 * 3600], ids=["steps-on-UTC-midnight", "steps-on-Beijing-midnight"])
def test_vm_daily_bars_are_the_utilitys_days_however_grafana_aligns_the_steps(grid_db, grid_vm, utc_offset_s) -> None:
    influx, (url, grid) = grid_db[0], grid_vm
    a01 = grid.areas["A01"]
    v = {**EAST, "area": "(A01)"}
    bars = run(url, "area-overview", "Line loss by day 日线损", v, utc_offset_s=utc_offset_s)
    by_day = {local_date(r["time"]): r["loss"] for r in bars}
    assert len(by_day) == len(bars)                               # one bar per day, no day twice
    assert by_day == pytest.approx({d: p["loss_pct"] for d, p in a01.daily().items() if p["loss_pct"] is not None})
    assert by_day == pytest.approx({local_date(r["time"]): r["loss"]
                                    for r in run_influx(influx, "area-overview", "Line loss by day 日线损", v)})
    table = run(url, "area-overview", "Daily balance 日供售电量", v, utc_offset_s=utc_offset_s)
    assert local_date(table[0]["time"]) == yesterday()             # newest first
    for r in table:
        p = a01.daily()[local_date(r["time"])]
        assert (r.get("supply kWh"), r.get("sales kWh"), r.get("loss %")) == (     # a day without: no cell
            pytest.approx(p["supply_kwh"]), pytest.approx(p["sales_kwh"]), pytest.approx(p["loss_pct"]))
    per_area = run(url, "grid-overview", "Daily line loss per area 各台区日线损", EAST, utc_offset_s=utc_offset_s)
    assert {(r["area"], local_date(r["time"])): r["loss"] for r in per_area} == pytest.approx(
        {(r["area"], local_date(r["time"])): r["loss"]
         for r in run_influx(influx, "grid-overview", "Daily line loss per area 各台区日线损", EAST)})
    scores = run(url, "theft-suspects", "Suspect score per day 嫌疑分数", EAST, utc_offset_s=utc_offset_s)
    assert {(local_date(r["time"]), r["rank"]): r["score"]
            for r in scores} == pytest.approx(
        {(local_date(r["time"]), r["rank"]): r["score"]
         for r in run_influx(influx, "theft-suspects", "Suspect score per day 嫌疑分数", EAST)})


@pytest.mark.integration
@pytest.mark.slow
def test_vm_area_gateway_alert_theft_and_meter_pages_say_what_the_influxdb_set_says(grid_db, grid_vm) -> None:
    influx, (url, grid) = grid_db[0], grid_vm
    a01 = {**EAST, "area": "(A01)"}
    suspects = run(url, "area-overview", "Theft suspects yesterday 昨日窃电嫌疑", a01)
    want = run_influx(influx, "area-overview", "Theft suspects yesterday 昨日窃电嫌疑", a01)
    assert [(r["rank"], r["meter"]) for r in suspects] == [(r["rank"], r["meter"]) for r in want]
    assert suspects[0]["meter"] == gd.THIEF and {local_date(r["time"]) for r in want} == {yesterday()}
    assert [(r["score"], r["stolen_kwh_per_day"]) for r in suspects] == [
        (pytest.approx(r["score"]), pytest.approx(r["stolen_kwh_per_day"])) for r in want]
    ranking = run(url, "theft-suspects", "Suspect ranking yesterday 昨日嫌疑排名", EAST)
    assert sorted((r["rank"], r["meter"]) for r in ranking) == sorted(
        (r["rank"], r["meter"]) for r in run_influx(influx, "theft-suspects", "Suspect ranking yesterday 昨日嫌疑排名", EAST))

    history = run(url, "area-overview", "Alert history 告警记录", a01)
    want = run_influx(influx, "area-overview", "Alert history 告警记录", a01)
    assert len(history) == len(want) > 0
    assert sorted((r["time"] // 10**6, r["kind"], r["subject_id"], r["active"]) for r in history) == sorted(
        (r["time"] // 10**6, r["kind"], r["subject_id"], float(r["state"] != "cleared")) for r in want)
    assert [r["time"] for r in history] == sorted((r["time"] for r in history), reverse=True)

    events = run(url, "alerts", "Alert events 告警事件", EAST)
    assert sorted(r["alert_id"] for r in events) == sorted(
        r["alert_id"] for r in run_influx(influx, "alerts", "Alert events 告警事件", EAST))
    raised = run(url, "alerts", "Alerts raised 新增告警", EAST)
    want_raised = run_influx(influx, "alerts", "Alerts raised 新增告警", EAST)
    assert sum(r["Value"] for r in raised) == sum(r["raised"] for r in want_raised) > 0
    assert values(run(url, "alerts", "Active alerts 当前告警数", EAST)) == {
        "active": run_influx(influx, "alerts", "Active alerts 当前告警数", EAST)[0]["active"]}
    assert {r["alert_id"] for r in run(url, "alerts", "Alerts active now 当前告警列表", EAST)} == set(
        active_alerts(grid, {"A01", "A02"}))
    thefts = run(url, "theft-suspects", "Theft alerts 窃电告警", EAST)
    assert len(thefts) == len(run_influx(influx, "theft-suspects", "Theft alerts 窃电告警", EAST)) > 0
    assert all(r["subject_id"] == gd.THIEF for r in thefts)

    assert {r["kind"] for r in run(url, "meter-drilldown", "Alerts on this meter 电表告警", a01)} == {
        r["kind"] for r in run_influx(influx, "meter-drilldown", "Alerts on this meter 电表告警", a01)}
    ranks = run(url, "meter-drilldown", "Suspect rank 嫌疑排名", a01)
    assert sorted((local_date(r["time"]), r["rank"], r["score"]) for r in ranks) == sorted(
        (local_date(r["time"]), r["rank"], pytest.approx(r["score"]))
        for r in run_influx(influx, "meter-drilldown", "Suspect rank 嫌疑排名", a01))
    reads = run(url, "meter-drilldown", "Reads and estimates 抄读与估算", a01)
    want = run_influx(influx, "meter-drilldown", "Reads and estimates 抄读与估算", a01)
    start, _ = window("meter-drilldown", "Reads and estimates 抄读与估算")       # x[range] is (start, end]
    assert sorted((r["time"], r["read"], r["estimated"]) for r in reads) == sorted(
        (r["time"], float(r["read"]), float(r["estimated"])) for r in want if r["time"] > start)


@pytest.mark.integration
@pytest.mark.slow
def test_vm_gateway_page_and_the_variables(grid_db, grid_vm) -> None:
    influx, (url, grid) = grid_db[0], grid_vm
    v = {"gateway": "(gw-east-1)"}
    assert values(run(url, "gateway", "Online 在线", v)) == {"online": 1.0}
    assert values(run(url, "gateway", "Online 在线", {"gateway": "(gw-east-2)"})) == {"online": 0.0}
    assert values(run(url, "gateway", "Uptime 运行时间", v)) == {
        "uptime": run_influx(influx, "gateway", "Uptime 运行时间", v)[0]["uptime"]}
    start, end = window("gateway", "Read success per bus 各总线抄读成功率")
    got = {r["time"]: r["Value"] for r in run(url, "gateway", "Read success per bus 各总线抄读成功率", v)}
    assert got == pytest.approx(increases(grid, start - 3600 * 10**9, end, {"gw-east-1"}, 3600 * 10**9))
    assert min(got.values()) < 96 and max(got.values()) == 100
    drops = run(url, "gateway", "Drops 丢弃", v)
    assert sum(r.get("summaries", 0) for r in drops) == 3 and sum(r.get("alerts", 0) for r in drops) == 0

    d_start, d_end = gd.time_range({}, VM["meter-drilldown"])
    variables = {v["name"]: v["definition"] for d in VM.values() for v in d["templating"]["list"]}

    def label_values(name: str, **kw: str) -> list[str]:
        return gp.label_values(url, variables[name], {"grid": ".*", "area": ".*", **kw}, d_start, d_end)

    assert label_values("grid") == ["g-east"] and label_values("area", grid="(g-east)") == ["A01", "A02"]
    assert gd.THIEF in label_values("meter", grid="(g-east)", area="(A01)")
    assert label_values("gateway") == ["gw-east-1", "gw-east-2"]


@pytest.fixture(scope="module")
def vm_points(grid_vm) -> list[Any]:
    from tests.collector.harness import expected_points

    return expected_points(grid_vm[1].messages, "victoriametrics")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(("dash", "title", "variables", "measurement", "by", "fields"), SERIES,
                         ids=[f"{s[0]}/{s[1].split(' ')[0]}-{s[1].split(' ')[1]}" for s in SERIES])
def test_vm_time_bucketed_panels_aggregate_exactly_what_was_written(grid_vm, vm_points, dash, title, variables,
                                                                    measurement, by, fields) -> None:
    """Prometheus windows: the value at step t aggregates the points in (t - 1 h, t]."""
    url, _ = grid_vm
    v = {**EAST, **variables}
    start, end = window(dash, title)
    step = 3600 * 10**9
    first, last = start // step * step, end // step * step
    want_values: dict[tuple[Any, ...], dict[str, list[float]]] = {}
    for p in vm_points:
        if p.measurement != measurement or not first - step < p.time_ns <= last:
            continue
        if any(k in p.tags and f"({p.tags[k]})" != v[var] and var in variables for var, k in FILTER_TAGS.items()):
            continue
        if "meter" in p.tags and p.tags["meter"] != gd.THIEF:
            continue
        key = (*(p.tags[t] for t in by), -(-p.time_ns // step) * step)
        for alias, _agg, name, _scale in fields:
            if p.fields.get(name) is not None:
                want_values.setdefault(key, {}).setdefault(alias, []).append(float(p.fields[name]))
    want = {(*k, a): AGG[agg](vals[a]) * scale for k, vals in want_values.items()
            for a, agg, _n, scale in fields if a in vals}
    got = {(*(r[t] for t in by), r["time"], a): r[a] for r in run(url, dash, title, v) for a, *_ in fields if a in r}
    assert want and got == pytest.approx(want, rel=1e-9, abs=1e-9), (dash, title)

