"""Physical checks: each crafted tamper fires exactly its check; healthy meters fire none; kernel = reference."""

from __future__ import annotations

import numpy as np
import pytest

from detect.area import KIND_SINGLE, KIND_THREE
from detect.kernels.theft import CHECKS, FIELDS, run_physical_checks
from detect.params import TheftParams

PARAMS = TheftParams()
COL = {name: i for i, name in enumerate(FIELDS)}


def _healthy(kind: int = KIND_SINGLE) -> np.ndarray:
    """A meter drawing 5 A at 222 V for 15 min: 0.27 kWh, register and power agree, no status bits."""
    row = np.zeros(len(FIELDS))
    row[[COL["u_a"], COL["u_b"], COL["u_c"]]] = 222.0
    row[[COL["i_a"], COL["i_b"], COL["i_c"]]] = 5.0 if kind == KIND_THREE else [5.0, np.nan, np.nan]
    if kind == KIND_SINGLE:
        row[[COL["u_b"], COL["u_c"]]] = np.nan
    row[COL["i_n"]] = 5.0 if kind == KIND_SINGLE else 0.2
    p = 1.1 * (3 if kind == KIND_THREE else 1)
    row[COL["p_kw"]] = p
    row[COL["p_int_kwh"]] = p * 0.25
    row[COL["de_fwd_kwh"]] = p * 0.25 * 1.01
    row[COL["expected_kwh"]] = p * 0.25
    return row


def _run(rows: list[np.ndarray], kinds: list[int], pv: list[bool] | None = None, ntl: float = float("nan")):
    meas = np.vstack(rows)
    pv_a = np.array(pv if pv is not None else [False] * len(rows))
    a = run_physical_checks(meas, kinds, pv_a, PARAMS, nominal_v=220.0, area_ntl_kwh=ntl)
    b = run_physical_checks(meas, kinds, pv_a, PARAMS, nominal_v=220.0, area_ntl_kwh=ntl, backend="reference")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, equal_nan=True)
    return a


def _tamper(kind: int, **changes: float) -> np.ndarray:
    row = _healthy(kind)
    for k, v in changes.items():
        row[COL[k]] = v
    return row


CASES = {
    "cover_open": (KIND_SINGLE, {"d_cover": 1.0}, 1.0),
    "cover_open_bit": (KIND_SINGLE, {"sw7": float(1 << 9)}, 0.0),
    "terminal_cover_open": (KIND_THREE, {"d_terminal": 2.0}, 2.0),
    "neutral_mismatch": (KIND_SINGLE, {"i_a": 1.0, "de_fwd_kwh": 0.06, "p_int_kwh": 0.055}, 0.8),
    "voltage_loss": (KIND_THREE, {"u_b": 20.0}, 20.0),
    "voltage_loss_bit": (KIND_THREE, {"sw6": 1.0}, 222.0),
    "current_loss": (KIND_THREE, {"i_c": 0.0}, 0.0),
    "reverse_energy": (KIND_SINGLE, {"de_rev_kwh": 0.2}, 0.2),
    "relay_bypass": (KIND_SINGLE, {"sw3": float(1 << 4)}, 5.0),
    "zero_energy_with_current": (KIND_SINGLE, {"de_fwd_kwh": 0.0, "p_int_kwh": 0.3}, 0.3),
    "energy_power_mismatch": (KIND_THREE, {"de_fwd_kwh": 0.5, "p_int_kwh": 0.825}, 0.325 / 0.825),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_crafted_tamper_fires_its_check_with_evidence(case: str) -> None:
    kind, changes, evidence = CASES[case]
    check = case.removesuffix("_bit")
    cond, val = _run([_healthy(KIND_SINGLE), _healthy(KIND_THREE), _tamper(kind, **changes)],
                     [KIND_SINGLE, KIND_THREE, kind])
    assert not cond[:2].any(), "healthy meters must not fire"
    c = CHECKS.index(check)
    fired = [CHECKS[j] for j in np.flatnonzero(cond[2])]
    assert check in fired
    assert val[2, c] == pytest.approx(evidence)
    # the zero-energy register also disagrees with the power integral: both are true statements
    assert set(fired) <= {check, "energy_power_mismatch"} if check == "zero_energy_with_current" else fired == [check]


def test_relay_open_with_no_current_fires_only_when_the_area_misses_the_meters_load() -> None:
    row = _tamper(KIND_SINGLE, sw3=float(1 << 4), i_a=0.0, i_n=0.0, de_fwd_kwh=0.0, p_int_kwh=0.0, p_kw=0.0)
    c = CHECKS.index("relay_bypass")
    assert not _run([row], [KIND_SINGLE], ntl=0.01)[0][0, c]
    assert _run([row], [KIND_SINGLE], ntl=0.2)[0][0, c]


def test_neutral_mismatch_needs_an_absolute_difference_at_small_currents() -> None:
    small = _tamper(KIND_SINGLE, i_a=0.06, i_n=0.02)  # ratio 0.67 but 40 mA: meter inaccuracy, not theft
    big = _tamper(KIND_SINGLE, i_a=0.6, i_n=0.02)
    cond, _ = _run([small, big], [KIND_SINGLE, KIND_SINGLE])
    c = CHECKS.index("neutral_mismatch")
    assert not cond[0, c] and cond[1, c]


def test_reverse_energy_on_a_pv_customer_is_not_a_check() -> None:
    row = _tamper(KIND_SINGLE, de_rev_kwh=1.5, p_kw=-2.0)
    assert not _run([row], [KIND_SINGLE], pv=[True])[0].any()
    assert _run([row], [KIND_SINGLE], pv=[False])[0][0, CHECKS.index("reverse_energy")]


def test_unread_values_never_fire_a_measurement_check() -> None:
    row = np.full(len(FIELDS), np.nan)
    cond, val = _run([row, row], [KIND_SINGLE, KIND_THREE])
    assert not cond.any() and np.isnan(val).all()


@pytest.mark.parametrize("seed", range(4))
def test_kernel_matches_reference_on_random_and_adversarial_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    meas = rng.uniform(-5, 300, (n, len(FIELDS)))
    meas[:, COL["sw1"]:COL["sw7"] + 1] = rng.integers(0, 1 << 11, (n, 6))
    meas[rng.random(meas.shape) < 0.1] = np.nan
    meas[::50] = meas[0]  # repeated identical rows
    meas[1::97, COL["de_fwd_kwh"]] += 1e8  # +1e8 offsets
    kinds = rng.integers(0, 2, n).astype(np.int8)
    _run(list(meas), list(kinds), list(rng.random(n) < 0.2), ntl=float(rng.uniform(0, 3)))


def test_a_healthy_area_raises_nothing() -> None:
    rng = np.random.default_rng(11)
    rows, kinds = [], []
    for _ in range(500):
        kind = KIND_THREE if rng.random() < 0.1 else KIND_SINGLE
        row = _healthy(kind)
        scale = rng.uniform(0.0, 6.0)
        row[[COL["i_a"], COL["i_b"], COL["i_c"], COL["i_n"], COL["p_kw"], COL["p_int_kwh"]]] *= scale
        row[COL["de_fwd_kwh"]] = row[COL["p_int_kwh"]] * rng.uniform(0.98, 1.02)
        row[[COL["u_a"], COL["u_b"], COL["u_c"]]] *= rng.uniform(0.92, 1.05)
        rows.append(row)
        kinds.append(kind)
    assert not _run(rows, kinds)[0].any()


def test_kilovolts_instead_of_volts_is_rejected_with_the_row() -> None:
    row = _healthy(KIND_SINGLE)
    row[COL["u_a"]] = 222000.0
    with pytest.raises(ValueError, match=r"meter row 1: voltage 222000.0 V is above twice nominal"):
        run_physical_checks(np.vstack([_healthy(), row]), [0, 0], [False, False], PARAMS, nominal_v=220.0)
