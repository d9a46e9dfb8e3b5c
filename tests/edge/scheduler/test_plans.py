"""Reading plans and policies: validation names the plan, slots align to the epoch, back-off grows."""

from __future__ import annotations

import pytest

from edge.scheduler import BackoffPolicy, ClockPolicy, ReadingPlan, default_plans, local_offset_s


def test_a_plan_with_an_unknown_quantity_names_plan_class_and_quantity():
    with pytest.raises(ValueError, match=r"plan 'interval' \(class 'customer'\): unknown quantities volts"):
        ReadingPlan(name="interval", class_name="customer", quantities=("e_fwd", "volts"), interval_s=900)


@pytest.mark.parametrize(("kw", "message"), [
    ({"interval_s": 0}, "interval_s must be > 0"),
    ({"interval_s": 60, "deadline_s": -1}, "deadline_s must be > 0"),
    ({"interval_s": 60, "kind": "write"}, "kind 'write' is not one of read, clock"),
    ({"interval_s": 60, "quantities": ()}, "needs at least one quantity"),
])
def test_bad_plan_values_are_rejected_with_the_reason(kw, message):
    args = {"name": "p", "class_name": "customer", "quantities": ("e_fwd",), **kw}
    with pytest.raises(ValueError, match=message):
        ReadingPlan(**args)


def test_slots_fall_at_offset_plus_multiples_of_the_interval():
    plan = ReadingPlan(name="tamper", class_name="customer", quantities=("sw7",), interval_s=3600, offset_s=450)
    assert plan.slot_at_or_before(7200 + 450) == 7200 + 450
    assert plan.slot_at_or_before(7200 + 449) == 3600 + 450
    assert plan.effective_deadline_s == 3600


def test_local_quarter_past_midnight_in_china_is_16_15_utc():
    assert local_offset_s(0, 15) == 16 * 3600 + 15 * 60
    assert local_offset_s(2, 0, utc_offset_s=0) == 7200


def test_backoff_doubles_from_base_up_to_the_cap():
    p = BackoffPolicy(base_s=60, factor=2, max_s=900)
    assert [p.delay_s(k) for k in range(6)] == [60, 120, 240, 480, 900, 900]


@pytest.mark.parametrize("kw", [{"silent_threshold": 0}, {"base_s": 0}, {"base_s": 1000, "max_s": 900},
                                {"factor": 0.5}])
def test_bad_backoff_values_are_rejected(kw):
    with pytest.raises(ValueError, match="backoff"):
        BackoffPolicy(**kw)


def test_time_sync_is_an_enumerated_opt_in():
    assert ClockPolicy().time_sync == "off"
    with pytest.raises(ValueError, match="time_sync 'yes' is not one of off, broadcast"):
        ClockPolicy(time_sync="yes")


def test_default_plans_protect_the_master_and_cover_the_issue_cadences():
    plans = {(p.class_name, p.name): p for p in default_plans()}
    realtime = plans["master", "realtime"]
    assert realtime.interval_s == 5 and set(realtime.quantities) >= {"u_a", "i_a", "i_n", "p", "q"}
    assert realtime.priority < min(p.priority for p in plans.values() if p.class_name == "customer")
    assert plans["customer", "interval"].interval_s == 900
    assert {"sw3", "sw7", "e_fwd", "pf", "i_n"} <= set(plans["customer", "interval"].quantities)
    assert plans["customer", "tamper"].interval_s == 3600
    assert plans["customer", "daily"].offset_s == local_offset_s(0, 15)
    assert plans["customer", "clock"].kind == "clock"
