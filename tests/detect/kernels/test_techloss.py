"""Technical-loss RLS: kernel = reference, learns a + b·x, separates a theft step as NTL with its onset."""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import techloss as kt
from detect.params import TechLossParams

I_RATED = 577.4
DAY = 96


def _area(seed: int, days: int, theft_kwh: float = 0.0, onset: int = 10**9):
    """Loss per interval = 0.2 kWh self-consumption + 6 kWh × x (copper loss at rated) + noise, plus theft."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * DAY)
    load = 0.25 + 0.35 * np.sin(np.pi * (t % DAY) / DAY) ** 2 + rng.uniform(0, 0.1, t.size)  # per-unit current
    i2 = 3 * (load * I_RATED) ** 2 * rng.uniform(0.95, 1.05, t.size)
    x = i2 / (3 * I_RATED**2)
    loss = 0.2 + 6.0 * x + rng.normal(0, 0.03, t.size) + np.where(t >= onset, theft_kwh, 0.0)
    return loss, i2


def test_learns_constant_and_quadratic_terms_on_clean_areas() -> None:
    loss, i2 = _area(1, 20)
    st = kt.new_state()
    out = kt.track(loss, i2, st, TechLossParams(), rated_current_a=I_RATED)
    assert out.a_kwh == pytest.approx(0.2, abs=0.03) and out.b_kwh == pytest.approx(6.0, rel=0.05)
    assert out.alarm.max() == 0.0
    assert abs(np.nanmean(out.ntl_kwh[-5 * DAY:])) < 0.01


def test_theft_step_shows_as_ntl_with_its_onset_and_is_not_learned() -> None:
    onset = 12 * DAY + 40
    loss, i2 = _area(2, 16, theft_kwh=0.15, onset=onset)  # 0.15 kWh/15 min = 0.6 kW stolen, ~5 σ
    st = kt.new_state()
    out = kt.track(loss, i2, st, TechLossParams(), rated_current_a=I_RATED)
    first = int(np.argmax(out.alarm > 0))
    assert out.alarm[:onset].max() == 0.0
    assert onset <= first <= onset + 8  # within two hours
    assert abs(out.onset_update - 1 - onset) <= 4  # updates are 1-based, every interval computable here
    assert np.mean(out.ntl_kwh[onset + 96:]) == pytest.approx(0.15, abs=0.03)
    assert out.a_kwh == pytest.approx(0.2, abs=0.03)


def test_state_carries_over_between_calls() -> None:
    loss, i2 = _area(3, 6, theft_kwh=0.2, onset=4 * DAY)
    whole, parts = kt.new_state(), kt.new_state()
    a = kt.track(loss, i2, whole, TechLossParams(warmup_intervals=96), rated_current_a=I_RATED)
    b = [kt.track(loss[i:i + 1], i2[i:i + 1], parts, TechLossParams(warmup_intervals=96), rated_current_a=I_RATED) for i in range(loss.size)]
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(a.alarm, [o.alarm[0] for o in b])


@pytest.mark.parametrize("case", ["random", "gaps", "constant_load", "offset"])
def test_kernel_matches_reference(case: str) -> None:
    loss, i2 = _area(4, 8, theft_kwh=0.3, onset=6 * DAY)
    rng = np.random.default_rng(5)
    if case == "gaps":
        loss[rng.random(loss.size) < 0.1] = np.nan
        i2[rng.random(loss.size) < 0.05] = np.nan
    if case == "constant_load":
        i2[:] = 3 * (0.4 * I_RATED) ** 2  # no excitation: covariance wind-up must stay bounded
    if case == "offset":
        loss += 1e4
    p = TechLossParams(warmup_intervals=96)
    s1, s2 = kt.new_state(), kt.new_state()
    a = kt.track(loss, i2, s1, p, rated_current_a=I_RATED)
    b = kt.track(loss, i2, s2, p, rated_current_a=I_RATED, backend="reference")
    for name in ("tech_kwh", "ntl_kwh", "cusum", "alarm"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(s1, s2, rtol=1e-9, atol=1e-9)
    assert np.all(np.isfinite(s1[[kt.S_P00, kt.S_P01, kt.S_P11]]))


def test_track_rejects_negative_current_squares_and_bad_state() -> None:
    with pytest.raises(ValueError, match=r"i2_a2 must be >= 0 A², got -1.0"):
        kt.track([1.0], [-1.0], kt.new_state(), TechLossParams(), rated_current_a=I_RATED)
    with pytest.raises(ValueError, match="state has shape"):
        kt.track([1.0], [1.0], np.zeros(3), TechLossParams(), rated_current_a=I_RATED)
