"""Voltage quality follows the area's low-voltage system (``Area.nominal_v``) unless a nominal is set."""

from __future__ import annotations

import dataclasses

import numpy as np

from detect import Engine, ReadingBatch
from detect.area import Area
from detect.params import Params, VoltageParams
from detect.quantities import QUANTITY_CODE as Q

T0 = 1_782_864_000.0


def _high_voltage_raised(area: Area, params: Params, volts: float) -> bool:
    eng = Engine(area, params)
    raised = []
    for k in range(12):
        t = T0 + 900 * k
        dev = [0, 1, 1, 1, 1, 1, 1]
        qty = [Q["u_a"], Q["u_a"], Q["u_b"], Q["u_c"], Q["i_a"], Q["i_b"], Q["i_c"]]
        val = [volts, volts, volts, volts, 100.0, 100.0, 100.0]
        eng.ingest(ReadingBatch.from_columns(np.array(dev), np.array(qty), np.array(val), np.full(7, t), n_devices=2))
        raised += [a.kind for a in eng.advance(t).alerts if a.state == "raised"]
    return "high_voltage" in raised


def test_a_400_230_area_is_judged_against_230_v() -> None:
    area = Area.simple(id="EU", rated_kva=400, meter_ids=["m0"])
    eu = dataclasses.replace(area, nominal_v=230.0)
    assert _high_voltage_raised(area, Params(), 238.0)            # 220 V nominal: +8 %, above +7 %
    assert not _high_voltage_raised(eu, Params(), 238.0)          # 230 V: +3.5 %
    forced = dataclasses.replace(Params(), voltage=VoltageParams(nominal_v=220.0))
    assert _high_voltage_raised(eu, forced, 238.0)                # a nominal set in [detection.voltage] wins
    assert Engine(eu).ctx.params.voltage.nominal_v == 230.0
