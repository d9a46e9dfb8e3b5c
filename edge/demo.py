"""``meterwatch demo``: a simulated area, the real daemon, and what a subscriber sees, in ~2 minutes.

The area (edge/sim/scenarios/demo.toml) is served on pseudo-terminals (two DL/T 645 buses) and Modbus
TCP (the TTU) by the field simulator; the real daemon polls it with its schedulers, detects with the
engine and publishes through its outbox to an MQTT broker (an embedded one unless ``--broker``).
Simulated time runs ``--speed`` times faster than the wall clock (wire timing stays real). The
terminal view is built only from the MQTT messages received, as any subscriber would; at the end the
demo lists what was raised and cleared and checks the story: exit 0 when every expected alert arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from edge.config import load_config
from edge.config.model import Config, PlanConfig
from edge.demo_view import LogPane, Watch, local, render
from edge.service import Daemon, DaemonOptions
from edge.sim.broker import Broker
from edge.sim.clock import SimClock
from edge.sim.config import parse_sim_config
from edge.sim.serve import serve_area

__all__ = ["STORY", "DemoOptions", "run_demo"]

log = logging.getLogger(__name__)

SCENARIO = Path(__file__).parent / "sim" / "scenarios" / "demo.toml"

# (alert kind, must be cleared by the end) — the story the scenario tells.
STORY: tuple[tuple[str, bool], ...] = (
    ("overload", True),
    ("outage_branch", True),
    ("cover_open", False),
)

# Reading plans for the demo: the customer rounds must fit a 15-min interval at the accelerated clock
# (wire time is real), so the demo reads the essentials and sweeps tamper status every 15 min.
DEMO_PLANS = {
    "meter_interval": PlanConfig(device_class="meter", quantities=("e_fwd", "u_a", "i_a", "p", "sw7"),
                                 interval_s=900, priority=3),
    "meter_tamper": PlanConfig(device_class="meter", quantities=("evt_cover_open",), interval_s=900,
                               offset_s=450, priority=4),
}


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    broker: str | None = None
    influx_url: str | None = None
    influx_api: str = "v1"
    speed: float = 60.0
    start_h: float = 9.0          # simulated hour (UTC) the demo starts at: 17:00 in UTC+8
    end_h: float = 11.1          # 19:06 local: ~2 min 6 s at 60×
    view: str = "auto"            # "live" redraws the screen, "lines" prints events, "auto" picks by TTY
    workdir: str | None = None
    alertmanager: str | None = None   # also send the alerts to this Alertmanager (the collector's sink)
    log_level: str = "WARNING"    # into <workdir>/demo.log, never onto the screen


class _SimSchedulerClock:
    """The scheduler's clock on simulated time: ``sleep`` is shortened by the speed-up."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._clock.speed)


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[str]:
    if url:
        yield url
        return
    async with Broker() as b:
        yield b.url


def _demo_config(cfg: Config, state_dir: Path) -> Config:
    """The served area's config, adapted to the accelerated clock: wire time is real, so at 60× every
    timeout costs a minute of simulated time. The simulated meters answer within 30 ms, so the buses
    wait at most 100 ms and do not retry; dead meters are probed again after 30 s to 5 min."""
    gateway = dataclasses.replace(cfg.gateway, state_dir=str(state_dir))
    status = dataclasses.replace(cfg.status, listen="127.0.0.1:0", push_interval_s=1.0)   # the page, on a free port
    plans = {**cfg.plans, **DEMO_PLANS}
    plans.pop("meter_clock", None)
    buses = tuple(dataclasses.replace(b, response_delay_max_s=0.1, retries=0, backoff_base_s=30.0,
                                      backoff_max_s=300.0) if b.protocol == "dlt645" else b for b in cfg.buses)
    return dataclasses.replace(cfg, gateway=gateway, status=status, plans=plans, buses=buses)


def _sim_time(ts: float) -> str:
    """Simulated wall time in the area's zone (the demo area is in UTC+8)."""
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts + 8 * 3600)) + " (UTC+8)"


async def run_demo(opts: DemoOptions) -> int:
    sim_cfg = parse_sim_config(SCENARIO.read_text(encoding="utf-8"), str(SCENARIO))
    clock = SimClock(start=sim_cfg.start + opts.start_h * 3600.0, speed=opts.speed)
    end_ts = sim_cfg.start + opts.end_h * 3600.0
    work = Path(opts.workdir or tempfile.mkdtemp(prefix="meterwatch-demo-"))
    live = opts.view == "live" or (opts.view == "auto" and sys.stdout.isatty())
    work.mkdir(parents=True, exist_ok=True)
    logs = LogPane(work / "demo.log").install(opts.log_level)
    try:
        async with _broker(opts.broker) as broker_url:
            with serve_area(sim_cfg, clock=clock, out_dir=work / "field", mqtt_url=broker_url) as served:
                cfg = _demo_config(load_config(served.edge_config), work / "state")
                watch = Watch(broker_url, cfg.mqtt.topic_prefix)
                collector = (_start_collector(opts.influx_url, opts.influx_api, broker_url, cfg, work)
                             if opts.influx_url else None)
                alerts = _start_alert_sink(opts.alertmanager, broker_url, cfg, work) if opts.alertmanager else None
                daemon = Daemon(cfg=cfg, options=DaemonOptions(broker_url=broker_url, clock=_SimSchedulerClock(clock),
                                                               notify_systemd=False, step_interval_s=0.25))
                print(f"meterwatch demo: {len(served.buses)} DL/T 645 buses on "
                      f"{', '.join(b.port for b in served.buses)}, TTU on {served.ttu.port}, broker {broker_url}, "
                      f"simulated clock ×{opts.speed:g}; files in {work}", flush=True)
                task = asyncio.create_task(daemon.run(), name="daemon")
                page: str | None = None
                try:
                    while clock.now() < end_ts and not task.done():
                        await asyncio.sleep(1.0)
                        if page is None and daemon.view is not None and daemon.view.endpoints["http"]:
                            page = daemon.view.endpoints["http"]
                            if not live:
                                print(f"the gateway's status page (meterwatch status): {page}", flush=True)
                        _show(watch, clock, live, logs, page)
                finally:
                    if alerts is not None:   # before the gateway stops: its offline status is not the story
                        await asyncio.to_thread(_stop_alert_sink, alerts, work / "collector-alerts.log")
                    daemon.stop()
                    rc = await task
                await asyncio.sleep(1.0)
                if collector is not None:
                    collector.stop()
                await asyncio.to_thread(watch.close)   # not on the loop: the broker serves it
                _show(watch, clock, live, logs, None)
                rc = _summary(watch, rc)
                print(logs.summary())
                return rc
    finally:
        logs.uninstall()


def _show(watch: Watch, clock: SimClock, live: bool, logs: LogPane, page: str | None) -> None:
    if live:
        with watch.lock:
            screen = render(watch.state, sim_time=_sim_time(clock.now()), speed=clock.speed,
                            title="transformer area DEMO1", log=logs.pane())
        if page:
            screen += f"\n\n  the gateway's own status page: {page}"
        sys.stdout.write("\x1b[H\x1b[2J" + screen + "\n")
        sys.stdout.flush()
    else:
        while not watch.new_events.empty():
            print(watch.new_events.get_nowait(), flush=True)


def _summary(watch: Watch, rc: int) -> int:
    with watch.lock:
        alerts = list(watch.state.alerts.values())
        messages = dict(watch.state.messages)
        dups = watch.state.duplicates
    print("\nWhat a subscriber received:")
    print(f"  messages by kind: {', '.join(f'{k} {v}' for k, v in sorted(messages.items()))}; "
          f"duplicates {dups}")
    print(f"  {'kind':<24}{'subject':<22}{'raised (local)':<16}{'cleared (local)':<16}")
    for a in alerts:
        print(f"  {a.kind:<24}{a.subject:<22}{local(a.raised_at):<16}"
              f"{local(a.cleared_at) if a.cleared_at else '(still active)':<16}")
    missing = []
    for kind, must_clear in STORY:
        seen = [a for a in alerts if a.kind == kind]
        if not seen:
            missing.append(f"{kind} was not raised")
        elif must_clear and not any(a.cleared_at for a in seen):
            missing.append(f"{kind} was raised but not cleared")
    if rc != 0:
        missing.append(f"the daemon exited with {rc}")
    if missing:
        print("\nThe story is incomplete: " + "; ".join(missing))
        return 1
    print("\nThe story is complete: overload raised and cleared after it was talked down, the opened meter "
          "cover flagged, the branch outage raised and cleared.")
    return 0


class _CollectorHandle:
    def __init__(self, proc: Any, log_file: IO[bytes]) -> None:
        self.proc, self.log_file = proc, log_file

    def stop(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(Exception):
            self.proc.wait(10)
        self.log_file.close()


def _start_collector(influx_url: str, api: str, broker_url: str, cfg: Config, work: Path) -> _CollectorHandle:
    """Run the real collector (``meterwatch collector``) against the same broker, writing to InfluxDB."""
    import subprocess

    conf = work / "collector.toml"
    conf.write_text(
        "[mqtt]\n"
        f'url = "{broker_url}"\n'
        'client_id = "meterwatch-demo-collector"\n'
        f'topic_prefix = "{cfg.mqtt.topic_prefix}"\n'
        'dead_letter_topic = "meterwatch-demo/dead-letter"\n'
        'health_topic = "meterwatch-demo/collector-health"\n'
        "\n[influx]\n"
        f'url = "{influx_url}"\n'
        f'api = "{api}"\n'
        'database = "meterwatch"\n', encoding="utf-8")
    log_file = open(work / "collector.log", "wb")  # noqa: SIM115 - closed by _CollectorHandle.stop
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "collector", "-c", str(conf)],
                            stdout=log_file, stderr=subprocess.STDOUT)
    return _CollectorHandle(proc, log_file)


def _start_alert_sink(url: str, broker_url: str, cfg: Config, work: Path) -> _CollectorHandle:
    """The collector's Alertmanager sink (docs/alerting.md) on the demo's broker, as it is deployed:
    ``meterwatch collector --alertmanager-only``. Settings for a two-minute story: a resolve waits 10 s
    of firing instead of 40, health every second."""
    import subprocess

    (work / "area-names.csv").write_text("grid,area,name\nsim,DEMO1,演示台区 DEMO1\n", encoding="utf-8")
    conf = work / "collector-alerts.toml"
    conf.write_text(
        "[mqtt]\n"
        f'url = "{broker_url}"\n'
        'client_id = "meterwatch-demo-alerts"\n'
        f'topic_prefix = "{cfg.mqtt.topic_prefix}"\n'
        'dead_letter_topic = "meterwatch-demo/dead-letter"\n'
        'health_topic = "meterwatch-demo/collector-health"\n'
        "health_interval_s = 1.0\n"
        "\n[alertmanager]\n"
        f'url = "{url}"\n'
        "settle_s = 1.0\nmin_firing_s = 10.0\nretry_max_s = 5.0\n"
        'area_names_csv = "area-names.csv"\n', encoding="utf-8")
    log_file = open(work / "collector-alerts.log", "wb")  # noqa: SIM115 - closed by _CollectorHandle.stop
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "collector", "-c", str(conf), "--alertmanager-only"],
                            stdout=log_file, stderr=subprocess.STDOUT)
    return _CollectorHandle(proc, log_file)


def _sink_health(log: Path) -> dict[str, Any] | None:
    """The sink's last health line in its log (``alertmanager sink health|stopped {json}``)."""
    import json

    last = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        for tag in ("alertmanager sink health ", "alertmanager sink stopped "):
            if tag in line:
                last = line.split(tag, 1)[1]
    return json.loads(last) if last else None


def _stop_alert_sink(sink: _CollectorHandle, log: Path, wait_s: float = 20.0) -> None:
    """Give the sink time to post the last resolves (they wait ``min_firing_s``), stop it, report."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        snap = _sink_health(log)
        if snap and snap["phase"] == "running" and snap["pending_posts"] == 0 and snap["unacked"] == 0:
            break
        time.sleep(0.5)
    sink.stop()
    snap = _sink_health(log)
    if snap is None:
        print(f"\nAlertmanager: the sink reported nothing; see {log}", flush=True)
        return
    c = snap["counters"]
    print(f"\nAlertmanager {snap['url']}: {c.get('alerts_posted', 0)} alert states posted in {c.get('posts', 0)} "
          f"requests, {snap['active']} still active, {snap['pending_posts']} not delivered"
          + (f" (last error: {snap['last_error']})" if snap["pending_posts"] else "")
          + f"; see: amtool --alertmanager.url={snap['url']} alert query", flush=True)
