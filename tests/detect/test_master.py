"""Crafted master series: heavy load / overload bands, hot-spot, imbalance with its gate, neutral current,
master voltage, phase loss and outages seen by the master's voltages."""

from __future__ import annotations

import pytest

from tests.detect.sim import Sim, make_area


def sim_at(beta: tuple[float, float, float], step_s: float = 60.0) -> Sim:
    sim = Sim(make_area(), step_s=step_s)
    sim.beta = beta
    return sim


def test_heavy_load_after_two_hours_in_band_only() -> None:
    sim = sim_at((0.5, 0.5, 0.5), step_s=300)
    sim.run(30)
    onset = sim.t
    sim.beta = (0.85, 0.7, 0.7)
    sim.run(115)
    assert not sim.raised("heavy_load")
    sim.run(10)
    (r,) = sim.raised("heavy_load")
    assert r.ts == onset + 7200 and r.severity == "warning"
    assert not sim.raised("overload_2h") and not sim.raised("overload")


def test_overload_2h_and_heavy_load_are_distinct_bands() -> None:
    sim = sim_at((1.05, 0.9, 0.9), step_s=300)
    sim.run(125)
    assert len(sim.raised("overload_2h")) == 1 and sim.raised("overload_2h")[0].severity == "critical"
    assert not sim.raised("heavy_load")
    assert len(sim.raised("overload")) == 1


def test_hotspot_alert_when_projected_to_reach_limit_within_horizon() -> None:
    sim = sim_at((0.6, 0.6, 0.6))
    sim.run(60)
    assert not sim.raised("hotspot")
    sim.beta = (1.6, 1.5, 1.5)
    sim.run(5)
    (r,) = sim.raised("hotspot")
    rt = sim.of_kind("realtime")[-1]
    assert r.value is not None and r.value < 120.0            # raised on the projection, before the limit
    assert 0 < r.evidence["time_to_limit_min"] <= 120
    assert rt["top_oil_c"] < rt["hotspot_c"] and rt["ageing_rate"] > 0
    sim.beta = (0.4, 0.4, 0.4)
    sim.run(120)
    assert len(sim.cleared("hotspot")) == 1


def test_imbalance_respects_the_load_gate() -> None:
    sim = sim_at((0.4, 0.2, 0.2), step_s=300)                  # 50 % imbalance at 40 % load: gated
    sim.run(180)
    assert not sim.raised("imbalance")
    onset = sim.t
    sim.beta = (0.8, 0.4, 0.45)                                # 50 % imbalance at 80 % load
    sim.run(125)
    (r,) = sim.raised("imbalance")
    assert r.ts == onset + 7200
    assert r.value == pytest.approx(50.0)
    assert sim.of_kind("interval")[-1]["imbalance_pct"] == pytest.approx(50.0)


def test_neutral_current_against_rated() -> None:
    sim = sim_at((0.5, 0.5, 0.5), step_s=300)
    sim.i_n = 0.30 * sim.area.rated_current_a
    sim.run(125)
    (r,) = sim.raised("neutral_current")
    assert r.value == pytest.approx(30.0)


def test_master_low_voltage_after_persistence_per_phase() -> None:
    sim = sim_at((0.5, 0.5, 0.5))
    sim.master_u = (230.0, 190.0, 230.0)
    sim.run(59)
    assert not sim.raised("low_voltage")
    sim.run(3)
    (r,) = sim.raised("low_voltage")
    assert (r.subject_type, r.subject_id, r.value) == ("phase", "B", 190.0)
    assert r.threshold == pytest.approx(198.0)


def test_phase_loss_and_phase_outage_and_area_outage_from_master_voltage() -> None:
    sim = sim_at((0.5, 0.5, 0.5))
    sim.run(5)
    sim.master_u = (230.0, 100.0, 230.0)
    sim.run(2)
    assert [a.subject_id for a in sim.raised("phase_loss")] == ["B"]
    sim.master_u = (230.0, 0.0, 230.0)
    sim.run(1)
    assert [a.subject_id for a in sim.raised("outage_phase")] == ["B"]   # no persistence for outages
    sim.run(1)
    assert sim.cleared("phase_loss")                           # phase loss clears after its persistence
    t_out = sim.t
    sim.master_u = (0.0, 0.0, 0.0)
    sim.run(1)
    (r,) = sim.raised("outage_area")
    assert r.ts - t_out <= 60.0
    assert sim.cleared("outage_phase")                         # escalated to the whole area
    sim.master_u = (230.0, 230.0, 230.0)
    sim.run(1)
    assert len(sim.cleared("outage_area")) == 1
