"""The edge configuration seen by the scheduler's planner: buses, devices and plans of ``edge.config``.

``check-config`` uses these to show how much of each bus's wire the plans need before any I/O, with the
same planner (``edge.scheduler.capacity``) the bus scheduler plans with:

* a DL/T 645 bus: the bus's baud rate, response delay and gap; FF block reads unless ``block_reads = "off"``;
* quantities the DI catalogue has no DI for are not read (the client fails them without a transaction);
* a single-phase meter answers only its own phase (reported as phase A), so B/C-phase quantities of a
  plan are not counted for it;
* a Modbus master: its profile's coalesced request plan (``edge.modbus.plan.plan_reads``) for the plan's
  quantities the profile maps, with the slave time the daemon plans Modbus buses with.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from detect.quantities import QUANTITIES
from edge.config.model import BusConfig, Config, MasterConfig
from edge.scheduler.capacity import (
    DLT645_QUANTITIES,
    CapacityReport,
    LinkTiming,
    PlannedDevice,
    devices_capacity,
)
from edge.scheduler.plans import ReadingPlan

__all__ = ["MODBUS_SLAVE_TIME_S", "config_bus_capacity", "link_timing", "planned_devices", "reading_plans"]

# The daemon's scheduler plans Modbus devices with a 10 ms turnaround and no extra gap (edge/service.py).
MODBUS_SLAVE_TIME_S = 0.01

_OTHER_PHASES = frozenset({"u_b", "u_c", "i_b", "i_c", "p_a", "p_b", "p_c"})
SINGLE_PHASE_QUANTITIES = (frozenset(QUANTITIES) & DLT645_QUANTITIES) - _OTHER_PHASES


def link_timing(bus: BusConfig) -> LinkTiming:
    """The planner's timing of one configured bus."""
    if bus.protocol == "dlt645":
        return LinkTiming(baud=bus.baud, response_delay_s=bus.response_delay_s, gap_s=bus.gap_s,
                          protocol="dlt645", block_reads=bus.block_reads == "auto")
    return LinkTiming(baud=bus.baud, response_delay_s=MODBUS_SLAVE_TIME_S, gap_s=0.0, protocol=bus.protocol)


def reading_plans(cfg: Config, utc_offset_s: float = 0.0) -> list[ReadingPlan]:
    """The configured plans as scheduler plans; daily plans' offsets are local time after midnight."""
    plans = []
    for name, p in cfg.plans.items():
        offset = p.offset_s
        if p.interval_s >= 86400:
            offset = (p.offset_s - utc_offset_s) % p.interval_s
        plans.append(ReadingPlan(name=name, class_name=p.device_class, quantities=p.quantities,
                                 interval_s=p.interval_s, offset_s=offset, priority=p.priority,
                                 deadline_s=p.deadline_s or None, kind=p.kind))
    return plans


def _profile_path(cfg: Config, profile: str) -> str:
    """A profile name, or a path relative to the configuration file (as the loader checks it)."""
    if ("/" in profile or profile.endswith(".toml")) and not Path(profile).is_absolute():
        base = Path(cfg.source).parent if cfg.source else Path(".")
        return str(base / profile)
    return profile


@lru_cache(maxsize=64)
def _modbus_master(profile_ref: str, timing: LinkTiming) -> PlannedDevice:
    from edge.modbus.plan import DEFAULT_MAX_GAP, plan_reads
    from edge.modbus.profile import load_profile

    profile = load_profile(profile_ref)
    points = {p.quantity: p for p in profile.points}
    max_gap = profile.max_gap if profile.max_gap is not None else DEFAULT_MAX_GAP

    def requests(quantities: tuple[str, ...]) -> list[int]:
        return [r.count for r in plan_reads([points[q] for q in quantities], max_gap=max_gap)]

    return PlannedDevice(class_name="master", timing=timing, has=frozenset(points), modbus_requests=requests)


def _master(cfg: Config, master: MasterConfig, timing: LinkTiming) -> PlannedDevice:
    if timing.protocol == "dlt645":        # a DL/T 645 master is a three-phase meter
        return PlannedDevice(class_name="master", timing=timing, has=DLT645_QUANTITIES)
    return _modbus_master(_profile_path(cfg, master.profile), timing)


def planned_devices(cfg: Config, bus: BusConfig) -> list[PlannedDevice]:
    """Every configured device on ``bus`` (meters: class "meter", masters: class "master")."""
    timing = link_timing(bus)
    out: list[PlannedDevice] = []
    for area in cfg.areas:
        for m in area.meters:
            if m.bus == bus.name:
                out.append(PlannedDevice(class_name="meter", timing=timing,
                                         has=DLT645_QUANTITIES if m.kind == "three" else SINGLE_PHASE_QUANTITIES))
        if area.master.bus == bus.name:
            out.append(_master(cfg, area.master, timing))
    return out


def config_bus_capacity(cfg: Config, bus: BusConfig) -> CapacityReport:
    """Wire load of every configured plan on ``bus``."""
    return devices_capacity(reading_plans(cfg), planned_devices(cfg, bus))
