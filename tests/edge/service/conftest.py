"""Fixtures for the daemon acceptance tests: a broker, a served area, a persistent subscriber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.service.harness import Daemon, ServedArea, served_area
from tests.support.procs import Mosquitto


@pytest.fixture
def area(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[ServedArea]:
    with served_area(tmp_path / "area", mosquitto.url) as a:
        yield a


@pytest.fixture
def daemon(tmp_path: Path, area: ServedArea) -> Iterator[Daemon]:
    d = Daemon(config=area.config, log=tmp_path / "daemon.log")
    try:
        yield d
    finally:
        d.close()
