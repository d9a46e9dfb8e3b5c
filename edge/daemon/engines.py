"""The engine side of the daemon: one ``AreaRunner`` per area, fed from the buses' queue.

Readings arrive as ``DeviceRead`` batches on one bounded queue (the schedulers put, the engine loop
gets). A step drains the queue, routes each batch to its area (``route``: scheduler device name ->
(area id, engine device name)) and advances every area's engine to event time ``clock.now()``. One
area's failing step is counted and logged; the other areas and the daemon go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from detect.params import Params
from edge.area import build_area
from edge.config.model import Config, PlanConfig
from edge.pipeline import AreaRunner, MessageSink
from edge.plausibility import limits_for
from edge.readings import DeviceRead
from edge.scheduler.clock import Clock
from edge.timeouts import within

__all__ = ["QUEUE_MAX", "Engines", "TickTimes", "plan_cadences"]

log = logging.getLogger(__name__)

QUEUE_MAX = 20_000             # DeviceRead batches between schedulers and engines


class TickTimes:
    """How long the engine loop's steps took (drain, every area's advance, storing): the last
    ``keep`` of them for percentiles, and a count and sum since start for rates."""

    def __init__(self, keep: int = 600) -> None:
        self.recent: deque[float] = deque(maxlen=keep)
        self.count = 0
        self.sum_s = 0.0

    def add(self, seconds: float) -> None:
        self.recent.append(seconds)
        self.count += 1
        self.sum_s += seconds


class Engines:
    """Every area's engine, the queue in front of them and the loop that steps them."""

    def __init__(self, cfg: Config, clock: Clock, *, step_interval_s: float = 1.0) -> None:
        self.cfg = cfg
        self.clock = clock
        self.step_interval_s = step_interval_s
        self.queue: asyncio.Queue[DeviceRead] = asyncio.Queue(QUEUE_MAX)
        self.runners: dict[str, AreaRunner] = {}
        self.route: dict[str, tuple[str, str]] = {}
        self.counters = {"queue_full_waits": 0, "unrouted_reads": 0, "engine_step_errors": 0}
        self.ticks = TickTimes()

    def build(self, sink: MessageSink, saved_state: Callable[[str], bytes | None]) -> None:
        """One runner per configured area, restored from ``saved_state(key)`` where there is one."""
        cfg = self.cfg
        for area_cfg in cfg.areas:
            area = build_area(area_cfg, cfg.gateway.grid)
            self.runners[area.id] = AreaRunner(
                area, plan_cadences(area_cfg.detection, cfg.plans), gateway=cfg.gateway.id,
                topic_prefix=cfg.mqtt.topic_prefix, sink=sink, saved_state=saved_state(f"engine:{area.id}"),
                snapshot_interval_s=cfg.publish.snapshot_interval_s, plausibility=limits_for(area_cfg, area),
                publish_realtime=cfg.publish.realtime == "every_poll",
                publish_meters_interval=cfg.publish.meters_interval == "publish")

    def add_routes(self, routes: Mapping[str, tuple[str, str]]) -> None:
        self.route.update(routes)

    def stats(self) -> dict[str, Any]:
        return {aid: r.stats.as_dict() for aid, r in self.runners.items()}

    def active_alerts(self) -> int:
        return sum(len(r.engine.active_alerts()) for r in self.runners.values())

    def drain(self, first: DeviceRead | None = None) -> int:
        """Feed everything queued (and ``first``) to the engines; returns the batches taken."""
        per_area: dict[str, list[tuple[str, DeviceRead]]] = {}
        n = 0
        while True:
            if first is not None:
                dr, first = first, None
            else:
                try:
                    dr = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            n += 1
            target = self.route.get(dr.device)
            if target is None:
                self.counters["unrouted_reads"] += 1
                continue
            per_area.setdefault(target[0], []).append((target[1], dr))
        for aid, reads in per_area.items():
            self.runners[aid].feed(reads)
        return n

    async def step(self, *, first: DeviceRead | None = None, force_snapshot: bool = False) -> None:
        self.drain(first)
        ts = self.clock.now()
        for aid, runner in self.runners.items():
            try:
                await runner.step(ts, force_snapshot=force_snapshot)
            except Exception:  # one area's failure must not stop the others or the daemon
                self.counters["engine_step_errors"] += 1
                log.exception("area %s: engine step failed", aid)

    async def run(self, *, wait_s: float, after_step: Callable[[], None]) -> None:
        """Step as soon as readings arrive (alert latency), and at least every ``wait_s`` on event time
        so that silence (master offline, outages) is noticed without readings."""
        while True:
            first: DeviceRead | None = None
            with contextlib.suppress(asyncio.TimeoutError):
                first = await within(self.queue.get(), wait_s)
            t0 = time.perf_counter()
            await self.step(first=first)
            self.ticks.add(time.perf_counter() - t0)
            after_step()


def plan_cadences(params: Params, plans: dict[str, PlanConfig]) -> Params:
    """The engine's expected read cadences from the reading plans, until it has learned them: a meter is
    due again within the interval of its most frequent regular read plan (≤ 1 h), the master within its
    fastest plan's. The engine learns each device's cadence from its reads as replay does (the longest of
    its recent gaps: extra reads at other offsets, such as status words at +450 s, do not shorten it), so
    the daemon and a replay of its readings judge silence alike; bus jitter is learned too."""
    meter = [p.interval_s for p in plans.values() if p.device_class == "meter" and p.kind == "read"
             and p.interval_s <= 3600]
    master = [p.interval_s for p in plans.values() if p.device_class == "master" and p.kind == "read"]
    outage = dataclasses.replace(
        params.outage,
        meter_cadence_s=min(meter) if meter else params.outage.meter_cadence_s,
        master_cadence_s=min(master) if master else params.outage.master_cadence_s)
    return dataclasses.replace(params, outage=outage)
