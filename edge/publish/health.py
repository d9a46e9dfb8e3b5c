"""The gateway ``health`` payload (``P/{gateway}/health``), built every minute.

The publisher does not know the buses or the engine: the pipeline hands their telemetry in as plain
dicts (``{"name": "rs485-1", "reads_ok": 1200, "reads_failed": 3, "utilisation": 0.41, ...}`` per bus,
``{"advance_ms_p50": ..., ...}`` for the engine), so this module depends on neither.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Protocol

from edge import __version__
from edge.publish.outbox import OutboxStats
from wire import KINDS
from wire.timefmt import rfc3339

__all__ = ["HealthInputs", "build_health", "run_health", "versions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class HealthInputs:
    """What the pipeline reports at each health tick."""

    buses: Sequence[Mapping[str, Any]] = ()
    engine: Mapping[str, Any] = field(default_factory=dict)
    counters: Mapping[str, float] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """Versions worth knowing when reading a field report; read from metadata, nothing is imported."""
    out = {"meterwatch": __version__, "python": platform.python_version()}
    for dist in ("numpy", "numba", "paho-mqtt", "pymodbus"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def build_health(*, gateway: str, now_s: float, uptime_s: float, outbox: OutboxStats,
                 inputs: HealthInputs, publisher_counters: Mapping[str, float] | None = None,
                 version_info: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The health payload without ``msg_id`` and ``topic_seq`` (the outbox assigns them)."""
    buses = []
    for bus in inputs.buses:
        if "name" not in bus:
            raise ValueError(f"bus telemetry without a name: {dict(bus)!r}")
        buses.append({"reads_ok": 0, "reads_failed": 0, **bus})
    counters = {**(inputs.counters or {}), **{f"mqtt_{k}": v for k, v in (publisher_counters or {}).items()}}
    info = dict(version_info or versions())
    return {
        "schema": KINDS["health"].tag,
        "gateway": gateway,
        "ts": rfc3339(now_s),
        "uptime_s": round(uptime_s, 3),
        "version": info.get("meterwatch", __version__),
        "versions": info,
        "buses": buses,
        "outbox": outbox.as_health(),
        "engine": dict(inputs.engine),
        "counters": counters,
    }


class _Submitter(Protocol):
    settings: Any
    counters: dict[str, int]

    def gateway_topic(self, kind: str) -> str: ...
    def stats(self) -> OutboxStats: ...
    async def submit(self, topic: str, payload: dict[str, Any], *, kind: str) -> str | None: ...


async def run_health(publisher: _Submitter, telemetry: Callable[[], HealthInputs], *,
                     interval_s: float = 60.0, clock: Callable[[], float] = time.time) -> None:
    """Publish health every ``interval_s`` until cancelled. A failing telemetry callback is logged and
    the payload goes out with what is known (empty buses), so health keeps flowing; nothing that goes
    wrong in one tick ends the task (it would take the daemon with it)."""
    started = time.monotonic()
    info = versions()
    topic = publisher.gateway_topic("health")
    while True:
        await asyncio.sleep(interval_s)
        common = {"gateway": publisher.settings.gateway, "now_s": clock(),
                  "uptime_s": time.monotonic() - started, "outbox": publisher.stats(),
                  "publisher_counters": publisher.counters, "version_info": info}
        try:
            payload = build_health(inputs=telemetry(), **common)
        except Exception:
            log.exception("health telemetry failed; publishing outbox figures only")
            payload = build_health(inputs=HealthInputs(counters={"telemetry_failed": 1}), **common)
        try:
            await publisher.submit(topic, payload, kind="health")
        except Exception:
            log.exception("health could not be submitted; trying again at the next tick")
