"""The simulated grid of the dashboard tests, built once, and the databases the collector fills from it:
InfluxDB 1.6 (tests/deploy/test_grafana.py) and VictoriaMetrics (tests/deploy/test_grafana_vm.py), each
through mosquitto and the real collector writer for that server, so both dashboard sets read the same data."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector.harness import collector_thread, create_db, publish_all, write_config
from tests.deploy import grafana_data as gd
from tests.support.procs import Influx1, Mosquitto, VictoriaMetrics


@pytest.fixture(scope="package")
def grid(tmp_path_factory: pytest.TempPathFactory) -> gd.Grid:
    return gd.build_grid(tmp_path_factory.mktemp("grid") / "sim")


def _fill(cfg: Path, mq_url: str, grid: gd.Grid) -> None:
    msgs = grid.messages
    with collector_thread(cfg) as col:
        publish_all(mq_url, ((m.topic, m.encode()) for m in msgs))
        deadline = time.monotonic() + 120
        while col.health.counters["acked"] < len(msgs) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert col.health.counters["acked"] == len(msgs)
        assert sum(col.health.dead_letters.values()) == 0


@pytest.fixture(scope="package")
def grid_db(tmp_path_factory: pytest.TempPathFactory, grid: gd.Grid) -> Iterator[tuple[str, gd.Grid]]:
    """InfluxDB 1.6 (v1 writes), per-meter series on."""
    tmp = tmp_path_factory.mktemp("grafana")
    with Mosquitto.running(tmp / "mosquitto") as mq, Influx1.running(tmp / "influx") as influx:
        create_db(influx.url)
        _fill(write_config(tmp / "c.toml", mqtt_url=mq.url, influx_url=influx.url, api="v1", per_meter="on"),
              mq.url, grid)
        yield influx.url, grid


@pytest.fixture(scope="package")
def grid_vm(tmp_path_factory: pytest.TempPathFactory, grid: gd.Grid) -> Iterator[tuple[str, gd.Grid]]:
    """VictoriaMetrics (v2 writes, server victoriametrics: numbers as <measurement>_<field>, ids as labels)."""
    tmp = tmp_path_factory.mktemp("grafana-vm")
    with Mosquitto.running(tmp / "mosquitto") as mq, VictoriaMetrics.running(tmp / "vm") as vm:
        _fill(write_config(tmp / "c.toml", mqtt_url=mq.url, influx_url=vm.url, api="v2",
                           server="victoriametrics", per_meter="on"), mq.url, grid)
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=10).read()
        yield vm.url, grid
