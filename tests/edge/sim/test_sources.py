"""The fixed-value source (``edge.sim.sources.StaticSource``)."""

from __future__ import annotations

import pytest

from edge.sim.source import ValueSource
from edge.sim.sources import DEFAULT_VALUES, StaticSource


def test_static_source_returns_only_what_the_device_has() -> None:
    src = StaticSource.only({"master": {"u_a": 230.0, "i_a": 10.0}})
    assert isinstance(src, ValueSource)
    assert src.values("master", ["u_a", "i_n"], 0.0) == {"u_a": 230.0}


def test_absent_device_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="no device 'm1'"):
        StaticSource.only({}).values("m1", ["u_a"], 0.0)


def test_values_can_be_changed_while_serving() -> None:
    src = StaticSource.only({"master": {"u_a": 230.0}})
    src.per_device["master"]["u_a"] = 198.0
    assert src.values("master", ["u_a"], 0.0) == {"u_a": 198.0}
    del src.per_device["master"]
    with pytest.raises(LookupError):
        src.values("master", ["u_a"], 0.0)


def test_per_device_values_override_the_defaults_and_silent_devices_raise() -> None:
    src = StaticSource(per_device={"m1": {"u_a": 199.0}}, silent={"m2"})
    assert src.values("m1", ["u_a", "e_fwd"], 0.0) == {"u_a": 199.0, "e_fwd": DEFAULT_VALUES["e_fwd"]}
    assert src.values("m3", ["u_a"], 0.0) == {"u_a": DEFAULT_VALUES["u_a"]}
    with pytest.raises(LookupError):
        src.values("m2", ["u_a"], 0.0)
