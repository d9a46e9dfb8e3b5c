"""The static value source."""

from __future__ import annotations

import pytest

from edge.sim.source import ValueSource
from edge.sim.static import StaticSource


def test_static_source_returns_only_what_the_device_has() -> None:
    src = StaticSource({"master": {"u_a": 230.0, "i_a": 10.0}})
    assert isinstance(src, ValueSource)
    assert src.values("master", ["u_a", "i_n"], 0.0) == {"u_a": 230.0}


def test_absent_device_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="no device 'm1'"):
        StaticSource({}).values("m1", ["u_a"], 0.0)


def test_values_can_be_changed_while_serving() -> None:
    src = StaticSource({"master": {"u_a": 230.0}})
    src.devices["master"]["u_a"] = 198.0
    assert src.values("master", ["u_a"], 0.0) == {"u_a": 198.0}
