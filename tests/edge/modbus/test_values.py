"""Plausibility checks of decoded values."""

from __future__ import annotations

import math

from edge.modbus.values import DEFAULT_LIMITS, check_value


def test_plausible_value_passes() -> None:
    assert check_value(230.0, *DEFAULT_LIMITS["u_a"], "V") is None
    assert check_value(-412.5, *DEFAULT_LIMITS["i_a"], "A") is None     # signed current
    assert check_value(1.0004, *DEFAULT_LIMITS["pf"]) is None            # float rounding in meters


def test_nan_and_infinities_are_named() -> None:
    assert check_value(math.nan, 0, 1) == "value is NaN"
    assert check_value(math.inf, 0, 1) == "value is +infinite"
    assert check_value(-math.inf, 0, 1) == "value is -infinite"


def test_out_of_range_names_value_range_and_unit() -> None:
    assert check_value(-5.0, *DEFAULT_LIMITS["e_fwd"], "kWh") == \
        "value -5 kWh outside the plausible range [0, 1e+10] kWh"
    assert check_value(120.0, *DEFAULT_LIMITS["f"], "Hz") == "value 120 Hz outside the plausible range [0, 100] Hz"


def test_every_metered_quantity_has_default_limits() -> None:
    for q in ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q", "pf", "f",
              "e_fwd", "e_rev"):
        lo, hi = DEFAULT_LIMITS[q]
        assert lo < hi
