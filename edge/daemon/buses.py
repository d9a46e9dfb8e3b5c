"""The daemon's buses: one scheduler per configured port that has devices, with its link.

Device names on the schedulers: a meter's id, and ``master:<area id>`` for an area's master; ``routes``
maps each to (area id, engine device name) for the engines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge.config.model import BusConfig, Config
from edge.readings import DeviceRead
from edge.scheduler.clock import Clock

__all__ = ["MASTER_PREFIX", "Bus", "build_buses"]

MASTER_PREFIX = "master:"      # scheduler device name of an area's master: "master:<area id>"


@dataclass
class Bus:
    cfg: BusConfig
    scheduler: Any
    link: Any
    client: Any = None
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)


def build_buses(cfg: Config, out: asyncio.Queue[DeviceRead], clock: Clock, utc_offset_s: float) -> list[Bus]:
    """A ``Bus`` for every configured bus some area uses."""
    return [_build_bus(cfg, bus, out, clock, utc_offset_s) for bus in cfg.buses
            if any(a.master.bus == bus.name or any(m.bus == bus.name for m in a.meters) for a in cfg.areas)]


def _build_bus(cfg: Config, bus: BusConfig, out: asyncio.Queue[DeviceRead], clock: Clock,
               utc_offset_s: float) -> Bus:
    from edge.scheduler import (
        BackoffPolicy,
        BusScheduler,
        ClockPolicy,
        DeviceSpec,
        Dlt645Reader,
        ModbusReader,
    )
    from edge.scheduler.from_config import link_timing, reading_plans

    specs: list[Any] = []
    routes: dict[str, tuple[str, str]] = {}
    plans = reading_plans(cfg, utc_offset_s)
    if bus.protocol == "dlt645":
        from edge.dlt645.client import Dlt645Client
        from edge.dlt645.link import open_link

        link: Any = open_link(bus.port, baud=bus.baud, parity=bus.parity,
                              max_response_delay_s=bus.response_delay_max_s, gap_s=bus.gap_s)
        client = Dlt645Client(link, retries=bus.retries, use_blocks=bus.block_reads == "auto",
                              meter_utc_offset_s=int(utc_offset_s))
        addresses: dict[str, str] = {}
        for area in cfg.areas:
            for m in area.meters:
                if m.bus == bus.name:
                    addresses[m.id] = m.address.zfill(12)
                    specs.append(DeviceSpec(device=m.id, class_name="meter"))
                    routes[m.id] = (area.id, m.id)
            if area.master.bus == bus.name:
                name = MASTER_PREFIX + area.id
                addresses[name] = area.master.address.zfill(12)
                specs.append(DeviceSpec(device=name, class_name="master"))
                routes[name] = (area.id, "master")
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
        base = Path(cfg.source).parent if cfg.source else Path(".")
        for area in cfg.areas:
            if area.master.bus != bus.name:
                continue
            prof = area.master.profile
            path = base / prof if ("/" in prof or prof.endswith(".toml")) and not Path(prof).is_absolute() else prof
            name = MASTER_PREFIX + area.id
            devices[name] = ModbusDevice(modbus_link, load_profile(path), area.master.device_id,
                                         ct_ratio=area.master.ct_ratio, pt_ratio=area.master.pt_ratio)
            specs.append(DeviceSpec(device=name, class_name="master"))
            routes[name] = (area.id, "master")
        reader = ModbusReader(devices, link_timing(bus))
        link = modbus_link
        plans = [p for p in plans if p.class_name == "master"]
    used = {s.class_name for s in specs}
    plans = [p for p in plans if p.class_name in used]
    scheduler = BusScheduler(
        bus=bus.name, reader=reader, devices=specs, plans=plans, out=out, clock=clock,
        backoff=BackoffPolicy(base_s=bus.backoff_base_s, max_s=bus.backoff_max_s),
        clock_policy=ClockPolicy(time_sync=bus.time_sync))
    return Bus(cfg=bus, scheduler=scheduler, link=link, client=client, routes=routes)
