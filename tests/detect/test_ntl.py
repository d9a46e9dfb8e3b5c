"""The daily NTL alarms per phase (detect/stages/ntl.py) through the engine, on the crafted loss area with
the master's per-phase power: a change point on the thief's phase, and a theft present from the start."""

from __future__ import annotations

import time

import numpy as np

from detect.params import TechLossParams
from detect.stages import ntl
from tests.detect.lossarea import T0, LossArea, params


class _Ctx:
    """What ntl.close_day reads of an area's context, for the stage on its own (UTC days)."""

    params = params()

    @staticmethod
    def day_of(ts: float) -> int:
        return int(ts // 86400)


_CTX = _Ctx()


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
    assert phase.evidence["above_reference_pp"] > 1.2 and phase.evidence["days"] == 1
    assert phase.ts == T0 + 86400
    la.metered[4] = 1.0                          # caught and repaired: the phase back in line clears it
    la.run_days(2.0)                             # (the repair day still holds the bypass's first half-hour)
    assert [a.subject_id for a in la.cleared("ntl_phase")] == ["B"]


def test_a_phase_excess_below_the_one_day_level_needs_two_days_in_a_row() -> None:
    la = LossArea(n=18, seed=6, phase_power=True, prm=params(tech_loss=TechLossParams(phase_excess_fast_pp=50.0)))
    la.metered[4] = 0.0
    la.run_days(1.02)
    assert not la.raised("ntl_phase")            # one day above phase_excess_pp, below the one-day level
    la.run_days(1.0)
    (phase,) = la.raised("ntl_phase")
    assert phase.subject_id == "B" and phase.evidence["days"] == 2 and phase.ts == T0 + 2 * 86400


def test_a_theft_present_from_the_start_stands_out_on_the_first_partial_day() -> None:
    # monitoring begins at 06:00: the first day is partial (no day balance), but its phases' NTL over the
    # 18 hours seen is compared all the same, one day earlier than the first whole day allows
    la = LossArea(n=18, seed=6, phase_power=True)
    la.t = T0 + 6 * 3600.0
    la.metered[4] = 0.0                          # a full bypass on meter 4 (phase B) before monitoring began
    la.run_days(0.77)
    (first,) = la.of_kind("daily")
    assert first["partial"] and first["loss_pct"] is None
    pct = np.array(first["ntl_phase_pct"], dtype=float)
    assert np.isfinite(pct).all() and pct[1] - np.median(pct) > 1.2
    (phase,) = la.raised("ntl_phase")
    assert phase.subject_id == "B" and phase.ts == T0 + 86400 and phase.evidence["days"] == 1
    assert not la.raised("ntl_rise")


def test_a_first_day_seen_for_less_than_half_of_it_is_not_compared() -> None:
    la = LossArea(n=18, seed=6, phase_power=True)
    la.t = T0 + 14 * 3600.0                      # 10 hours of the first day
    la.metered[4] = 0.0
    la.run_days(0.44)
    (first,) = la.of_kind("daily")
    assert first["partial"] and first["ntl_phase_pct"] == [None, None, None]
    assert not la.raised("ntl_phase")


def test_a_partial_first_day_is_no_baseline_for_ntl_rise() -> None:
    # the change from the partial first day to the first whole one is no "rise": part of a day (here its
    # quieter hours) is no level to measure one from; the whole days that follow are the baseline
    la = LossArea(n=18, seed=5, phase_power=True)
    la.t = T0 + 6 * 3600.0
    la.run_days(0.77)
    la.metered[7] = 0.6                          # a shunt from the first whole day on: it is that day's level
    la.run_days(1.0)
    assert not la.raised("ntl_rise")             # one whole day: nothing to measure a rise from yet
    days = la.of_kind("daily")
    assert len(days) == 2 and days[0]["partial"] and np.isfinite(np.array(days[0]["ntl_phase_pct"], float)).all()


def test_phases_that_lose_less_than_nothing_do_not_make_an_ordinary_phase_stand_out() -> None:
    # the master reads each phase 8 % high against the meters (a CT or wiring fault): every phase "loses"
    # far less than nothing; the one with the least negative NTL is no theft's phase
    st = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    for d in range(3):
        end = T0 + (d + 1) * 86400.0
        sup = np.array([100.0, 100.0, 100.0, 300.0])
        loss = np.array([-8.0, -6.5, -8.2, -22.7])              # B 1.5 pp above the median, below zero
        st, day, _seen = ntl.close_day(_CTX, st, end, "d", loss, sup)  # type: ignore[arg-type]
        assert not day.excess.any()
    st2 = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    for d in range(2):                                         # the same spread above zero is a theft's
        st2, day, _seen = ntl.close_day(_CTX, st2, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                        np.array([0.2, 1.7, 0.0, 1.9]), np.array([100.0, 100.0, 100.0, 300.0]))
    assert day.excess.tolist() == [False, True, False]


def test_two_phases_with_thefts_both_stand_out_against_the_phase_that_loses_least() -> None:
    # seed 1011 of the tuning set: a shunt on A and a bypass on C, both from day 0, B clean (a little below
    # zero): against the median phase C is the reference and never stands out, A only by 0.6 pp
    st = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    st, day, seen = ntl.close_day(_CTX, st, T0 + 86400.0, "d", np.array([2.4, -0.3, 1.8, 3.9]),  # type: ignore[arg-type]
                                  np.full(4, 100.0))
    assert day.excess.tolist() == [True, False, True]
    np.testing.assert_allclose(day.phase_excess_pp, [2.4, -0.3, 1.8])
    (cond,) = [c for c in seen.conditions if c.key == "ntl_phase@phase"]
    assert cond.evidence(2)["reference_pct"] == 0.0 and cond.evidence(2)["above_reference_pp"] == 1.8


def test_a_theft_from_the_start_stands_out_when_the_other_two_phases_rise_with_thefts_of_their_own() -> None:
    """Looked-at 33015: a 1.05 % shunt from day 0 on phase A at 2.5–3.0 %; a bypass on C from day 9 (2.3 %),
    a 2 % shunt on B from day 13 (5.5 %). Against the phase that loses least today, A stood 0.2 pp above C
    and left ntl_phase; C and B count at their levels before their change points."""
    rng = np.random.default_rng(3)
    st, days = ntl.NtlState.fresh(_CTX), []  # type: ignore[arg-type]
    for d in range(21):
        pct = np.array([2.7, 5.5 if d >= 13 else -0.1, 2.3 if d >= 9 else -0.07]) + rng.normal(0, 0.05, 3)
        st, day, _ = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                   np.append(pct, pct.sum()), np.full(4, 100.0))
        days.append(day)
    assert days[12].rising[2] and days[15].rising[1] and not any(d.rising[0] for d in days)
    assert all(d.excess[0] for d in days[1:]), [d.phase_excess_pp.round(2).tolist() for d in days]
    assert all(abs(d.phase_excess_pp[0] - d.pct[0]) < 1e-9 for d in days[14:])     # against zero, not C
    assert not any(d.excess[2] for d in days[:9])                                  # C clean until its theft


def test_a_whole_day_without_a_balance_is_compared_but_is_no_baseline_day() -> None:
    # a third of the meters unread all day: no day balance (coverage), but the intervals (their energies
    # estimated from the day before) still give each phase's NTL — compared across the phases, never a
    # baseline day for ntl_rise (held-out clean area 5006: such a day, 0.45 pp above the next, raised it)
    la = LossArea(n=18, seed=5, phase_power=True)
    la.run_days(3.5)
    la.silent[:6] = True                         # from noon of the fourth day
    la.run_days(1.02)
    days = la.of_kind("daily")
    assert [d["status"] for d in days] == ["computed"] * 3 + ["not_computable"] and not days[3]["partial"]
    assert np.isfinite(np.array(days[3]["ntl_phase_pct"], dtype=float)).all()
    base = la.engine.ntl.base[:, :3]
    assert np.isfinite(base).all(axis=1).sum() == 3          # the three whole days with a balance only


def _run_pct(values: list[float]) -> tuple[ntl.NtlState, list[ntl.NtlDay]]:
    """Phase B's daily NTL % (the others at 1 %) through the stage on its own, 100 kWh a phase."""
    st, days = ntl.NtlState.fresh(_CTX), []  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    for d, v in enumerate(values):
        pct = np.array([1.0, v, 1.0]) + rng.normal(0, 0.05, 3)
        st, day, _ = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                   np.append(pct, pct.sum()), np.array([100.0, 100.0, 100.0, 300.0]))
        days.append(day)
    return st, days


def test_a_second_rise_while_in_alarm_is_a_second_change_point_measured_from_the_level_between() -> None:
    day0 = int(T0 // 86400)                      # the day number of the first day closed
    _, days = _run_pct([1.0] * 8 + [3.0] * 6 + [5.0] * 4)
    last = days[-1]
    assert last.rising[1] and last.onset[1] == day0 + 8
    assert last.onset2[1] == day0 + 14 and abs(last.level_pct[1] - 3.0) < 0.2
    assert (np.array([d.onset2[1] for d in days[:14]]) == -1).all()
    # a level that only wanders in alarm is no second change point; the alarm's end forgets it
    _, days = _run_pct([1.0] * 8 + [3.0, 3.3, 2.8, 3.2, 2.9, 3.1, 3.0, 2.9] + [1.0] * 2)
    assert all(d.onset2[1] == -1 for d in days) and not days[-1].rising[1]
    st, days = _run_pct([1.0] * 8 + [3.0] * 6 + [5.0] * 4 + [1.0] * 2)
    assert not days[-1].rising[1] and days[-1].onset2[1] == -1 and not np.isfinite(st.level[:, 1]).any()


def test_the_change_point_is_where_the_step_most_likely_began_not_a_noisy_day_before_it() -> None:
    """Looked-at 25007: phase A at 4.42 % from a shunt present from the start; a 0.57 % shunt began at 01:00 on
    day 9, and the days since the CUSUM left zero were 5.34, 4.39, 5.05, 6.09, 6.15 %. Half-way from the
    baseline to their mean (5.40) the first noisy day already was (day 6); the likeliest step begins on day 9."""
    since = np.array([5.341, 4.386, 5.046, 6.093, 6.15])
    assert ntl._change_point(since, 4.415) == 3
    assert ntl._change_point(np.array([4.0, np.nan, 4.1]), 4.415) == 2      # nothing above: the last day
    assert ntl._change_point(np.array([np.nan, 6.0, 6.2]), 4.415) == 1      # an unknown day starts nothing
    day0 = int(T0 // 86400)
    _, days = _run_pct([4.4] * 8 + [5.34, 4.39, 5.05, 6.09, 6.15, 6.1])
    up = [d for d in days if d.rising[1]]
    assert up and all(d.onset[1] == day0 + 11 for d in up), [(d.day - day0, d.onset[1] - day0) for d in days]


def test_a_phase_carrying_a_theft_from_the_start_varies_with_it_and_is_not_a_rise() -> None:
    """Phase B at 11 % from the first day (a 4.6 % shunt present from the start, seed 6018), 12.5 % on the
    next: the thief's load varies and so does the loss — no ``ntl_rise`` (which would stop the joint share
    that names the thief). The same 1.4 pp on a clean phase is one."""
    _, days = _run_pct([11.0, 12.4, 11.8])
    assert not any(d.rising[1] for d in days) and days[-1].excess[1]
    _, days = _run_pct([0.2, 1.6, 1.5])
    assert days[1].rising[1]


def test_a_bypass_from_the_start_whose_share_swings_with_its_customers_load_is_no_rise_on_few_days() -> None:
    """Looked-at 34015: a 2.16 % full bypass from day 0 on phase B, which stood at 5.46 % on the first day (a
    hot one: the bypass stole 1.88 % of the supply, 2.48 % the next day) and 9.08 % on the second — against a
    one-day baseline that was an ``ntl_rise`` whose change point then hid the bypass for 20 days. Until the
    baseline has three days a theft there from the first day varies by a quarter of its height; a new theft
    on a clean phase still rises on its first day, one on top of the level once the baseline has measured its
    spread, and one that began on the baseline day of a phase clean on the first as it grows."""
    day0 = int(T0 // 86400)
    series = [5.46, 9.08, 9.83, 8.96, 11.44, 8.21, 5.62, 7.88, 5.96]
    _, days = _run_pct(series)
    assert not any(d.rising[1] for d in days), [(d.day - day0, float(d.pct[1])) for d in days if d.rising[1]]
    assert all(d.excess[1] for d in days[1:])
    _, days = _run_pct([0.3, 3.5])
    assert days[1].rising[1]
    _, days = _run_pct([5.5, 5.3, 5.6, 5.4, 5.5, 9.5, 9.6])
    assert days[-1].rising[1] and days[-1].onset[1] == day0 + 5
    # the golden theft scenario: B clean on the first, partial day; its thefts began on the next (1.93 %), the
    # baseline day, and grew into the third (3.22 %) — a rise, whose change point names them
    st, rows = ntl.NtlState.fresh(_CTX), []  # type: ignore[arg-type]
    for d, (pct, partial) in enumerate([([-0.12, -0.09, 0.09], True), ([0.40, 1.93, 0.19], False),
                                         ([2.96, 3.22, 7.44], False)]):
        st, day, _ = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                   np.append(pct, np.sum(pct)), np.full(4, 100.0), partial)
        rows.append(day)
    assert rows[2].rising[1] and rows[2].onset[1] == day0 + 2


def test_a_theft_on_a_three_phase_meter_from_the_start_varies_on_every_phase_and_is_not_a_rise() -> None:
    """Looked-at 16018 (a 4.8 % shunt on a three-phase meter from the first day): every phase at 4.5–6.8 % on
    the first two days, 5.7–8.3 % on the third. The least-losing phase carries the theft too: phase C's
    height above it is no measure of how much the theft varies — its height above zero is."""
    def run(rows: list[list[float]]) -> list[ntl.NtlDay]:
        st, days = ntl.NtlState.fresh(_CTX), []  # type: ignore[arg-type]
        for d, pct in enumerate(rows):
            st, day, _ = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                       np.append(pct, np.mean(pct)), np.full(4, 100.0))
            days.append(day)
        return days
    days = run([[5.01, 5.19, 6.84], [4.48, 4.71, 6.52], [5.73, 6.23, 8.35]])
    assert not any(d.rising.any() for d in days) and days[1].level
    # the same 1.7 pp on phase C of a clean area is a rise
    days = run([[0.21, 0.19, 0.34], [0.18, 0.21, 0.32], [0.23, 0.23, 2.02]])
    assert days[2].rising[2] and not days[2].rising[:2].any()


def test_an_area_standing_high_on_every_phase_alike_raises_ntl_level_on_its_second_day() -> None:
    # a three-phase customer's shunt present from the start: every phase 2 pp above zero, none above the
    # others — no ntl_phase, no ntl_rise (fresh seeds 10007, 10011, 10018)
    st = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    sup = np.full(4, 100.0)
    got = []
    for d, (loss, partial) in enumerate([([2.0, 2.1, 1.9, 2.0], False), ([np.nan] * 4, True),
                                         ([1.9, 2.0, 2.1, 2.0], False), ([0.9, 0.9, 0.9, 0.9], False),
                                         ([0.6, 0.6, 0.6, 0.6], False)]):
        st, day, seen = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d", np.array(loss), sup,  # type: ignore[arg-type]
                                      partial=partial)
        (cond,) = [c for c in seen.conditions if c.key == "ntl_level@area"]
        got.append((day.level, bool(cond.on[0]), bool(cond.off[0]), bool(cond.valid[0])))
        assert not day.excess.any() and not day.rising.any()
    # day 1 high; day 2 without a balance neither counts nor breaks the run; day 3 the second high day;
    # day 4 at 0.9 pp: not high, but above half the level (still on); day 5 below half: cleared
    assert got == [(False, False, False, True), (False, False, True, False), (True, True, False, True),
                   (False, False, False, True), (False, False, True, True)], got
    (cond,) = [c for c in seen.conditions if c.key == "ntl_level@area"]
    assert cond.threshold == 1.5 and "1.50 %" in cond.describe("raised", 0, 1.5)


def test_ntl_level_is_off_at_zero_and_a_clean_area_never_raises_it() -> None:
    off = params(tech_loss=TechLossParams(area_level_pp=0.0))
    st = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    for d in range(3):
        st, day, _seen = ntl.close_day(type("C", (_Ctx,), {"params": off})(), st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                       np.full(4, 5.0), np.full(4, 100.0))
        assert not day.level
    la = LossArea(n=18, seed=5, phase_power=True)
    la.run_days(4)
    assert not la.raised("ntl_level")


def test_ntl_level_needs_the_phases_known_the_technical_loss_by_physics() -> None:
    # without the master's phases or the meters' voltages the area's technical loss is the model that learns
    # the loss (all of it "NTL" on the first days): its level is no evidence
    st = ntl.NtlState.fresh(_CTX)  # type: ignore[arg-type]
    for d in range(3):
        st, day, seen = ntl.close_day(_CTX, st, T0 + (d + 1) * 86400.0, "d",  # type: ignore[arg-type]
                                      np.array([np.nan, np.nan, np.nan, 3.0]), np.array([np.nan, np.nan, np.nan, 100.0]))
        (cond,) = [c for c in seen.conditions if c.key == "ntl_level@area"]
        assert not day.level and not cond.valid[0]
