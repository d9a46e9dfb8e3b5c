"""The configuration mapped onto the scheduler's capacity planner (what ``check-config`` prints)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edge.config import load_config
from edge.modbus.plan import plan_reads
from edge.modbus.profile import load_profile
from edge.scheduler import LinkTiming, ReadingPlan
from edge.scheduler.capacity import dlt645_frames_s, dlt645_transactions, transaction_wire_s
from edge.scheduler.from_config import config_bus_capacity, link_timing, planned_devices, reading_plans

ROOT = Path(__file__).resolve().parents[3]
CFG = load_config(ROOT / "deploy/examples/edge.toml")


def _bus(name: str):
    return next(b for b in CFG.buses if b.name == name)


def _load(report, plan: str):
    return next(ld for ld in report.loads if ld.plan == plan)


def _all_meters(kind: str, phase: str):
    return dataclasses.replace(CFG, areas=tuple(
        dataclasses.replace(a, meters=tuple(dataclasses.replace(m, kind=kind, phase=phase) for m in a.meters))
        for a in CFG.areas))


def test_single_phase_meters_are_not_charged_for_phases_b_and_c():
    bus = _bus("rs485-1")
    plan = next(p for p in reading_plans(CFG) if p.name == "meter_interval")
    single = _load(config_bus_capacity(_all_meters("single", "A"), bus), "meter_interval")
    kept = tuple(q for q in plan.quantities if q not in ("u_b", "u_c", "i_b", "i_c"))
    groups = dlt645_transactions(kept, block_reads=True)
    assert single.transactions == 20 * sum(len(r) for _, r in groups)
    assert single.device_s == pytest.approx(sum(dlt645_frames_s(link_timing(bus), r) for _, r in groups))

    three = _load(config_bus_capacity(_all_meters("three", "ABC"), bus), "meter_interval")
    mixed = _load(config_bus_capacity(CFG, bus), "meter_interval")
    assert single.round_s < mixed.round_s < three.round_s


def test_block_reads_off_costs_more_wire():
    bus = _bus("rs485-1")
    off = dataclasses.replace(bus, block_reads="off")
    cfg_off = dataclasses.replace(CFG, buses=tuple(off if b.name == bus.name else b for b in CFG.buses))
    assert not link_timing(off).block_reads and link_timing(bus).block_reads
    with_blocks = _load(config_bus_capacity(CFG, bus), "meter_tamper")
    without = _load(config_bus_capacity(cfg_off, off), "meter_tamper")
    assert without.transactions > with_blocks.transactions and without.round_s > with_blocks.round_s


def test_modbus_master_is_costed_by_its_profile_request_plan():
    bus = _bus("ttu")
    (master,) = planned_devices(CFG, bus)
    profile = load_profile("dtsu666")
    plan = next(p for p in reading_plans(CFG) if p.name == "master_realtime")
    assert master.class_name == "master" and master.has == frozenset(profile.quantities)
    points = [profile.point(q) for q in plan.quantities if q in profile.quantities]
    requests = plan_reads(points, max_gap=profile.max_gap if profile.max_gap is not None else 32)
    load = _load(config_bus_capacity(CFG, bus), "master_realtime")
    assert load.transactions == len(requests) >= 1
    timing = link_timing(bus)
    assert load.round_s == pytest.approx(sum(transaction_wire_s(timing, (), modbus_registers=r.count)
                                             for r in requests))
    assert timing == LinkTiming(baud=9600, response_delay_s=0.01, gap_s=0.0, protocol="modbus-rtu")


def test_clock_plan_is_two_reads_per_meter_and_daily_plans_are_local_time():
    load = _load(config_bus_capacity(CFG, _bus("rs485-2")), "meter_clock")
    assert load.transactions == 2 * load.n_devices
    daily = [p for p in reading_plans(CFG, utc_offset_s=8 * 3600) if p.interval_s >= 86400 and p.kind == "read"]
    local = {n: p.offset_s for n, p in CFG.plans.items()}
    assert daily and all(p.offset_s == (local[p.name] - 8 * 3600) % 86400 for p in daily)
    assert all(isinstance(p, ReadingPlan) for p in daily)


def test_a_meter_quantity_without_a_dlt645_di_is_not_charged():
    bus = _bus("rs485-1")
    plans = dict(CFG.plans)
    plans["meter_interval"] = dataclasses.replace(plans["meter_interval"],
                                                  quantities=(*plans["meter_interval"].quantities, "t_amb"))
    with_t = _load(config_bus_capacity(dataclasses.replace(CFG, plans=plans), bus), "meter_interval")
    assert with_t == _load(config_bus_capacity(CFG, bus), "meter_interval")
