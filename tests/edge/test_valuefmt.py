"""Values at the resolution of their register (edge.valuefmt)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.valuefmt import Resolution, at_resolution, decimals_for_step, shown


@pytest.mark.parametrize(("step", "decimals"), [(0.1, 1), (0.01, 2), (0.001, 3), (1.0, 0), (0.05, 2), (2.0, 0),
                                                 (0.01 * 200, 0), (0.001 * 200, 1), (0.1 * 0.1, 2)])
def test_decimals_of_a_register_step(step: float, decimals: int) -> None:
    assert decimals_for_step(step) == decimals


def test_bcd_and_scaled_registers_keep_their_fixed_decimals() -> None:
    assert shown(2301 * 0.1, Resolution.of_step(0.1)) == "230.1"
    assert shown(1234560 * 0.01, Resolution.of_step(0.01)) == "12345.60"     # the meter shows .60
    assert shown(-0.04, Resolution.of_step(0.1)) == "0.0"                   # no "-0.0"
    assert at_resolution(2301 * 0.1, Resolution.of_step(0.1)) == 230.1
    assert repr(at_resolution(2301 * 0.1, Resolution.of_step(0.1))) == "230.1"


def test_float_registers_show_the_digits_their_format_carries() -> None:
    f32 = Resolution(significant=7)
    for x in (12345.6, 230.1, 0.1, 49.99, 1e-3, 65432.1):
        as_read = float(np.float32(x))                    # what a float32 register delivers
        assert as_read != x
        assert float(shown(as_read, f32)) == x and shown(as_read, f32) == repr(x).rstrip("0").rstrip(".")
    assert shown(float(np.float32(12345.6)) * 200, f32) == "2469120"       # CT ratio: still 7 digits


def test_integers_and_unknown_resolutions_pass_through() -> None:
    assert shown(5, Resolution.of_step(0.1)) == "5"
    assert shown(0.30000000000000004, None) == "0.30000000000000004"
    assert at_resolution(float("nan"), Resolution.of_step(0.1)) != at_resolution(float("nan"), None)  # nan stays nan
