"""Physical checks as alerts (with evidence, persistence, outage suppression), the suspect ranking and
mapping through the engine, on the crafted area of ``lossarea``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from detect.stages import availability
from tests.detect.lossarea import LossArea


def test_cover_open_event_raises_at_once_with_the_increment_as_evidence() -> None:
    la = LossArea(n=6)
    la.run_days(0.5)
    la.evt_cover[2] += 1
    la.sw["sw7"][2] = 1 << 9
    la.run_days(0.25)
    raised = la.raised("cover_open")
    assert [a.subject_id for a in raised] == ["m002"]
    assert raised[0].value == 1.0 and raised[0].evidence["d_cover"] == 1.0
    la.sw["sw7"][2] = 0
    la.run_days(0.5)
    assert [a.subject_id for a in la.alerts if a.kind == "cover_open" and a.state == "cleared"] == ["m002"]


def test_terminal_cover_bit_raises_terminal_cover_open() -> None:
    la = LossArea(n=6)
    la.run_days(0.3)
    la.sw["sw7"][4] = 1 << 10
    la.run_days(0.3)
    assert [a.subject_id for a in la.raised("terminal_cover_open")] == ["m004"]


def test_neutral_mismatch_needs_its_persistence_and_is_held_at_low_current() -> None:
    la = LossArea(n=6)
    la.base_kw[1] = 3.0                 # enough current for the mismatch to be visible
    la.run_days(0.3)
    la.neutral_ratio[1] = 0.4
    la.step()
    la.step()
    assert not la.raised("neutral_mismatch")       # two intervals: below the 30-min persistence
    la.run_days(0.1)
    raised = la.raised("neutral_mismatch")
    assert [a.subject_id for a in raised] == ["m001"]
    assert raised[0].value == pytest.approx(0.6, abs=0.01)
    assert raised[0].evidence["i_n"] == pytest.approx(0.4 * raised[0].evidence["i_a"], rel=1e-6)


def test_reverse_energy_on_a_non_pv_customer() -> None:
    la = LossArea(n=6)
    la.run_days(0.3)
    la.rev_kw[3] = 0.8
    la.run_days(0.2)
    raised = la.raised("reverse_energy")
    assert [a.subject_id for a in raised] == ["m003"]
    assert raised[0].value == pytest.approx(0.2, abs=0.01)     # 0.8 kW × 15 min


def test_relay_open_while_current_flows_is_relay_bypass() -> None:
    la = LossArea(n=6)
    la.run_days(0.3)
    la.sw["sw3"][5] = 1 << 4
    la.run_days(0.3)
    assert [a.subject_id for a in la.raised("relay_bypass")] == ["m005"]


def test_voltage_loss_bit_is_held_not_raised_while_an_area_outage_explains_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    la = LossArea(n=6)
    la.run_days(0.3)
    real = availability.offline

    def all_explained(*args: Any, **kwargs: Any) -> Any:       # as under an active area/phase/branch outage
        st, seen = real(*args, **kwargs)
        st.explained = np.ones(6, np.bool_)
        return st, seen

    monkeypatch.setattr(availability, "offline", all_explained)
    la.engine.availability.explained = np.ones(6, np.bool_)
    la.sw["sw4"][0] = 1
    la.run_days(0.3)
    assert not la.raised("voltage_loss")
    monkeypatch.undo()
    la.run_days(0.3)
    assert [a.subject_id for a in la.raised("voltage_loss")] == ["m000"]


def test_healthy_area_raises_no_physical_or_theft_alerts() -> None:
    la = LossArea(n=15, seed=9)
    la.run_days(3)
    kinds = {a.kind for a in la.alerts if a.state == "raised"}
    assert not kinds & {"cover_open", "terminal_cover_open", "neutral_mismatch", "voltage_loss", "current_loss",
                        "reverse_energy", "relay_bypass", "zero_energy_with_current", "energy_power_mismatch",
                        "theft_suspect", "ntl_rise", "mapping_suspect", "line_loss_high", "line_loss_negative"}


@pytest.mark.slow
def test_bypass_thief_is_the_top_suspect_with_a_theft_suspect_alert() -> None:
    la = LossArea(n=20, seed=4)
    la.run_days(9)
    onset = la.t
    la.metered[11] = 0.3
    la.run_days(3.02)
    days = la.of_kind("daily")
    assert days[-1]["suspects"] and days[-1]["suspects"][0]["meter"] == "m011"
    top = days[-1]["suspects"][0]
    assert top["rank"] == 1 and top["score"] >= 0.9 and top["evidence"]["drop_z"] > 6
    # 70 % of its load passes the meter: the drop is that share of its use, and the rise it explains
    assert 0.7 < top["evidence"]["drop_share_of_rise"] < 1.3 and top["stolen_kwh_per_day"] > 0
    assert top["since"] == time.strftime("%Y-%m-%d", time.gmtime(onset))      # the day the bypass began
    alerts = [a for a in la.raised("theft_suspect") if a.subject_id == "m011"]
    assert alerts and alerts[0].evidence["rank"] >= 1
    assert la.raised("ntl_rise")


def test_mapping_suspect_for_a_meter_whose_voltage_follows_another_transformer() -> None:
    la = LossArea(n=12, seed=2)
    rng = np.random.default_rng(0)
    walk = 230 + np.cumsum(rng.normal(0, 0.5, 400))          # this transformer's MV-driven walk
    foreign = 228 + np.cumsum(rng.normal(0, 0.5, 400))       # the neighbour transformer's
    la.master_u = lambda k: float(walk[k])
    la.meter_u = lambda k, i: float((foreign if i == 9 else walk)[k] - 0.5 - 0.01 * i)
    la.run_days(2.02)
    flagged = la.raised("mapping_suspect")
    assert [a.subject_id for a in flagged] == ["m009"]
    assert flagged[0].evidence["corr_master"] < 0.35 and flagged[0].value < 0.35


def test_a_flattened_profile_swings_the_ntl_and_raises_ntl_swing_with_the_thief_listed() -> None:
    la = LossArea(n=20, seed=6)
    la.base_kw[4] = 6.0                    # a large customer, so its lost shape dominates the NTL
    la.run_days(9)
    assert not la.raised("ntl_swing")
    la.flat = 4                            # Jokar h5: the daily energy is kept, the within-day shape is gone
    la.run_days(4.02)
    swing = la.raised("ntl_swing")
    assert len(swing) == 1 and swing[0].value >= 2.0
    day = la.of_kind("daily")[-1]
    assert day["ntl_swing_ratio"] >= 2.0
    # only the shape feature sees h5 (the regression spreads the swing over honest customers): top 3
    listed = {s["meter"]: s for s in day["suspects"][:3]}
    assert "m004" in listed and listed["m004"]["evidence"]["shape"] >= 0.5


def test_a_time_reversed_profile_is_found_by_its_reversal_match() -> None:
    la = LossArea(n=20, seed=8)
    la.base_kw[6] = 6.0
    la.run_days(9)
    la.reversed = 6                        # Jokar h6: the day's profile reversed in time, same energy
    la.run_days(4.02)
    assert la.raised("ntl_swing")
    top = la.of_kind("daily")[-1]["suspects"][0]
    assert top["meter"] == "m006" and top["evidence"]["reversal"] > 0.5
    assert [a.subject_id for a in la.raised("theft_suspect")][:1] == ["m006"]


def test_a_busy_meter_unread_for_half_an_hour_makes_no_ntl_swing() -> None:
    """A gap estimate's error is no altered profile: a busy customer unread for two intervals at its peak
    (estimated from the same intervals of earlier days, far below what it used) leaves a pair of NTL spikes,
    and on two days running those doubled the within-day variance of a clean area's NTL (held-out seed 5022).
    The estimated intervals are clipped to the range of the day's fully read ones."""
    la = LossArea(n=20, seed=6)
    la.run_days(9.75)                      # to 18:00 of day 9: the swing's window is filled
    base = la.base_kw[4]
    for _ in range(3):
        la.silent[4], la.base_kw[4] = True, 12.0 * base      # unread while it runs a 10 kW load
        la.run_days(2 / 96)
        la.silent[4], la.base_kw[4] = False, base
        la.run_days(1 - 2 / 96)
    assert any(d.get("ntl_swing_ratio") is not None for d in la.of_kind("daily"))
    assert not la.raised("ntl_swing"), [d.get("ntl_swing_ratio") for d in la.of_kind("daily")]


def test_clip_estimated_keeps_the_read_intervals_and_clips_the_estimated_ones_to_their_day() -> None:
    from detect.stages.theft import clip_estimated

    ntl = np.array([0.1, -0.2, 3.0, 0.3, 0.0, 0.5, -4.0, 0.2, 9.0, 9.0, 9.0, 2.0])
    est = np.array([0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0], np.bool_)
    np.testing.assert_array_equal(clip_estimated(ntl, est, 4),
                                  [0.1, -0.2, 0.3, 0.3, 0.0, 0.5, 0.0, 0.2, 9.0, 9.0, 9.0, 2.0])
