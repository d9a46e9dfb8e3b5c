"""Where simulated devices get their values: a pluggable source.

The simulated DL/T 645 meter bus and the simulated Modbus TTU ask a ``ValueSource`` for the values of a
device at the moment a request arrives. Sources: a static/random-walk source for protocol tests, and
the area simulator (``edge.sim.area``) for a physically consistent area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["ValueSource"]


@runtime_checkable
class ValueSource(Protocol):
    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        """Engineering-unit values of ``device`` ("master" or a meter id) at time ``now`` (epoch s).

        Quantities are names from ``detect.quantities.QUANTITIES``; a quantity the device does not have
        is left out of the result (the simulated device then answers "no such data"). A device that is
        absent, dead or without power raises ``LookupError`` (the simulated device stays silent).
        """
        ...
