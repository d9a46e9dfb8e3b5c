"""A Modbus port (RTU on a serial port, RTU over TCP, Modbus TCP) as the daemon polls it.

``build_port(bus, devices, base_dir=...)`` makes a ``ModbusPort`` from one ``[[bus]]`` and the masters on it
(scheduler device name -> ``MasterConfig`` with profile, device id and ratios): one ``ModbusLink`` and a
``ModbusDevice`` per master. The port opens and closes the link; devices keep their learned request plans.

``ModbusReader`` adapts ``ModbusDevice`` to the scheduler's ``DeviceReader``: one ``dev.read(quantities,
device=id)`` per plan (the device coalesces registers itself); a read with no readings while the device
is ``silent`` becomes the ``TransportError`` the scheduler's back-off counts; a failed port
(``PortError``) passes through. The devices are given a 1 s back-off of their own: the scheduler is the
one that backs a silent device off, and its probes must reach the wire.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from edge.config.model import BusConfig, MasterConfig, MeterConfig
from edge.errors import TransportError
from edge.modbus.adapter import ModbusLink
from edge.modbus.device import Backoff, ModbusDevice
from edge.modbus.link import LinkSettings, parse_port
from edge.modbus.profile import load_profile
from edge.readings import DeviceRead
from edge.scheduler.capacity import LinkTiming, transaction_wire_s
from edge.scheduler.from_config import link_timing
from edge.scheduler.reader import is_silent

__all__ = ["ModbusPort", "ModbusReader", "build_port"]

log = logging.getLogger(__name__)

DEVICE_BACKOFF = Backoff(base_s=1.0, max_s=1.0)


class ModbusReader:
    """The scheduler's reader over ``ModbusDevice`` objects (device id -> device).

    The wire estimate uses the device's own request plan (``dev.plan(quantities)``) when it has one,
    else one read of ``registers`` registers.
    """

    def __init__(self, devices: dict[str, Any], timing: LinkTiming, *, registers: int = 60) -> None:
        self._devices = dict(devices)
        self._timing = timing
        self._registers = registers

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        """One transaction with the plan's quantities that the device's profile has; the others (e.g.
        ``i_n`` on a meter without a neutral CT) are left out once, with a log line, instead of failing
        every poll."""
        profile = getattr(self._devices.get(device), "profile", None)
        have = set(getattr(profile, "quantities", ()) or ())
        if not have:
            return [tuple(quantities)]
        kept = tuple(q for q in quantities if q in have)
        missing = [q for q in quantities if q not in have]
        if missing:
            log.info("device %s: profile %s has no register for %s; not polled", device,
                     getattr(profile, "name", "?"), ", ".join(missing))
        return [kept] if kept else []

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        plan = getattr(self._devices.get(device), "plan", None)
        if callable(plan):
            requests = plan(list(quantities))
            if requests:
                return sum(transaction_wire_s(self._timing, quantities, modbus_registers=int(r.count))
                           for r in requests)
        return transaction_wire_s(self._timing, quantities, modbus_registers=self._registers)

    def clock_estimate_s(self, device: str) -> float:
        return transaction_wire_s(self._timing, (), modbus_registers=4)

    async def read(self, device: str, quantities: Sequence[str]) -> DeviceRead:
        dev = self._devices[device]
        try:
            dr: DeviceRead = await dev.read(list(quantities), device=device)
        except TimeoutError as exc:
            raise TransportError(f"device {device!r}: no reply ({exc})") from exc
        if not dr.readings and dr.failures and (getattr(dev, "silent", False) is True or is_silent(dr)):
            raise TransportError(f"device {device!r}: {dr.failures[0].reason}")
        return dr

    async def read_clock(self, device: str) -> float:
        raise NotImplementedError(f"device {device!r}: Modbus profiles have no clock register map yet")

    async def broadcast_time(self, ts: float) -> None:
        raise NotImplementedError("Modbus has no broadcast time sync")


class ModbusPort:
    """One Modbus port of the daemon: its link, the devices behind it and the scheduler's reader."""

    def __init__(self, bus: BusConfig, link: ModbusLink, reader: ModbusReader) -> None:
        self.bus, self.link, self.reader = bus, link, reader

    @property
    def port(self) -> str:
        return self.bus.port

    @property
    def failed(self) -> str | None:
        """Never set: a lost connection shows at the next request (``PortError``), and masters are polled
        every few seconds."""
        return None

    async def open(self) -> None:
        await self.link.connect()

    async def close(self) -> None:
        self.link.close()


def link_settings(bus: BusConfig) -> LinkSettings:
    host, tcp_port = parse_port(bus.port)
    kind: Literal["rtu", "rtu-tcp", "tcp"] = (
        "tcp" if bus.protocol == "modbus-tcp" else "rtu" if tcp_port is None else "rtu-tcp")
    return LinkSettings(kind=kind, port=host, tcp_port=tcp_port or 502, baud=bus.baud, parity=bus.parity,
                        stopbits=bus.stopbits, timeout_s=bus.timeout_s, retries=bus.retries)


def build_port(bus: BusConfig, devices: Mapping[str, MeterConfig | MasterConfig], *,
               utc_offset_s: float = 0.0, base_dir: Path = Path("."),
               event_time: Callable[[], float] = time.time) -> ModbusPort:
    """The port of ``bus`` reading ``devices`` (scheduler device name -> the master's entry); profile
    paths are relative to ``base_dir`` (the configuration's directory; Modbus needs no ``utc_offset_s``);
    readings are stamped by ``event_time``."""
    link = ModbusLink(link_settings(bus), event_time=event_time)
    readers: dict[str, ModbusDevice] = {}
    for name, entry in devices.items():
        if not isinstance(entry, MasterConfig):
            raise ValueError(f'bus "{bus.name}" ({bus.protocol}): device {name!r} is a DL/T 645 meter')
        prof = entry.profile
        path = base_dir / prof if ("/" in prof or prof.endswith(".toml")) and not Path(prof).is_absolute() else prof
        readers[name] = ModbusDevice(link, load_profile(path), entry.device_id, ct_ratio=entry.ct_ratio,
                                     pt_ratio=entry.pt_ratio, backoff=DEVICE_BACKOFF)
    return ModbusPort(bus, link, ModbusReader(readers, link_timing(bus)))
