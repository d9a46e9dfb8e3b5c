"""Shared fixtures: real services on free loopback ports (started and stopped by the tests)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import tiers, xdist_sched
from tests.support.procs import Influx1, Mosquitto, VictoriaMetrics
from tests.support.pty import pty_pair

# Fixtures that start a real service process: a test that uses one is an integration test even when
# its module forgot the marker, so `make quick` (-m "not integration and not slow") never starts one.
SERVICE_FIXTURES = frozenset({"mosquitto", "victoria", "influx1"})
SHARED_SCOPES = ("module", "package", "session")


def shared_fixture_home(item: pytest.Item) -> str | None:
    """Where the widest module-, package- or session-scoped fixture of ours that ``item`` uses is defined
    (a module or a test directory), or None. ``make test`` keeps the tests that share one such fixture on
    one xdist worker (``--dist loadgroup``), so that it is built once, not once per worker."""
    info = getattr(item, "_fixtureinfo", None)
    homes: list[tuple[int, str]] = []
    for name in getattr(item, "fixturenames", ()):
        defs = info.name2fixturedefs.get(name) if info is not None else None
        if not defs or defs[-1].scope not in SHARED_SCOPES:
            continue
        node = getattr(defs[-1], "node", None)
        home = node.nodeid if node is not None else defs[-1].baseid
        if home.startswith("tests"):                    # ours, not a plugin's (tmp_path_factory, ...)
            homes.append((SHARED_SCOPES.index(defs[-1].scope), home))
    return max(homes)[1] if homes else None


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None]:
    """Add the implied markers before ``-m`` selects. With ``MW_TIER_RECORD`` set (``make test``), write the
    collected and the selected test ids there: tests/support/tiers.py checks that the two tiers of
    ``make test`` run every test exactly once."""
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if "tests/bench/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.slow)   # benchmark smoke tests run whole scripts: `make test` only
        if (home := shared_fixture_home(item)) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(home))
    collected = [item.nodeid for item in items]
    yield
    if path := os.environ.get("MW_TIER_RECORD"):
        tiers.record(Path(path), collected, [item.nodeid for item in items])
    if plan := getattr(config, "workerinput", {}).get(xdist_sched.KEY):
        xdist_sched.write_plan(Path(plan), items)


def _xdist_plan(config: pytest.Config) -> Path:
    if not hasattr(config, "_mw_xdist_plan"):
        fd, name = tempfile.mkstemp(prefix="mw-xdist-plan-", suffix=".json")
        os.close(fd)
        config._mw_xdist_plan = Path(name)          # type: ignore[attr-defined]
    return config._mw_xdist_plan                    # type: ignore[attr-defined,no-any-return]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: our grouping scheduler (tests/support/xdist_sched.py says why)."""
    if config.getoption("dist") != "loadgroup":
        return None
    return xdist_sched.GroupScheduling(config, log, _xdist_plan(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput[xdist_sched.KEY] = str(_xdist_plan(node.config))


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "_mw_xdist_plan"):
        config._mw_xdist_plan.unlink(missing_ok=True)


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
