"""Per-meter voltage alarms, voltage qualification rate and interval energies on crafted series."""

from __future__ import annotations

import pytest

from detect.params import Params, VoltageParams
from tests.detect.sim import Sim, make_area


def test_meter_low_voltage_only_after_one_hour() -> None:
    sim = Sim(make_area(), meter_every_min=5)
    sim.run(10)
    onset_min = sim.minute
    sim.meter_u[4] = 190.0
    sim.run(59)
    assert not [a for a in sim.raised("low_voltage") if a.subject_type == "meter"]
    sim.run(6)
    (r,) = [a for a in sim.raised("low_voltage") if a.subject_type == "meter"]
    assert r.subject_id == "m004" and r.value == 190.0
    assert r.ts - (sim.engine.clock.started_ts + onset_min * 60) == pytest.approx(3600.0, abs=2.0)


def test_meter_voltage_recovering_inside_hysteresis_does_not_clear() -> None:
    params = Params(voltage=VoltageParams(persist_s=600.0, clear_persist_s=600.0))
    sim = Sim(make_area(), params=params, meter_every_min=5)
    sim.meter_u[7] = 240.0
    sim.run(20)
    assert [a.subject_id for a in sim.raised("high_voltage")] == ["m007"]
    sim.meter_u[7] = 235.0                                     # below 235.4 but within 1 % hysteresis
    sim.run(30)
    assert not sim.cleared("high_voltage")
    sim.meter_u[7] = 225.0
    sim.run(15)
    assert [a.subject_id for a in sim.cleared("high_voltage")] == ["m007"]


def test_voltage_qualification_rate_and_counts_per_interval() -> None:
    sim = Sim(make_area(n=10, n_branches=1), meter_every_min=5)
    sim.meter_u[:2] = 190.0                                    # 2 of 10 meters low, 1 high
    sim.meter_u[2] = 240.0
    sim.run(40)
    f = sim.of_kind("interval")[-1]
    # 3 readings per meter and interval, master: 15 polls × 3 phases, all at 230 V
    assert f["voltage_qualified_pct"] == pytest.approx((7 * 3 + 45) / (10 * 3 + 45) * 100)
    assert (f["meters_low_voltage"], f["meters_high_voltage"]) == (2, 1)
    mi = sim.of_kind("meters_interval")[-1]
    assert mi["u_min"][0] == 190.0 and mi["u_max"][2] == 240.0 and mi["u_mean"][5] == pytest.approx(226.0)
    assert mi["u_qualified_pct"][:4] == [0.0, 0.0, 0.0, 100.0]
    assert f["master_voltage_qualified_pct"] == [100.0, 100.0, 100.0]


def test_meter_interval_energy_from_registers() -> None:
    sim = Sim(make_area(n=6, n_branches=1), kw=4.0)
    sim.run(61)
    mi = sim.of_kind("meters_interval")
    assert mi[0]["e_kwh"] == [None] * 6                         # no baseline in the first interval
    assert mi[-1]["e_kwh"] == pytest.approx([1.0] * 6)         # 4 kW × 15 min
    assert mi[-1]["read"] == [True] * 6 and mi[-1]["estimated"] == [False] * 6
    assert sim.of_kind("interval")[-1]["coverage_pct"] == 100.0
