"""Capacity planner: the dlt645.md §9 timing table, block grouping, and per-plan wire shares."""

from __future__ import annotations

import pytest

from edge.scheduler import LinkTiming, ReadingPlan, bus_capacity, default_plans, wire_fraction
from edge.scheduler.capacity import dlt645_transactions, transaction_wire_s
from edge.wiretime import dlt645_frame_bytes, dlt645_reply_deadline_s


@pytest.mark.parametrize(("baud", "td_s", "ms", "per_min"), [
    (2400, 0.030, 252, 238), (2400, 0.100, 322, 187), (2400, 0.500, 722, 83),
    (1200, 0.100, 523, 115), (4800, 0.100, 221, 272), (9600, 0.100, 170, 352),
])
def test_energy_read_time_matches_the_reference_table(baud, td_s, ms, per_min):
    t = transaction_wire_s(LinkTiming(baud=baud, response_delay_s=td_s), ["e_fwd"])
    assert round(t * 1000) == ms
    assert round(60 / t) == per_min


def test_single_dis_without_block_support():
    groups = dlt645_transactions(["u_a", "u_b", "u_c", "i_n"])
    assert groups == [(("u_a",), (2,)), (("u_b",), (2,)), (("u_c",), (2,)), (("i_n",), (3,))]


def test_block_reads_put_phase_quantities_into_one_transaction():
    groups = dlt645_transactions(["u_a", "u_b", "u_c", "i_n", "sw3", "sw7"], block_reads=True)
    assert groups == [(("u_a", "u_b", "u_c"), (6,)), (("i_n",), (3,)), (("sw3", "sw7"), (14,))]


def test_a_lone_block_member_is_read_with_its_own_di():
    assert dlt645_transactions(["u_a", "e_fwd"], block_reads=True) == [(("u_a",), (2,)), (("e_fwd",), (4,))]


def test_frozen_daily_energy_costs_two_transactions():
    timing = LinkTiming()
    assert dlt645_transactions(["e_fwd_daily"]) == [(("e_fwd_daily",), (5, 20))]
    assert transaction_wire_s(timing, ["e_fwd_daily"]) > 2 * transaction_wire_s(timing, ["e_fwd"])


def test_a_silent_meter_costs_about_a_second_at_2400():
    assert 0.8 < dlt645_reply_deadline_s(2400, dlt645_frame_bytes(4), 4 + 4) + LinkTiming().gap_s < 1.0


def test_per_meter_poll_of_six_to_ten_reads_takes_two_to_three_seconds():
    # dlt645.md §9: energy, U, I, P, PF, SW7 - 6 reads with blocks or ~10 single DIs -> 2-3.2 s at 2400/100 ms
    timing = LinkTiming()
    single = transaction_wire_s(timing, ["e_fwd", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p", "pf", "sw7"])
    assert 3.0 < single < 3.3
    blocks = transaction_wire_s(LinkTiming(block_reads=True),
                                ["e_fwd", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p", "pf", "sw7"])
    assert 1.9 < blocks < 2.1


def test_wire_fraction_of_the_master_realtime_plan():
    realtime = next(p for p in default_plans() if p.name == "realtime")
    frac = wire_fraction(realtime, 1, LinkTiming())
    assert frac == pytest.approx(9 * 0.3155 / 5, rel=0.01)


def test_bus_capacity_flags_a_bus_that_cannot_keep_up():
    plans = default_plans()
    light = bus_capacity(plans, {"master": 1, "customer": 64}, LinkTiming())
    assert light.ok and light.total_fraction < 1
    heavy = bus_capacity(plans, {"master": 1, "customer": 600}, LinkTiming())
    assert not heavy.ok and heavy.total_fraction > 1
    interval = next(ld for ld in heavy.loads if ld.class_name == "customer" and ld.plan == "interval")
    assert interval.round_s == pytest.approx(600 * interval.device_s) and not interval.fits
    lines = heavy.lines()
    assert lines[-1].startswith("total: ") and any("round longer than its deadline" in ln for ln in lines)


def test_plans_of_classes_absent_from_the_bus_cost_nothing():
    plan = ReadingPlan(name="interval", class_name="customer", quantities=("e_fwd",), interval_s=900)
    report = bus_capacity([plan], {"master": 1}, LinkTiming())
    assert report.loads == () and report.total_fraction == 0


def test_modbus_rtu_block_read_estimate():
    # modbus.md / dlt645.md §9: 60 registers at 9600 take about 170 ms
    t = transaction_wire_s(LinkTiming(protocol="modbus-rtu", baud=9600, response_delay_s=0.01), ["u_a"])
    assert t == pytest.approx(0.170, abs=0.01)


def test_unknown_protocol_is_an_error_naming_it():
    with pytest.raises(ValueError, match="unknown protocol 'iec104'"):
        transaction_wire_s(LinkTiming(protocol="iec104"), ["u_a"])


def test_probe_reserve_is_part_of_the_total():
    plan = ReadingPlan(name="interval", class_name="customer", quantities=("e_fwd",), interval_s=60)
    bare = bus_capacity([plan], {"customer": 10}, LinkTiming())
    kept = bus_capacity([plan], {"customer": 10}, LinkTiming(), probe_reserve=0.03)
    assert kept.total_fraction == pytest.approx(bare.total_fraction + 0.03)
    assert "dead-device probes: at most 3.0 % of the wire" in kept.lines()


def test_reply_sizes_and_blocks_are_the_di_catalogues():
    from edge.dlt645.catalog import load_catalog
    from edge.scheduler.capacity import CLOCK_REPLIES, DAILY_FROZEN_REPLIES, DLT645_BLOCKS, DLT645_VALUE_BYTES

    cat = load_catalog()
    assert DLT645_VALUE_BYTES["u_a"] == cat.by_name("u_a").nbytes == 2            # XXX.X
    assert DLT645_VALUE_BYTES["e_fwd"] == cat.by_name("e_fwd").nbytes == 4        # XXXXXX.XX
    assert ((("u_a", "u_b", "u_c"), 6) in DLT645_BLOCKS and (("p", "p_a", "p_b", "p_c"), 12) in DLT645_BLOCKS
            and (tuple(f"sw{k}" for k in range(1, 8)), 14) in DLT645_BLOCKS)
    assert DAILY_FROZEN_REPLIES == (5, 20) and CLOCK_REPLIES == (4, 3)


def test_a_quantity_without_a_dlt645_di_has_no_transaction():
    with pytest.raises(KeyError, match="t_amb"):
        dlt645_transactions(["e_fwd", "t_amb"])
