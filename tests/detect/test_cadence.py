"""A meter's round spread over a minute of bus time is one read, not six (no false meter_offline)."""

from __future__ import annotations

import numpy as np

from detect import Engine, ReadingBatch
from detect.area import Area
from detect.quantities import QUANTITY_CODE as Q

T0 = 1_767_225_600.0


def _run(spacing_s: float) -> list[str]:
    area = Area.simple(id="A", rated_kva=100, meter_ids=["m0", "m1", "m2"])
    eng = Engine(area)
    kinds: list[str] = []
    for step in range(0, 2 * 3600, 5):
        ts = T0 + step
        dev, qty, val, tss = [3, 3, 3, 3, 3, 3], [Q["u_a"], Q["u_b"], Q["u_c"], Q["i_a"], Q["i_b"], Q["i_c"]], \
            [230.0, 230.0, 230.0, 50.0, 50.0, 50.0], [ts] * 6
        if step % 900 == 0:      # each meter's round: six transactions, spacing_s apart, meters one after another
            for m in range(3):
                for j, q in enumerate(("e_fwd", "u_a", "i_a", "i_n", "p", "sw7")):
                    dev.append(m)
                    qty.append(Q[q])
                    val.append(100.0 + step / 900 if q == "e_fwd" else 1.0)
                    tss.append(ts + (m * 6 + j) * spacing_s)
        eng.ingest(ReadingBatch.from_columns(np.array(dev), np.array(qty), np.array(val), np.array(tss), n_devices=4))
        kinds += [a.kind for a in eng.advance(ts).alerts if a.state == "raised"]
    return kinds


def test_a_round_spread_over_a_minute_does_not_make_meters_look_silent():
    assert "meter_offline" not in _run(spacing_s=3.0)   # 18 transactions × 3 s: the round spans 54 s


def test_compact_rounds_are_fine_too():
    assert "meter_offline" not in _run(spacing_s=0.3)
