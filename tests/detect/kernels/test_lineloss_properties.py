"""Property tests of the line-loss kernels (hypothesis): conservation of energy and balance identities."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detect.kernels import lineloss as kl

BOUNDS = np.arange(0.0, 4 * 900.0 + 1, 900.0)


@settings(max_examples=60, deadline=None)
@given(
    advances=st.lists(st.floats(0.0, 5.0), min_size=30, max_size=30),
    offset=st.sampled_from([0.0, 123.45, 1e8, 999_990.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_interval_energies_sum_to_the_register_advance_across_rollover(advances: list[float], offset: float,
                                                                         seed: int) -> None:
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.uniform(-100.0, BOUNDS[-1] + 100.0, 30))
    ts[0], ts[-1] = -100.0, BOUNDS[-1] + 100.0  # readings straddle every bound
    true = offset + np.cumsum(advances)
    shown = np.mod(true, kl.DLT645_REGISTER_KWH)  # what a meter displays (wraps at 10^6 kWh)
    e = kl.interval_energies(ts[None, :], shown[None, :], BOUNDS, rollover_kwh=kl.DLT645_REGISTER_KWH,
                             max_gap_s=1e5)
    ref = np.interp(BOUNDS, ts, true)
    assert np.all(np.isfinite(e))
    # relative precision of the stored register (1e8 kWh ≈ 1.5e-8 ulp) bounds the error
    np.testing.assert_allclose(e[0], np.diff(ref), atol=1e-6 + 1e-12 * offset)
    assert np.all(e >= -1e-9)


@settings(max_examples=80, deadline=None)
@given(
    fwd=st.lists(st.floats(0.0, 10.0), min_size=5, max_size=5),
    rev=st.lists(st.floats(0.0, 3.0), min_size=5, max_size=5),
    pv=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_balance_identity_holds_for_any_clean_period(fwd: list[float], rev: list[float], pv: list[bool]) -> None:
    f, r = np.array([fwd]), np.array([rev])
    out = kl.balance(f, r, pv, min_coverage_pct=100)
    supply = fwd[4] - rev[4] + sum(x for x, p in zip(rev[:4], pv, strict=True) if p)
    sales = sum(fwd[:4])
    assert out.supply_kwh[0] == np.float64(supply) or np.isclose(out.supply_kwh[0], supply, rtol=1e-12)
    assert np.isclose(out.sales_kwh[0], sales, rtol=1e-12)
    if supply > 0:
        assert out.status[0] == kl.STATUS_COMPUTED
        assert np.isclose(out.loss_pct[0], 100 * (supply - sales) / supply, rtol=1e-12, atol=1e-12)
    else:
        assert out.status[0] == kl.STATUS_NOT_COMPUTABLE and np.isnan(out.loss_pct[0])
