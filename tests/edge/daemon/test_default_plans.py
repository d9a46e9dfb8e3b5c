"""The daemon's engine loop on a simulated healthy area polled with the default reading plans for a whole
simulated day (issue 18): no outage or offline alert the area does not have, and a replay of exactly the
readings the daemon saw publishes the same alerts.

Below the channel, in virtual time: the daemon's own bus schedulers (``BusScheduler``, the plans of
``edge.config``'s defaults: meters every 15 min, status words hourly at +450 s, the daily freeze) over
``FakeReader`` buses at 2400 baud with the area simulator as the value source, and the daemon's
``Engines`` loop stepping the engines as readings arrive. One change to keep the test short: the
master's realtime plan polls every 60 s instead of 5 s (17 280 engine steps a day instead of 1 440; the
master's cadence does not bear on when a meter is due). What the wire and the ports add is tested
elsewhere (tests/edge/service).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from edge.config.loader import load_config_text
from edge.daemon.engines import Engines
from edge.readings import DeviceRead
from edge.replayer import replay
from edge.scheduler import BusScheduler, DeviceSpec, LinkTiming, LoopClock, VirtualTimeLoop
from edge.scheduler.fake import FakeReader
from edge.scheduler.from_config import reading_plans
from edge.sim.area import AreaSource
from edge.sim.config import load_sim_config
from edge.sim.edge_config import BusEntry, edge_config_text, meters_csv_text, recorded_ct_ratios
from wire import KINDS, Outgoing

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[3] / "edge" / "sim" / "scenarios" / "healthy.toml"
NOT_THERE = ("outage_branch", "outage_area", "outage_phase", "master_offline", "meter_offline")


class MasterAs:
    """The simulator's values under the daemon's scheduler name for the master (``master:<area>``)."""

    def __init__(self, source: AreaSource) -> None:
        self.source = source

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        return self.source.values("master" if device.startswith("master:") else device, quantities, now)


class Sink:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    async def submit_many(self, items: list[Outgoing], *, state: dict[str, bytes] | None = None) -> list[str]:
        self.items += [(m.topic, m.payload) for m in items]
        return [f"m{i}" for i in range(len(items))]


def _config(tmp: Path, customers: int) -> Any:
    cfg = load_sim_config(SCENARIO)
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=customers))
    source = AreaSource(cfg)
    net = source.sim.net
    csv = tmp / "meters.csv"
    csv.write_text(meters_csv_text(net, bus_of=["rs485-1"] * net.n, addresses=[f"{i + 1:012d}" for i in range(net.n)],
                                   ct_ratio=recorded_ct_ratios(cfg, net).tolist()), encoding="utf-8")
    text = edge_config_text(cfg, buses=[BusEntry(name="rs485-1", port="tcp://127.0.0.1:9", protocol="dlt645", baud=2400)],
                            ttu=BusEntry(name="ttu", port="tcp://127.0.0.1:10", protocol="modbus-tcp", baud=9600),
                            meters_csv=csv, mqtt_url="mqtt://127.0.0.1:1883", state_dir=tmp / "state", speed=1)
    edge = load_config_text(text, str(tmp / "edge.toml"), tmp)
    plans = dict(edge.plans)
    plans["master_realtime"] = dataclasses.replace(plans["master_realtime"], interval_s=60.0, deadline_s=60.0)
    return cfg, source, dataclasses.replace(edge, plans=plans)


def test_a_day_of_default_plans_raises_nothing_the_area_does_not_have(tmp_path: Path) -> None:
    sim_cfg, source, cfg = _config(tmp_path, customers=20)
    area_id = cfg.areas[0].id
    offset = cfg.areas[0].detection.utc_offset_s
    plans = reading_plans(cfg, offset)
    meters = [DeviceSpec(device=m.id, class_name="meter") for m in cfg.areas[0].meters]
    master = [DeviceSpec(device=f"master:{area_id}", class_name="master")]
    sink = Sink()
    seen: list[DeviceRead] = []

    async def main() -> Engines:
        loop = asyncio.get_running_loop()
        clock = LoopClock(sim_cfg.start + 1.0 - loop.time())
        engines = Engines(cfg, clock)
        engines.build(sink, lambda _key: None)
        engines.add_routes({**{m.device: (area_id, m.device) for m in meters}, master[0].device: (area_id, "master")})
        tasks = []
        for name, devices, timing in (("rs485-1", meters, LinkTiming(baud=2400)), ("ttu", master, LinkTiming(baud=9600))):
            reader = FakeReader(clock, timing, source=MasterAs(source))
            used = {d.class_name for d in devices}
            sched = BusScheduler(bus=name, reader=reader, devices=devices, plans=[p for p in plans if p.class_name in used],
                                 out=engines.queue, clock=clock)
            tasks.append(loop.create_task(sched.run()))
        original = engines.drain

        def drain(first: DeviceRead | None = None) -> int:
            if first is not None:
                seen.append(first)
            seen.extend(list(engines.queue._queue))     # what the engines are about to take
            return original(first)

        engines.drain = drain  # type: ignore[method-assign]
        tasks.append(loop.create_task(engines.run(wait_s=1.0, after_step=lambda: None)))
        await clock.sleep(86400.0)
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        return engines

    loop = VirtualTimeLoop()
    try:
        engines = loop.run_until_complete(main())
    finally:
        loop.close()
    alerts = [p for _t, p in sink.items if p["schema"] == KINDS["alert"].tag]
    status = [r.ts for d in seen for r in d.readings if r.quantity == "sw4" and r.ts > sim_cfg.start + 3600]
    assert status and all(abs((ts - sim_cfg.start) % 3600 - 450) < 120 for ts in status)   # at +450 s
    assert len([p for _t, p in sink.items if p["schema"] == KINDS["interval"].tag]) >= 90
    assert not [a for a in alerts if a["kind"] in NOT_THERE], [a["message"] for a in alerts if a["kind"] in NOT_THERE]
    assert engines.counters["engine_step_errors"] == 0
    # the same readings replayed: the same alerts
    csv = tmp_path / "readings.csv"
    with open(csv, "w", encoding="utf-8") as f:
        f.write("ts,device,quantity,value\n")
        rows = sorted((r.ts, "master" if r.device.startswith("master:") else r.device, r.quantity, r.value)
                      for d in seen for r in d.readings)
        f.writelines(f"{ts!r},{dev},{q},{v!r}\n" for ts, dev, q, v in rows)
    area_toml = tmp_path / "area.toml"
    area_toml.write_text("", encoding="utf-8")
    from edge.area import build_area

    area = build_area(cfg.areas[0], cfg.gateway.grid)
    params = engines.runners[area_id].params
    out = io.StringIO()
    got: list[dict[str, Any]] = []
    replay(area, params, csv, out, on_message=lambda _t, p: got.append(p) if p["schema"] == KINDS["alert"].tag else None)
    live = [(a["kind"], a["state"], a["subject"]["id"]) for a in alerts]
    assert [(a["kind"], a["state"], a["subject"]["id"]) for a in got] == live
