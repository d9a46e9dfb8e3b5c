"""Readings as they leave acquisition (DL/T 645 client, Modbus adapter, replay) for the pipeline.

Plain data shared by every producer, so the scheduler, the engine feeder and replay see one form.
Timestamps are event time in seconds since the Unix epoch (UTC): reply arrival time for live reads,
the freeze time for frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DeviceRead", "Failure", "Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    device: str       # "master" or a meter id from the area's meter list
    quantity: str     # a name from detect.quantities.QUANTITIES
    value: float      # engineering units (after scale and CT/PT ratios)
    ts: float         # event time, epoch seconds UTC


@dataclass(frozen=True, slots=True)
class Failure:
    device: str
    quantity: str
    reason: str       # human readable: "no reply within 0.93 s", "ERR 02: no such data", ...
    ts: float
    silent: bool = False   # nobody answered (no byte heard, or skipped because the device just was silent);
                           # False for an error reply or a garbled one: the device is there


@dataclass(slots=True)
class DeviceRead:
    """Outcome of reading a set of quantities from one device: what came back and what did not."""

    device: str
    readings: list[Reading] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures
