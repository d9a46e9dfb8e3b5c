"""Read quantities from DL/T 645 meters over one link: blocks, fallbacks, follow-ups, retries.

The client has no scheduling policy: the bus scheduler calls ``read()`` per device and decides when
and how often. What the client remembers per meter (``MeterProfile``) is what the meter told it:
its protocol edition and which block DIs it does not support.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as dtime

from edge.dlt645 import codec
from edge.dlt645.catalog import Block, Catalog, Item, load_catalog
from edge.dlt645.codec import DecodeError, Frame
from edge.dlt645.link import Exchange, Link
from edge.readings import DeviceRead, Failure, Reading

__all__ = ["ERR_BITS", "DiResult", "Dlt645Client", "MeterProfile", "err_text"]

ERR_BITS = {0: "other error", 1: "no such data", 2: "password error / not authorised",
            3: "baud rate cannot be changed", 4: "too many year time-zones", 5: "too many daily time-slots",
            6: "too many tariffs"}
MAX_FOLLOWUPS = 32
CHINA_UTC_OFFSET_S = 8 * 3600


def err_text(err: int) -> str:
    """``ERR 02: no such data`` for an exception reply's error byte."""
    names = [name for bit, name in ERR_BITS.items() if err >> bit & 1] or ["reserved bit"]
    return f"ERR {err:02X}: {', '.join(names)}"


@dataclass(slots=True)
class MeterProfile:
    """What one meter has told us. Counters help the scheduler back off bad meters."""

    protocol: str | None = None                      # "2007" | "1997" | None (not detected yet)
    no_blocks: set[str] = field(default_factory=set)  # block DIs answered "no such data"
    reads: int = 0
    failed_reads: int = 0                            # reads where every quantity failed
    consecutive_failed_reads: int = 0
    garbled: int = 0                                 # rejected frames while talking to this meter
    silent_requests: int = 0                         # requests in a row that heard not one byte


@dataclass(frozen=True, slots=True, kw_only=True)
class DiResult:
    """One DI read: the data after the DI (follow-ups joined) or why there is none."""

    di: str
    data: bytes | None = None
    ts: float | None = None        # reply arrival, epoch s
    error: str | None = None
    err_code: int | None = None    # ERR byte of an exception reply
    silent: bool = False           # not one byte came back in any try: the meter is not there


@dataclass(slots=True)
class _ReadCtx:
    cache: dict[str, DiResult] = field(default_factory=dict)   # DIs already read in this read()
    silent: str | None = None                                  # set once the meter proved absent


class Dlt645Client:
    """DL/T 645 master on one link. ``protocol``: "2007", "1997" or "auto" (detect per meter)."""

    def __init__(self, link: Link, *, protocol: str = "auto", catalog: Catalog | None = None,
                 retries: int = 2, use_blocks: bool = True, meter_utc_offset_s: int = CHINA_UTC_OFFSET_S,
                 request_fe: int = 4) -> None:
        if protocol not in ("2007", "1997", "auto"):
            raise ValueError(f"protocol {protocol!r} is not 2007, 1997 or auto")
        self.link = link
        self.protocol = protocol
        self.catalog = catalog or load_catalog()
        self.retries = retries
        self.use_blocks = use_blocks
        self.meter_tz = timezone(timedelta(seconds=meter_utc_offset_s))
        self.request_fe = request_fe
        self.meters: dict[str, MeterProfile] = {}

    def profile(self, address: str) -> MeterProfile:
        """What the client knows about the meter at ``address`` (created on first use)."""
        a = address.rjust(12, "0").upper()
        if len(a) != 12 or not a.isdigit():
            raise ValueError(f"meter address {address!r} is not up to 12 decimal digits")
        p = self.meters.get(a)
        if p is None:
            p = self.meters[a] = MeterProfile(protocol=None if self.protocol == "auto" else self.protocol)
        return p

    # ---- one DI -------------------------------------------------------------------------------------------

    async def read_di(self, address: str, di: str, *, reply_data_len: int = 16) -> DiResult:
        """Read one DI (8 hex digits: 2007, 4: 1997) with retries and follow-up frames."""
        address = address.rjust(12, "0").upper()
        if len(di) == 4:
            return await self._transact(address, di, "1997", reply_data_len)
        return await self._transact(address, di, "2007", reply_data_len)

    async def read_dis(self, address: str, dis: Sequence[str]) -> list[DiResult]:
        """Read raw DIs one by one (``meterwatch read`` with DIs; vendor items not in the catalogue)."""
        out = []
        for di in dis:
            di = di.upper()
            item = self.catalog.item(di, "1997" if len(di) == 4 else "2007")
            out.append(await self.read_di(address, di, reply_data_len=item.nbytes if item else 16))
        return out

    def _accept(self, address: str, di_wire: bytes, functions: tuple[int, ...],
                seq: int | None = None) -> Callable[[Frame], bool]:
        def accept(f: Frame) -> bool:
            if f.address != address or f.control & 0x9F not in functions:
                return False
            if f.is_exception:
                return len(f.data) >= 1
            if not f.data.startswith(di_wire):
                return False
            return seq is None or (len(f.data) > len(di_wire) and f.data[-1] == seq)
        return accept

    async def _exchange(self, request: bytes, reply_len: int, accept: Callable[[Frame], bool]) -> Exchange:
        return await self.link.exchange(request, reply_data_len=reply_len, accept=accept)

    async def _once(self, address: str, request: bytes, reply_len: int, accept: Callable[[Frame], bool],
                    prof: MeterProfile) -> tuple[Frame | None, float | None, str, bool]:
        """One request with retries: (frame, arrival time, failure reason, nothing heard at all).

        Retries are for a noisy line. A meter whose last request heard not one byte in any try is
        silent, not noisy: it gets a single try until it is heard again, so a dead meter costs one reply
        deadline per request instead of ``retries + 1`` (the scheduler's back-off does the rest)."""
        reason = ""
        heard = False
        tries = 1 if prof.silent_requests else self.retries + 1
        for _ in range(tries):
            ex = await self._exchange(request, reply_len, accept)
            prof.garbled += len(ex.errors)
            heard = heard or ex.heard
            if ex.frame is not None:
                prof.silent_requests = 0
                return ex.frame, ex.rx_ts, "", False
            reason = f"bad reply ({ex.errors[-1]})" if ex.errors else f"no reply within {ex.deadline_s:.2f} s"
        prof.silent_requests = 0 if heard else prof.silent_requests + 1
        return None, None, f"{reason}, {tries} {'try' if tries == 1 else 'tries'}", not heard

    async def _transact(self, address: str, di: str, protocol: str, data_len: int) -> DiResult:
        prof = self.profile(address)
        di_wire = codec.di_bytes(di)
        if protocol == "2007":
            request = codec.encode_read(address, di, n_fe=self.request_fe)
            accept = self._accept(address, di_wire, (0x91, 0xB1, 0xD1))
        else:
            request = codec.encode_read_1997(address, di, n_fe=self.request_fe)
            accept = self._accept(address, di_wire, (0x81, 0xA1, 0xC1))
        reply_len = len(di_wire) + data_len
        frame, ts, reason, silent = await self._once(address, request, reply_len, accept, prof)
        if frame is None:
            return DiResult(di=di, error=reason, silent=silent)
        if frame.is_exception:
            return DiResult(di=di, error=err_text(frame.data[0]), err_code=frame.data[0], ts=ts)
        data = bytearray(frame.data[len(di_wire):])
        seq = 0
        while frame.has_followup:
            seq += 1
            if seq > MAX_FOLLOWUPS or protocol != "2007":
                return DiResult(di=di, error=f"more than {MAX_FOLLOWUPS} follow-up frames", ts=ts)
            req = codec.encode_read_followup(address, di, seq, n_fe=self.request_fe)
            acc = self._accept(address, di_wire, (0x92, 0xB2, 0xD2), seq)
            nxt, _, reason, _ = await self._once(address, req, reply_len + 1, acc, prof)
            if nxt is None:
                return DiResult(di=di, error=f"follow-up {seq}: {reason}", ts=ts)
            if nxt.is_exception:
                return DiResult(di=di, error=f"follow-up {seq}: {err_text(nxt.data[0])}", err_code=nxt.data[0],
                                ts=ts)
            data += nxt.data[len(di_wire):-1]
            frame = nxt
        return DiResult(di=di, data=bytes(data), ts=ts)

    async def broadcast_time(self, when: datetime) -> None:
        """Broadcast time sync (08H, opt-in: docs/architecture.md, principle 4): meter local time, no meter answers."""
        await self.link.send(codec.encode_time_sync(when, n_fe=self.request_fe))

    # ---- quantities ---------------------------------------------------------------------------------------

    async def _detect(self, address: str, prof: MeterProfile, first: DiResult) -> None:
        """The meter did not answer in 2007: if it answers a 1997 read, it is a 1997 meter."""
        probe = next((it for it in self.catalog.items if it.protocol == "1997"), None)
        if probe is None:
            return
        res = await self._transact(address, probe.di, "1997", probe.nbytes)
        if res.data is not None or res.err_code is not None:
            prof.protocol = "1997"

    async def read(self, address: str, quantities: Sequence[str], *, device: str | None = None) -> DeviceRead:
        """Read ``quantities`` (catalogue names) from the meter at ``address``; never raises for meter trouble.

        Readings carry the reply arrival time (frozen data: the freeze time); every quantity that
        could not be read is a ``Failure`` with the reason.
        """
        address = address.rjust(12, "0").upper()
        dev = device or address
        prof = self.profile(address)
        prof.reads += 1
        out = DeviceRead(device=dev)
        todo = list(dict.fromkeys(quantities))
        protocol = prof.protocol or "2007"
        ctx = _ReadCtx()
        if prof.protocol is None and todo:
            first_item = self.catalog.by_name(todo[0], "2007")
            if first_item is not None:
                res = await self._transact(address, first_item.di, "2007", first_item.nbytes)
                if res.data is None and res.err_code is None:
                    await self._detect(address, prof, res)
                    protocol = prof.protocol or "2007"
                    if prof.protocol is None and res.silent:
                        ctx.silent = f"no reply in DL/T 645-2007 nor 1997 ({res.error})"
                else:
                    prof.protocol = "2007"
                    ctx.cache[first_item.di] = res  # the probe was a real read: do not ask twice
        await self._read_items(address, protocol, todo, prof, out, ctx)
        if todo and not out.readings:
            prof.failed_reads += 1
            prof.consecutive_failed_reads += 1
        else:
            prof.consecutive_failed_reads = 0
        return out

    async def _read_items(self, address: str, protocol: str, names: list[str], prof: MeterProfile,
                          out: DeviceRead, ctx: _ReadCtx) -> None:
        items: list[Item] = []
        for n in names:
            it = self.catalog.by_name(n, protocol)
            if it is None:
                out.failures.append(Failure(device=out.device, quantity=n, ts=self.link.event_time(),
                                            reason=f"not in the DL/T 645-{protocol} catalogue"))
            else:
                items.append(it)
        wanted = {it.name for it in items}
        for block in self.catalog.blocks_for(protocol):
            members = [n for n in block.items if n in wanted]
            if not self.use_blocks or block.di in prof.no_blocks or len(members) < 2 or ctx.silent:
                continue
            if await self._read_block(address, protocol, block, members, prof, out, ctx):
                wanted -= set(members)
        for it in items:
            if it.name in wanted:
                await self._read_single(address, protocol, it, out, ctx)

    async def _read_block(self, address: str, protocol: str, block: Block, members: list[str],
                          prof: MeterProfile, out: DeviceRead, ctx: _ReadCtx) -> bool:
        """Read a block; False when the meter has no such block (remembered) so singles are used."""
        all_items = [self.catalog.by_name(n, protocol) for n in block.items]
        size = sum(it.nbytes for it in all_items if it is not None)
        res = await self._transact(address, block.di, protocol, size)
        if res.err_code is not None and res.err_code & 0x02:
            prof.no_blocks.add(block.di)
            return False
        if res.data is None:
            if res.silent:
                ctx.silent = f"meter silent on {block.di}"
            for n in members:
                out.failures.append(Failure(device=out.device, quantity=n, reason=f"{block.di}: {res.error}",
                                            ts=res.ts or self.link.event_time(), silent=res.silent))
            return True
        offset = 0
        assert res.ts is not None
        for it in all_items:
            if it is None:
                continue
            part = res.data[offset:offset + it.nbytes]
            offset += it.nbytes
            if it.name not in members:
                continue
            if len(part) < it.nbytes:
                out.failures.append(Failure(device=out.device, quantity=it.name, ts=res.ts,
                                            reason=f"block {block.di} reply has {len(res.data)} bytes, no {it.name}"))
                continue
            self._emit(it, part, res.ts, None, out)
        return True

    async def _read_single(self, address: str, protocol: str, it: Item, out: DeviceRead,
                           ctx: _ReadCtx) -> None:
        if ctx.silent:  # one full timeout per read is enough: do not spend one per item
            out.failures.append(Failure(device=out.device, quantity=it.name, reason=f"skipped: {ctx.silent}",
                                        ts=self.link.event_time(), silent=True))
            return
        res = ctx.cache.get(it.di) or await self._transact(address, it.di, protocol,
                                                          it.nbytes + (16 if it.trailing else 0))
        if res.data is None:
            if res.silent:
                ctx.silent = f"meter silent on {it.di}"
            out.failures.append(Failure(device=out.device, quantity=it.name, reason=f"{it.di}: {res.error}",
                                        ts=res.ts or self.link.event_time(), silent=res.silent))
            return
        assert res.ts is not None
        stamp: float | None = None
        if it.time_di:
            tres = ctx.cache.get(it.time_di)
            if tres is None:
                titem = self.catalog.item(it.time_di, protocol)
                tres = ctx.cache[it.time_di] = await self._transact(address, it.time_di, protocol,
                                                                titem.nbytes if titem else 6)
            titem = self.catalog.item(it.time_di, protocol)
            try:
                if tres.data is None or titem is None:
                    raise DecodeError("time", f"freeze time {it.time_di}: {tres.error or 'not in catalogue'}")
                when = titem.decode(tres.data)
                if not isinstance(when, datetime):
                    raise DecodeError("time", f"{it.time_di} is not a date and time")
                stamp = when.replace(tzinfo=self.meter_tz).timestamp()
            except DecodeError as exc:
                out.failures.append(Failure(device=out.device, quantity=it.name, reason=str(exc), ts=res.ts))
                return
        self._emit(it, res.data, res.ts, stamp, out)

    def _emit(self, it: Item, data: bytes, ts: float, stamp: float | None, out: DeviceRead) -> None:
        try:
            value = it.decode(data)
        except DecodeError as exc:
            out.failures.append(Failure(device=out.device, quantity=it.name, reason=f"{it.di}: {exc}", ts=ts))
            return
        if isinstance(value, datetime):
            num = value.replace(tzinfo=self.meter_tz).timestamp()
        elif value is None or isinstance(value, bytes | dtime | dict):
            out.failures.append(Failure(device=out.device, quantity=it.name, ts=ts,
                                        reason=f"{it.di} ({it.fmt.pattern}) is not a number; read it by DI"))
            return
        else:
            num = float(value)
        out.readings.append(Reading(device=out.device, quantity=it.name, value=num,
                                    ts=stamp if stamp is not None else ts))
