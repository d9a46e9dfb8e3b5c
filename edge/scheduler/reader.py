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

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from edge.readings import DeviceRead

__all__ = ["DeviceReader", "is_silent"]


@runtime_checkable
class DeviceReader(Protocol):
    """One port's devices, as the scheduler sees them."""

    def split(self, device: str, quantities: Sequence[str]) -> list[tuple[str, ...]]:
        """Group ``quantities`` into transactions (one request/reply each, in reading order)."""
        ...

    def estimate_s(self, device: str, quantities: Sequence[str]) -> float:
        """Wire time of reading ``quantities`` from ``device`` (edge.wiretime formulas)."""
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


def is_silent(dr: DeviceRead) -> bool:
    """True when a client's DeviceRead says nobody answered: no readings, and every failure is silence
    (``Failure.silent``, set by the clients: the DL/T 645 client for a request that heard not a byte and
    the items it then skipped, the Modbus device for a request without reply). An error reply ("ERR 02:
    no such data") or a garbled one means the device is there."""
    return not dr.readings and bool(dr.failures) and all(f.silent for f in dr.failures)
