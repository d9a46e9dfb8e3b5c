"""Every numba kernel against its numpy reference, on random and adversarial data.

Tolerance (detect.config): |kernel − reference| ≤ ATOL + RTOL·|reference| (thermal: THERMAL_ATOL_K absolute).
"""

from __future__ import annotations

import numpy as np
import pytest

from detect.config import ATOL, RTOL, THERMAL_ATOL_K
from detect.cooling import resolve
from detect.kernels import alarms as k_alarms
from detect.kernels import energy as k_energy
from detect.kernels import load as k_load
from detect.kernels import thermal as k_thermal
from detect.kernels import voltage as k_voltage
from detect.params import ThermalParams
from detect.reference import alarms as r_alarms
from detect.reference import energy as r_energy
from detect.reference import load as r_load
from detect.reference import thermal as r_thermal
from detect.reference import voltage as r_voltage

SEEDS = range(6)


def close(a: np.ndarray, b: np.ndarray, atol: float = ATOL) -> None:
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=atol, equal_nan=True)


def with_gaps(rng: np.random.Generator, x: np.ndarray, share: float = 0.1) -> np.ndarray:
    x = x.copy()
    x[rng.random(x.shape) < share] = np.nan
    return x


@pytest.mark.parametrize("seed", SEEDS)
def test_persistence_state_machine_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, subjects = 3000, 7
    subj = rng.integers(0, subjects, n)
    ts = np.sort(rng.uniform(0, 20000, n))
    if seed == 1:
        ts = np.round(ts / 600) * 600          # many events at the same time
    level = np.sin(ts / 1500.0 + subj) + rng.normal(0, 0.3, n)     # slow regimes with noise
    on, off, valid = level > 0.3, level < -0.3, rng.random(n) > 0.05
    outs = []
    for mod in (k_alarms, r_alarms):
        state = np.zeros(subjects, np.int8)
        onset, clear = np.full(subjects, np.nan), np.full(subjects, np.nan)
        trans = mod.persist_events(subj, ts, on, off, valid, 300.0 * (seed % 3), 120.0, state, onset, clear)
        outs.append((trans, state, onset, clear))
    (t1, s1, o1, c1), (t2, s2, o2, c2) = outs
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(s1, s2)
    close(o1, o2)
    close(c1, c2)
    assert (t1 == 1).any() and (t1 == 2).any()   # the data exercises both transitions


@pytest.mark.parametrize("seed", SEEDS)
def test_load_rates_and_imbalance_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    i = [with_gaps(rng, rng.uniform(0, 900, n)) for _ in range(3)]
    i[0][:20] = 0.0                             # all-zero phases
    i[1][:10] = i[2][:10] = 0.0
    i[2][20:30] = 250.0                         # constant
    p, q = with_gaps(rng, rng.uniform(-50, 400, n)), with_gaps(rng, rng.uniform(-100, 200, n))
    if seed == 2:
        p = p + 1e8                             # large offsets keep their precision
    for a, b in zip(k_load.load_rates(*i, p, q, 577.35, 400.0), r_load.load_rates(*i, p, q, 577.35, 400.0),
                    strict=True):
        close(a, b)
    for formula in (0, 1, 2):
        close(k_load.imbalance_pct(*i, formula), r_load.imbalance_pct(*i, formula))


def _registers(rng: np.random.Generator, n: int, offset: float) -> tuple[np.ndarray, ...]:
    prev = rng.uniform(0, 5000, n) + offset
    first = prev + rng.uniform(0, 2, n)
    last = first + rng.uniform(0, 3, n)
    prev_ts = 900.0 - rng.uniform(1, 900, n)
    last_ts = 900.0 + rng.uniform(0, 899, n)
    return prev, prev_ts, first, last, last_ts


@pytest.mark.parametrize("offset", [0.0, 1e8])
@pytest.mark.parametrize("seed", SEEDS)
def test_interval_energy_matches_reference_with_rollover_reset_gaps(seed: int, offset: float) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    prev, prev_ts, first, last, last_ts = _registers(rng, n, offset)
    roll = 1e6 if offset == 0 else 1e9
    prev[:20] = roll - rng.uniform(0.1, 5, 20)              # counter rollover
    first[:20] = rng.uniform(0, 1, 20)
    last[:20] = first[:20] + 1
    prev[20:40] = 9000.0 + offset                          # meter replaced: register starts again low
    first[20:40] = rng.uniform(0, 2, 20) + offset
    last[20:40] = first[20:40] + 0.5
    prev_ts[40:60] = -5000.0                               # gap of several intervals
    last[60:80] = prev[60:80]                              # constant register (no consumption)
    first[60:80] = prev[60:80]
    last[80:100] = np.nan                                  # not read
    prev[100:120] = np.nan                                 # no baseline yet
    prev[120:130] = last[120:130] + 0.005                  # rounding back-step is not a reset
    a = k_energy.interval_energy(prev, prev_ts, first, last, last_ts, 900.0, 900.0, roll)
    b = r_energy.interval_energy(prev, prev_ts, first, last, last_ts, 900.0, 900.0, roll)
    close(a[0], b[0], atol=1e-6 if offset else ATOL)
    np.testing.assert_array_equal(a[1], b[1])
    assert set(np.unique(a[1]).tolist()) == {0, 1, 2, 3, 4, 5}
    assert np.all(a[0][:20] > 0) and np.all(a[0][:20] < 10)    # rollover gives a small positive energy


@pytest.mark.parametrize("seed", SEEDS)
def test_voltage_accumulators_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_read, slots, meters = 5000, 3, 60
    slot = rng.integers(0, slots, n_read)
    meter = rng.integers(0, meters, n_read)
    u = with_gaps(rng, rng.normal(222, 12, n_read))
    u[rng.random(n_read) < 0.03] = 0.0                         # dead supply
    u[:50] = 230.0                                             # constant
    res = []
    for mod in (k_voltage, r_voltage):
        acc = [np.full((slots, meters), np.nan), np.full((slots, meters), np.nan), np.zeros((slots, meters)),
               np.zeros((slots, meters), np.int64), np.zeros((slots, meters), np.int64),
               np.zeros((slots, meters), np.int64)]
        mod.accumulate_voltage(slot, meter, u, 198.0, 235.4, 22.0, *acc)
        res.append(acc)
    for a, b in zip(*res, strict=True):
        close(np.where(res[0][3] > 0, a, 0.0) if a.dtype == float else a,
              np.where(res[0][3] > 0, b, 0.0) if b.dtype == float else b)


def _model(cooling: str, **kw: object) -> np.ndarray:
    return resolve(ThermalParams(**kw), cooling).kernel_params  # type: ignore[arg-type]


THERMAL = _model("ONAN")
MODELS = [("ONAN", {}), ("ONAF", {"insulation": "tup"}), ("OFAF", {}), ("ODAF", {}), ("AN", {}),
          ("AF", {"dry_insulation_class": "180"})]


@pytest.mark.parametrize("seed", SEEDS)
def test_thermal_run_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cooling, kw = MODELS[seed % len(MODELS)]
    params = _model(cooling, **kw)
    ts = np.cumsum(rng.choice([1.0, 60.0, 300.0, 900.0, 7200.0], 300))
    k = with_gaps(rng, np.clip(rng.normal(0.8, 0.4, 300), 0, 2.0))
    k[100:150] = 1.1                                          # constant load
    amb = with_gaps(rng, rng.normal(25, 8, 300))
    s1, s2 = np.zeros(8), np.zeros(8)
    a = k_thermal.thermal_run(ts, k, amb, s1, params)
    b = r_thermal.thermal_run(ts, k, amb, s2, params)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=THERMAL_ATOL_K, equal_nan=True)
    np.testing.assert_allclose(s1, s2, rtol=1e-9, atol=THERMAL_ATOL_K)
    for kk in (0.5, 1.0, 1.5, 2.0):
        ta = k_thermal.time_to_limit_min(s1[0], s1[1], s1[2], kk, 30.0, params, 120.0, 1440.0)
        tb = r_thermal.time_to_limit_min(s2[0], s2[1], s2[2], kk, 30.0, params, 120.0, 1440.0)
        assert ta == pytest.approx(tb, rel=1e-9, abs=1e-6) or (np.isinf(ta) and np.isinf(tb))


def test_thermal_is_independent_of_poll_cadence() -> None:
    """The same load profile sampled every minute or every 15 minutes ends at the same hot-spot."""
    t_fine = np.arange(0, 86400 + 1, 60.0)
    profile = 0.6 + 0.6 * np.sin(t_fine / 86400 * np.pi) ** 2
    coarse = slice(None, None, 15)
    out = []
    for ts, k in ((t_fine, profile), (t_fine[coarse], profile[coarse])):
        state = np.zeros(8)
        _, hot, _ = k_thermal.thermal_run(ts, k, np.full_like(ts, 25.0), state, THERMAL)
        out.append((hot[-1], state[3]))
    assert out[0][0] == pytest.approx(out[1][0], abs=0.3)
    assert out[0][1] == pytest.approx(out[1][1], rel=0.02)


def test_thermal_steady_state_at_rated_load_is_ambient_plus_rises() -> None:
    ts = np.arange(0, 48 * 3600, 600.0)
    state = np.zeros(8)
    o, h, v = k_thermal.thermal_run(ts, np.ones_like(ts), np.full_like(ts, 20.0), state, THERMAL)
    assert o[-1] == pytest.approx(20 + 55, abs=1e-6)
    assert h[-1] == pytest.approx(20 + 55 + 23, abs=1e-6)
    assert v[-1] == pytest.approx(1.0, abs=1e-6)              # 98 °C: ageing rate 1 on normal paper
