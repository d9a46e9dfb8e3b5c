"""Reading one Modbus device: plan, request, decode, scale, validate, and back off when it is silent.

``ModbusDevice`` is built from (link, profile, device id, CT ratio, PT ratio). ``read()`` returns a
``DeviceRead`` with one ``Reading`` per good quantity and one ``Failure`` (with the reason) per bad one;
it never raises for a device or value problem, so one dead meter never aborts a bus round. A failed
port (``PortError``: the converter or adapter, not the device) is raised: it is not the device's
silence, and the daemon reopens the port.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from detect.quantities import UNITS
from edge.errors import PortError, ProtocolError, TransportError
from edge.modbus.link import NoReplyError, RegisterLink, RegisterReply
from edge.modbus.plan import DEFAULT_MAX_GAP, Request, one_request_per_point, plan_reads, split
from edge.modbus.profile import Point, Profile
from edge.modbus.registers import decode
from edge.modbus.values import check_value
from edge.readings import DeviceRead, Failure, Reading

__all__ = ["EXCEPTION_NAMES", "Backoff", "DeviceCounters", "ModbusDevice"]

EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "device failure",
    5: "acknowledge", 6: "device busy", 8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target did not respond",
}
# Exceptions that describe the device's register map, not its mood: a split made because of them is kept.
_PERMANENT_EXCEPTIONS = frozenset({1, 2, 3})


@dataclass(frozen=True, kw_only=True, slots=True)
class Backoff:
    """After a silent reply the device is left alone for base_s, doubling up to max_s; then one probe."""

    base_s: float = 5.0
    max_s: float = 300.0

    def __post_init__(self) -> None:
        if not 0 < self.base_s <= self.max_s:
            raise ValueError(f"back-off needs 0 < base_s <= max_s, got {self.base_s}, {self.max_s}")


@dataclass(slots=True)
class DeviceCounters:
    """Per-device totals (bytes are frame sizes of requests and replies, retries not included)."""

    reads: int = 0
    requests: int = 0
    exception_replies: int = 0
    no_replies: int = 0
    failures: int = 0          # per-quantity failures
    skipped_reads: int = 0     # reads answered from the back-off without touching the bus
    probes: int = 0
    bytes_out: int = 0
    bytes_in: int = 0


class ModbusDevice:
    """One device (TTU or master meter) behind a link."""

    def __init__(self, link: RegisterLink, profile: Profile, device_id: int, *, ct_ratio: float = 1.0,
                 pt_ratio: float = 1.0, max_gap: int | None = None, backoff: Backoff | None = None,
                 planning: Literal["coalesce", "per_quantity"] = "coalesce",
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``planning="per_quantity"`` sends one request per quantity: for devices that reject block reads."""
        # RTU: 0 is broadcast (no reply), 248..255 reserved; Modbus TCP devices often answer on 0 or 255
        lo, hi = (0, 255) if link.settings.kind == "tcp" else (1, 247)
        if not lo <= device_id <= hi:
            raise ValueError(f"device id must be {lo}..{hi} on a {link.settings.kind} link, got {device_id}")
        for name, r in (("ct_ratio", ct_ratio), ("pt_ratio", pt_ratio)):
            if not r > 0:
                raise ValueError(f"{name} must be > 0, got {r}")
        self.link, self.profile, self.device_id = link, profile, device_id
        self.ct_ratio, self.pt_ratio = float(ct_ratio), float(pt_ratio)
        self.max_gap = max_gap if max_gap is not None else (profile.max_gap if profile.max_gap is not None
                                                            else DEFAULT_MAX_GAP)
        self.backoff = backoff or Backoff()
        if planning not in ("coalesce", "per_quantity"):
            raise ValueError(f"planning must be 'coalesce' or 'per_quantity', got {planning!r}")
        self.planning = planning
        self.counters = DeviceCounters()
        self._clock = clock
        self._plans: dict[frozenset[str], list[Request]] = {}
        self._silent_since: float | None = None
        self._retry_at = 0.0
        self._delay_s = 0.0

    @property
    def silent(self) -> bool:
        return self._silent_since is not None

    def plan(self, quantities: Sequence[str] | None = None) -> list[Request]:
        """The requests a read of ``quantities`` sends (learned splits included)."""
        points = self._points(quantities)[0]
        key = frozenset(p.quantity for p in points)
        if key not in self._plans:
            self._plans[key] = (plan_reads(points, max_gap=self.max_gap) if self.planning == "coalesce"
                                else one_request_per_point(points))
        return self._plans[key]

    def _points(self, quantities: Sequence[str] | None) -> tuple[list[Point], list[str]]:
        if quantities is None:
            return list(self.profile.points), []
        have = {p.quantity: p for p in self.profile.points}
        return [have[q] for q in quantities if q in have], [q for q in quantities if q not in have]

    async def read(self, quantities: Sequence[str] | None = None, *, device: str = "master") -> DeviceRead:
        """Read ``quantities`` (default: all of the profile); ``device`` names the result's device."""
        self.counters.reads += 1
        out = DeviceRead(device)
        points, unknown = self._points(quantities)
        now_wall = self.link.event_time()
        for q in unknown:
            self._fail(out, q, f"profile {self.profile.name!r} has no register for {q!r}", now_wall)
        if not points:
            return out
        now = self._clock()
        if self._silent_since is not None:
            if now < self._retry_at:
                self.counters.skipped_reads += 1
                reason = (f"device {self.device_id} silent; backed off, next probe in {self._retry_at - now:.1f} s")
                for p in points:
                    self._fail(out, p.quantity, reason, now_wall)
                return out
            if not await self._probe(out, points):
                return out
        await self._read_plan(out, points)
        return out

    async def _probe(self, out: DeviceRead, points: list[Point]) -> bool:
        """One cheap request (the smallest point) to see whether a silent device is back."""
        self.counters.probes += 1
        p = min(self.profile.points, key=lambda q: q.count)
        probe = Request(function=p.function, address=p.address, count=p.count, points=(p,))
        try:
            await self._send(probe)
        except PortError:
            raise
        except (NoReplyError, TransportError) as exc:
            self._went_silent()
            for q in points:
                self._fail(out, q.quantity, f"{exc}; probe failed, next probe in {self._delay_s:.1f} s",
                           self.link.event_time())
            return False
        except ProtocolError:
            pass   # it answered, if oddly: the device is back
        self._silent_since, self._delay_s = None, 0.0
        return True

    def _went_silent(self) -> None:
        now = self._clock()
        if self._silent_since is None:
            self._silent_since = now
        self._delay_s = min(self.backoff.max_s, self._delay_s * 2 if self._delay_s else self.backoff.base_s)
        self._retry_at = now + self._delay_s

    async def _send(self, req: Request) -> RegisterReply:
        self.counters.requests += 1
        self.counters.bytes_out += self._frame_overhead() + 5
        try:
            reply = await self.link.read_registers(function=req.function, address=req.address, count=req.count,
                                                   device_id=self.device_id)
        except NoReplyError:
            self.counters.no_replies += 1
            raise
        if reply.exception_code is not None:
            self.counters.exception_replies += 1
            self.counters.bytes_in += self._frame_overhead() + 2
        else:
            self.counters.bytes_in += self._frame_overhead() + 2 + 2 * len(reply.registers)
        return reply

    def _frame_overhead(self) -> int:
        # RTU: id + CRC (3 bytes around the PDU); Modbus TCP: the 7-byte MBAP header
        return 7 if self.link.settings.kind == "tcp" else 3

    async def _read_plan(self, out: DeviceRead, points: list[Point]) -> None:
        key = frozenset(p.quantity for p in points)
        plan = self.plan([p.quantity for p in points])
        queue, kept, learned = list(plan), list[Request](), False
        while queue:
            req = queue.pop(0)
            try:
                reply = await self._send(req)
            except PortError:
                raise
            except (NoReplyError, TransportError) as exc:
                # a silent device: do not spend the bus on its other requests; back off instead
                self._went_silent()
                ts = self.link.event_time()
                for r in (req, *queue):
                    for p in r.points:
                        self._fail(out, p.quantity, str(exc), ts, silent=True)
                return
            except ProtocolError as exc:
                kept.append(req)
                for p in req.points:
                    self._fail(out, p.quantity, str(exc), self.link.event_time())
                continue
            code = reply.exception_code
            if code is not None:
                halves = split(req)
                if halves is not None:
                    # one bad register must not fail its neighbours: retry the halves
                    queue[0:0] = halves
                    learned = learned or code in _PERMANENT_EXCEPTIONS
                    continue
                kept.append(req)
                reason = f"exception {code:#04x} ({EXCEPTION_NAMES.get(code, 'unknown')}) reading " \
                         f"{req.address:#06x} (function {req.function})"
                self._fail(out, req.points[0].quantity, reason, reply.ts)
                continue
            kept.append(req)
            for p in req.points:
                off = p.address - req.address
                raw = decode(reply.registers[off:off + p.count], p.rtype, p.word_order)
                value = raw * p.factor(self.ct_ratio, self.pt_ratio)
                why = check_value(value, p.lo, p.hi, UNITS.get(p.quantity, ""))
                if why is None:
                    out.readings.append(Reading(out.device, p.quantity, value, reply.ts))
                else:
                    self._fail(out, p.quantity, f"{why} (raw {raw:.6g} at {p.address:#06x})", reply.ts)
        if learned:
            self._plans[key] = sorted(kept, key=lambda r: (r.function, r.address))

    def _fail(self, out: DeviceRead, quantity: str, reason: str, ts: float, *, silent: bool = False) -> None:
        self.counters.failures += 1
        out.failures.append(Failure(out.device, quantity, reason, ts, silent))
