"""Find every meter on a bus (dlt645.md §1.1 special addresses, §5 read address in 1997).

First one probe to the all-AA wildcard (2007: read address 13H; 1997: read 9010 with 01H). Silence
means no meter of that edition; exactly one clean reply means a point-to-point link. Anything else
(several replies, or garbled bytes because several meters talked at once) starts wildcard narrowing:
fix the lowest address byte to each BCD value 00..99 with the higher bytes AA, probe, and recurse one
byte higher wherever meters still collide. Every reply carries the meter's real address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.dlt645 import codec
from edge.dlt645.link import Exchange, Link

__all__ = ["FoundMeter", "ScanProgress", "scan_bus"]

PROBE_DI_2007 = "04000401"   # comm address: every 2007 meter has it, and an ERR reply still names the meter
PROBE_DI_1997 = "9010"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundMeter:
    address: str
    protocol: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanProgress:
    done: int       # probes sent
    total: int      # probes planned so far (grows when narrowing recurses)
    found: int
    protocol: str


def _bcd(n: int) -> str:
    return f"{n // 10}{n % 10}"


class _Scanner:
    def __init__(self, link: Link, response_delay_s: float | None,
                 progress: Callable[[ScanProgress], None] | None) -> None:
        self.link = link
        self.delay = response_delay_s
        self.progress = progress
        self.done = 0
        self.total = 0
        self.found: dict[str, FoundMeter] = {}
        self.protocol = ""

    def _tick(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(ScanProgress(done=self.done, total=self.total, found=len(self.found),
                                       protocol=self.protocol))

    async def probe(self, pattern: str) -> Exchange:
        if self.protocol == "2007" and pattern == codec.WILDCARD:
            req, reply_len, want = codec.encode_read_address(), 6, 0x93
        elif self.protocol == "2007":
            req, reply_len, want = codec.encode_read(pattern, PROBE_DI_2007), 10, 0x91
        else:
            req, reply_len, want = codec.encode_read_1997(pattern, PROBE_DI_1997), 6, 0x81

        def accept(f: codec.Frame) -> bool:
            return f.is_reply and f.control & 0x9F == want and all(
                p in ("A", a) for p, a in zip(pattern, f.address, strict=True))

        return await self.link.exchange(req, reply_data_len=reply_len, accept=accept,
                                        response_delay_s=self.delay, collect=True)

    def _take(self, ex: Exchange) -> bool:
        """Record a clean single reply; True when the probe was unambiguous (silence or one meter)."""
        clean = not ex.heard or (len(ex.frames) == 1 and not ex.errors and not ex.ignored)
        if clean and ex.frames:
            a = ex.frames[0].address
            self.found.setdefault(a, FoundMeter(address=a, protocol=self.protocol))
        self._tick()
        return clean

    async def narrow(self, fixed: str) -> None:
        """Probe every value of the next-higher byte above the ``fixed`` low digits."""
        self.total += 100
        for n in range(100):
            low = _bcd(n) + fixed
            pattern = "A" * (12 - len(low)) + low
            ex = await self.probe(pattern)
            # a collision: fix one more byte (a frame that survived a collision may be a mix: not trusted)
            if not self._take(ex) and len(low) < 12:
                await self.narrow(low)

    async def run(self, protocol: str) -> None:
        self.protocol = protocol
        self.total += 1
        ex = await self.probe(codec.WILDCARD)
        if not self._take(ex):
            await self.narrow("")


async def scan_bus(link: Link, *, protocols: tuple[str, ...] = ("2007", "1997"),
                   response_delay_s: float | None = None,
                   progress: Callable[[ScanProgress], None] | None = None) -> list[FoundMeter]:
    """Every meter that answers on ``link``, sorted by address. ``response_delay_s`` bounds how long a
    probe waits for the slowest meter (default: the link's maximum response delay)."""
    scanner = _Scanner(link, response_delay_s, progress)
    for p in protocols:
        if p not in ("2007", "1997"):
            raise ValueError(f"protocol {p!r} is not 2007 or 1997")
        await scanner.run(p)
    return sorted(scanner.found.values(), key=lambda m: m.address)
