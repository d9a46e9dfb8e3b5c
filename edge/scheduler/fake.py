"""An in-process DL/T 645 bus below the channel: for scheduler tests and ``bench/bus.py --fake``.

``FakeReader`` implements ``DeviceReader`` by sleeping for the wire time ``edge.wiretime`` computes for each
transaction (a dead meter costs the no-reply deadline instead) and returning values from a
``ValueSource``. It never touches a port; the real path is the DL/T 645 client over a pty against the
simulated meter bus. Devices can be made dead, slow or clock-skewed while a test runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from edge.errors import TransportError
from edge.readings import DeviceRead, Failure, Reading
from edge.scheduler.capacity import (
    CLOCK_REPLIES,
    DI_BYTES,
    DLT645_QUANTITIES,
    LinkTiming,
    dlt645_frames_s,
    dlt645_transactions,
    transaction_wire_s,
)
from edge.scheduler.clock import Clock
from edge.sim.source import ValueSource
from edge.wiretime import byte_time_s, dlt645_frame_bytes, dlt645_reply_deadline_s

__all__ = ["FakeReader", "Transaction", "WaveSource"]


class WaveSource:
    """Deterministic plausible values: a slow sine per quantity, distinct per device."""

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        phase = sum(map(ord, device)) % 97
        return {q: 100.0 + 10.0 * math.sin(now / 600.0 + phase + i) for i, q in enumerate(quantities)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Transaction:
    """One transaction the fake bus carried (for assertions and bench figures)."""

    device: str
    quantities: tuple[str, ...]
    start: float
    end: float
    answered: bool
    wire_s: float        # the computed wire time of the request/reply when answered


class FakeReader:
    """A DL/T 645 bus of meters, simulated below the channel (see module doc)."""

    def __init__(self, clock: Clock, timing: LinkTiming | None = None, *, source: ValueSource | None = None,
                 log_limit: int = 1_000_000) -> None:
        self.clock = clock
        self.timing = timing or LinkTiming()
        self.source: ValueSource = source or WaveSource()
        self.dead: set[str] = set()
        self.slow_s: dict[str, float] = {}     # extra response delay per device
        self.drift_s: dict[str, float] = {}    # meter clock minus true time
        self.log: list[Transaction] = []
        self.broadcasts: list[float] = []
        self._log_limit = log_limit
        self._busy = False

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        """As the DL/T 645 reader: quantities DL/T 645 has no read for are left out."""
        kept = [q for q in quantities if q in DLT645_QUANTITIES]
        return [g for g, _ in dlt645_transactions(kept, block_reads=self.timing.block_reads)]

    def no_reply_s(self) -> float:
        """What a silent meter costs: the client's reply deadline for a 4-byte value, then the idle gap."""
        return (dlt645_reply_deadline_s(self.timing.baud, dlt645_frame_bytes(DI_BYTES), DI_BYTES + 4)
                + self.timing.gap_s)

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        return transaction_wire_s(self.timing, quantities)

    def clock_estimate_s(self, device: str) -> float:
        return dlt645_frames_s(self.timing, CLOCK_REPLIES)

    async def _transact(self, device: str, quantities: tuple[str, ...], wire_s: float) -> float:
        if self._busy:
            raise RuntimeError("two transactions at once on one half-duplex bus")
        self._busy = True
        start = self.clock.now()
        try:
            if device in self.dead:
                await self.clock.sleep(self.no_reply_s())
                self._record(Transaction(device=device, quantities=quantities, start=start,
                                         end=self.clock.now(), answered=False, wire_s=0.0))
                raise TransportError(f"meter {device!r}: no reply within {self.no_reply_s():.2f} s")
            await self.clock.sleep(wire_s + self.slow_s.get(device, 0.0))
            end = self.clock.now()
            self._record(Transaction(device=device, quantities=quantities, start=start, end=end, answered=True,
                                     wire_s=wire_s))
            return end
        finally:
            self._busy = False

    def _record(self, t: Transaction) -> None:
        if len(self.log) < self._log_limit:
            self.log.append(t)

    async def read(self, device: str, quantities: Sequence[str]) -> DeviceRead:
        qs = tuple(quantities)
        ts = await self._transact(device, qs, self.estimate_s(device, qs))
        try:
            values = self.source.values(device, qs, ts)
        except LookupError as exc:
            raise TransportError(f"meter {device!r}: no reply ({exc})") from exc
        dr = DeviceRead(device=device)
        for q in qs:
            if q not in values:
                dr.failures.append(Failure(device=device, quantity=q, reason="ERR 02: no such data", ts=ts))
            elif q == "e_fwd_daily":   # frozen data carries its freeze time: the last local midnight
                dr.readings.append(Reading(device=device, quantity=q, value=values[q], ts=ts - ts % 86_400))
            else:
                dr.readings.append(Reading(device=device, quantity=q, value=values[q], ts=ts))
        return dr

    async def read_clock(self, device: str) -> float:
        ts = await self._transact(device, (), self.clock_estimate_s(device))
        return float(math.floor(ts + self.drift_s.get(device, 0.0)))   # meters report whole seconds

    async def broadcast_time(self, ts: float) -> None:
        # 08H frame with 6 data bytes, no reply; every live meter takes the time.
        await self.clock.sleep(dlt645_frame_bytes(6) * byte_time_s(self.timing.baud) + self.timing.gap_s)
        self.broadcasts.append(ts)
        for dev in list(self.drift_s):
            if dev not in self.dead:
                self.drift_s[dev] = 0.0
