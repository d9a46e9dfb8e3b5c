"""Mapping check: a meter whose voltage follows another transformer is flagged, correctly registered ones
are not; kernels match their references."""

from __future__ import annotations

import numpy as np
import pytest

from detect.kernels import mapping as km
from detect.params import MappingParams
from detect.reference import mapping as rm

T = 3 * 96  # three days of 15-min means


def _feeder(seed: int, n: int = 90):
    """Two transformers on one MV feeder. Each LV phase voltage = MV-driven level − transformer drop from
    that phase's own load; each meter adds its own line drop and 0.1 V rounding."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    mv = 1.0 + 0.01 * np.sin(2 * np.pi * t / 96) + np.cumsum(rng.normal(0, 0.0005, T))  # shared by both
    load = 0.4 + 0.3 * np.sin(np.pi * (t % 96) / 96)[None, :] ** 2 + rng.normal(0, 0.08, (6, T))  # 2 × 3 phases
    lv = 230 * mv[None, :] - 8.0 * load  # rows 0-2: our transformer A/B/C, rows 3-5: the neighbour's
    phase = np.arange(n) % 3
    feed = phase.copy()
    wrong = [7, 40]  # fed by the neighbour on the same phase letter
    feed[wrong] += 3
    own = rng.uniform(0.0, 2.0, (n, 1)) * (0.5 + rng.random((n, T)))  # own line drop, V
    v = np.round(lv[feed] - own, 1)
    return v, lv[:3], phase, wrong


@pytest.mark.parametrize("seed", range(4))
def test_meter_fed_by_another_transformer_is_flagged_and_registered_ones_are_not(seed: int) -> None:
    v, vm, phase, wrong = _feeder(seed)
    m = km.check_mapping(v, vm, phase, MappingParams())
    assert set(np.flatnonzero(m.suspect)) == set(wrong), (m.score[wrong], np.sort(m.score)[:5])
    assert not m.phase_mismatch.any()


def test_three_phase_meters_use_the_master_phase_mean() -> None:
    v, vm, phase, wrong = _feeder(1)
    phase = phase.copy()
    v3 = v.copy()
    v3[[0, 1, 2]] = vm.mean(axis=0) - 1.0  # three-phase meters on our transformer
    phase[[0, 1, 2]] = 3
    m = km.check_mapping(v3, vm, phase, MappingParams())
    assert not m.suspect[[0, 1, 2]].any() and (m.best_phase[[0, 1, 2]] == 3).all()
    assert m.suspect[wrong].all()


def test_wrong_phase_in_the_archive_is_a_phase_mismatch_not_a_mapping_suspect() -> None:
    v, vm, phase, _ = _feeder(2)
    phase = phase.copy()
    phase[10] = (phase[10] + 1) % 3  # meter 10 hangs on another phase than registered
    m = km.check_mapping(v, vm, phase, MappingParams())
    assert m.phase_mismatch[10] and not m.suspect[10]
    assert m.phase_mismatch.sum() == 1


def test_silent_master_still_works_from_neighbours_and_too_few_samples_give_no_verdict() -> None:
    v, vm, phase, wrong = _feeder(3)
    m = km.check_mapping(v, np.full_like(vm, np.nan), phase, MappingParams())
    assert set(np.flatnonzero(m.suspect)) == set(wrong)
    v[5, 20:] = np.nan
    m = km.check_mapping(v, vm, phase, MappingParams(min_samples=48))
    assert np.isnan(m.score[5]) and not m.suspect[5]


@pytest.mark.parametrize("differenced", [True, False])
def test_kernels_match_reference_with_gaps_constants_and_offsets(differenced: bool) -> None:
    v, vm, phase, _ = _feeder(5)
    rng = np.random.default_rng(6)
    v[rng.random(v.shape) < 0.05] = np.nan
    v[3] = 231.0          # constant series → NaN correlation
    v[4] += 1e8           # offset
    v[6] = np.nan         # never read
    n = v.shape[0]
    ref = np.vstack([vm, vm.mean(axis=0, keepdims=True)])
    rows = rng.integers(0, 4, n)
    out = [(np.empty(n), np.empty(n, dtype=np.int64)) for _ in range(2)]
    km.pair_corr(v, ref, rows, differenced, *out[0])
    rm.pair_corr(v, ref, rows, differenced, *out[1])
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert np.isnan(out[0][0][3]) and out[0][1][6] == 0
    a, b = np.empty_like(v), np.empty_like(v)
    v[4] -= 1e8
    km.loo_group_ref(v, phase, 4, a)
    rm.loo_group_ref(v, phase, 4, b)
    np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True)


def test_check_mapping_names_bad_input() -> None:
    with pytest.raises(ValueError, match="phase of meter row 1 is 7"):
        km.check_mapping(np.zeros((2, 10)), np.zeros((3, 10)), [0, 7], MappingParams())
    with pytest.raises(ValueError, match="volts expected"):
        km.check_mapping(np.full((2, 10), 230e3), np.zeros((3, 10)), [0, 1], MappingParams())
