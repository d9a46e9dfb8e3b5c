"""How much of a bus's wire the configured reading plans need (shown by ``check-config``).

Reads per device follow DL/T 645 block reads where a group of quantities shares a block DI (U, I, P
per phase), one read per other item; Modbus reads are coalesced register blocks. Wire times come
from ``edge.wire``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.model import BusConfig, Config, MeterConfig, PlanConfig
from edge.wire import dlt645_read_time_s, modbus_rtu_read_time_s

__all__ = ["BusCapacity", "PlanCapacity", "bus_capacity", "dlt645_reads"]

# DL/T 645 reply data length (DI + value bytes) of the read that carries each quantity group.
_GROUPS_THREE: dict[str, tuple[tuple[str, ...], int]] = {
    "u": (("u_a", "u_b", "u_c"), 4 + 6),
    "i": (("i_a", "i_b", "i_c"), 4 + 9),
    "p": (("p", "p_a", "p_b", "p_c"), 4 + 12),
}
_SINGLE_LEN = {"u_a": 6, "u_b": 6, "u_c": 6, "i_a": 7, "i_b": 7, "i_c": 7, "i_n": 7, "p": 7, "p_a": 7,
               "p_b": 7, "p_c": 7, "q": 7, "pf": 6, "f": 6, "e_fwd": 8, "e_rev": 8,
               "e_fwd_daily": 8 + 20 + 1, "t_amb": 6}


def dlt645_reads(quantities: tuple[str, ...], three_phase: bool) -> list[int]:
    """Reply data lengths of the reads needed for ``quantities`` on one meter (block reads assumed)."""
    wanted = set(quantities)
    if not three_phase:  # a single-phase meter has only its own U and I (reported as phase A)
        wanted -= {"u_b", "u_c", "i_b", "i_c", "p_a", "p_b", "p_c"}
    reads: list[int] = []
    if three_phase:
        for members, length in _GROUPS_THREE.values():
            if wanted & set(members):
                reads.append(length)
                wanted -= set(members)
    for q in sorted(wanted):
        reads.append(_SINGLE_LEN.get(q, 4 + 3 if q.startswith("evt_") else 4 + 2))
    return reads


@dataclass(frozen=True, kw_only=True)
class PlanCapacity:
    name: str
    devices: int
    reads_per_round: int
    round_s: float
    interval_s: float

    @property
    def share(self) -> float:
        return self.round_s / self.interval_s

    @property
    def fits(self) -> bool:
        return self.round_s <= self.interval_s


@dataclass(frozen=True, kw_only=True)
class BusCapacity:
    bus: str
    plans: tuple[PlanCapacity, ...]

    @property
    def utilisation(self) -> float:
        return sum(p.share for p in self.plans)


def _meter_round(bus: BusConfig, meters: list[MeterConfig], plan: PlanConfig) -> tuple[int, float]:
    n_reads, total = 0, 0.0
    for m in meters:
        for reply_len in dlt645_reads(plan.quantities, m.kind == "three"):
            n_reads += 1
            total += dlt645_read_time_s(bus.baud, 4, reply_len, response_delay_s=bus.response_delay_s,
                                        gap_s=bus.gap_s)
    return n_reads, total


def bus_capacity(cfg: Config, bus: BusConfig) -> BusCapacity:
    meters = [m for a in cfg.areas for m in a.meters if m.bus == bus.name]
    masters = [a.master for a in cfg.areas if a.master.bus == bus.name]
    plans: list[PlanCapacity] = []
    for name, plan in cfg.plans.items():
        if plan.device_class == "meter" and meters:
            n, t = _meter_round(bus, meters, plan)
            plans.append(PlanCapacity(name=name, devices=len(meters), reads_per_round=n, round_s=t,
                                      interval_s=plan.interval_s))
        elif plan.device_class == "master" and masters:
            if bus.protocol == "dlt645":
                n = sum(len(dlt645_reads(plan.quantities, True)) for _ in masters)
                t = n * dlt645_read_time_s(bus.baud, 4, 12, response_delay_s=bus.response_delay_s, gap_s=bus.gap_s)
            else:
                # Coalesced: one block of two registers per quantity, split at 125 registers.
                regs = 2 * len(plan.quantities)
                per_master = -(-regs // 125)
                n = per_master * len(masters)
                t = len(masters) * sum(modbus_rtu_read_time_s(bus.baud, min(125, regs - 125 * k))
                                       for k in range(per_master))
                if bus.protocol == "modbus-tcp":
                    t = 0.01 * n
            plans.append(PlanCapacity(name=name, devices=len(masters), reads_per_round=n, round_s=t,
                                      interval_s=plan.interval_s))
    return BusCapacity(bus=bus.name, plans=tuple(plans))
