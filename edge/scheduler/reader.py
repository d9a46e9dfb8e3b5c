"""What the bus scheduler drives: a ``DeviceReader`` per port, and adapters for our two clients.

The scheduler never speaks a protocol. It asks the reader to split a plan into transactions, how long
each takes on the wire, and then reads one transaction at a time so that a long customer round can yield
to a due master read between transactions.

Contract of ``read``:
- returns a ``DeviceRead`` with a ``Reading`` per quantity that came back (ts = reply arrival, or the
  freeze time for frozen data) and a ``Failure`` per quantity that did not;
- raises ``TransportError`` when the device did not answer at all (no reply before the deadline), which
  is what the scheduler's dead-device back-off counts. Anything else is an ordinary failed read.

The adapters import the protocol clients lazily: they live on other branches until integration, and
``edge.scheduler`` must stay importable (and testable) without them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from edge.errors import ProtocolError, TransportError
from edge.readings import DeviceRead
from edge.scheduler.capacity import (
    CLOCK_REPLIES,
    LinkTiming,
    dlt645_frames_s,
    dlt645_transactions,
    transaction_wire_s,
)

log = logging.getLogger(__name__)

__all__ = ["DeviceReader", "Dlt645Reader", "ModbusReader", "is_silent"]


@runtime_checkable
class DeviceReader(Protocol):
    """One port's devices, as the scheduler sees them."""

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        """Group ``quantities`` into transactions (one request/reply each, in reading order)."""
        ...

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        """Wire time of reading ``quantities`` from ``device`` (edge.wire formulas)."""
        ...

    def clock_estimate_s(self, device: str) -> float:
        """Wire time of one ``read_clock``."""
        ...

    async def read(self, device: str, quantities: Sequence[str]) -> DeviceRead:
        """Read one transaction; raise ``TransportError`` if the device is silent."""
        ...

    async def read_clock(self, device: str) -> float:
        """The device's clock as epoch seconds (DL/T 645: DIs 04000101 + 04000102)."""
        ...

    async def broadcast_time(self, ts: float) -> None:
        """Broadcast time sync to the whole bus (DL/T 645 08H; no reply)."""
        ...


_SILENT_MARKS = ("no reply", "timeout", "timed out", "meter silent")


def is_silent(dr: DeviceRead) -> bool:
    """True when a client's DeviceRead says nobody answered: no readings, and every failure says so.

    The DL/T 645 client prefixes the DI ("00010000: no reply within 0.93 s, 2 tries") and marks the
    items it then skips ("skipped: meter silent on 00010000"); an error reply ("ERR 02: no such data")
    or a garbled one ("bad reply ...") means the meter is there.
    """
    return not dr.readings and bool(dr.failures) and all(
        any(mark in f.reason.lower() for mark in _SILENT_MARKS) for f in dr.failures)


class Dlt645Reader:
    """Adapter over ``edge.dlt645.client.Dlt645Client``: ``await client.read(address, quantities, device=id)``.

    ``addresses`` maps device id -> 12-digit meter address. A silent meter is a DeviceRead whose every
    failure starts with "no reply" (the client never raises for meter trouble). The clock is read with
    ``client.read_dis`` (04000101 + 04000102) and time sync goes out through ``client.link.send``
    (``codec.encode_time_sync``). Build the client with ``retries=1``: the scheduler's back-off is the
    second line of retries, and every retry of a dead meter costs a full reply deadline.
    """

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
        block = self._timing_for(device).block_reads
        return [group for group, _ in dlt645_transactions(quantities, block_reads=block)]

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
        from edge.dlt645 import codec

        tz = getattr(self._client, "meter_tz", CHINA_TZ)
        await self._client.link.send(codec.encode_time_sync(datetime.fromtimestamp(ts, tz)))


CHINA_TZ = timezone(timedelta(hours=8))


def _bcd(data: bytes, what: str) -> list[int]:
    out = []
    for b in data:
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise ProtocolError(f"{what}: byte {b:02X} is not BCD")
        out.append(10 * hi + lo)
    return out


class ModbusReader:
    """Adapter over ``edge.modbus.device.ModbusDevice``: ``await dev.read(quantities, device=id)``.

    A Modbus device's plan is one call: the device coalesces registers into block reads itself. The wire
    estimate uses the device's own request plan (``dev.plan(quantities)``) when it has one, else one
    read of ``registers`` registers. Silence is the device's ``silent`` flag after a read without any
    reading. ModbusDevice also backs off on its own; under the scheduler give it a short ``Backoff`` so
    that the scheduler's probes reach the wire.
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
