"""The daily suspect list (detect/stages/suspects.py) through the engine on the crafted loss area: a full
bypass present from the start found by its voltage (and an empty house beside it not), a shunt present
from the start by its share of its phase's NTL, the inspector's fields of a listed suspect."""

from __future__ import annotations

import numpy as np
import pytest

from tests.detect.lossarea import LossArea


@pytest.mark.slow
def test_a_bypass_present_from_the_start_is_named_by_its_voltage_and_an_empty_house_is_not() -> None:
    la = LossArea(n=18, seed=6, phase_power=True)
    la.metered[4] = 0.0        # a jumper across meter 4 (phase B) before monitoring began: its cable carries it
    la.base_kw[10] = 0.0       # meter 10 (phase B): nobody home, nothing flows, the meter registers nothing
    la.run_days(4.02)
    listed = [s for d in la.of_kind("daily") for s in d["suspects"]]
    assert listed and {s["meter"] for s in listed} == {"m004"}
    last = la.of_kind("daily")[-1]["suspects"][0]
    ev = last["evidence"]
    assert ev["voltage_strength"] > 0.5 and ev["voltage_ohm"] > 0.05 and ev["phase"] == "B"
    assert "drop_z" not in ev                   # no change point to measure a drop from
    assert last["score"] >= 0.5 and last["since"] <= la.of_kind("daily")[-1]["date"]
    (alert,) = [a for a in la.raised("theft_suspect")]
    assert alert.subject_id == "m004" and alert.evidence["rank"] == 1


@pytest.mark.slow
def test_a_bypass_stays_named_by_its_voltage_when_the_correlation_fades_and_no_longer_once_it_registers() -> None:
    """The voltage evidence is held while the meter registers nothing on a flagged phase. On held-out seeds
    the bypass's measured slope fell below ``voltage_min_ohm`` (5006, 5022: noise in the phase's
    unexplained current attenuates it) or a second thief on the phase took over the unexplained current
    (5011), and the bypass left the list though nothing about it changed. Here its slope is made to fall
    by a lower service-loop resistance; once the jumper is removed the meter registers and the hold ends."""
    la = LossArea(n=18, seed=6, phase_power=True)
    la.metered[4] = 0.0        # a jumper across meter 4 (phase B) before monitoring began
    la.run_days(4.02)
    first = [d["date"] for d in la.of_kind("daily") if any(s["meter"] == "m004" for s in d["suspects"])]
    assert first
    la.loop_ohm[4] = 0.004     # its drop per ampere now far below voltage_min_ohm: no fresh evidence
    la.run_days(5.0)
    days = la.of_kind("daily")
    after = [d for d in days if d["date"] > first[0]]
    assert len(after) >= 7
    assert all(any(s["meter"] == "m004" for s in d["suspects"]) for d in after), \
        [(d["date"], [s["meter"] for s in d["suspects"]]) for d in after]
    held = next(s["evidence"] for s in days[-1]["suspects"] if s["meter"] == "m004")
    assert "voltage_held" in held and held["voltage_strength"] >= 0.5 and "voltage_z" not in held, held
    la.metered[4] = 1.0        # the jumper removed: the meter registers its load again
    la.run_days(2.0)
    assert not any(s["meter"] == "m004" for s in la.of_kind("daily")[-1]["suspects"])


@pytest.mark.slow
def test_a_shunt_present_from_the_start_is_named_by_its_share_of_the_phase_ntl() -> None:
    la = LossArea(n=18, seed=6, phase_power=True)
    la.metered[7] = 0.6        # a shunt past meter 7 before monitoring began: 40 % of its load unmetered
    la.run_days(4.02)
    days = la.of_kind("daily")
    listed = {s["meter"] for d in days for s in d["suspects"]}
    assert listed == {"m007"}, listed
    last = days[-1]["suspects"][0]
    ev = last["evidence"]
    assert ev["share_strength"] > 0.5 and ev["share_t"] > 5 and "drop_z" not in ev
    assert 0.4 < ev["share_b"] < 1.0           # 0.4 / 0.6 of what its meter registers
    hour = np.arange(0, 24, 0.25)                 # the crafted area's daily shape (lossarea.load_kw), its mean
    shape = 0.6 + 0.8 * np.exp(-((hour - 19.5) ** 2) / 6.0) + 0.3 * np.exp(-((hour - 8) ** 2) / 3.0)
    np.testing.assert_allclose(last["stolen_kwh_per_day"], 0.4 * la.base_kw[7] * shape.mean() * 24, rtol=0.15)


def test_a_healthy_area_lists_nobody() -> None:
    la = LossArea(n=12, seed=2, phase_power=True)
    la.run_days(3.02)
    assert all(not d["suspects"] for d in la.of_kind("daily"))
    assert not la.raised("theft_suspect") and np.isfinite(la.of_kind("daily")[-1]["ntl_phase_pct"]).all()



def test_an_hour_with_an_unread_interval_keeps_the_mean_of_the_others() -> None:
    from detect.stages.suspects import _hourly_mean

    nan = np.nan
    blocks = np.array([[[1.0], [2.0], [nan], [3.0]],      # one interval unknown: the mean of the other three
                       [[nan], [nan], [nan], [4.0]],      # one of four known: too few for the phase current
                       [[nan], [nan], [nan], [nan]]])
    assert np.allclose(_hourly_mean(blocks, 2)[:1, 0], [2.0]) and np.isnan(_hourly_mean(blocks, 2)[1:, 0]).all()
    assert np.allclose(_hourly_mean(blocks, 1)[:2, 0], [2.0, 4.0]) and np.isnan(_hourly_mean(blocks, 1)[2, 0])
