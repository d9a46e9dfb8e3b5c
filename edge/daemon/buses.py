"""The daemon's buses: for every configured port with devices, the port built by its protocol module,
a ``BusScheduler`` and the ``PortSupervisor`` that keeps it polling through port faults.

Device names on the schedulers: a meter's id, and ``master:<area id>`` for an area's master; ``routes``
maps each to (area id, engine device name) for the engines. The protocol modules are listed in
``PORT_BUILDERS``: one per protocol, beside its codec.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge import portlock
from edge.config.model import BusConfig, Config, MasterConfig, MeterConfig
from edge.dlt645 import bus as dlt645_bus
from edge.modbus import bus as modbus_bus
from edge.readings import DeviceRead
from edge.scheduler import BackoffPolicy, BusScheduler, ClockPolicy, DeviceSpec
from edge.scheduler.clock import Clock
from edge.scheduler.from_config import reading_plans
from edge.scheduler.port import PortBackoff, PortEvent, PortSupervisor
from edge.scheduler.reader import DeviceReader

__all__ = ["MASTER_PREFIX", "PORT_BUILDERS", "Bus", "BusDevice", "build_buses", "bus_devices", "devices_per_area"]

MASTER_PREFIX = "master:"      # scheduler device name of an area's master: "master:<area id>"
LOCK_PROGRAM = "meterwatch run"


class ProtocolPort(Protocol):
    """A protocol module's port: ``edge.scheduler.port.Port`` plus the reader the scheduler drives."""

    reader: Any

    @property
    def port(self) -> str: ...
    @property
    def failed(self) -> str | None: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...


class PortBuilder(Protocol):
    def __call__(self, bus: BusConfig, devices: Mapping[str, MeterConfig | MasterConfig], *,
                 utc_offset_s: float, base_dir: Path, event_time: Callable[[], float]) -> ProtocolPort: ...


PORT_BUILDERS: dict[str, PortBuilder] = {
    "dlt645": dlt645_bus.build_port,
    "modbus-rtu": modbus_bus.build_port,
    "modbus-tcp": modbus_bus.build_port,
}


@dataclass(frozen=True, kw_only=True)
class BusDevice:
    name: str                          # on the scheduler
    class_name: str                    # "meter" | "master"
    area: str
    engine_name: str                   # the meter id, or "master"
    entry: MeterConfig | MasterConfig


@dataclass
class Bus:
    cfg: BusConfig
    devices: list[BusDevice]
    port: ProtocolPort
    scheduler: BusScheduler
    supervisor: PortSupervisor

    @property
    def routes(self) -> dict[str, tuple[str, str]]:
        return {d.name: (d.area, d.engine_name) for d in self.devices}



def bus_devices(cfg: Config, bus: BusConfig) -> list[BusDevice]:
    """Every configured device on ``bus``: meters, then the areas' masters."""
    out: list[BusDevice] = []
    for area in cfg.areas:
        out += [BusDevice(name=m.id, class_name="meter", area=area.id, engine_name=m.id, entry=m)
                for m in area.meters if m.bus == bus.name]
        if area.master.bus == bus.name:
            out.append(BusDevice(name=MASTER_PREFIX + area.id, class_name="master", area=area.id,
                                 engine_name="master", entry=area.master))
    return out


def devices_per_area(devices: list[BusDevice]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in devices:
        out[d.area] = out.get(d.area, 0) + 1
    return out


def build_buses(cfg: Config, out: asyncio.Queue[DeviceRead], clock: Clock, utc_offset_s: float, *,
                on_event: Callable[[PortEvent], Awaitable[None]] | None = None,
                port_backoff: PortBackoff | None = None, control: str | None = None) -> list[Bus]:
    """A supervised ``Bus`` for every configured bus that has devices. Nothing is opened here. ``control``:
    the daemon's control socket, named in its port locks (``meterwatch read`` asks the daemon there)."""
    base_dir = Path(cfg.source).parent if cfg.source else Path(".")
    plans = reading_plans(cfg, utc_offset_s)
    buses = []
    for bus in cfg.buses:
        devices = bus_devices(cfg, bus)
        if not devices:
            continue
        port = PORT_BUILDERS[bus.protocol](bus, {d.name: d.entry for d in devices}, utc_offset_s=utc_offset_s,
                                           base_dir=base_dir, event_time=clock.now)
        used = {d.class_name for d in devices}
        reader: DeviceReader = port.reader
        scheduler = BusScheduler(
            bus=bus.name, reader=reader, devices=[DeviceSpec(device=d.name, class_name=d.class_name) for d in devices],
            plans=[p for p in plans if p.class_name in used], out=out, clock=clock,
            backoff=BackoffPolicy(base_s=bus.backoff_base_s, max_s=bus.backoff_max_s),
            clock_policy=ClockPolicy(time_sync=bus.time_sync))
        supervisor = PortSupervisor(
            bus=bus.name, port=port, scheduler=scheduler, clock=clock, backoff=port_backoff, on_event=on_event,
            lock=functools.partial(portlock.acquire, bus.port, program=LOCK_PROGRAM, bus=bus.name, control=control))
        buses.append(Bus(cfg=bus, devices=devices, port=port, scheduler=scheduler, supervisor=supervisor))
    return buses
