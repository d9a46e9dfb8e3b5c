"""Simulated TTU / three-phase master meter: a Modbus server serving a profile's register map.

Values come from a ``ValueSource`` at the moment a request arrives, converted back to raw registers
through the profile (engineering value / (scale × ratios), encoded as the profile's type and word
order), so a client that reads through the same profile gets the source's values back.
Faults on demand: a silent device (``faults.silent``), exception replies for chosen quantities
(``faults.exceptions``), slow replies (``faults.delay_s``); ``wire_baud`` makes replies take as
long as on a real RTU bus at that speed. Use it as an async context manager::

    async with SimulatedTtu(load_profile("dtsu666"), source, transport="tcp") as ttu:
        ...  # read from ttu.host:ttu.tcp_port, device id 1
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from edge.modbus.adapter import RegisterServer
from edge.modbus.profile import Point, Profile
from edge.modbus.registers import encode
from edge.sim.source import ValueSource
from edge.wiretime import modbus_rtu_read_time_s

__all__ = ["SimulatedTtu", "TtuFaults"]


@dataclass(slots=True)
class TtuFaults:
    """Faults switched on and off while the server runs."""

    silent: set[int] = field(default_factory=set)                    # device ids that never answer
    exceptions: dict[str, int] = field(default_factory=dict)         # quantity -> exception code
    delay_s: float = 0.0                                             # added before every reply


class SimulatedTtu:
    """One port (pty or TCP) with one or more devices that share a profile.

    ``devices`` maps device id -> device name asked from the source ("master" by default).
    Registers in gaps of at most ``fill_gap`` between mapped points read as 0, as on real meters whose
    maps are dense; anything else is an illegal address (exception 2).
    """

    def __init__(self, profile: Profile, source: ValueSource, *, devices: dict[int, str] | None = None,
                 transport: Literal["serial", "tcp"] = "tcp", port: str = "",
                 framer: Literal["rtu", "socket"] | None = None, ct_ratio: float = 1.0, pt_ratio: float = 1.0,
                 fill_gap: int = 64, baud: int = 9600, wire_baud: int | None = None,
                 turnaround_s: float = 0.01, clock: Callable[[], float] | None = None) -> None:
        self.profile, self.source = profile, source
        self.clock: Callable[[], float] = clock or time.time   # time the source is asked at (a SimClock's now)
        # A pty or loopback TCP has no baud rate: with wire_baud set, each reply waits the time the
        # transaction would take on an RTU bus at that speed (8E1, t3.5 silences, device turnaround).
        self.wire_baud, self.turnaround_s = wire_baud, turnaround_s
        self.devices = dict(devices or {1: "master"})
        self.ct_ratio, self.pt_ratio = ct_ratio, pt_ratio
        self.faults = TtuFaults()
        self.requests = 0
        self._mute: set[int] = set()
        self._readable = self._readable_ranges(fill_gap)
        self._server = RegisterServer(device_ids=sorted(self.devices), handler=self._handle, online=self._online,
                                      transport=transport, port=port, framer=framer, baud=baud, parity="N")

    def _readable_ranges(self, fill_gap: int) -> dict[int, list[tuple[int, int]]]:
        ranges: dict[int, list[tuple[int, int]]] = {}
        for p in self.profile.points:
            spans = ranges.setdefault(p.function, [])
            if spans and p.address - spans[-1][1] <= fill_gap:
                spans[-1] = (spans[-1][0], max(spans[-1][1], p.end))
            else:
                spans.append((p.address, p.end))
        return ranges

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def tcp_port(self) -> int:
        return self._server.tcp_port

    async def __aenter__(self) -> SimulatedTtu:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    def _online(self, device_id: int) -> bool:
        if device_id in self._mute:
            self._mute.discard(device_id)
            return False
        return device_id in self.devices and device_id not in self.faults.silent

    async def _handle(self, device_id: int, function: int, address: int, count: int) -> list[int] | int:
        self.requests += 1
        result = await self._answer(device_id, function, address, count)
        if self.wire_baud:
            n = len(result) if isinstance(result, list) else 0     # an exception reply is 5 bytes, like N=0
            await asyncio.sleep(modbus_rtu_read_time_s(self.wire_baud, n, slave_time_s=self.turnaround_s))
        return result

    async def _answer(self, device_id: int, function: int, address: int, count: int) -> list[int] | int:
        end = address + count
        if not any(a <= address and end <= b for a, b in self._readable.get(function, [])):
            return 2
        covered = [p for p in self.profile.points
                   if p.function == function and p.address < end and address < p.end]
        for p in covered:
            if p.quantity in self.faults.exceptions:
                return self.faults.exceptions[p.quantity]
        if self.faults.delay_s:
            await asyncio.sleep(self.faults.delay_s)
        try:
            values = self.source.values(self.devices.get(device_id, ""), [p.quantity for p in covered], self.clock())
        except LookupError:
            self._mute.add(device_id)    # absent device: its reply is dropped, the client hears nothing
            return 4
        regs = [0] * count
        for p in covered:
            if p.quantity not in values:
                return 2
            if p.address < address or p.end > end:
                return 2                 # a request that cuts a 32-bit value in half
            try:
                words = self._raw(p, values[p.quantity])
            except (struct.error, OverflowError, ValueError):
                return 4                 # the value does not fit the register type
            for i, w in enumerate(words, start=p.address - address):
                regs[i] |= w             # bit fields of one status register share it
        return regs

    def _raw(self, p: Point, value: float) -> list[int]:
        return encode(value / p.factor(self.ct_ratio, self.pt_ratio), p.rtype, p.word_order)
