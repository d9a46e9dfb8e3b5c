"""A simulated RS-485 bus of DL/T 645 meters on one pseudo-terminal or TCP port.

Each meter answers only requests addressed to it (wildcard AA bytes match anything; 13H on the
all-AA address is answered by every 2007 meter, so several meters collide as on a real bus) and is
silent otherwise. The wire is emulated: a request takes its bytes x 11/baud to arrive, the meter waits
its response delay, and the reply is delivered when its last byte would have left the wire.

Per-meter quirks: no FE preamble, no block reads, 1997 protocol, replies split into follow-up frames.
Faults on demand (``set_fault``): no answer, bit errors at a rate, truncated frame, garbage before
the frame, late answer. Values come from a ``ValueSource``.

In-process use (tests, benches, the area simulator)::

    bus = MeterBus([SimMeter(address="000000000001")], StaticSource(), baud=2400)
    with bus.serving(pty_device_path):      # or "tcp://127.0.0.1:0" (see bus.url)
        ...
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from edge.dlt645 import codec
from edge.dlt645.catalog import Catalog, Item, load_catalog
from edge.dlt645.codec import Frame
from edge.sim._busio import serve
from edge.sim.source import ValueSource
from edge.wiretime import byte_time_s

__all__ = ["FAULT_KINDS", "BusStats", "Fault", "MeterBus", "Reply", "SimMeter"]

FAULT_KINDS = ("no_answer", "bit_errors", "truncate", "garbage", "late")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimMeter:
    address: str                      # 12 digits
    device: str | None = None         # id asked of the value source (default: the address)
    protocol: str = "2007"            # "2007" | "1997"
    preamble_fe: int = 4              # 0 = the "no FE preamble" quirk
    block_reads: bool = True          # False = answers FF DIs with ERR 02
    response_delay_s: float = 0.1     # 20..500 ms in the standard
    followup_chunk: int | None = None  # split replies with more data bytes than this into follow-ups

    def __post_init__(self) -> None:
        if not 0.0 <= self.response_delay_s <= 5.0:
            raise ValueError(f"meter {self.address}: response delay {self.response_delay_s} s")
        if self.protocol not in ("2007", "1997"):
            raise ValueError(f"meter {self.address}: protocol {self.protocol!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    kind: str                 # one of FAULT_KINDS
    probability: float = 1.0  # share of replies it hits
    rate: float = 1e-3        # bit_errors: flip probability per bit
    late_s: float = 1.5       # late: extra delay, past any sane deadline
    garbage_bytes: int = 8

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault {self.kind!r} is not one of {FAULT_KINDS}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    data: bytes
    after_s: float          # from the end of the request on the wire to the last reply byte


@dataclass(slots=True)
class BusStats:
    requests: int = 0
    replies: int = 0
    silent: int = 0
    collisions: int = 0
    faults: dict[str, int] = field(default_factory=dict)


class MeterBus:
    """Many simulated meters behind one port. ``respond()`` is the sans-I/O core; ``serving()`` the I/O."""

    def __init__(self, meters: Sequence[SimMeter], source: ValueSource, *, baud: int = 2400,
                 catalog: Catalog | None = None, seed: int = 0, utc_offset_s: int = 8 * 3600,
                 echo: bool = False, clock: Callable[[], float] | None = None) -> None:
        self.meters = {m.address.rjust(12, "0"): m for m in meters}
        self.source = source
        self.baud = baud
        self.catalog = catalog or load_catalog()
        self.tz = timezone(timedelta(seconds=utc_offset_s))
        self.echo = echo      # like 2-wire adapters that hear their own transmission
        # The meters' time (values asked of the source, meter clock, freeze time); a SimClock's
        # ``now`` in serve mode. Wire timing never follows it.
        self.clock: Callable[[], float] = clock or time.time
        self.stats = BusStats()
        self._faults: dict[str, Fault] = {}
        self._followups: dict[str, tuple[str, list[bytes]]] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.url: str | None = None

    def set_fault(self, address: str, fault: Fault | None) -> None:
        """Inject (or with None clear) a fault on one meter's replies."""
        with self._lock:
            if fault is None:
                self._faults.pop(address, None)
            else:
                self._faults[address] = fault

    # ---- the meters' logic (sans-I/O) ----------------------------------------------------------------------

    def respond(self, req: Frame, now: float) -> Reply | None:
        """The bus's answer to one request frame at the meters' time ``now``; None = silence."""
        with self._lock:
            self.stats.requests += 1
            if req.is_reply or req.address == codec.BROADCAST:
                self.stats.silent += 1
                return None
            replies: list[Reply] = []
            for addr, m in self.meters.items():
                if all(r in ("A", a) for r, a in zip(req.address, addr, strict=True)):
                    r = self._meter_reply(m, req, now)
                    r = self._apply_fault(addr, r) if r is not None else None
                    if r is not None:
                        replies.append(r)
            if not replies:
                self.stats.silent += 1
                return None
            self.stats.replies += 1
            if len(replies) == 1:
                return replies[0]
            self.stats.collisions += 1  # several drivers on the pair: the bits mix (modelled as AND)
            n = max(len(r.data) for r in replies)
            mixed = bytearray(b"\xff" * n)
            for r in replies:
                for k, b in enumerate(r.data):
                    mixed[k] &= b
            return Reply(data=bytes(mixed), after_s=max(r.after_s for r in replies))

    def _count(self, kind: str) -> None:
        self.stats.faults[kind] = self.stats.faults.get(kind, 0) + 1

    def _apply_fault(self, addr: str, r: Reply) -> Reply | None:
        f = self._faults.get(addr)
        if f is None or self._rng.random() >= f.probability:
            return r
        self._count(f.kind)
        if f.kind == "no_answer":
            return None
        if f.kind == "late":
            return Reply(data=r.data, after_s=r.after_s + f.late_s)
        if f.kind == "truncate":
            return Reply(data=r.data[:max(1, len(r.data) // 2)], after_s=r.after_s)
        if f.kind == "garbage":
            junk = bytes(self._rng.randrange(256) for _ in range(f.garbage_bytes))
            return Reply(data=junk + r.data, after_s=r.after_s + len(junk) * byte_time_s(self.baud))
        data = bytearray(r.data)  # bit_errors
        for k in range(len(data) * 8):
            if self._rng.random() < f.rate:
                data[k // 8] ^= 1 << (k % 8)
        return Reply(data=bytes(data), after_s=r.after_s)

    def _frame(self, m: SimMeter, control: int, data: bytes) -> Reply:
        raw = codec.encode_frame(m.address, control, data, n_fe=m.preamble_fe)
        return Reply(data=raw, after_s=m.response_delay_s + len(raw) * byte_time_s(self.baud))

    def _meter_reply(self, m: SimMeter, req: Frame, now: float) -> Reply | None:
        fn = req.control
        if m.protocol == "1997":
            if fn != 0x01 or len(req.data) != 2:
                return None
            di = req.data[::-1].hex().upper()
            payload = self._payload(m, di, "1997", now)
            if payload is None:
                return None
            if isinstance(payload, int):
                return self._frame(m, 0xC1, bytes([payload]))
            return self._frame(m, 0x81, req.data + payload)
        if fn == 0x13 and req.address == codec.WILDCARD and not req.data:
            return self._frame(m, 0x93, codec.address_bytes(m.address))
        if fn == 0x11 and len(req.data) >= 4:
            di = req.data[:4][::-1].hex().upper()
            payload = self._payload(m, di, "2007", now)
            if payload is None:
                return None
            if isinstance(payload, int):
                return self._frame(m, 0xD1, bytes([payload]))
            chunk = m.followup_chunk
            if chunk and len(payload) > chunk:
                parts = [payload[k:k + chunk] for k in range(0, len(payload), chunk)]
                self._followups[m.address] = (di, parts[1:])
                return self._frame(m, 0xB1, req.data[:4] + parts[0])
            return self._frame(m, 0x91, req.data[:4] + payload)
        if fn == 0x12 and len(req.data) == 5:
            di, seq = req.data[:4][::-1].hex().upper(), req.data[4]
            pending = self._followups.get(m.address)
            if pending is None or pending[0] != di or not 1 <= seq <= len(pending[1]):
                return self._frame(m, 0xD2, bytes([0x02]))
            more = seq < len(pending[1])
            return self._frame(m, 0xB2 if more else 0x92, req.data[:4] + pending[1][seq - 1] + bytes([seq]))
        return None

    def _payload(self, m: SimMeter, di: str, protocol: str, now: float) -> bytes | int | None:
        """Data bytes for a DI, an ERR byte, or None when the meter is silent (source LookupError)."""
        block = self.catalog.block(di, protocol)
        if block is not None:
            if not m.block_reads:
                return 0x02
            items = [self.catalog.by_name(n, protocol) for n in block.items]
        else:
            items = [self.catalog.item(di, protocol)]
        if any(it is None for it in items):
            return 0x02
        out = bytearray()
        for it in items:
            assert it is not None
            v = self._value(m, it, now)
            if v is None or isinstance(v, int):
                return v
            out += v
        return bytes(out)

    def _value(self, m: SimMeter, it: Item, now: float) -> bytes | int | None:
        local = datetime.fromtimestamp(now, self.tz).replace(tzinfo=None)
        try:
            if it.name in ("meter_date", "meter_time"):
                return it.encode(local if it.name == "meter_date" else local.time())
            if it.name == "t_freeze_daily":
                return it.encode(local.replace(hour=0, minute=0, second=0, microsecond=0))
            if it.name == "comm_address":
                return codec.address_bytes(m.address)
            try:
                vals = self.source.values(m.device or m.address, [it.name], now)
            except LookupError:
                return None
            if it.name not in vals:
                return 0x02  # the device has no such quantity: "no such data"
            return it.encode(vals[it.name])
        except ValueError:
            return 0x01  # the value does not fit the format: "other error"

    # ---- I/O ------------------------------------------------------------------------------------------------

    def serve(self, where: str, stop: threading.Event) -> None:
        """Serve in the calling thread until ``stop`` is set (a ``simulate`` command's main loop)."""
        errors: list[BaseException] = []
        serve(self, where, stop, threading.Event(), errors)
        if errors:
            raise RuntimeError(f"meter bus on {where} failed: {errors[0]}") from errors[0]

    @contextmanager
    def serving(self, where: str) -> Iterator[MeterBus]:
        """Serve the bus on a pty path or ``tcp://host:port`` (port 0 = any; see ``self.url``) in a thread."""
        stop = threading.Event()
        ready = threading.Event()
        errors: list[BaseException] = []
        t = threading.Thread(target=serve, args=(self, where, stop, ready, errors), daemon=True,
                             name=f"meterbus {where}")
        t.start()
        if not ready.wait(10):
            raise RuntimeError(f"meter bus on {where} did not start")
        if errors:
            raise RuntimeError(f"meter bus on {where} failed: {errors[0]}")
        try:
            yield self
        finally:
            stop.set()
            t.join(10)
