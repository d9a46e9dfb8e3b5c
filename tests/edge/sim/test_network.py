from __future__ import annotations

import numpy as np

from detect.area import KIND_THREE, PHASE_ABC
from edge.sim.config import AreaSpec
from edge.sim.network import build_network


def test_layout_rules_place_three_phase_ct_and_pv_customers_by_number() -> None:
    net = build_network(AreaSpec(customers=200), 1)
    three = [net.ids[i] for i in np.flatnonzero(net.three)]
    assert three[:6] == ["M0020", "M0037", "M0040", "M0060", "M0074", "M0080"]
    ct = [net.ids[i] for i in np.flatnonzero(net.ct_ratio > 1)]
    assert ct[:3] == ["M0037", "M0060", "M0080"]
    pv = [net.ids[i] for i in np.flatnonzero(net.pv_kwp > 0)]
    assert pv and all(int(m[1:]) % 10 == 0 for m in pv) and "M0020" not in pv


def test_same_seed_same_network_other_seed_other_phases() -> None:
    a, b, c = (build_network(AreaSpec(customers=100), s) for s in (4, 4, 5))
    assert np.array_equal(a.phase, b.phase) and np.array_equal(a.base_kw, b.base_kw)
    assert not np.array_equal(a.phase, c.phase)


def test_to_area_gives_the_engine_model_with_recorded_ratios() -> None:
    net = build_network(AreaSpec(customers=60, branches=3), 2)
    recorded = net.ct_ratio.copy()
    recorded[36] = 100.0
    area = net.to_area(recorded)
    assert area.n_meters == 60 and area.branches == ("B1", "B2", "B3")
    assert area.meter_ct_ratio[36] == 100.0 and net.ct_ratio[36] == 50.0
    assert (area.meter_kind[area.meter_phase == PHASE_ABC] == KIND_THREE).all()
    assert abs(area.rated_current_a - 577.35) < 0.01


def test_service_cables_differ_per_customer_within_the_spread_and_do_not_move_the_layout() -> None:
    net = build_network(AreaSpec(customers=200), 1)
    assert np.all((net.service_r >= 0.04) & (net.service_r <= 0.12)) and np.std(net.service_r) > 0.015
    same = build_network(AreaSpec(customers=200, service_r_spread=0.0), 1)
    assert np.all(same.service_r == 0.08)
    assert np.array_equal(same.phase, net.phase) and np.array_equal(same.base_kw, net.base_kw)
