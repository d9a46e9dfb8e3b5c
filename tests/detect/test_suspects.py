"""The daily suspect list (detect/stages/suspects.py) through the engine on the crafted loss area: a full
bypass present from the start found by its voltage (and an empty house beside it not), the inspector's
fields of a listed suspect."""

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
