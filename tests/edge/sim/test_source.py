from __future__ import annotations

import pytest

from edge.sim.area import AreaSource
from edge.sim.config import parse_sim_config
from edge.sim.source import ValueSource

CFG = parse_sim_config(
    "[area]\ncustomers = 40\n"
    '[[scenario]]\nkind = "comm_loss"\nsubject = "M0002"\nstart_h = 10\nend_h = 12\n'
    '[[scenario]]\nkind = "master_offline"\nstart_h = 30\nend_h = 31\n', "x")


def test_area_source_is_a_value_source_answering_meter_and_master_quantities() -> None:
    src = AreaSource(CFG)
    assert isinstance(src, ValueSource)
    t = CFG.start + 9 * 3600 + 30
    v = src.values("M0001", ["u_a", "i_a", "p", "e_fwd", "sw1", "evt_cover_open", "e_fwd_daily", "u_b"], t)
    assert 198 < v["u_a"] < 236 and v["e_fwd"] >= v["e_fwd_daily"] > 0
    assert "u_b" not in v                                  # single-phase meter: no such data
    m = src.values("master", ["u_a", "i_a", "p", "e_fwd", "t_amb"], t)
    assert m["p"] > 0 and m["i_a"] > 0


def test_area_source_is_silent_for_comm_loss_and_master_offline_and_advances_days() -> None:
    src = AreaSource(CFG)
    with pytest.raises(LookupError, match="M0002"):
        src.values("M0002", ["p"], CFG.start + 11 * 3600)
    e1 = src.values("M0001", ["e_fwd"], CFG.start + 11 * 3600)["e_fwd"]
    with pytest.raises(LookupError, match="master"):
        src.values("master", ["p"], CFG.start + 30.5 * 3600)
    e2 = src.values("M0001", ["e_fwd"], CFG.start + 31 * 3600)["e_fwd"]
    assert e2 > e1
    src.values("M0001", ["p"], CFG.start + 3600)             # the previous day is kept
    src.values("M0001", ["p"], CFG.start + 49 * 3600)
    with pytest.raises(LookupError, match="before the simulated days"):
        src.values("M0001", ["p"], CFG.start + 3600)       # went back before the kept days
    with pytest.raises(LookupError, match="unknown device"):
        src.values("M9999", ["p"], CFG.start + 31 * 3600)
