"""Line-loss kernels against their numpy reference, and the balance on crafted data.

Tolerance: energies agree to 1e-9 kWh absolute (both sides sum the same advances, in a different order).
"""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import lineloss as kl
from detect.params import LineLossParams
from detect.reference import lineloss as rl

ATOL_KWH = 1e-9
ROLL = 1_000_000.0


def _registers(rng: np.random.Generator, m: int, k: int, *, offset: float = 0.0, gaps: float = 0.1,
               rollover: bool = False, replace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    ts = np.sort(rng.uniform(0, 86400, (m, k)), axis=1)
    ts[:, ::7] = np.round(ts[:, ::7] / 900) * 900  # some readings exactly on bounds (frozen-like)
    ts = np.sort(ts, axis=1)
    reg = offset + np.cumsum(rng.exponential(0.3, (m, k)), axis=1) + rng.uniform(0, 1000, (m, 1))
    if rollover:
        reg[: m // 2] = (reg[: m // 2] + ROLL - 50.0) % ROLL
    if replace:
        cut = k // 2
        reg[m // 2:, cut:] = reg[m // 2:, cut:] - reg[m // 2:, cut:cut + 1] + 3.0  # new meter starts near 3 kWh
    reg[rng.random((m, k)) < gaps] = np.nan
    ts[rng.random((m, k)) < gaps / 3] = np.nan
    return ts, reg


BOUNDS = np.arange(0, 86400 + 1, 900.0)


@pytest.mark.parametrize("case", ["random", "offset_1e8", "rollover", "replaced", "constant", "all_gaps"])
def test_interval_energies_match_reference(case: str) -> None:
    rng = np.random.default_rng(sum(map(ord, case)))
    m, k = 40, 200
    ts, reg = _registers(rng, m, k, offset=1e8 if case == "offset_1e8" else 0.0,
                         rollover=case == "rollover", replace=case == "replaced")
    if case == "constant":
        reg[:] = 1234.5
    if case == "all_gaps":
        reg[:5] = np.nan
    a = kl.interval_energies(ts, reg, BOUNDS, rollover_kwh=ROLL, max_gap_s=1800, backend="numba")
    b = kl.interval_energies(ts, reg, BOUNDS, rollover_kwh=ROLL, max_gap_s=1800, backend="reference")
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, atol=ATOL_KWH, rtol=0)
    assert np.isfinite(a).mean() > (0.5 if case != "all_gaps" else 0.4)
    if case == "constant":
        assert np.all(a[np.isfinite(a)] == 0.0)
    if case == "all_gaps":
        assert np.isnan(a[:5]).all()


def test_interval_energy_is_exact_interpolation_of_a_linear_register() -> None:
    # register grows 2 kWh per hour, read every 7 minutes: every interval holds 0.5 kWh
    ts = np.arange(-600, 86400 + 900, 420.0)[None, :]
    reg = 1e8 + 2.0 * ts / 3600.0
    e = kl.interval_energies(ts, reg, BOUNDS, rollover_kwh=0, max_gap_s=900)
    np.testing.assert_allclose(e, 0.5, atol=1e-6)


def test_rollover_is_undone_and_replacement_leaves_only_the_straddling_interval_unknown() -> None:
    ts = np.arange(0, 3 * 900 + 1, 300.0)  # readings every 5 min over 3 intervals
    roll = (ROLL - 0.5 + 0.1 * np.arange(ts.size)) % ROLL
    repl = 500.0 + 0.1 * np.arange(ts.size)
    repl[5:] = 0.2 + 0.1 * np.arange(ts.size - 5)  # replaced between 1200 s and 1500 s (interval 1)
    e = kl.interval_energies(np.vstack([ts, ts]), np.vstack([roll, repl]), np.arange(0, 2701, 900.0),
                             rollover_kwh=ROLL, max_gap_s=900)
    np.testing.assert_allclose(e[0], 0.3, atol=1e-6)
    assert e[1, 0] == pytest.approx(0.3) and np.isnan(e[1, 1]) and e[1, 2] == pytest.approx(0.3)


def test_gap_longer_than_max_gap_gives_nan_and_frozen_reading_on_bound_is_used() -> None:
    ts = np.array([[0.0, 900.0, 5000.0, 5400.0]])
    reg = np.array([[10.0, 11.0, 15.0, 15.5]])
    e = kl.interval_energies(ts, reg, np.array([0.0, 900.0, 1800.0, 4500.0, 5400.0]), rollover_kwh=0, max_gap_s=3600)
    assert e[0, 0] == 1.0
    assert np.isnan(e[0, 1]) and np.isnan(e[0, 2]) and np.isnan(e[0, 3])


def test_unsorted_rows_give_the_same_energies() -> None:
    rng = np.random.default_rng(3)
    ts, reg = _registers(rng, 10, 100, gaps=0.0)
    perm = rng.permutation(100)
    a = kl.interval_energies(ts, reg, BOUNDS, rollover_kwh=0, max_gap_s=1800)
    b = kl.interval_energies(ts[:, perm], reg[:, perm], BOUNDS, rollover_kwh=0, max_gap_s=1800)
    np.testing.assert_array_equal(a, b)


def _balance_case(rng: np.random.Generator, t: int, n: int, gaps: float) -> tuple[np.ndarray, ...]:
    fwd = rng.uniform(0, 2, (t, n + 1))
    fwd[:, n] = fwd[:, :n].sum(axis=1) * 1.05
    rev = rng.uniform(0, 0.5, (t, n + 1))
    fwd[rng.random((t, n + 1)) < gaps] = np.nan
    rev[rng.random((t, n + 1)) < gaps] = np.nan
    est = rng.uniform(0, 2, (t, n))
    est[rng.random((t, n)) < 0.3] = np.nan
    pv = rng.random(n) < 0.2
    return fwd, rev, pv, est, est * 0.1


@pytest.mark.parametrize("gaps", [0.0, 0.01, 0.05, 0.5])
def test_area_balance_matches_reference(gaps: float) -> None:
    rng = np.random.default_rng(int(gaps * 1000))
    fwd, rev, pv, ef, er = _balance_case(rng, 200, 50, gaps)
    a = kl.balance(fwd, rev, pv, ef, er, min_coverage_pct=90, backend="numba")
    b = kl.balance(fwd, rev, pv, ef, er, min_coverage_pct=90, backend="reference")
    for name in ("supply_kwh", "sales_kwh", "loss_pct", "coverage_pct"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(a.status, b.status)


def test_line_loss_is_supply_minus_sales_over_supply_on_clean_data() -> None:
    fwd = np.array([[1.0, 2.0, 0.5, 4.0]])  # meters 0..2, master forward 4
    rev = np.array([[0.0, 0.0, 0.3, 0.2]])  # meter 2 is PV and exported 0.3; master reverse 0.2
    out = kl.balance(fwd, rev, [False, False, True], min_coverage_pct=100)
    supply, sales = 4.0 - 0.2 + 0.3, 3.5
    assert out.supply_kwh[0] == supply and out.sales_kwh[0] == sales
    assert out.loss_pct[0] == 100.0 * (supply - sales) / supply
    assert out.status[0] == kl.STATUS_COMPUTED and out.coverage_pct[0] == 100.0


def test_non_pv_reverse_energy_is_not_counted_as_supply() -> None:
    out = kl.balance([[1.0, 1.0, 2.1]], [[0.0, 0.7, 0.0]], [False, False], min_coverage_pct=100)
    assert out.supply_kwh[0] == 2.1


def test_status_and_coverage_under_gaps() -> None:
    n = 20
    fwd = np.tile(np.r_[np.full(n, 1.0), 21.0], (4, 1))
    rev = np.zeros_like(fwd)
    est = np.full((4, n), 1.0)
    fwd[1, 3] = np.nan                      # one meter unread, estimate available → estimated, 95 %
    fwd[2, 3:6] = np.nan                    # three unread → coverage 85 % < 90 % → not computable
    fwd[3, n] = np.nan                      # master unread → not computable
    out = kl.balance(fwd, rev, np.zeros(n, bool), est, np.zeros((4, n)), min_coverage_pct=90)
    np.testing.assert_array_equal(out.status, [kl.STATUS_COMPUTED, kl.STATUS_ESTIMATED,
                                               kl.STATUS_NOT_COMPUTABLE, kl.STATUS_NOT_COMPUTABLE])
    np.testing.assert_allclose(out.coverage_pct, [100, 95, 85, 100])
    assert out.loss_pct[1] == pytest.approx(100 / 21)
    assert np.isnan(out.loss_pct[2]) and np.isnan(out.loss_pct[3])


def test_unread_meter_without_history_makes_the_period_not_computable() -> None:
    fwd = np.array([[1.0, np.nan, 2.2]])
    out = kl.balance(fwd, np.zeros_like(fwd), [False, False], [[np.nan, np.nan]], [[0.0, 0.0]], min_coverage_pct=0)
    assert out.status[0] == kl.STATUS_NOT_COMPUTABLE and np.isnan(out.sales_kwh[0])


def test_balance_names_the_bad_argument() -> None:
    with pytest.raises(ValueError, match="pv has shape"):
        kl.balance([[1.0, 2.0]], [[0.0, 0.0]], [False, False], min_coverage_pct=90)
    with pytest.raises(ValueError, match="min_coverage_pct = 150"):
        kl.balance([[1.0, 2.0]], [[0.0, 0.0]], [False], min_coverage_pct=150)
    with pytest.raises(ValueError, match=r"e_fwd must be >= 0 kWh: device column 1 has -2\.0"):
        kl.balance([[1.0, -2.0]], [[0.0, 0.0]], [False], min_coverage_pct=90)


def test_history_estimate_and_daily_energy_match_reference() -> None:
    rng = np.random.default_rng(9)
    hist = rng.uniform(0, 3, (100, 7))
    hist[rng.random(hist.shape) < 0.4] = np.nan
    a, b = np.empty(100), np.empty(100)
    kl.history_estimate(hist, 3, a)
    rl.history_estimate(hist, 3, b)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.isnan(a).any() and np.isfinite(a).any()
    ie = rng.uniform(0, 1, (100, 96))
    ie[rng.random(ie.shape) < 0.002] = np.nan
    fs = rng.uniform(0, ROLL, 100)
    fe = fs + ie.sum(axis=1) + 0.01
    fs[::5] = np.nan
    fe[1::7] = (fe[1::7] % ROLL) - 5.0  # some wrapped, some replaced
    fe[2::9] = fe[2::9] % ROLL
    roll = np.full(100, ROLL)
    kl.daily_energy(ie, fs, fe, roll, a)
    rl.daily_energy(ie, fs, fe, roll, b)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert np.isfinite(a).sum() > 60


def test_bands_and_persistent_runs() -> None:
    params = LineLossParams(negative_pct=-1.0, high_pct=10.0)
    loss = np.array([5.0, 12.0, np.nan, 15.0, -3.0, 10.0, -1.0, -1.5])
    status = np.array([0, 0, 2, 1, 0, 0, 0, 0], dtype=np.int8)
    band = kl.bands(loss, status, params)
    np.testing.assert_array_equal(band, [0, 2, -1, 2, 1, 0, 0, 1])
    np.testing.assert_array_equal(kl.bands(loss, status, params, backend="reference"), band)
    a, b = np.empty(8, dtype=np.int64), np.empty(8, dtype=np.int64)
    kl.abnormal_runs(band, 4, a)
    rl.abnormal_runs(band, 4, b)
    np.testing.assert_array_equal(a, [0, 1, 1, 2, 3, 0, 0, 1])
    np.testing.assert_array_equal(a, b)


def test_frozen_day_energy_is_preferred_and_intervals_fill_in() -> None:
    ie = np.array([[1.0, 2.0], [1.0, np.nan], [1.0, 1.0], [0.5, 0.5]])
    fs = np.array([10.0, 10.0, np.nan, 999_999.5])
    fe = np.array([13.5, 12.0, 5.0, 0.5])  # meter 3 wrapped at 10^6 kWh
    for backend in ("numba", "reference"):
        e = kl.daily_energies(ie, fs, fe, rollover_kwh=kl.register_capacity_kwh([1, 1, 1, 1]), backend=backend)
        np.testing.assert_allclose(e, [3.5, 2.0, 2.0, 1.0])


def test_register_capacity_follows_the_ct_ratio() -> None:
    np.testing.assert_array_equal(kl.register_capacity_kwh([1, 200]), [1e6, 2e8])
    with pytest.raises(ValueError, match="ct_ratio must be >= 1"):
        kl.register_capacity_kwh([0.5])


def test_estimate_from_history_and_persistent_wrappers() -> None:
    est = kl.estimate_from_history([[1.0, np.nan, 3.0], [np.nan, np.nan, 5.0]], min_samples=2)
    assert est[0] == 2.0 and np.isnan(est[1])
    runs, flag = kl.persistent([kl.BAND_HIGH] * 3 + [kl.BAND_NONE, kl.BAND_NEGATIVE],
                               LineLossParams(persistent_days=3))
    np.testing.assert_array_equal(runs, [1, 2, 3, 3, 4])
    np.testing.assert_array_equal(flag, [False, False, True, True, True])
