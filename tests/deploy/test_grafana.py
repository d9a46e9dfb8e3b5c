"""Every panel query of every dashboard returns data from a real InfluxDB 1.6 filled by the collector.

The collector writes through its ``v1`` writer (``POST /write``, the same line protocol the v2 writer
sends): InfluxDB 1.6 has no ``/api/v2/write``.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from collector.testing import AreaSpec, area_stream
from scripts.grafana_dashboards import render
from tests.collector.harness import (
    PREFIX,
    collector_thread,
    create_db,
    expected_points,
    influxql,
    publish_all,
    write_config,
)

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
PROVISIONING = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "provisioning"


def _panels():
    for f in sorted(DASHBOARDS.glob("*.json")):
        d = json.loads(f.read_text())
        for p in d["panels"]:
            for t in p["targets"]:
                yield f.stem, p["title"], t["query"]


def test_dashboard_json_is_what_the_generator_renders():
    rendered = render()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text() == text, f"{name} is stale: run scripts/grafana_dashboards.py"


def test_every_dashboard_has_grid_and_area_variables_and_uses_the_provisioned_datasource():
    ds = (PROVISIONING / "datasources" / "meterwatch.yaml").read_text()
    uid = re.search(r"uid:\s*(\S+)", ds).group(1)
    assert "type: influxdb" in ds
    assert "folder: meterwatch" in (PROVISIONING / "dashboards" / "meterwatch.yaml").read_text()
    for f in DASHBOARDS.glob("*.json"):
        d = json.loads(f.read_text())
        names = [v["name"] for v in d["templating"]["list"]]
        assert names[:2] == ["grid", "area"], f.name
        for p in d["panels"]:
            assert p["datasource"]["uid"] == uid
            for t in p["targets"]:
                assert "$timeFilter" in t["query"], (f.name, p["title"])


def _substitute(q: str, values: dict[str, str], start_ms: int, end_ms: int) -> str:
    q = q.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms").replace("$__interval", "15m")
    for k, v in values.items():
        q = q.replace(f"${k}", v)
    assert not re.search(r"\$\w", q), q
    return q


def _has_data(result: dict) -> bool:
    return any(v is not None for s in result.get("series", []) for row in s["values"] for v in row[1:])


@pytest.mark.integration
def test_every_panel_query_returns_data_from_influxdb_1_6_written_by_the_collector(mosquitto, influx1, tmp_path):
    spec = AreaSpec(meters=12, intervals=8)
    msgs = list(area_stream(spec, PREFIX)) + list(area_stream(AreaSpec(area="A02", gateway="gw-0002", meters=8,
                                                                          intervals=8, seed=4), PREFIX))
    create_db(influx1.url)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1")
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        points = expected_points(msgs, "influxdb")
        # every point is there, with every field (strings included: InfluxDB stores them)
        for meas in sorted({p.measurement for p in points}):
            want = [p for p in points if p.measurement == meas]
            for _ in range(100):
                rows = influxql(influx1.url, f'SELECT * FROM "{meas}"')["results"][0]
                got = len(rows["series"][0]["values"]) if "series" in rows else 0
                if got == len(want):
                    break
                time.sleep(0.1)
            assert got == len(want), (meas, got, len(want))
    assert col.health.counters["acked"] == len(msgs)
    # a sample point compared field by field
    alert = next(p for p in points if p.measurement == "alert" and "cleared_at" in p.fields)
    rows = influxql(influx1.url, f'SELECT * FROM "alert" WHERE "alert_id" = \'{alert.fields["alert_id"]}\' '
                                 f'AND time = {alert.time_ns}')["results"][0]["series"][0]
    stored = dict(zip(rows["columns"], rows["values"][0], strict=True))
    for k, v in {**alert.fields, **{k: v for k, v in alert.tags.items() if v}}.items():
        assert stored[k] == v, (k, stored[k], v)

    start_ms = int(spec.start.timestamp() * 1000)
    end_ms = int((spec.start + timedelta(days=1)).timestamp() * 1000)
    suspect = next(p for p in points if p.measurement == "theft_suspect" and p.tags["area"] == "A01")
    alerted = next(p for p in points if p.measurement == "alert" and p.tags["subject_type"] == "meter"
                   and p.tags["area"] == "A01")
    values = {"grid": "(jinli-1)", "area": "(A01)", "gateway": "(gw-0001)",
              "meter": f"({suspect.fields['meter']}|{alerted.fields['subject_id']})"}
    empty = []
    count = 0
    for dash, title, q in _panels():
        res = influxql(influx1.url, _substitute(q, values, start_ms, end_ms))["results"][0]
        assert "error" not in res, (dash, title, res["error"])
        count += 1
        if not _has_data(res):
            empty.append(f"{dash} / {title}")
    assert count >= 25
    assert empty == []


@pytest.mark.integration
def test_template_variable_queries_list_the_written_grids_areas_meters_and_gateways(mosquitto, influx1, tmp_path):
    msgs = list(area_stream(AreaSpec(meters=3, intervals=2), PREFIX)) + list(
        area_stream(AreaSpec(grid="jinli-2", area="B07", gateway="gw-0009", meters=2, intervals=2), PREFIX))
    create_db(influx1.url)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1")
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        for _ in range(100):
            if col.health.counters["acked"] == len(msgs):
                break
            time.sleep(0.1)
    variables = {v["name"]: v["query"] for v in json.loads((DASHBOARDS / "meter-drilldown.json").read_text())[
        "templating"]["list"]}
    variables["gateway"] = next(v["query"] for v in json.loads((DASHBOARDS / "gateway-health.json").read_text())[
        "templating"]["list"] if v["name"] == "gateway")

    def values(name: str, grid: str = ".*", area: str = ".*") -> list[str]:
        q = variables[name].replace("$grid", grid).replace("$area", area)
        res = influxql(influx1.url, q)["results"][0]
        return sorted(row[1] for s in res.get("series", []) for row in s["values"])

    assert values("grid") == ["jinli-1", "jinli-2"]
    assert values("area", grid="(jinli-2)") == ["B07"]
    assert values("meter", grid="(jinli-2)", area="(B07)") == ["B07-m0000", "B07-m0001"]
    assert values("gateway", grid="(jinli-1)") == ["gw-0001"]


@pytest.mark.integration
@pytest.mark.slow
def test_every_panel_returns_data_from_what_the_edge_really_publishes(mosquitto, influx1, tmp_path):
    """The producers, not generated payloads: a simulated area with a meter bypass on day 10 exported and
    replayed through the daemon's engine and serialisers (summaries, alerts, theft suspects), and a real
    daemon polling a served area (gateway status and health), both through mosquitto and the collector
    (v1 writer) into InfluxDB 1.6; then every panel query of every dashboard returns data."""
    from edge.areafile import load_area_file
    from edge.replayer import replay
    from edge.sim.export import export
    from tests.edge.service.harness import GATEWAY, Daemon, served_area
    from tests.edge.sim.conftest import one_kind_config

    sim = one_kind_config("bypass_full", customers=25, start_h=216, end_h=288, subject="M0004", seed=401)
    export(sim, tmp_path / "exp", 12)
    area, prm = load_area_file(tmp_path / "exp" / "area.toml")
    replayed: list[tuple[str, dict]] = []
    replay(area, prm, tmp_path / "exp" / "readings.csv", None, on_message=lambda t, p: replayed.append((t, p)))
    daily = [p for _, p in replayed if p["schema"] == "meterwatch.daily/2"]
    suspects = [s["meter"] for p in daily for s in p["suspects"]]
    assert "M0004" in suspects, "the replay should rank the bypassed meter (otherwise the suspect panels are empty)"
    alerted = next(p["subject"]["id"] for _, p in replayed
                   if p["schema"] == "meterwatch.alert/2" and p["subject"]["type"] == "meter")

    create_db(influx1.url)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1")
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, ((t, json.dumps(p, separators=(",", ":")).encode()) for t, p in replayed))
        with served_area(tmp_path / "area", mosquitto.url) as served:
            daemon = Daemon(config=served.config, log=tmp_path / "daemon.log")
            try:
                daemon.start()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    have = {m: "series" in influxql(influx1.url, f'SELECT count(*) FROM "{m}"')["results"][0]
                            for m in ("gateway_status", "gateway_health", "bus_health")}
                    if all(have.values()):
                        break
                    assert daemon.proc is not None and daemon.proc.poll() is None, daemon.text()[-3000:]
                    time.sleep(0.5)
                else:
                    raise AssertionError(f"daemon health never reached InfluxDB: {have}\n{daemon.text()[-3000:]}")
                assert daemon.terminate() == 0
            finally:
                daemon.close()
        for _ in range(200):
            if col.health.counters["acked"] >= len(replayed):
                break
            time.sleep(0.1)
    assert sum(col.health.dead_letters.values()) == 0

    start_ms = int(sim.start * 1000)
    end_ms = int((time.time() + 86_400) * 1000)
    values = {"grid": f"({area.grid}|g1)", "area": f"({area.id}|A01)", "gateway": f"(replay|{GATEWAY})",
              "meter": f"(M0004|{alerted})"}
    empty = []
    for dash, title, q in _panels():
        res = influxql(influx1.url, _substitute(q, values, start_ms, end_ms))["results"][0]
        assert "error" not in res, (dash, title, res["error"])
        if not _has_data(res):
            empty.append(f"{dash} / {title}")
    assert empty == []
