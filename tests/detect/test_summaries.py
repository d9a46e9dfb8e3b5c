"""Daily summary and collection rate."""

from __future__ import annotations

import pytest

from tests.detect.sim import Sim, make_area


def test_collection_rate_low_raised_for_a_day_below_target_and_cleared_next_day() -> None:
    sim = Sim(make_area(n=50), step_s=900)
    sim.run(24 * 60)                                         # day 1: everyone read
    sim.silent[[3, 17]] = True                                # day 2: 48 of 50 meters
    sim.run(24 * 60)
    sim.silent[:] = False
    sim.run(24 * 60 + 15)                                     # the day closes lateness_s after midnight
    days = sim.of_kind("daily")
    assert [d["collection_rate_pct"] for d in days] == pytest.approx([100.0, 96.0, 100.0])
    assert days[1]["meters_collected"] == 48 and days[1]["meters_expected"] == 50
    (r,) = sim.raised("collection_rate_low")
    assert r.value == pytest.approx(96.0) and r.threshold == 99.0
    assert r.evidence["date"] == days[1]["date"]
    assert len(sim.cleared("collection_rate_low")) == 1
    assert days[0]["date"] < days[1]["date"] < days[2]["date"]
    assert days[0]["band"] == "not_computable" and days[0]["loss_pct"] is None
    assert days[0]["ageing_days"] > 0 and days[0]["load_max_pct"] > 0


def test_frozen_readings_just_after_midnight_count_for_the_new_day() -> None:
    sim = Sim(make_area(n=10), step_s=900, meter_every_min=24 * 60)   # meters read once a day at 00:00:01+
    sim.run(3 * 24 * 60 + 15)
    days = sim.of_kind("daily")
    assert [d["collection_rate_pct"] for d in days] == [100.0, 100.0, 100.0]
    assert not sim.raised("collection_rate_low")
