"""CT and PT ratios are records, applied once on the way into the engine, to master and meters alike
(docs/replay.md, "Ratios")."""

from __future__ import annotations

import numpy as np
import pytest

from detect import Engine, ReadingBatch
from detect.quantities import QUANTITY_CODE as Q
from edge.area import master_factor
from edge.config.model import MasterConfig


def test_a_replayed_master_gets_its_profiles_ratios_and_the_daemons_adapter_already_applied_them() -> None:
    dtsd = MasterConfig(bus="ttu", profile="dtsd1352", ct_ratio=30.0, pt_ratio=1.0)
    f = master_factor(dtsd, unscaled=True)
    assert f[Q["i_a"]] == 30.0 and f[Q["p"]] == 30.0 and f[Q["u_a"]] == 1.0 and f[Q["e_fwd"]] == 30.0
    assert (master_factor(dtsd, unscaled=False) == 1.0).all()        # the Modbus adapter scales live
    ttu = MasterConfig(bus="ttu", profile="ttu", ct_ratio=1.0)
    assert (master_factor(ttu, unscaled=True) == 1.0).all()           # a TTU reports primary values


def test_a_dlt645_master_on_cts_is_scaled_like_the_meters_live_and_in_replay() -> None:
    m = MasterConfig(bus="rs485-1", address="000000009999", ct_ratio=40.0, pt_ratio=1.0)
    for unscaled in (False, True):
        f = master_factor(m, unscaled=unscaled)
        assert f[Q["i_b"]] == 40.0 and f[Q["q"]] == 40.0 and f[Q["u_c"]] == 1.0 and f[Q["pf"]] == 1.0


def test_the_engine_applies_the_master_factor_at_ingest() -> None:
    from tests.detect.sim import make_area

    area = make_area(n=3, n_branches=1)
    scaled = area.__class__(**{**{k: getattr(area, k) for k in area.__dataclass_fields__ if not k.startswith("_")},
                                "master_factor": master_factor(MasterConfig(bus="b", address="1", ct_ratio=40.0),
                                                               unscaled=False)})
    loads = []
    for a in (area, scaled):
        eng = Engine(a)
        t = 1_782_864_000.0
        dev = np.full(4, a.master_index)
        qty = np.array([Q["u_a"], Q["i_a"], Q["i_b"], Q["i_c"]])
        eng.ingest(ReadingBatch.from_columns(dev, qty, np.array([230.0, 10.0, 10.0, 10.0]), np.full(4, t), n_devices=4))
        loads.append(next(s.fields["load_pct"] for s in eng.advance(t).summaries if s.kind == "realtime"))
    assert loads[1] == pytest.approx(40.0 * loads[0])
