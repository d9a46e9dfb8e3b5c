"""``[[bus]]`` entries and ``[plans.*]`` tables: each checked alone, then against each other."""

from __future__ import annotations

from typing import Any

from detect.quantities import QUANTITIES
from edge.config.model import DEFAULT_PLANS, BusConfig, PlanConfig
from tomlconf import Doc, build
from wire.kinds import MAX_BUSES

__all__ = ["build_buses", "build_plans"]


def build_buses(doc: Doc, raw_buses: Any) -> list[BusConfig]:
    """Every valid bus; duplicate names and ports, and Modbus TCP without a TCP port, are issues."""
    if not isinstance(raw_buses, list):
        doc.error("bus", "expected [[bus]] entries")
        return []
    if len(raw_buses) > MAX_BUSES:
        doc.error("bus", f"{len(raw_buses)} buses: a gateway has at most {MAX_BUSES} (its health message "
                         "would be refused by the collector)")
    buses: list[BusConfig] = []
    for i, raw in enumerate(raw_buses):
        name = raw.get("name") if isinstance(raw, dict) else None
        bus = build(doc, BusConfig, raw, f"bus[{i}]", f'bus "{name}"' if name else None)
        if bus is None:
            continue
        dev = f'bus "{bus.name}"'
        if any(b.name == bus.name for b in buses):
            doc.error(f"bus[{i}].name", f"duplicate bus name {bus.name!r}", dev)
        if any(b.port == bus.port for b in buses):
            doc.error(f"bus[{i}].port", f"port {bus.port!r} is already used by another bus", dev)
        if bus.protocol == "modbus-tcp" and not bus.port.startswith("tcp://"):
            doc.error(f"bus[{i}].port", "modbus-tcp needs a tcp://host:port", dev)
        buses.append(bus)
    return buses


def build_plans(doc: Doc, table: Any, key: str = "plans") -> dict[str, PlanConfig]:
    """The default plans with the file's ``[plans.<name>]`` tables merged over them (or added)."""
    if not isinstance(table, dict):
        doc.error(key, "expected a table of plans, e.g. [plans.meter_interval]")
        return {}
    merged: dict[str, Any] = {name: dict(spec) for name, spec in DEFAULT_PLANS.items()}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            doc.error(f"{key}.{name}", "expected a table")
            continue
        merged[name] = {**merged.get(name, {}), **spec}
    plans: dict[str, PlanConfig] = {}
    for name, spec in merged.items():
        spec = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
        plan = build(doc, PlanConfig, spec, f"{key}.{name}", f'plan "{name}"')
        if plan is not None:
            _check_plan(doc, plan, f"{key}.{name}", f'plan "{name}"')
            plans[name] = plan
    return plans


def _check_plan(doc: Doc, plan: PlanConfig, key: str, dev: str) -> None:
    if plan.kind == "read" and not plan.quantities:
        doc.error(f"{key}.quantities", "a read plan needs at least one quantity", dev)
    if plan.kind == "clock" and plan.device_class != "meter":
        doc.error(f"{key}.kind", "clock checks apply to meters only", dev)
    for i, q in enumerate(plan.quantities):
        if q not in QUANTITIES:
            doc.error(f"{key}.quantities[{i}]", f"unknown quantity {q!r}; known: {', '.join(QUANTITIES)}", dev)
