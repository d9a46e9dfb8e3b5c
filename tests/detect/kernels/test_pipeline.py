"""The kernels chained the way the engine will call them, on a small simulated area with registers:
registers → interval energies → balance (gaps estimated) → technical-loss model → NTL → drop evidence."""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import evidence as ke
from detect.kernels import lineloss as kl
from detect.kernels import suspects as ks
from detect.kernels import techloss as kt
from detect.params import LineLossParams, TechLossParams

DAY = 96
DAYS = 14
N = 40
I_RATED = 144.3  # 100 kVA at 400 V
T0 = 1_767_225_600.0


def _simulate(seed: int, thief: int | None, onset_day: int = 9, alpha: float = 0.4, jitter_s: float = 0.0):
    """Area of N homes for DAYS days. Registers are read at every 15-min bound (96-point curve), moved by up
    to ``jitter_s`` (then the register is the true piecewise-linear one at the read time)."""
    rng = np.random.default_rng(seed)
    n_t = DAYS * DAY
    t = np.arange(n_t)
    shape = 0.1 + 0.08 * np.sin(np.pi * (t % DAY) / DAY) ** 2 + 0.1 * ((t % DAY) > 72)
    on = rng.random((N, n_t)) < 0.15
    blocks = np.minimum(sum(np.roll(on, k, axis=1) for k in range(4)), 1)
    true = shape[None, :] * rng.uniform(0.5, 2.0, (N, 1)) + 0.2 * blocks * rng.uniform(0.5, 1.5, (N, 1))
    metered = true.copy()
    if thief is not None:
        metered[thief, onset_day * DAY:] *= alpha
    i_phase = true.sum(axis=0) * 4 * 1000 / (3 * 230.0)
    i2 = 3 * i_phase**2
    tech = 0.05 + 1.5 * i2 / (3 * I_RATED**2) + rng.normal(0, 0.005, n_t)  # kWh per interval
    master = true.sum(axis=0) + tech
    bounds = T0 + 900.0 * np.arange(n_t + 1)
    cum = np.hstack([np.zeros((N, 1)), np.cumsum(metered, axis=1)])
    ts = bounds[None, :] + rng.uniform(-jitter_s, jitter_s, (N, n_t + 1))
    reg = rng.uniform(100, 1e5, (N, 1)) + np.array([np.interp(ts[i], bounds, cum[i]) for i in range(N)])
    return rng, bounds, ts, reg, master, i2, metered


@pytest.mark.parametrize("seed", range(2))
def test_kernels_chained_find_the_thief_and_the_loss_matches_the_truth(seed: int) -> None:
    rng, bounds, ts, reg, master, i2, metered = _simulate(seed, thief=23)
    reg[rng.random(reg.shape) < 0.002] = np.nan  # collection gaps: both intervals around a lost point
    # max_gap_s = one interval: a lost point is not bridged by interpolation, its intervals are estimated
    e = kl.interval_energies(ts, reg, bounds, rollover_kwh=1e6, max_gap_s=900)
    fwd = np.vstack([e, master[None, :]]).T
    hist = np.stack([np.roll(e, DAY * d, axis=1) for d in range(1, 4)], axis=2)  # same interval, 3 days back
    est = np.stack([kl.estimate_from_history(hist[:, k, :], min_samples=1) for k in range(e.shape[1])])
    bal = kl.balance(fwd, np.zeros_like(fwd), np.zeros(N, bool), est, np.zeros_like(est), min_coverage_pct=90)
    full = bal.status == kl.STATUS_COMPUTED
    assert full.mean() > 0.7 and (bal.status == kl.STATUS_ESTIMATED).any()
    np.testing.assert_allclose(bal.coverage_pct, 100 * np.isfinite(e).mean(axis=0))
    true_loss = 100 * (master - metered.sum(axis=0)) / master
    assert np.max(np.abs(bal.loss_pct[full] - true_loss[full])) < 1e-6  # percentage points, exact reads
    # technical-loss model learns on the first days, then NTL and ranking over the whole window
    state = kt.new_state()
    tl = kt.track(bal.supply_kwh - bal.sales_kwh, i2, state, TechLossParams(warmup_intervals=2 * DAY),
                  rated_current_a=I_RATED, status=bal.status)
    assert tl.alarm.max() == 1.0 and tl.alarm[: 9 * DAY].max() == 0.0
    # the drop evidence from the NTL onset day: each meter's daily energy against its share before it
    filled = np.where(np.isfinite(e), e, est.T)
    xd = np.nansum(filled.reshape(N, DAYS, DAY), axis=2).T
    ntl_d = np.nansum(tl.ntl_kwh.reshape(DAYS, DAY), axis=1)
    total = xd.sum(axis=1) + ntl_d - np.median(ntl_d[2:9])
    z, drop, explained = (np.empty(N) for _ in range(3))
    wd = np.zeros(DAYS, np.int64)               # every day a working day
    ke.drop_match(xd[:9], total[:9], wd[:9], xd[9:], total[9:], wd[9:], total[9:] - xd[9:].sum(axis=1), z, drop,
                  explained)
    order = np.argsort(-z)
    assert order[0] == 23 and ks.map_at_k(order, [23], 3) == 1.0 and 0.7 < explained[23] < 1.3


def test_daily_loss_from_jittered_reads_is_within_a_tenth_of_a_point_and_bands_persist() -> None:
    _, bounds, ts, reg, master, _, metered = _simulate(5, thief=None, jitter_s=300.0)
    day_bounds = bounds[::DAY]
    e = kl.interval_energies(ts, reg, day_bounds, rollover_kwh=1e6, max_gap_s=1800)  # daily
    sup = master.reshape(DAYS, DAY).sum(axis=1)
    fwd = np.vstack([e, sup[None, :] * 1.15]).T  # a 13 % loss every day
    bal = kl.balance(fwd, np.zeros_like(fwd), np.zeros(N, bool), min_coverage_pct=100)
    truth = 100 * (fwd[:, N] - metered.reshape(N, DAYS, DAY).sum(axis=2).sum(axis=0)) / fwd[:, N]
    # the first and last day lack a reading on the far side of their outer bound: not computable
    np.testing.assert_array_equal(bal.status, [2] + [0] * (DAYS - 2) + [2])
    assert np.max(np.abs(bal.loss_pct[1:-1] - truth[1:-1])) < 0.1
    band = kl.bands(bal.loss_pct, bal.status, LineLossParams())
    runs, flag = kl.persistent(band, LineLossParams(persistent_days=3))
    assert (band[1:-1] == kl.BAND_HIGH).all() and band[0] == band[-1] == kl.BAND_NONE
    assert not flag[2] and flag[3] and runs[-1] == DAYS - 2
