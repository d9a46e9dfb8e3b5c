"""The edge daemon (``meterwatch run``): schedulers → queue → engines → outbox → MQTT.

Start order is sink first: the publisher (outbox + MQTT), then the engines (restored from the outbox's
saved state and warmed up), then the bus schedulers. Stop order is the reverse, with a bounded flush:
schedulers are cancelled, what they already delivered is fed to the engines, a last step stores the
engines' state, and the publisher flushes for at most ``flush_timeout_s``; whatever is left stays in
the outbox for the next start. ``systemd``: READY=1 after the kernels are warm, WATCHDOG=1 from the
main loop while it is healthy, STATUS= a one-line state, STOPPING=1 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from detect.params import Params
from edge import systemd, timebase
from edge.area import build_area
from edge.config.model import BusConfig, Config, PlanConfig
from edge.pipeline import AreaRunner
from edge.publish.health import HealthInputs, run_health
from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings
from edge.readings import DeviceRead

__all__ = ["Daemon", "DaemonOptions", "run_daemon"]

log = logging.getLogger(__name__)

MASTER_PREFIX = "master:"      # scheduler device name of an area's master: "master:<area id>"
QUEUE_MAX = 20_000             # DeviceRead batches between schedulers and engines


@dataclass(frozen=True, kw_only=True)
class DaemonOptions:
    broker_url: str | None = None           # overrides [mqtt].url (demo, tests)
    flush_timeout_s: float = 5.0
    step_interval_s: float = 1.0            # how often engines advance on event time (real seconds)
    clock: Any = None                       # scheduler Clock (now/sleep); default: the wall clock
    on_step: Callable[[Daemon], None] | None = None   # called after every engine step (demo view)
    notify_systemd: bool = True


@dataclass
class _Bus:
    cfg: BusConfig
    scheduler: Any
    link: Any
    client: Any = None


@dataclass
class Daemon:
    cfg: Config
    options: DaemonOptions
    publisher: Publisher | None = None
    runners: dict[str, AreaRunner] = field(default_factory=dict)
    buses: list[_Bus] = field(default_factory=list)
    route: dict[str, tuple[str, str]] = field(default_factory=dict)   # scheduler device -> (area, engine name)
    queue: asyncio.Queue[DeviceRead] | None = None
    counters: dict[str, int] = field(default_factory=lambda: {"queue_full_waits": 0, "unrouted_reads": 0,
                                                              "engine_step_errors": 0})
    started_s: float = field(default_factory=time.monotonic)
    state: str = "starting"
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    # ---- building ---------------------------------------------------------------------------------
    def _mqtt_settings(self) -> MqttSettings:
        m = self.cfg.mqtt
        return MqttSettings(
            url=self.options.broker_url or m.url, client_id=m.client_id or self.cfg.gateway.id,
            username=m.username or None, password_file=Path(m.password_file) if m.password_file else None,
            ca_file=Path(m.ca_file) if m.ca_file else None, cert_file=Path(m.cert_file) if m.cert_file else None,
            key_file=Path(m.key_file) if m.key_file else None, keepalive_s=m.keepalive_s)

    def _build_bus(self, bus: BusConfig, utc_offset_s: float) -> _Bus:
        from edge.scheduler import (
            BackoffPolicy,
            BusScheduler,
            ClockPolicy,
            DeviceSpec,
            Dlt645Reader,
            ModbusReader,
        )
        from edge.scheduler.from_config import link_timing, reading_plans

        assert self.queue is not None
        specs: list[Any] = []
        plans = reading_plans(self.cfg, utc_offset_s)
        if bus.protocol == "dlt645":
            from edge.dlt645.client import Dlt645Client
            from edge.dlt645.link import open_link

            link: Any = open_link(bus.port, baud=bus.baud, parity=bus.parity,
                             max_response_delay_s=bus.response_delay_max_s, gap_s=bus.gap_s)
            client = Dlt645Client(link, retries=bus.retries, use_blocks=bus.block_reads == "auto",
                                  meter_utc_offset_s=int(utc_offset_s))
            addresses: dict[str, str] = {}
            for area in self.cfg.areas:
                for m in area.meters:
                    if m.bus == bus.name:
                        addresses[m.id] = m.address.zfill(12)
                        specs.append(DeviceSpec(device=m.id, class_name="meter"))
                        self.route[m.id] = (area.id, m.id)
                if area.master.bus == bus.name:
                    name = MASTER_PREFIX + area.id
                    addresses[name] = area.master.address.zfill(12)
                    specs.append(DeviceSpec(device=name, class_name="master"))
                    self.route[name] = (area.id, "master")
            reader: Any = Dlt645Reader(client, addresses, link_timing(bus))
        else:
            from edge.modbus.adapter import ModbusLink
            from edge.modbus.device import ModbusDevice
            from edge.modbus.link import LinkSettings, parse_port
            from edge.modbus.profile import load_profile

            host, tcp_port = parse_port(bus.port)
            kind: Literal["rtu", "rtu-tcp", "tcp"] = (
                "rtu" if bus.protocol == "modbus-rtu" and tcp_port is None else
                "rtu-tcp" if bus.protocol == "modbus-rtu" else "tcp")
            modbus_link = ModbusLink(LinkSettings(kind=kind, port=host, tcp_port=tcp_port or 502, baud=bus.baud,
                                           parity=bus.parity, timeout_s=bus.timeout_s, retries=bus.retries))
            client = None
            devices: dict[str, Any] = {}
            base = Path(self.cfg.source).parent if self.cfg.source else Path(".")
            for area in self.cfg.areas:
                if area.master.bus != bus.name:
                    continue
                prof = area.master.profile
                path = base / prof if ("/" in prof or prof.endswith(".toml")) and not Path(prof).is_absolute() else prof
                name = MASTER_PREFIX + area.id
                devices[name] = ModbusDevice(modbus_link, load_profile(path), area.master.device_id,
                                             ct_ratio=area.master.ct_ratio, pt_ratio=area.master.pt_ratio)
                specs.append(DeviceSpec(device=name, class_name="master"))
                self.route[name] = (area.id, "master")
            reader = ModbusReader(devices, link_timing(bus))
            link = modbus_link
            plans = [p for p in plans if p.class_name == "master"]
        used = {s.class_name for s in specs}
        plans = [p for p in plans if p.class_name in used]
        scheduler = BusScheduler(
            bus=bus.name, reader=reader, devices=specs, plans=plans, out=self.queue, clock=self.options.clock,
            backoff=BackoffPolicy(base_s=bus.backoff_base_s, max_s=bus.backoff_max_s),
            clock_policy=ClockPolicy(time_sync=bus.time_sync))
        return _Bus(cfg=bus, scheduler=scheduler, link=link, client=client)

    # ---- running ----------------------------------------------------------------------------------
    def telemetry(self) -> HealthInputs:
        buses = []
        for b in self.buses:
            buses.append(b.scheduler.telemetry().to_health())
        engine = {aid: r.stats.as_dict() for aid, r in self.runners.items()}
        q = self.queue.qsize() if self.queue is not None else 0
        return HealthInputs(buses=buses, engine=engine, counters={**self.counters, "queue_depth": q})

    def status_line(self) -> str:
        alerts = sum(len(r.engine.active_alerts()) for r in self.runners.values())
        depth = self.publisher.stats().depth if self.publisher and self.publisher.outbox else 0
        conn = "connected" if self.publisher and self.publisher.connected else "broker unreachable"
        return (f"{self.state}: {len(self.runners)} area(s), {len(self.buses)} bus(es), {alerts} active alert(s), "
                f"outbox {depth}, {conn}")

    def _drain_into_engines(self, first: DeviceRead | None = None) -> int:
        assert self.queue is not None
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

    def healthy(self) -> bool:
        """What WATCHDOG=1 vouches for: the engines step (this is asked from their loop) and the
        publisher's pump still runs (a dead pump would let the outbox fill up unnoticed)."""
        return self.publisher is not None and self.publisher.pumping

    async def _engine_loop(self) -> None:
        assert self.queue is not None
        # systemd wants a ping at least every WatchdogSec/2 (watchdog_interval_s). Steps follow every
        # reading (many per second), so ping at most every quarter of that, and step at least every
        # quarter too: the gap between two pings stays below half of it plus one step.
        ping_every_s = systemd.watchdog_interval_s() if self.options.notify_systemd else None
        wait_s = min(self.options.step_interval_s, (ping_every_s or float("inf")) / 4)
        last_ping = float("-inf")
        while True:
            # Step as soon as readings arrive (alert latency), and at least every step_interval_s on
            # event time so that silence (master offline, outages) is noticed without readings.
            first: DeviceRead | None = None
            with contextlib.suppress(asyncio.TimeoutError):
                first = await asyncio.wait_for(self.queue.get(), wait_s)
            await self.step(first=first)
            now = time.monotonic()
            if ping_every_s is not None and now - last_ping >= ping_every_s / 4 and self.healthy():
                systemd.watchdog()
                last_ping = now

    async def step(self, *, first: DeviceRead | None = None, force_snapshot: bool = False) -> None:
        self._drain_into_engines(first)
        ts = timebase.now()
        for aid, runner in self.runners.items():
            try:
                await runner.step(ts, force_snapshot=force_snapshot)
            except Exception:  # one area's failure must not stop the others or the daemon
                self.counters["engine_step_errors"] += 1
                log.exception("area %s: engine step failed", aid)
        if self.options.on_step is not None:
            self.options.on_step(self)

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT or ``stop()``; returns the exit code."""
        d, cfg, options = self, self.cfg, self.options
        d.queue = asyncio.Queue(QUEUE_MAX)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, d.stop_event.set)
        tz = zoneinfo.ZoneInfo(cfg.gateway.timezone)
        utc_offset_s = datetime.now(tz).utcoffset().total_seconds()  # type: ignore[union-attr]

        state_dir = Path(cfg.gateway.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        d.publisher = Publisher(
            PublisherSettings(gateway=cfg.gateway.id, state_dir=state_dir, topic_prefix=cfg.mqtt.topic_prefix,
                              outbox_max_bytes=int(cfg.publish.outbox_max_mb * 1024 * 1024),
                              alert_ttl_s=cfg.publish.alert_ttl_days * 86400.0, flush_timeout_s=options.flush_timeout_s),
            d._mqtt_settings())
        await d.publisher.start()
        assert d.publisher.outbox is not None
        warm_s = await asyncio.to_thread(_warm_up)
        from detect import describe_backend

        log.info("kernels ready in %.2f s (%s)", warm_s, describe_backend())
        for area_cfg in cfg.areas:
            area = build_area(area_cfg, cfg.gateway.grid)
            d.runners[area.id] = AreaRunner(
                area, plan_cadences(area_cfg.detection, cfg.plans), gateway=cfg.gateway.id, topic_prefix=cfg.mqtt.topic_prefix, sink=d.publisher,
                saved_state=d.publisher.outbox.load_state(f"engine:{area.id}"),
                snapshot_interval_s=cfg.publish.snapshot_interval_s,
                publish_realtime=cfg.publish.realtime == "every_poll",
                publish_meters_interval=cfg.publish.meters_interval == "publish")
        tasks: list[asyncio.Task[Any]] = []
        try:
            for bus in cfg.buses:
                if any(a.master.bus == bus.name or any(m.bus == bus.name for m in a.meters) for a in cfg.areas):
                    d.buses.append(d._build_bus(bus, utc_offset_s))
            for b in d.buses:
                await b.link.__aenter__() if hasattr(b.link, "__aenter__") else None
            d.state = "running"
            if options.notify_systemd:
                systemd.ready(d.status_line())
            tasks.append(asyncio.create_task(d._engine_loop(), name="engines"))
            tasks.append(asyncio.create_task(run_health(d.publisher, d.telemetry,
                                                        interval_s=cfg.publish.health_interval_s,
                                                        clock=timebase.now), name="health"))
            for b in d.buses:
                tasks.append(asyncio.create_task(b.scheduler.run(), name=f"bus {b.cfg.name}"))
            if options.notify_systemd:
                tasks.append(asyncio.create_task(_status_loop(d), name="status"))
            stop = asyncio.create_task(d.stop_event.wait(), name="stop")
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stop and t.exception() is not None:
                    log.error("task %s failed: %s", t.get_name(), t.exception())
                    raise t.exception()  # type: ignore[misc]
            return 0
        finally:
            d.state = "stopping"
            if options.notify_systemd:
                systemd.stopping()
            for t in reversed(tasks):
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await d.step(force_snapshot=True)
            for b in d.buses:
                with contextlib.suppress(Exception):
                    await b.link.__aexit__(None, None, None) if hasattr(b.link, "__aexit__") else None
            flushed = await d.publisher.stop(options.flush_timeout_s)
            log.info("stopped; outbox %s", "empty" if flushed else "kept for the next start")

    def stop(self) -> None:
        self.stop_event.set()


def plan_cadences(params: Params, plans: dict[str, PlanConfig]) -> Params:
    """The engine's expected read cadences, fixed from the reading plans: a meter is due every interval
    of its most frequent regular read plan (≤ 1 h), the master every interval of its fastest plan. The
    daemon knows its schedule; learning it from read times is for replay of unknown exports."""
    meter = [p.interval_s for p in plans.values() if p.device_class == "meter" and p.kind == "read"
             and p.interval_s <= 3600]
    master = [p.interval_s for p in plans.values() if p.device_class == "master" and p.kind == "read"]
    outage = dataclasses.replace(
        params.outage, cadence="fixed",
        meter_cadence_s=max(meter) if meter else params.outage.meter_cadence_s,
        master_cadence_s=min(master) if master else params.outage.master_cadence_s)
    return dataclasses.replace(params, outage=outage)


def _warm_up() -> float:
    """Compile (or load from the numba cache) every kernel the engine runs before READY=1: a tiny
    engine gets every quantity from the master and from meters over a few intervals. (Feeding only
    some quantities left e.g. the meter-voltage kernel to compile on the first meter round, after
    READY, stalling that step.)"""
    import numpy as np

    from detect import Engine, ReadingBatch
    from detect.area import Area
    from detect.quantities import QUANTITY_CODE

    t0 = time.perf_counter()
    # rated_kva a float as the config loader gives it: numba compiles a separate signature for an int.
    area = Area.simple(id="warmup", rated_kva=100.0, meter_ids=["a", "b", "c"])
    eng = Engine(area, Params())
    names = sorted(QUANTITY_CODE, key=QUANTITY_CODE.__getitem__)
    codes = np.array([QUANTITY_CODE[n] for n in names])
    devices = np.arange(area.n_meters + 1)
    base = 1_700_000_000.0
    for k in range(4):
        ts = base + 900.0 * k
        per_q = np.array([230.0 if n.startswith("u_") else 50.0 if n == "f" else 0.9 if n == "pf"
                          else 0.0 if n.startswith(("sw", "evt_")) else 10.0 + k for n in names])
        eng.ingest(ReadingBatch.from_columns(np.repeat(devices, len(codes)), np.tile(codes, len(devices)),
                                             np.tile(per_q, len(devices)), np.full(len(codes) * len(devices), ts),
                                             n_devices=area.n_meters + 1))
        eng.advance(ts + 1000.0)
    eng.snapshot()
    return time.perf_counter() - t0


async def run_daemon(cfg: Config, options: DaemonOptions | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    return await Daemon(cfg=cfg, options=options or DaemonOptions()).run()


async def _status_loop(d: Daemon) -> None:
    while True:
        systemd.status(d.status_line())
        await asyncio.sleep(10)
