"""The edge daemon (``meterwatch run``): schedulers → queue → engines → outbox → MQTT.

A thin composition of the parts in ``edge.daemon``. Start order is sink first: the publisher (outbox +
MQTT), then the engines (restored from the outbox's saved state and warmed up), then the buses: each
port is opened by its own supervisor, so a port that is missing at start-up (or fails later) is
retried on its own while everything else runs, and raises the gateway alert ``port_unavailable``.
Stop order is the reverse, with a bounded flush: supervisors are cancelled (closing their ports), what
the schedulers already delivered is fed to the engines, a last step stores the engines' state, and the
publisher flushes for at most ``flush_timeout_s``; whatever is left stays in the outbox for the next start.
A stop that hangs anyway (``stop_bound_s``) writes every thread's stack to the log and exits 1.
``systemd``: READY=1 after the kernels are warm, WATCHDOG=1 from the engine loop while it is healthy,
STATUS= a one-line state, STOPPING=1 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import signal
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edge import portlock, systemd
from edge.config.model import Config
from edge.daemon.buses import Bus, build_buses, bus_devices, devices_per_area
from edge.daemon.engines import Engines
from edge.daemon.health import Health, Watchdog, status_loop
from edge.daemon.port_alerts import STATE_KEY, PortAlerts
from edge.daemon.publishing import build_publisher
from edge.daemon.warmup import warm_up
from edge.publish.health import run_health
from edge.publish.publisher import Publisher
from edge.scheduler.clock import Clock, WallClock
from edge.scheduler.port import PortBackoff
from edge.stacks import stack_file
from edge.status.service import StatusService, control_socket_path, read_token

__all__ = ["Daemon", "DaemonOptions", "run_daemon"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DaemonOptions:
    broker_url: str | None = None           # overrides [mqtt].url (demo, tests)
    flush_timeout_s: float = 5.0
    step_interval_s: float = 1.0            # how often engines advance on event time (real seconds)
    clock: Clock | None = None              # event time and scheduling (now/sleep); default: the wall clock
    on_step: Callable[[Daemon], None] | None = None   # called after every engine step (demo view)
    notify_systemd: bool = True
    port_backoff: PortBackoff | None = None  # reopening unavailable ports; default 1 s doubling to 60 s
    # after SIGTERM/SIGINT, a process not gone within this many seconds writes every thread's stack to stderr
    # and exits 1 (faulthandler): a stop that hangs ends, says where, before systemd's SIGKILL
    # (TimeoutStopSec=30s) would end it silently. The outbox is as safe as after a SIGKILL: what was
    # accepted is on disk. None (in-process use): no bound. `meterwatch run`: flush timeout + STOP_GRACE_S.
    stop_bound_s: float | None = None


STOP_GRACE_S = 15.0     # the stop's bound beyond the flush timeout: closing ports, saving state, disconnecting
CANCEL_AGAIN_S = 2.0    # a task not ended this long after its cancel is cancelled again (``_cancel``)


@dataclass
class Daemon:
    cfg: Config
    options: DaemonOptions
    publisher: Publisher | None = None
    engines: Engines | None = None
    buses: list[Bus] = field(default_factory=list)
    port_alerts: PortAlerts | None = None
    health: Health | None = None
    view: StatusService | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.clock: Clock = self.options.clock or WallClock()

    @property
    def state(self) -> str:
        return self.health.state if self.health else "starting"

    async def _start(self) -> None:
        """Publisher, engines (warm, restored), buses: everything built, nothing polling yet."""
        cfg, options = self.cfg, self.options
        self.publisher = publisher = build_publisher(cfg, broker_url=options.broker_url,
                                                     flush_timeout_s=options.flush_timeout_s)
        await publisher.start()
        assert publisher.outbox is not None
        warm_s = await asyncio.to_thread(warm_up)
        from detect import describe_backend

        log.info("kernels ready in %.2f s (%s)", warm_s, describe_backend())
        self.engines = engines = Engines(cfg, self.clock, step_interval_s=options.step_interval_s)
        engines.build(publisher, publisher.outbox.load_state)
        devices_on = {b.name: devices_per_area(bus_devices(cfg, b)) for b in cfg.buses}
        self.port_alerts = alerts = PortAlerts(gateway=cfg.gateway.id, topic_prefix=cfg.mqtt.topic_prefix,
                                               runners=engines.runners, sink=publisher, devices_on=devices_on)
        await alerts.restore(publisher.outbox.load_state(STATE_KEY), self.clock.now())
        tz = zoneinfo.ZoneInfo(cfg.gateway.timezone)
        utc_offset_s = datetime.now(tz).utcoffset().total_seconds()  # type: ignore[union-attr]
        self.buses = build_buses(cfg, engines.queue, self.clock, utc_offset_s, on_event=alerts.on_event,
                                 port_backoff=options.port_backoff, control=control_socket_path(cfg))
        for b in self.buses:
            engines.add_routes(b.routes)
        self.health = Health(engines, publisher, lambda: [b.supervisor.telemetry() for b in self.buses],
                             lambda: {"ports_offline": sum(not b.supervisor.online for b in self.buses)})
        self.health.n_buses = len(self.buses)
        self.view = StatusService(self, token=read_token(cfg))   # control socket, page, /metrics
        await self.view.start()

    def _tasks(self) -> list[asyncio.Task[Any]]:
        assert self.engines is not None and self.health is not None and self.publisher is not None
        options, health, engines = self.options, self.health, self.engines
        watchdog = Watchdog(enabled=options.notify_systemd, healthy=health.healthy)

        def after_step() -> None:
            if options.on_step is not None:
                options.on_step(self)
            watchdog.after_step()

        tasks = [asyncio.create_task(engines.run(wait_s=watchdog.wait_s(options.step_interval_s),
                                                 after_step=after_step), name="engines"),
                 asyncio.create_task(run_health(self.publisher, health.telemetry,
                                                interval_s=self.cfg.publish.health_interval_s,
                                                clock=self.clock.now), name="health")]
        tasks += [asyncio.create_task(b.supervisor.run(), name=f"bus {b.cfg.name}") for b in self.buses]
        if self.view is not None:
            tasks.append(asyncio.create_task(self.view.run(), name="gateway view"))
        if options.notify_systemd:
            tasks.append(asyncio.create_task(status_loop(health), name="status"))
        return tasks

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT or ``stop()``; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig)
        tasks: list[asyncio.Task[Any]] = []
        instance = portlock.hold_state_dir(Path(self.cfg.gateway.state_dir))   # one daemon per gateway
        try:
            await self._start()
            assert self.health is not None
            self.health.state = "running"
            if self.options.notify_systemd:
                systemd.ready(self.health.status_line())
            tasks = self._tasks()
            stop = asyncio.create_task(self.stop_event.wait(), name="stop")
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stop and t.exception() is not None:
                    log.error("task %s failed: %s", t.get_name(), t.exception())
                    raise t.exception()  # type: ignore[misc]
            return 0
        finally:
            await self._shutdown(tasks)
            instance.release()

    async def _shutdown(self, tasks: list[asyncio.Task[Any]]) -> None:
        if self.health is not None:
            self.health.state = "stopping"
        if self.options.notify_systemd:
            systemd.stopping()
        await _cancel(list(reversed(tasks)))   # the supervisors close their ports and give back the port locks
        log.info("stopping: ports closed, %d tasks ended", len(tasks))
        if self.engines is not None:
            with contextlib.suppress(Exception):
                await self.engines.step(force_snapshot=True)
            log.info("stopping: engine state saved")
        if self.publisher is not None:
            flushed = await self.publisher.stop(self.options.flush_timeout_s)
            log.info("stopped; outbox %s", "empty" if flushed else "kept for the next start")

    def _on_signal(self, sig: signal.Signals) -> None:
        if not self.stop_event.is_set():
            bound = self.options.stop_bound_s
            log.info("%s: stopping (publishing for at most %.0f s, then the rest stays in the outbox)%s",
                     sig.name, self.options.flush_timeout_s,
                     "" if bound is None else f"; not stopped in {bound:.0f} s: stacks to the log and exit 1")
            if bound is not None:
                faulthandler.dump_traceback_later(bound, exit=True, file=stack_file())
                asyncio.get_running_loop().call_later(max(bound - 2.0, 0.0), _log_stuck_tasks, bound - 2.0)
        self.stop_event.set()

    def stop(self) -> None:
        self.stop_event.set()


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until all have ended. A task still running ``CANCEL_AGAIN_S`` after its
    cancel had it swallowed below it — ``asyncio.wait_for`` on Python 3.11 returns the result when the
    awaited operation completes in the cancel's loop iteration, and pymodbus connects and reads through it
    (a Modbus TCP port opening as SIGTERM came went on polling, and the stop waited for ever) — and is
    cancelled again."""
    for t in tasks:
        t.cancel()
    pending = {t for t in tasks if not t.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=CANCEL_AGAIN_S)
        for t in pending:
            log.warning("stopping: task %s went on after its cancel; cancelled again", t.get_name())
            t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _log_stuck_tasks(after_s: float) -> None:
    """What each task of a stop that has not ended awaits (faulthandler's thread stacks do not show the
    coroutines: a task waiting on a worker thread shows there only as the loop's ``select``)."""
    lines: list[str] = []
    for task in asyncio.all_tasks():
        frames: list[str] = []
        aw: Any = task.get_coro()
        while aw is not None:                 # the await chain, outermost first (get_stack gives one frame)
            f = getattr(aw, "cr_frame", None) or getattr(aw, "gi_frame", None)
            if f is not None:
                frames.append(f"{Path(f.f_code.co_filename).name}:{f.f_lineno} in {f.f_code.co_name}")
            aw = getattr(aw, "cr_await", None) or getattr(aw, "gi_yieldfrom", None)
        lines.append(f"  task {task.get_name()}: " + " -> ".join(frames))
    log.error("still stopping after %.0f s; the tasks await:\n%s", after_s, "\n".join(lines))


async def run_daemon(cfg: Config, options: DaemonOptions | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    return await Daemon(cfg=cfg, options=options or DaemonOptions()).run()
