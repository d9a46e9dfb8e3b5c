"""Read planning: cover the wanted registers of a device with the fewest read requests.

On a 9600-baud bus every request costs a fixed overhead (8-byte request, two t3.5 silences, the
device's turnaround, the 5-byte reply header) that is worth about ``10 + turnaround / (2 × byte
time)`` registers: ~14 registers at a 10 ms turnaround, ~32 at 50 ms. Reading a gap of unmapped
registers is therefore cheaper than a second request up to ``max_gap`` registers, and a request may
span at most 125 registers (the FC03/FC04 limit).

The greedy sweep below is optimal for the number of requests: points of one function code sorted by
address, a request is closed only when the next point would exceed the span limit or follow a gap
larger than ``max_gap``; any plan must also break there, so none uses fewer requests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.modbus.profile import Point

__all__ = ["DEFAULT_MAX_GAP", "MAX_READ_REGISTERS", "Request", "one_request_per_point", "plan_reads", "split"]

MAX_READ_REGISTERS = 125
DEFAULT_MAX_GAP = 32


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """One FC03/FC04 read covering ``points`` (sorted by address)."""

    function: int
    address: int
    count: int
    points: tuple[Point, ...]

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(p.quantity for p in self.points)


def _request(points: list[Point]) -> Request:
    start = points[0].address
    return Request(function=points[0].function, address=start, count=max(p.end for p in points) - start,
                   points=tuple(points))


def plan_reads(points: Iterable[Point], *, max_gap: int = DEFAULT_MAX_GAP,
               max_registers: int = MAX_READ_REGISTERS) -> list[Request]:
    """Fewest requests covering ``points``: per function code, spans ≤ ``max_registers``, gaps ≤ ``max_gap``."""
    if not 1 <= max_registers <= MAX_READ_REGISTERS:
        raise ValueError(f"max_registers must be 1..{MAX_READ_REGISTERS}, got {max_registers}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 registers, got {max_gap}")
    ordered = sorted(points, key=lambda p: (p.function, p.address))
    requests: list[Request] = []
    current: list[Point] = []
    for p in ordered:
        if current:
            first, end = current[0], max(q.end for q in current)
            if (p.function != first.function or p.address - end > max_gap
                    or p.end - first.address > max_registers):
                requests.append(_request(current))
                current = []
        current.append(p)
    if current:
        requests.append(_request(current))
    return requests


def one_request_per_point(points: Iterable[Point]) -> list[Request]:
    """The naive plan (one request per quantity), the baseline coalescing is measured against."""
    return [_request([p]) for p in sorted(points, key=lambda p: (p.function, p.address))]


def split(request: Request) -> tuple[Request, Request] | None:
    """Halve a request by its points (after an exception reply); None when it holds a single point."""
    if len(request.points) < 2:
        return None
    mid = len(request.points) // 2
    return _request(list(request.points[:mid])), _request(list(request.points[mid:]))
