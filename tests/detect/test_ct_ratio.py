"""CT-connected meters report secondary values; the engine works in primary values."""

from __future__ import annotations

import numpy as np

from detect import Engine, ReadingBatch
from detect.area import Area
from detect.quantities import QUANTITY_CODE

T0 = 1_767_225_600.0  # a UTC midnight, on a 15-min boundary


def test_meter_energy_is_scaled_by_its_ct_ratio_and_voltage_is_not():
    area = Area.simple(id="A", rated_kva=100, meter_ids=["plain", "ct30"])
    area = Area(**{**{k: getattr(area, k) for k in ("id", "rated_kva", "meter_ids", "meter_phase", "meter_branch",
                                                  "meter_kind", "meter_pv", "branches")},
                   "meter_ct_ratio": np.array([1.0, 30.0])})
    eng = Engine(area)
    e, u = QUANTITY_CODE["e_fwd"], QUANTITY_CODE["u_a"]
    rows = []
    for k in range(4):
        ts = T0 + 900.0 * k
        rows += [(0, e, 100.0 + k, ts), (1, e, 50.0 + 0.5 * k, ts), (0, u, 230.0, ts), (1, u, 231.0, ts)]
    dev, qty, val, tss = (np.array(c) for c in zip(*rows, strict=True))
    eng.ingest(ReadingBatch.from_columns(dev, qty, val, tss, n_devices=3))
    out = eng.advance(T0 + 900.0 * 3 + 300.0)
    mi = [s for s in out.summaries if s.kind == "meters_interval"]
    assert mi, [s.kind for s in out.summaries]
    e_kwh = np.array(mi[-1].fields["e_kwh"], dtype=float)
    assert e_kwh[0] == 1.0 and abs(e_kwh[1] - 15.0) < 1e-9   # 0.5 kWh secondary × 30
    u_mean = np.array(mi[-1].fields["u_mean"], dtype=float)
    assert abs(u_mean[1] - 231.0) < 1e-9                      # voltages are not scaled
