"""Outages against communication failures: the master meter as a physical sensor."""

from __future__ import annotations

import numpy as np

from detect.batch import ReadingBatch
from detect.quantities import QUANTITY_CODE as Q
from tests.detect.sim import Sim, make_area


def warm() -> Sim:
    sim = Sim(make_area(n=30, n_branches=3))
    sim.run(90)                                # meters build their typical load history
    return sim


def test_branch_outage_named_when_master_power_drops_by_its_load() -> None:
    sim = warm()
    t_out = sim.t
    branch = sim.area.meter_branch == 1
    sim.dead[branch] = True
    sim.run(60)
    (r,) = sim.raised("outage_branch")
    assert r.ts - t_out <= 900 + 60                          # within one meter cadence of the outage
    assert r.subject_id == "b2" and "b2" in r.message
    assert r.evidence["meters_down"] == 10
    assert r.evidence["master_p_before_kw"] - r.evidence["master_p_after_kw"] > 0.5 * r.evidence["expected_drop_kw"]
    assert not sim.raised("meter_offline")                    # explained by the branch outage
    sim.dead[:] = False
    sim.run(20)
    assert len(sim.cleared("outage_branch")) == 1


def test_silent_branch_with_unchanged_master_is_a_communication_failure() -> None:
    sim = warm()
    branch = sim.area.meter_branch == 1
    sim.silent[branch] = True
    sim.run(60)
    assert not sim.raised("outage_branch")
    assert sorted(a.subject_id for a in sim.raised("meter_offline")) == \
        sorted(m for m, b in zip(sim.area.meter_ids, branch, strict=True) if b)
    sim.silent[:] = False
    sim.run(20)
    assert len(sim.cleared("meter_offline")) == 10


def test_meters_answering_with_dead_voltage_are_an_outage_without_balance() -> None:
    sim = warm()
    sim.answer_dead = True
    sim.dead[sim.area.meter_branch == 2] = True
    sim.run(20)
    assert [a.subject_id for a in sim.raised("outage_branch")] == ["b3"]
    assert not [a for a in sim.raised("low_voltage") if a.subject_type == "meter"]


def test_master_silent_while_meters_answer_is_master_offline() -> None:
    sim = warm()
    sim.master_silent = True
    sim.run(5)
    assert len(sim.raised("master_offline")) == 1
    assert not sim.raised("outage_area")
    sim.master_silent = False
    sim.run(2)
    assert len(sim.cleared("master_offline")) == 1


def test_master_and_meters_silent_is_an_area_outage_and_suppresses_meter_alarms() -> None:
    sim = warm()
    t_out = sim.t
    sim.master_silent = True
    sim.dead[:] = True
    sim.run(60)
    assert len(sim.raised("outage_area")) == 1
    assert not sim.raised("meter_offline") and not sim.raised("outage_branch")
    assert [a.kind for a in sim.engine.active_alerts()] == ["outage_area"]
    assert sim.raised("outage_area")[0].ts - t_out <= 60     # the meters due at once stayed away


def test_master_offline_first_is_explained_by_a_later_area_outage() -> None:
    sim = warm()
    sim.run(5)
    sim.master_silent = True
    sim.run(5)
    assert len(sim.raised("master_offline")) == 1
    sim.dead[:] = True
    sim.run(30)
    assert len(sim.raised("outage_area")) == 1
    assert [a.message for a in sim.cleared("master_offline")] == ["explained by an area outage"]
    assert [a.kind for a in sim.engine.active_alerts()] == ["outage_area"]


def test_area_outage_from_master_voltage_suppresses_meter_offline() -> None:
    sim = warm()
    t_out = sim.t
    sim.master_u = (0.0, 0.0, 0.0)
    sim.dead[:] = True
    sim.run(60)
    (r,) = sim.raised("outage_area")
    assert r.ts - t_out <= 60
    assert not sim.raised("meter_offline") and not sim.raised("outage_branch")


def test_read_cadences_are_learned_so_a_slower_master_is_not_offline() -> None:
    sim = Sim(make_area(n=6, n_branches=1), step_s=300)     # master every 5 min, configured default 60 s
    start = sim.t
    sim.run(6 * 60)
    offline = sim.raised("master_offline")
    assert len(offline) <= 1 and all(a.ts - start < 600 for a in offline)   # only before the 2nd poll
    assert sim.engine.readings.gap_ewma_s[-1] == 300.0
    assert np.allclose(sim.engine.readings.gap_ewma_s[:-1], 900.0)
    assert not sim.raised("meter_offline")


def test_phase_outage_explains_its_meters() -> None:
    sim = warm()
    sim.master_u = (230.0, 0.0, 230.0)
    sim.dead[sim.area.meter_phase == 1] = True
    sim.run(60)
    assert [a.subject_id for a in sim.raised("outage_phase")] == ["B"]
    assert not sim.raised("meter_offline") and not sim.raised("outage_branch") and not sim.raised("outage_area")
    explained = sim.engine.explained
    assert explained[sim.area.meter_phase == 1].all() and not explained[sim.area.meter_phase != 1].any()


def test_nan_readings_do_not_count_as_hearing_from_a_meter() -> None:
    sim = warm()
    sim.silent[0] = True
    for _ in range(60):
        # the producer reports the failed read of meter 0 as NaN values
        sim.engine.ingest(ReadingBatch.from_columns([0], [Q["u_a"]], [np.nan], [sim.t + 0.5]))
        sim.step()
    assert [a.subject_id for a in sim.raised("meter_offline")] == ["m000"]


def test_branch_outage_judged_on_the_load_at_the_time_not_the_daily_mean() -> None:
    # evening-heavy history (6 kW per meter), then an afternoon at 2 kW: the branch's mean load (~5 kW per
    # meter) would ask the master for a drop it cannot show; its last power readings (2 kW) are the truth
    sim = Sim(make_area(n=30, n_branches=3), kw=6.0)
    sim.run(120)
    sim.meter_kw[:] = 2.0
    sim.run(45)
    sim.dead[sim.area.meter_branch == 1] = True
    sim.run(40)
    (r,) = sim.raised("outage_branch")
    assert r.subject_id == "b2" and r.evidence["expected_drop_kw"] == 20.0
    assert not sim.raised("meter_offline")


def test_branch_balance_compares_the_master_at_the_meters_last_read() -> None:
    # the other branches' load climbs steeply up to the branch's last read: the master's mean over the
    # interval before that read is far below its level at the read and would hide the drop
    sim = warm()
    others = sim.area.meter_branch != 1
    for _ in range(30):
        sim.meter_kw[others] += 0.1
        sim.run(1)
    sim.run(7)                                  # the outage comes 7 min after the read
    sim.dead[sim.area.meter_branch == 1] = True
    sim.run(30)
    assert [a.subject_id for a in sim.raised("outage_branch")] == ["b2"]


def restored_between_reads(kind: str) -> Sim:
    sim = warm()
    sim.run(3)                                   # outages start and end between meter reads
    if kind == "phase":
        sim.master_u = (230.0, 0.0, 230.0)
        sim.dead[sim.area.meter_phase == 1] = True
    else:
        sim.master_u = (0.0, 0.0, 0.0)
        sim.dead[:] = True
    sim.run(50)
    sim.master_u = None
    sim.dead[:] = False
    return sim


def test_meters_of_a_restored_phase_are_not_a_branch_outage_before_their_next_read() -> None:
    sim = restored_between_reads("phase")
    sim.run(60)
    assert [a.kind for a in sim.alerts] == ["outage_phase", "outage_phase"]


def test_meters_of_a_restored_area_are_not_a_branch_outage_before_their_next_read() -> None:
    sim = restored_between_reads("area")
    sim.run(60)
    assert [(a.kind, a.state) for a in sim.alerts] == [("outage_area", "raised"), ("outage_area", "cleared")]


def test_one_failed_read_right_after_a_restoration_is_not_meter_offline() -> None:
    sim = restored_between_reads("area")
    sim.silent[4] = True                        # its first read after the outage fails
    sim.run(15)
    sim.silent[4] = False
    sim.run(45)
    assert not sim.raised("meter_offline")
    sim.silent[4] = True                        # a real communication failure is still found
    sim.run(40)
    assert [a.subject_id for a in sim.raised("meter_offline")] == ["m004"]
