"""Interval-level suspect evidence: kernels against references, a flattened profile found by the shape it
lost, and the drop evidence on the synthetic household loads (shunt, holiday)."""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import evidence as ke
from detect.kernels import suspects as ks
from detect.reference import suspects as rs

DAY = 96


def _loads(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    """Household interval energies (kWh): a shared evening-peaked daily shape plus each home's own
    appliance switching (on/off blocks), so homes correlate through the shape but not in their changes."""
    t = np.arange(days * DAY)
    shape = 0.08 + 0.06 * np.sin(2 * np.pi * (t % DAY) / DAY - 2.0) ** 2 + 0.1 * ((t % DAY) > 72)
    base = shape[None, :] * rng.uniform(0.5, 2.0, (n, 1))
    on = rng.random((n, t.size)) < 0.15
    blocks = np.zeros((n, t.size))
    for lag in range(4):  # appliances stay on about an hour
        blocks += np.roll(on, lag, axis=1)
    return base + 0.15 * np.minimum(blocks, 1.0) * rng.uniform(0.5, 1.5, (n, 1))


def _theft_area(seed: int, n: int = 60, days: int = 14, thief: int = 17, alpha: float = 0.4, onset_day: int = 9):
    rng = np.random.default_rng(seed)
    true = _loads(rng, n, days)
    metered = true.copy()
    metered[thief, onset_day * DAY:] *= alpha  # bypass: the meter sees alpha of the load from the onset
    stolen = true.sum(axis=0) - metered.sum(axis=0)
    ntl = stolen + rng.normal(0, 0.02, stolen.size)  # supply − sales − modelled tech loss
    return metered, ntl


def _daily_drop(x: np.ndarray, ntl: np.ndarray, onset_day: int = 9) -> tuple[np.ndarray, ...]:
    """The drop evidence of every meter from daily sums of a 14-day window, change point ``onset_day``."""
    n = x.shape[0]
    xd = np.nansum(x.reshape(n, -1, DAY), axis=2).T
    total = xd.sum(axis=1) + np.nansum(ntl.reshape(-1, DAY), axis=1)
    out = [np.empty(n) for _ in range(3)]
    excess = total[onset_day:] - xd[onset_day:].sum(axis=1)
    wd = np.zeros(len(total), np.int64)         # every day a working day
    ke.drop_match(xd[:onset_day], total[:onset_day], wd[:onset_day], xd[onset_day:], total[onset_day:],
                  wd[onset_day:], excess, *out)
    return tuple(out)


def test_a_shunt_whose_drop_explains_the_rise_ranks_first_and_a_holiday_does_not_explain_it() -> None:
    for seed in range(5):
        x, ntl = _theft_area(seed)
        z, _, explained = _daily_drop(x, ntl)
        assert np.argmax(z) == 17 and 0.7 < explained[17] < 1.3, (seed, np.argsort(-z)[:3])
    x, ntl = _theft_area(7)
    big = int(np.argmax(np.nansum(x[:, :9 * DAY], axis=1)))
    x[big, 9 * DAY:] = 0.01           # away from day 9: drops too, but by far more than the NTL rose
    z, _, explained = _daily_drop(x, ntl)
    assert explained[big] > 1.5 and 0.7 < explained[17] < 1.3


def test_no_theft_gives_no_drop_that_explains_anything() -> None:
    rng = np.random.default_rng(4)
    x = _loads(rng, 60, 14)
    ntl = rng.normal(0, 0.02, x.shape[1])
    z, _, _ = _daily_drop(x, ntl)
    assert np.nanmax(z) < 4.0
    c = np.empty(60)
    ks.diff_corr(x, ntl, 10, c)
    assert np.nanmax(np.abs(c)) < 0.35


def _random_window(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, ntl = _theft_area(seed, n=30)
    x[rng.random(x.shape) < 0.02] = np.nan
    ntl[rng.random(ntl.size) < 0.02] = np.nan
    x[3] = 0.5            # constant series
    x[4] += 1e8           # +1e8 offset
    x[5, :500] = np.nan   # a meter that appeared mid-window
    return x, ntl


@pytest.mark.parametrize("seed", range(3))
def test_diff_corr_matches_reference(seed: int) -> None:
    x, ntl = _random_window(seed)
    a, b = np.empty(30), np.empty(30)
    ks.diff_corr(x, ntl, 10, a)
    rs.diff_corr(x, ntl, 10, b)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)  # 1e8 offsets cancel in the differences
    assert np.isnan(a[3])
    ks.diff_corr(x[:, 9 * DAY:], ntl[9 * DAY:], 10, a)                   # since the shunt began
    assert a[17] > 0.5 and np.nanmax(np.delete(a, [4, 17])) < 0.35     # its changes are the NTL's


def test_map_at_k_follows_zheng() -> None:
    assert ks.map_at_k([5, 1, 7, 2], [5, 7], 4) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert ks.map_at_k([1, 2, 3], [9], 3) == 0.0
    assert ks.map_at_k([9, 1], [9], 1) == 1.0
    with pytest.raises(ValueError, match="k must be >= 1"):
        ks.map_at_k([1], [1], 0)


def test_flattened_profile_thief_is_found_by_the_shape_it_lost_to_the_ntl() -> None:
    rng = np.random.default_rng(12)
    true = _loads(rng, 60, 14)
    met = true.copy()
    for d in range(9, 14):  # h5: each day reported flat at its mean, daily total unchanged
        met[44, d * DAY:(d + 1) * DAY] = true[44, d * DAY:(d + 1) * DAY].mean()
    ntl = (true - met).sum(axis=0) + rng.normal(0, 0.02, true.shape[1])
    ratio, shape = ks.swing(met, ntl, intervals_per_day=DAY, baseline_days=7)
    assert np.argmax(shape) == 44 and shape[44] > 0.5 and ratio > 5.0  # no daily rise; the swing shows
    assert np.delete(shape, 44).max() < 0.2
    with pytest.raises(ValueError, match="not whole days of 96"):
        ks.swing(np.zeros((3, 100)), np.zeros(100), intervals_per_day=DAY, baseline_days=7)
    with pytest.raises(ValueError, match=r"ntl has shape \(10,\), expected \(960,\)"):
        ks.swing(np.zeros((3, 960)), np.zeros(10), intervals_per_day=DAY, baseline_days=7)


@pytest.mark.parametrize("seed", range(3))
def test_shape_flattening_matches_reference(seed: int) -> None:
    x, ntl = _random_window(seed)
    x[4] -= 1e8
    x[8, 9 * DAY:] = np.repeat(np.nanmean(x[8, 9 * DAY:].reshape(5, DAY), axis=1), DAY)  # flattened
    ntl[9 * DAY:] += rng_noise(seed)
    a, b = np.empty(30), np.empty(30)
    ra = ks.shape_flattening(x, ntl, DAY, 7, 2.0, a)
    rb = rs.shape_flattening(x, ntl, DAY, 7, 2.0, b)
    assert ra == pytest.approx(rb, rel=1e-9) and ra > 2.0
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert a[8] > 0.0


def rng_noise(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.3, 5 * DAY)
