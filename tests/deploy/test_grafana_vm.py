"""The VictoriaMetrics dashboards (MetricsQL, Grafana's Prometheus datasource): generated JSON in step
with the generator, and every panel's targets run the way Grafana runs them (tests/deploy/grafana_prom.py)
against a real VictoriaMetrics filled by the collector from the simulated grid of tests/deploy/conftest.py,
checked against the InfluxQL set on InfluxDB with the same data and against what the edge published."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime, timedelta
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
