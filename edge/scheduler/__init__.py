"""Bus scheduling: one scheduler per port, its supervision, reading plans, back-off, capacity planning.

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
from edge.scheduler.port import Port, PortBackoff, PortEvent, PortSupervisor
from edge.scheduler.reader import DeviceReader
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
    "LinkTiming",
    "LoopClock",
    "PlanLoad",
    "PlanTelemetry",
    "Port",
    "PortBackoff",
    "PortEvent",
    "PortSupervisor",
    "ReadingPlan",
    "VirtualTimeLoop",
    "WallClock",
    "bus_capacity",
    "default_plans",
    "local_offset_s",
    "wire_fraction",
]
