"""The daily NTL alarms per phase (detect/stages/ntl.py) through the engine, on the crafted loss area with
the master's per-phase power: a change point on the thief's phase, and a theft present from the start."""

from __future__ import annotations

import time

import numpy as np

from detect.params import TechLossParams
from tests.detect.lossarea import T0, LossArea, params


def test_a_theft_on_one_phase_raises_ntl_rise_on_that_phase_at_its_change_point() -> None:
    la = LossArea(n=18, seed=5, phase_power=True)
    la.run_days(5)
    days = la.of_kind("daily")
    phase_pct = np.array([d["ntl_phase_pct"] for d in days], dtype=float)
    # technical loss by physics leaves each phase's NTL near the constant no voltage shows, day after day
    assert np.isfinite(phase_pct).all() and np.ptp(phase_pct, axis=0).max() < 0.1
    assert not la.raised("ntl_rise") and not la.raised("ntl_phase")
    la.metered[7] = 0.6                          # a shunt on meter 7 (phase B), from the start of day 6
    onset = la.t
    la.run_days(1.02)
    (rise,) = la.raised("ntl_rise")
    assert rise.ts == onset + 86400 and rise.evidence["channels"] == ["B"]
    assert rise.evidence["since"] == [time.strftime("%Y-%m-%d", time.gmtime(onset))]
    assert rise.evidence["rise_pp"][0] > 1.0 and 0 < rise.value < rise.evidence["rise_pp"][0]


def test_a_theft_present_from_the_start_raises_ntl_phase_not_ntl_rise() -> None:
    la = LossArea(n=18, seed=6, phase_power=True)
    la.metered[4] = 0.0                          # a full bypass on meter 4 (phase B) before monitoring began
    la.run_days(1.02)
    assert not la.raised("ntl_rise")
    (phase,) = la.raised("ntl_phase")
    # far above phase_excess_fast_pp: the first day is enough
    assert phase.subject_type == "phase" and phase.subject_id == "B"
    assert phase.evidence["above_median_pp"] > 1.2 and phase.evidence["days"] == 1
    assert phase.ts == T0 + 86400
    la.metered[4] = 1.0                          # caught and repaired: the phase back in line clears it
    la.run_days(1.02)
    assert [a.subject_id for a in la.cleared("ntl_phase")] == ["B"]


def test_a_phase_excess_below_the_one_day_level_needs_two_days_in_a_row() -> None:
    la = LossArea(n=18, seed=6, phase_power=True, prm=params(tech_loss=TechLossParams(phase_excess_fast_pp=50.0)))
    la.metered[4] = 0.0
    la.run_days(1.02)
    assert not la.raised("ntl_phase")            # one day above phase_excess_pp, below the one-day level
    la.run_days(1.0)
    (phase,) = la.raised("ntl_phase")
    assert phase.subject_id == "B" and phase.evidence["days"] == 2 and phase.ts == T0 + 2 * 86400
