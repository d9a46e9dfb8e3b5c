"""A DL/T 645 port as the daemon polls it: link → client → the scheduler's reader.

``build_port(bus, devices)`` makes a ``Dlt645Port`` from one ``[[bus]]`` and the devices on it (scheduler
device name -> meter or master entry with a DL/T 645 address). The port opens and closes its link; the
client and what it learned about each meter (protocol edition, missing blocks) outlive a reopen.

``Dlt645Reader`` adapts ``Dlt645Client`` to the scheduler's ``DeviceReader``: ``client.read(address,
quantities, device=id)``, which never raises for meter trouble; a read in which nobody answered
(``is_silent``) becomes the ``TransportError`` the scheduler's back-off counts. A failed port
(``PortError``) passes through: the port, not the meter, is gone. The clock is read with
``client.read_dis`` (04000101 + 04000102); time sync goes out through ``client.link.send``. Build the
client with ``retries=1``: the scheduler's back-off is the second line of retries, and every retry of
a dead meter costs a full reply deadline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from edge.config.model import BusConfig, MasterConfig, MeterConfig
from edge.dlt645 import codec
from edge.dlt645.client import Dlt645Client
from edge.dlt645.link import Link, open_link
from edge.errors import ProtocolError, TransportError
from edge.readings import DeviceRead
from edge.scheduler.capacity import (
    CLOCK_REPLIES,
    DLT645_QUANTITIES,
    LinkTiming,
    dlt645_frames_s,
    dlt645_transactions,
    transaction_wire_s,
)
from edge.scheduler.from_config import link_timing
from edge.scheduler.reader import is_silent

__all__ = ["CHINA_TZ", "Dlt645Port", "Dlt645Reader", "build_port"]

log = logging.getLogger(__name__)

CHINA_TZ = timezone(timedelta(hours=8))


class Dlt645Reader:
    """The scheduler's reader over a ``Dlt645Client``; ``addresses`` maps device id -> 12-digit address."""

    def __init__(self, client: Any, addresses: dict[str, str], timing: LinkTiming,
                 *, block_reads: dict[str, bool] | None = None) -> None:
        self._client = client
        self._addresses = dict(addresses)
        self._timing = timing
        self._blocks = dict(block_reads or {})

    def _timing_for(self, device: str) -> LinkTiming:
        blocks = self._blocks.get(device, self._timing.block_reads)
        if blocks == self._timing.block_reads:
            return self._timing
        return LinkTiming(baud=self._timing.baud, response_delay_s=self._timing.response_delay_s,
                          gap_s=self._timing.gap_s, block_reads=blocks)

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        """The transactions of ``quantities``; a quantity DL/T 645 has no read for (``t_amb`` of the default
        master plan, when the master is a DL/T 645 meter) is left out with a log line, not failed every poll."""
        block = self._timing_for(device).block_reads
        kept = [q for q in quantities if q in DLT645_QUANTITIES]
        if len(kept) < len(quantities):
            log.info("device %s: no DL/T 645 read for %s; not polled", device,
                     ", ".join(q for q in quantities if q not in DLT645_QUANTITIES))
        return [group for group, _ in dlt645_transactions(kept, block_reads=block)]

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        return transaction_wire_s(self._timing_for(device), quantities)

    def clock_estimate_s(self, device: str) -> float:
        return dlt645_frames_s(self._timing, CLOCK_REPLIES)

    async def read(self, device: str, quantities: Sequence[str]) -> DeviceRead:
        try:
            dr: DeviceRead = await self._client.read(self._addresses[device], list(quantities), device=device)
        except TimeoutError as exc:
            raise TransportError(f"meter {device!r}: no reply ({exc})") from exc
        if is_silent(dr):
            raise TransportError(f"meter {device!r}: {dr.failures[0].reason}")
        return dr

    async def read_clock(self, device: str) -> float:
        """Meter date (04000101, YYMMDDWW) and time (04000102, hhmmss) in the meter's zone, as epoch s."""
        results = await self._client.read_dis(self._addresses[device], ["04000101", "04000102"])
        if any(getattr(r, "silent", False) for r in results):
            raise TransportError(f"meter {device!r}: no reply to the clock read")
        bad = [r for r in results if r.data is None]
        if bad:
            raise ProtocolError(f"meter {device!r}: clock read {bad[0].di}: {bad[0].error}")
        date, tod = (_bcd(r.data, f"meter {device!r} DI {r.di}") for r in results)
        if len(date) < 4 or len(tod) < 3:
            raise ProtocolError(f"meter {device!r}: clock reply too short")
        # Fields arrive lowest first: WW DD MM YY and ss mm hh.
        try:
            when = datetime(2000 + date[3], date[2], date[1], tod[2], tod[1], tod[0],
                            tzinfo=getattr(self._client, "meter_tz", CHINA_TZ))
        except ValueError as exc:
            raise ProtocolError(f"meter {device!r}: clock reads an impossible time ({exc})") from None
        return when.timestamp()

    async def broadcast_time(self, ts: float) -> None:
        tz = getattr(self._client, "meter_tz", CHINA_TZ)
        await self._client.link.send(codec.encode_time_sync(datetime.fromtimestamp(ts, tz)))


def _bcd(data: bytes, what: str) -> list[int]:
    out = []
    for b in data:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise ProtocolError(f"{what}: byte {b:02X} is not BCD")
        out.append(10 * hi + lo)
    return out


class Dlt645Port:
    """One DL/T 645 port of the daemon: its link, the client over it and the scheduler's reader."""

    def __init__(self, bus: BusConfig, link: Link, client: Dlt645Client, reader: Dlt645Reader) -> None:
        self.bus, self.link, self.client, self.reader = bus, link, client, reader

    @property
    def port(self) -> str:
        return self.bus.port

    @property
    def failed(self) -> str | None:
        """Set as soon as the tty hangs up or the converter closes the connection, even between rounds."""
        err = self.link.failed
        return None if err is None else str(err)

    async def open(self) -> None:
        await self.link.open()

    async def close(self) -> None:
        await self.link.close()


def build_port(bus: BusConfig, devices: Mapping[str, MeterConfig | MasterConfig], *,
               utc_offset_s: float = 8 * 3600.0, base_dir: Path = Path("."),
               event_time: Callable[[], float] = time.time) -> Dlt645Port:
    """The port of ``bus`` reading ``devices`` (scheduler device name -> entry with its address); the
    meters' clocks are ``utc_offset_s`` ahead of UTC (``base_dir`` is not needed by DL/T 645); readings
    are stamped by ``event_time``."""
    link = open_link(bus.port, baud=bus.baud, parity=bus.parity,
                     max_response_delay_s=bus.response_delay_max_s, gap_s=bus.gap_s, event_time=event_time)
    client = Dlt645Client(link, retries=bus.retries, use_blocks=bus.block_reads == "auto",
                          meter_utc_offset_s=int(utc_offset_s))
    for name, entry in devices.items():
        if not entry.address:
            raise ValueError(f'bus "{bus.name}": device {name!r} has no DL/T 645 address')
    addresses = {name: entry.address.zfill(12) for name, entry in devices.items()}
    return Dlt645Port(bus, link, client, Dlt645Reader(client, addresses, link_timing(bus)))
