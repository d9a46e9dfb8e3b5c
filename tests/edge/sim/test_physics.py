from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.sim.area import AreaSimulator
from edge.sim.catalogue import CATALOGUE
from edge.sim.config import AreaSpec, parse_sim_config
from edge.sim.network import build_network
from edge.sim.physics import ROT, solve
from tests.edge.sim.conftest import SUBJECTS, one_kind_config


def test_every_catalogue_kind_has_a_test_subject() -> None:
    assert set(SUBJECTS) == set(CATALOGUE)


@pytest.mark.parametrize("kind", sorted(CATALOGUE))
def test_supply_equals_sales_plus_loss_plus_stolen_for_every_step(kind: str) -> None:
    sim = AreaSimulator(one_kind_config(kind))
    b = sim.day(0).balance
    residual = b["supply_kwh"] - b["sales_kwh"] - b["technical_loss_kwh"] - b["stolen_kwh"]
    scale = np.maximum(np.abs(b["supply_kwh"]), 1e-3)
    assert np.max(np.abs(residual) / scale) <= 1e-6
    assert b["supply_kwh"].sum() != 0 or kind == "area_outage"


def test_power_through_master_equals_customer_power_plus_losses_under_heavy_imbalance() -> None:
    net = build_network(AreaSpec(customers=90, branches=3), 3)
    rng = np.random.default_rng(0)
    s = rng.uniform(0, 6, (50, 90)) + 1j * rng.uniform(0, 2, (50, 90))
    s[:, net.phase == 0] *= 4.0                                   # phase A carries most of the load
    s[:10] = -3.0 + 0.0j                                          # some steps export (reverse flow)
    flow = solve(net, s_kva=s, emf_v=np.broadcast_to(231 * ROT, (50, 3)), live=np.ones((50, 90), bool))
    lhs = flow.p_master_w.sum(axis=1)
    rhs = flow.p_cust_w.sum(axis=(1, 2)) + flow.loss_w
    assert np.allclose(lhs, rhs, rtol=1e-9, atol=1e-6)
    assert (lhs[:10] < 0).all() and flow.loss_neutral_w.mean() > 0


def test_losses_rise_with_the_square_of_the_load() -> None:
    net = build_network(AreaSpec(customers=60), 1)
    base = np.full((1, 60), 1.0 + 0.2j)
    emf = np.broadcast_to(231 * ROT, (1, 3))
    live = np.ones((1, 60), bool)
    l1 = solve(net, s_kva=base, emf_v=emf, live=live).loss_w[0]
    l2 = solve(net, s_kva=2 * base, emf_v=emf, live=live).loss_w[0]
    assert 3.8 < l2 / l1 < 4.4


def test_healthy_200_customer_area_loses_1_to_6_percent_with_voltages_in_limits() -> None:
    cfg = parse_sim_config("[area]\ncustomers = 200\n", "healthy")
    sim = AreaSimulator(cfg)
    for d in range(2):
        day = sim.day(d)
        b = day.balance
        loss_pct = 100 * b["technical_loss_kwh"].sum() / b["supply_kwh"].sum()
        assert 1.0 <= loss_pct <= 6.0
        u = np.stack([day.meter[q] for q in ("u_a", "u_b", "u_c")], axis=2)
        used = np.concatenate([np.ones((200, 1), bool), np.repeat(day.three[:, None], 2, axis=1)], axis=1)
        u_used = u[:, used]
        assert u_used.min() >= 198.0 and u_used.max() <= 235.4
        beta = max(day.master[f"i_{p}"].max() for p in "abc") / (400e3 / (3 ** 0.5 * 400))
        assert 0.3 < beta < 0.9


def test_daily_load_curve_peaks_in_the_evening_above_the_night_minimum() -> None:
    sim = AreaSimulator(parse_sim_config("[area]\ncustomers = 200\n", "healthy"))
    p = sim.day(0).master["p"]
    hourly = p.reshape(24, -1).mean(axis=1)
    assert 17 <= int(np.argmax(hourly)) <= 22
    assert hourly[18:22].mean() > 1.8 * hourly[2:5].mean()


def test_balance_closes_with_every_kind_active_at_once() -> None:
    blocks = []
    for n, (kind, subject) in enumerate(sorted(SUBJECTS.items())):
        if kind in ("area_outage", "phase_loss"):
            continue                                   # would hide the others for their window
        subj = f'subject = "{subject}"\n' if subject else ""
        blocks.append(f'[[scenario]]\nkind = "{kind}"\n{subj}start_h = {2 + n % 10}\nend_h = {30 + n}\n')
    cfg = parse_sim_config("[sim]\nseed = 5\n[area]\ncustomers = 60\nbranches = 3\nrated_kva = 160\n"
                           + "".join(blocks), "all")
    sim = AreaSimulator(cfg)
    for d in range(2):
        b = sim.day(d).balance
        res = b["supply_kwh"] - b["sales_kwh"] - b["technical_loss_kwh"] - b["stolen_kwh"]
        assert np.max(np.abs(res) / np.maximum(np.abs(b["supply_kwh"]), 1e-3)) <= 1e-6
        assert b["stolen_kwh"].sum() > 0 and b["record_error_kwh"].sum() > 0


@settings(max_examples=25, deadline=None)
@given(customers=st.integers(1, 40), branches=st.integers(1, 4), nodes=st.integers(1, 8),
       r=st.floats(0.001, 0.2), r_n=st.floats(0.3, 3.0), r_s=st.floats(0.0, 0.5), seed=st.integers(0, 999))
def test_master_power_equals_customer_power_plus_losses_for_any_network(
        customers: int, branches: int, nodes: int, r: float, r_n: float, r_s: float, seed: int) -> None:
    spec = AreaSpec(customers=customers, branches=branches, nodes_per_branch=nodes, segment_r_ohm=r,
                    neutral_r_factor=r_n, service_r_ohm=r_s, three_phase_every=3)
    net = build_network(spec, seed)
    rng = np.random.default_rng(seed)
    s = rng.normal(2.0, 3.0, (8, customers)) + 1j * rng.normal(0.5, 0.5, (8, customers))
    emf = np.broadcast_to(231 * ROT, (8, 3)).copy()
    emf[0, 1] = 0.0                                              # a lost phase in one step
    live = rng.random((8, customers)) > 0.2
    flow = solve(net, s_kva=s, emf_v=emf, live=live)
    lhs = flow.p_master_w.sum(axis=1)
    rhs = flow.p_cust_w.sum(axis=(1, 2)) + flow.loss_w
    assert np.allclose(lhs, rhs, rtol=1e-9, atol=1e-6)
    assert (flow.loss_w >= 0).all() and (flow.i_c[0, :, 1] == 0).all()


def test_weekend_residential_midday_is_higher_than_on_weekdays() -> None:
    from edge.sim.loads import ambient_c, day_demand

    net = build_network(AreaSpec(customers=300, commercial_every=0, industrial_every=0, pv_every=0), 1)
    hour = np.arange(1440) / 60.0
    t = ambient_c(hour, mean_c=20.0, swing_c=3.0)                # no AC: shapes only
    kw = {"hour": hour, "klass": net.klass, "base_kw": net.base_kw, "ac_kw": net.ac_kw, "pf": net.pf,
          "pv_kwp": net.pv_kwp, "t_amb_c": t, "slot_steps": 15}
    wd = day_demand(weekend=False, rng=np.random.default_rng(1), **kw).p_kw.sum(axis=1)
    we = day_demand(weekend=True, rng=np.random.default_rng(1), **kw).p_kw.sum(axis=1)
    assert we[9 * 60:16 * 60].mean() > 1.2 * wd[9 * 60:16 * 60].mean()
