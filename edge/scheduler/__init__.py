"""Bus scheduling: one scheduler per port, reading plans, back-off, capacity planning (issue 6).

See docs/scheduler.md.
"""

from edge.scheduler.bus import BusScheduler
from edge.scheduler.capacity import CapacityReport, LinkTiming, PlanLoad, bus_capacity, wire_fraction
from edge.scheduler.clock import Clock, LoopClock, VirtualTimeLoop, WallClock
from edge.scheduler.plans import (
    BackoffPolicy,
    ClockPolicy,
    DeviceSpec,
    ReadingPlan,
    default_plans,
    local_offset_s,
)
from edge.scheduler.reader import DeviceReader, Dlt645Reader, ModbusReader
from edge.scheduler.telemetry import BusTelemetry, PlanTelemetry

__all__ = [
    "BackoffPolicy",
    "BusScheduler",
    "BusTelemetry",
    "CapacityReport",
    "Clock",
    "ClockPolicy",
    "DeviceReader",
    "DeviceSpec",
    "Dlt645Reader",
    "LinkTiming",
    "LoopClock",
    "ModbusReader",
    "PlanLoad",
    "PlanTelemetry",
    "ReadingPlan",
    "VirtualTimeLoop",
    "WallClock",
    "bus_capacity",
    "default_plans",
    "local_offset_s",
    "wire_fraction",
]
