"""Suspect ranking: kernels against references, and a bypass thief found first on a crafted area."""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import suspects as ks
from detect.params import TheftParams
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


def test_bypass_thief_whose_drop_coincides_with_the_ntl_rise_ranks_first() -> None:
    for seed in range(5):
        x, ntl = _theft_area(seed)
        r = ks.rank_suspects(x, ntl, TheftParams(window_days=14, baseline_days=7))
        assert r.order[0] == 17, (seed, r.order[:5], r.score[r.order[:5]])
        assert r.corr[17] > 0.5 and r.cusum[17] > 0.5 and r.k_balance[17] > 1.5
        assert r.onset_day[17] in (8, 9, 10)
        honest = np.delete(np.arange(60), 17)
        assert np.nanmax(r.corr[honest]) < 0.35 and r.cusum[honest].max() < 0.5


def test_no_theft_gives_no_coincident_drop_and_balance_near_one() -> None:
    rng = np.random.default_rng(4)
    x = _loads(rng, 60, 14)
    ntl = rng.normal(0, 0.02, x.shape[1])
    r = ks.rank_suspects(x, ntl, TheftParams(window_days=14, baseline_days=7))
    assert r.cusum.max() == 0.0 and r.k_balance.max() < 1.1 and np.nanmax(np.abs(r.corr)) < 0.35
    assert r.ntl_swing_ratio < 1.5 and r.shape.max() == 0.0


def test_a_customer_on_holiday_is_not_matched_to_an_ntl_rise() -> None:
    x, ntl = _theft_area(7)
    x[40, 9 * DAY:] = 0.01  # away from day 9: drops as much as the thief but is not stolen energy
    r = ks.rank_suspects(x, ntl, TheftParams(window_days=14, baseline_days=7))
    assert r.order[0] == 17 and r.score[40] < r.score[17]


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
def test_diff_corr_and_regression_match_reference(seed: int) -> None:
    x, ntl = _random_window(seed)
    a, b = np.empty(30), np.empty(30)
    ks.diff_corr(x, ntl, 10, a)
    rs.diff_corr(x, ntl, 10, b)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)  # 1e8 offsets cancel in the differences
    assert np.isnan(a[3])
    x[4] -= 1e8
    ks.balance_regression(x, ntl, 0.05, 20, a)
    rs.balance_regression(x, ntl, 0.05, 20, b)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_regression_solution_satisfies_the_optimality_conditions() -> None:
    x, ntl = _random_window(1)
    x, ntl = x[:, 9 * DAY:], ntl[9 * DAY:]  # the days since the theft began
    x = np.nan_to_num(x - np.nanmean(x, axis=1, keepdims=True))
    ntl = np.nan_to_num(ntl - np.nanmean(ntl))
    d = np.empty(30)
    ks.balance_regression(x, ntl, 0.05, 400, d)
    lam = 0.05 * (x * x).sum(axis=1).mean()
    grad = -2 * x @ (ntl - d @ x) + 2 * lam * d  # KKT: grad = 0 where d > 0, grad >= 0 where d = 0
    scale = np.abs(2 * x @ ntl).max()
    assert np.all(np.abs(grad[d > 0]) < 1e-6 * scale) and np.all(grad[d == 0] > -1e-6 * scale)
    assert d[17] > 0.5


@pytest.mark.parametrize("seed", range(3))
def test_drop_cusum_matches_reference(seed: int) -> None:
    x, ntl = _random_window(seed)
    x[4] -= 1e8
    xd = x.reshape(30, 14, DAY).sum(axis=2)
    xd[6, :3] = np.nan  # short baseline
    xd[7] = np.nan      # never read
    nd = ntl.reshape(14, DAY).sum(axis=1)
    outs = [(np.empty(30), np.empty(30, dtype=np.int64), np.empty(30)) for _ in range(2)]
    assert ks.drop_cusum(xd, nd, 7, 0.5, 5.0, 1, *outs[0]) == rs.drop_cusum(xd, nd, 7, 0.5, 5.0, 1, *outs[1])
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-12)


def test_map_at_k_follows_zheng() -> None:
    assert ks.map_at_k([5, 1, 7, 2], [5, 7], 4) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert ks.map_at_k([1, 2, 3], [9], 3) == 0.0
    assert ks.map_at_k([9, 1], [9], 1) == 1.0
    with pytest.raises(ValueError, match="k must be >= 1"):
        ks.map_at_k([1], [1], 0)


def test_rank_suspects_names_bad_shapes() -> None:
    with pytest.raises(ValueError, match="not whole days of 96"):
        ks.rank_suspects(np.zeros((3, 100)), np.zeros(100), TheftParams())
    with pytest.raises(ValueError, match=r"ntl has shape \(10,\), expected \(960,\)"):
        ks.rank_suspects(np.zeros((3, 960)), np.zeros(10), TheftParams())


def test_time_reversed_profile_thief_is_found_by_anticorrelation() -> None:
    rng = np.random.default_rng(8)
    true = _loads(rng, 60, 14)
    met = true.copy()
    for d in range(9, 14):  # h6: each day reported back to front, daily total unchanged
        met[31, d * DAY:(d + 1) * DAY] = true[31, d * DAY:(d + 1) * DAY][::-1]
    ntl = (true - met).sum(axis=0) + rng.normal(0, 0.02, true.shape[1])
    r = ks.rank_suspects(met, ntl, TheftParams())
    assert r.order[0] == 31 and r.corr[31] < -0.3 and r.cusum[31] == 0.0


def test_flattened_profile_thief_is_found_by_the_shape_it_lost_to_the_ntl() -> None:
    rng = np.random.default_rng(12)
    true = _loads(rng, 60, 14)
    met = true.copy()
    for d in range(9, 14):  # h5: each day reported flat at its mean, daily total unchanged
        met[44, d * DAY:(d + 1) * DAY] = true[44, d * DAY:(d + 1) * DAY].mean()
    ntl = (true - met).sum(axis=0) + rng.normal(0, 0.02, true.shape[1])
    r = ks.rank_suspects(met, ntl, TheftParams())
    assert r.order[0] == 44 and r.shape[44] > 0.5 and r.cusum[44] == 0.0
    assert r.ntl_onset_day == -1 and r.ntl_swing_ratio > 5.0  # no daily rise; the swing shows
    assert np.delete(r.shape, 44).max() < 0.2


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
