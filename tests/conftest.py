"""Shared fixtures: real services on free loopback ports (started and stopped by the tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import Influx1, Mosquitto, VictoriaMetrics
from tests.support.pty import pty_pair

# Fixtures that start a real service process: a test that uses one is an integration test even when
# its module forgot the marker, so `make quick` (-m "not integration and not slow") never starts one.
SERVICE_FIXTURES = frozenset({"mosquitto", "victoria", "influx1"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if "tests/bench/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.slow)   # benchmark smoke tests run whole scripts: `make test` only


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto.running(tmp_path / "mosquitto") as svc:
        yield svc


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics.running(tmp_path / "vm") as svc:
        yield svc


@pytest.fixture
def influx1(tmp_path: Path) -> Iterator[Influx1]:
    with Influx1.running(tmp_path / "influx") as svc:
        yield svc


@pytest.fixture
def ptys(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with pty_pair(tmp_path / "pty") as pair:
        yield pair
