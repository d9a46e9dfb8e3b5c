"""Capacity planner: how much of the wire each reading plan needs (dlt645.md §9, modbus.md §7).

Shared by the bus scheduler (wire-time estimates for planning and utilisation) and ``check-config``
(warn before any I/O when the plans do not fit the bus). Plain functions over plain numbers and the
plan dataclasses; the formulas themselves live in ``edge.wiretime``.

Per-quantity DL/T 645-2007 value sizes (data bytes after the 4-byte DI) and the FF blocks come from the
DI catalogue (``edge.dlt645.catalog``, dlt645.md §3). Where a meter supports FF block reads, several
quantities share one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from detect.quantities import QUANTITY_CODE
from edge.scheduler.plans import ReadingPlan
from edge.wiretime import dlt645_read_time_s, modbus_rtu_read_time_s

__all__ = [
    "CLOCK_REPLIES",
    "DI_BYTES",
    "DLT645_BLOCKS",
    "DLT645_QUANTITIES",
    "DLT645_VALUE_BYTES",
    "CapacityReport",
    "LinkTiming",
    "PlanLoad",
    "PlannedDevice",
    "bus_capacity",
    "device_plan_cost",
    "devices_capacity",
    "dlt645_frames_s",
    "dlt645_transactions",
    "plan_device_wire_s",
    "transaction_wire_s",
    "wire_fraction",
]

DI_BYTES = 4



def _from_catalogue() -> tuple[dict[str, int], tuple[tuple[tuple[str, ...], int], ...], tuple[int, int],
                               tuple[int, int]]:
    """Reply sizes as the DL/T 645-2007 DI catalogue (``edge/dlt645/catalog.toml``) gives them, so that the
    planner splits a read exactly as ``Dlt645Client`` does (same DIs, same FF blocks)."""
    from edge.dlt645.catalog import block_items, load_catalog

    cat = load_catalog()
    value_bytes = {it.name: it.nbytes for it in cat.items
                   if it.protocol == "2007" and it.name in QUANTITY_CODE and it.time_di is None}
    blocks = tuple((b.items, sum(it.nbytes for it in block_items(cat, b))) for b in cat.blocks_for("2007"))
    daily = cat.by_name("e_fwd_daily")
    freeze = cat.item(daily.time_di) if daily is not None and daily.time_di else None
    # 05060101 answers the frozen forward energies laid out like the live block 0001FF00 (total + tariffs).
    live = next((size for items, size in blocks if items[0] == "e_fwd"), None)
    date, tod = cat.item("04000101"), cat.item("04000102")
    if freeze is None or live is None or date is None or tod is None:  # pragma: no cover - catalogue broken
        raise RuntimeError("DL/T 645 catalogue lacks the frozen-energy, forward-block or clock DIs")
    return value_bytes, blocks, (freeze.nbytes, live), (date.nbytes, tod.nbytes)


# DLT645_VALUE_BYTES: value bytes of the single-DI read behind each quantity (dlt645.md §3.1-3.4).
# DLT645_BLOCKS: FF blocks (dlt645.md §3.2/3.3): members and the value bytes of the whole block reply.
# DAILY_FROZEN_REPLIES: frozen daily energy is two transactions, freeze time 05060001 (5 B) and the forward
# block 05060101 (total + 4 tariffs, 20 B); the reading carries the freeze time as its timestamp.
# CLOCK_REPLIES: meter clock, date 04000101 (4 B) and time 04000102 (3 B).
DLT645_VALUE_BYTES, DLT645_BLOCKS, DAILY_FROZEN_REPLIES, CLOCK_REPLIES = _from_catalogue()
# Every quantity a DL/T 645 meter can be asked for (others fail in the client without touching the wire).
DLT645_QUANTITIES = frozenset(DLT645_VALUE_BYTES) | {"e_fwd_daily"}


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkTiming:
    """Timing of one bus. ``protocol``: "dlt645", "modbus-rtu" or "modbus-tcp"."""

    baud: int = 2400
    response_delay_s: float = 0.1     # meter Td (20..500 ms); Modbus slave time
    gap_s: float = 0.02               # idle time after each reply
    protocol: str = "dlt645"
    block_reads: bool = False         # DL/T 645 meters that answer FF block DIs
    tcp_transaction_s: float = 0.02   # Modbus TCP round trip through a converter (assumption)


def dlt645_transactions(quantities: Sequence[str], *, block_reads: bool = False
                        ) -> list[tuple[tuple[str, ...], tuple[int, ...]]]:
    """Split quantities into DL/T 645 transactions: ``[(quantities, reply value bytes per frame)]``.

    One group is one request/reply (two for frozen daily energy). Order follows first appearance.
    Raises ``KeyError`` naming a quantity DL/T 645 cannot read.
    """
    out: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
    done: set[str] = set()
    wanted = set(quantities)
    for q in quantities:
        if q in done:
            continue
        if q == "e_fwd_daily":
            out.append(((q,), DAILY_FROZEN_REPLIES))
            done.add(q)
            continue
        block = next((b for b in DLT645_BLOCKS if q in b[0]), None) if block_reads else None
        if block is not None and len(wanted.intersection(block[0])) > 1:
            members = tuple(m for m in block[0] if m in wanted)
            out.append((members, (block[1],)))
            done.update(members)
            continue
        if q not in DLT645_VALUE_BYTES:
            raise KeyError(f"quantity {q!r} has no DL/T 645 read")
        out.append(((q,), (DLT645_VALUE_BYTES[q],)))
        done.add(q)
    return out


def dlt645_frames_s(timing: LinkTiming, reply_value_bytes: Iterable[int]) -> float:
    return sum(dlt645_read_time_s(timing.baud, DI_BYTES, DI_BYTES + n, response_delay_s=timing.response_delay_s,
                                  gap_s=timing.gap_s) for n in reply_value_bytes)


def transaction_wire_s(timing: LinkTiming, quantities: Sequence[str], *, modbus_registers: int = 60) -> float:
    """Wire time of reading ``quantities`` from one device in as few transactions as the link allows."""
    if timing.protocol == "dlt645":
        return sum(dlt645_frames_s(timing, replies)
                   for _, replies in dlt645_transactions(quantities, block_reads=timing.block_reads))
    if timing.protocol == "modbus-rtu":
        return modbus_rtu_read_time_s(timing.baud, modbus_registers, slave_time_s=timing.response_delay_s)
    if timing.protocol == "modbus-tcp":
        return timing.tcp_transaction_s
    raise ValueError(f"unknown protocol {timing.protocol!r} (dlt645, modbus-rtu, modbus-tcp)")


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedDevice:
    """One device as the planner sees it, for buses whose devices of one class differ (check-config).

    ``has``: the quantities the device answers (a single-phase meter has no phase B/C values, a Modbus
    profile maps only some); others in a plan are not read. ``modbus_requests``: registers of each
    request a Modbus read of the given quantities sends (the device's coalesced request plan); without
    it one request of ``modbus_registers`` registers is assumed.
    """

    class_name: str
    timing: LinkTiming
    has: frozenset[str] | None = None
    modbus_registers: int = 60
    modbus_requests: Callable[[tuple[str, ...]], Sequence[int]] | None = None


def device_plan_cost(plan: ReadingPlan, device: PlannedDevice) -> tuple[int, float]:
    """``(transactions, wire seconds)`` one device needs for one slot of ``plan``."""
    timing = device.timing
    if plan.kind == "clock":
        if timing.protocol != "dlt645":
            return 1, transaction_wire_s(timing, (), modbus_registers=4)
        return len(CLOCK_REPLIES), dlt645_frames_s(timing, CLOCK_REPLIES)
    quantities = tuple(q for q in plan.quantities if device.has is None or q in device.has)
    if not quantities:
        return 0, 0.0
    if timing.protocol == "dlt645":
        groups = dlt645_transactions(quantities, block_reads=timing.block_reads)
        return (sum(len(replies) for _, replies in groups),
                sum(dlt645_frames_s(timing, replies) for _, replies in groups))
    counts = (tuple(device.modbus_requests(quantities)) if device.modbus_requests is not None
              else (device.modbus_registers,))
    return len(counts), sum(transaction_wire_s(timing, quantities, modbus_registers=n) for n in counts)


def plan_device_wire_s(plan: ReadingPlan, timing: LinkTiming, *, modbus_registers: int = 60) -> float:
    """Wire time one device needs for one slot of ``plan``."""
    device = PlannedDevice(class_name=plan.class_name, timing=timing, modbus_registers=modbus_registers)
    return device_plan_cost(plan, device)[1]


def wire_fraction(plan: ReadingPlan, n_devices: int, timing: LinkTiming, *, modbus_registers: int = 60) -> float:
    """Share of the wire (0..) that ``n_devices`` devices on ``plan`` need on average."""
    return n_devices * plan_device_wire_s(plan, timing, modbus_registers=modbus_registers) / plan.interval_s


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanLoad:
    plan: str
    class_name: str
    n_devices: int
    device_s: float          # wire time per device per slot (mean over the devices)
    round_s: float           # wire time of a whole round (all devices)
    interval_s: float
    fraction: float          # round_s / interval_s
    fits: bool               # the round fits in its deadline on an otherwise idle bus
    transactions: int = 0    # request/reply exchanges of a whole round


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityReport:
    loads: tuple[PlanLoad, ...]
    total_fraction: float    # sum of fractions (+ probe reserve): > 1 means the bus cannot keep up
    probe_reserve: float = 0.0

    @property
    def ok(self) -> bool:
        return self.total_fraction <= 1.0 and all(load.fits for load in self.loads)

    def lines(self) -> list[str]:
        """Human-readable lines, one per plan, for ``check-config`` and the docs."""
        out = [f"{ld.class_name}/{ld.plan}: {ld.n_devices} devices x {ld.device_s:.3f} s = {ld.round_s:.1f} s "
               f"per {ld.interval_s:g} s -> {100 * ld.fraction:.1f} % of the wire"
               + ("" if ld.fits else " (round longer than its deadline)") for ld in self.loads]
        if self.probe_reserve:
            out.append(f"dead-device probes: at most {100 * self.probe_reserve:.1f} % of the wire")
        out.append(f"total: {100 * self.total_fraction:.1f} % of the wire")
        return out


def bus_capacity(plans: Sequence[ReadingPlan], devices_per_class: dict[str, int], timing: LinkTiming, *,
                 modbus_registers: int = 60, probe_reserve: float = 0.0) -> CapacityReport:
    """Wire load of every plan on one bus, given how many devices of each class it carries.

    ``probe_reserve``: the share the scheduler may spend probing dead devices (``BackoffPolicy.probe_budget``).
    """
    devices = [PlannedDevice(class_name=c, timing=timing, modbus_registers=modbus_registers)
               for c, n in devices_per_class.items() for _ in range(n)]
    return devices_capacity(plans, devices, probe_reserve=probe_reserve)


def devices_capacity(plans: Sequence[ReadingPlan], devices: Sequence[PlannedDevice], *,
                     probe_reserve: float = 0.0) -> CapacityReport:
    """Wire load of every plan on one bus carrying ``devices`` (each costed on its own)."""
    kinds = Counter(devices)     # equal devices are costed once
    loads = []
    for plan in plans:
        members = [(d, k) for d, k in kinds.items() if d.class_name == plan.class_name]
        n = sum(k for _, k in members)
        if n == 0:
            continue
        transactions, round_s = 0, 0.0
        costs = [(k, device_plan_cost(plan, d)) for d, k in members]
        for k, (reads, wire_s) in costs:
            transactions += k * reads
            round_s += k * wire_s
        dev_s = costs[0][1][1] if len(costs) == 1 else round_s / n
        loads.append(PlanLoad(plan=plan.name, class_name=plan.class_name, n_devices=n, device_s=dev_s,
                              round_s=round_s, interval_s=plan.interval_s, fraction=round_s / plan.interval_s,
                              fits=round_s <= plan.effective_deadline_s, transactions=transactions))
    return CapacityReport(loads=tuple(loads), total_fraction=sum(ld.fraction for ld in loads) + probe_reserve,
                          probe_reserve=probe_reserve)
