"""Each scenario leaves the signature in the meter registers that the detectors look for."""

from __future__ import annotations

import dataclasses

import numpy as np

from edge.sim.area import AreaSimulator, DayResult
from tests.edge.sim.conftest import one_kind_config

IN = slice(9 * 60, 19 * 60)        # steps inside the 08:00-20:00 window (1-min steps), with margin
OUT = slice(21 * 60, 24 * 60)


def run(kind: str, extra: str = "") -> tuple[AreaSimulator, DayResult]:
    sim = AreaSimulator(one_kind_config(kind, extra=extra))
    return sim, sim.day(0)


def col(sim: AreaSimulator, meter: str) -> int:
    return sim.net.ids.index(meter)


def test_neutral_return_shows_neutral_current_below_phase_current_and_steals() -> None:
    sim, day = run("neutral_return", "fraction = 0.6\n")
    i = col(sim, "M0013")
    ia, ineu = day.meter["i_a"][IN, i], day.meter["i_n"][IN, i]
    # each current reading carries its own 0.2 % random error (i_noise_pct)
    assert np.allclose(ineu, 0.4 * ia, rtol=0.015)
    assert np.allclose(day.meter["i_n"][OUT, i], day.meter["i_a"][OUT, i], rtol=0.015)
    assert not np.allclose(ineu, 0.3 * ia, rtol=0.015)
    assert day.stolen_by_meter_kwh[IN, i].sum() > 0


def test_voltage_link_open_reads_no_voltage_with_current_and_sets_voltage_loss_bit() -> None:
    sim, day = run("voltage_link_open", 'phase = "B"\n')
    i = col(sim, "M0040")
    assert (day.meter["u_b"][IN, i] == 0).all() and (day.meter["i_b"][IN, i] > 0).all()
    assert ((day.meter["sw5"][IN, i].astype(int) & 1) == 1).all()
    assert ((day.meter["sw5"][OUT, i].astype(int) & 1) == 0).all()


def test_shorted_ct_reads_no_current_on_that_phase_and_sets_current_loss_bit() -> None:
    sim, day = run("shorted_ct", 'phase = "A"\n')
    i = col(sim, "M0020")
    assert (day.meter["i_a"][IN, i] == 0).all() and (day.meter["i_b"][IN, i] > 0).all()
    assert (day.meter["sw4"][IN, i].astype(int) & 8).any()


def test_reversed_ct_on_one_phase_sets_that_phase_reverse_bits_and_halves_its_share() -> None:
    sim, day = run("reversed_ct", 'phase = "C"\n')
    i = col(sim, "M0060")
    assert ((day.meter["sw2"][IN, i].astype(int) & 4) == 4).all()
    assert ((day.meter["sw6"][IN, i].astype(int) & 64) == 64).all()
    assert ((day.meter["sw2"][OUT, i].astype(int)) == 0).all()
    assert day.stolen_by_meter_kwh[IN, i].sum() > 0


def test_reversed_ct_on_a_single_phase_meter_accumulates_reverse_energy() -> None:
    sim = AreaSimulator(one_kind_config("reversed_ct", subject="M0014"))
    day = sim.day(0)
    i = col(sim, "M0014")
    e_rev = day.meter["e_rev"][:, i]
    assert e_rev[IN.stop] > e_rev[IN.start] and e_rev[OUT.stop - 1] == e_rev[OUT.start]
    assert ((day.meter["sw1"][IN, i].astype(int) & 16) == 16).all()
    assert (day.meter["p"][IN, i] < 0).all()


def test_relay_bypass_meters_nothing_while_relay_status_is_open() -> None:
    sim, day = run("relay_bypass")
    i = col(sim, "M0014")
    assert (day.meter["p"][IN, i] == 0).all() and (day.meter["u_a"][IN, i] > 198).all()
    assert ((day.meter["sw3"][IN, i].astype(int) & 16) == 16).all()
    assert day.stolen_by_meter_kwh[:, i].sum() > 0


def test_cover_open_counts_one_event_then_metered_energy_drops() -> None:
    sim, day = run("cover_open_drop", "fraction = 0.7\nopen_minutes = 15\n")
    i = col(sim, "M0015")
    ev = day.meter["evt_cover_open"][:, i]
    assert ev[0] == 0 and ev[-1] == 1
    sw7 = day.meter["sw7"][:, i].astype(int) & (1 << 9)
    assert (sw7 > 0).sum() == 15
    assert np.isclose(day.stolen_by_meter_kwh[IN, i].sum(),
                      0.7 / 0.3 * day.meter["p"][IN, i].sum() / 60, rtol=1e-6)


def test_branch_outage_unpowers_its_meters_and_counts_a_power_down() -> None:
    sim, day = run("branch_outage")
    on_b2 = sim.net.branch == 1
    assert not day.powered[IN][:, on_b2].any() and day.powered[IN][:, ~on_b2].all()
    assert (day.meter["evt_power_down"][-1, on_b2] == 1).all()
    assert (day.meter["evt_power_down"][-1, ~on_b2] == 0).all()


def test_phase_loss_zeroes_master_voltage_and_unpowers_single_phase_meters_on_it() -> None:
    sim, day = run("phase_loss")
    assert (day.master["u_c"][IN] == 0).all() and (day.master["u_a"][IN] > 200).all()
    on_c = (sim.net.phase == 2)
    assert not day.powered[IN][:, on_c].any()
    assert day.powered[IN][:, sim.net.three].all()
    assert ((day.meter["sw6"][IN][:, sim.net.three].astype(int) & 128) == 128).all()


def test_area_outage_leaves_no_supply() -> None:
    _, day = run("area_outage")
    assert (day.balance["supply_kwh"][IN] == 0).all() and not day.powered[IN].any()
    assert (day.balance["supply_kwh"][OUT] > 0).all()


def test_misregistered_customer_is_not_in_the_master_but_in_the_records() -> None:
    sim, day = run("misregistered")
    i = col(sim, "M0017")
    assert day.powered[IN, i].all()
    assert np.isclose(day.balance["record_error_kwh"][IN].sum(), day.meter["p"][IN, i].sum() / 60, rtol=1e-6)
    # Its voltage follows the other transformer: its correlation with the master drops.
    u, m = day.meter["u_a"][IN, i], day.master["u_a"][IN]
    others = [np.corrcoef(day.meter["u_a"][IN, j], m)[0, 1] for j in range(20) if sim.net.phase[j] == 0]
    assert np.corrcoef(u, m)[0, 1] < min(others)


def test_wrong_ct_ratio_scales_the_reported_values_by_recorded_over_true() -> None:
    sim_ok = AreaSimulator(one_kind_config("comm_loss"))
    ok = sim_ok.day(0)
    sim, day = run("wrong_ct_ratio", "recorded_ratio = 100.0\n")
    i = col(sim, "M0037")
    assert sim.net.ct_ratio[i] == 50
    assert np.allclose(day.meter["p"][IN, i], 2 * ok.meter["p"][IN, i])
    assert day.balance["record_error_kwh"][IN].sum() > 0


def test_overload_scales_the_peak_load_rate_to_the_target() -> None:
    _, day = run("overload", "peak_load_rate = 0.95\n")
    rated = 160e3 / (3 ** 0.5 * 400)
    beta = np.max([day.master[f"i_{p}"] for p in "abc"], axis=0) / rated
    assert abs(beta[8 * 60:20 * 60].max() - 0.95) < 0.02


def test_jokar_h5_keeps_the_window_energy_but_flattens_the_profile() -> None:
    sim, day = run("jokar_h5")
    i = col(sim, "M0007")
    w = slice(8 * 60, 20 * 60)
    assert abs(day.stolen_by_meter_kwh[w, i].sum()) < 1e-9
    assert np.ptp(day.meter["p"][w, i]) < 1e-9 < np.ptp(day.meter["p"][OUT, i])


def test_jokar_h1_reduces_metered_energy_by_a_constant_factor_in_range() -> None:
    sim, day = run("jokar_h1")
    i = col(sim, "M0003")
    w = slice(8 * 60, 20 * 60)
    metered = day.meter["p"][w, i].sum() / 60
    true = metered + day.stolen_by_meter_kwh[w, i].sum()
    assert 0.1 <= metered / true <= 0.8


def test_heat_wave_and_load_growth_raise_the_supplied_energy_in_their_window() -> None:
    _, base = run("comm_loss")
    for kind, extra in (("heat_wave", "delta_c = 10.0\n"), ("load_growth", "growth = 0.5\n")):
        _, day = run(kind, extra)
        w = slice(10 * 60, 20 * 60)
        assert day.balance["supply_kwh"][w].sum() > 1.1 * base.balance["supply_kwh"][w].sum(), kind
        assert np.isclose(day.balance["supply_kwh"][OUT].sum(), base.balance["supply_kwh"][OUT].sum())


def test_pv_customers_export_at_noon_into_their_reverse_register() -> None:
    sim, day = run("comm_loss")
    pv = np.flatnonzero(sim.net.pv_kwp > 0)
    assert pv.size > 0
    noon = slice(11 * 60, 14 * 60)
    assert (day.meter["p"][noon][:, pv] < 0).mean() > 0.5
    assert (day.meter["e_rev"][-1, pv] > day.meter["e_rev"][0, pv]).any()


def test_bypass_opens_the_terminal_cover_once_with_its_status_bit() -> None:
    sim, day = run("bypass_full")
    i = col(sim, "M0011")
    assert day.meter["evt_terminal_open"][0, i] == 0 and day.meter["evt_terminal_open"][-1, i] == 1
    b10 = day.meter["sw7"][:, i].astype(int) & (1 << 10)
    assert (b10 > 0).sum() == 10 and b10[8 * 60] > 0
    assert (day.meter["i_a"][IN, i] == 0).all() and (day.meter["u_a"][IN, i] > 198).all()


def test_a_window_at_odd_minutes_covers_exactly_its_minute_steps() -> None:
    start_h, end_h = 8 + 37 / 60, 9 + 53 / 60
    sim = AreaSimulator(one_kind_config("area_outage", start_h=start_h, end_h=end_h))
    day = sim.day(0)
    off = np.flatnonzero(~day.powered.any(axis=1))
    assert off[0] == 8 * 60 + 37 and off[-1] == 9 * 60 + 52


def test_a_bypassed_meter_reads_the_voltage_its_unmetered_current_really_leaves() -> None:
    # same seed with and without the jumper: the same current flows in the service cable, so the meter's
    # voltage readings (its drop, gain error and reading noise) are the same; only its current is gone
    clean = AreaSimulator(one_kind_config("bypass_full", end_h=8.5)).day(0)
    sim, day = run("bypass_full")
    i = col(sim, "M0011")
    assert np.array_equal(day.meter["u_a"][:, i], clean.meter["u_a"][:, i])
    assert (day.meter["i_a"][IN, i] == 0).all() and (clean.meter["i_a"][IN, i] > 0.1).all()
    assert day.stolen_by_meter_kwh[IN, i].sum() > 0.5


def test_an_empty_house_registers_nothing_and_its_voltage_loses_its_own_cable_drop() -> None:
    # the same seed with and without the vacancy: the empty house draws nothing, so its meter registers no
    # energy and no current, no stolen energy is booked, and its reading rises by what its own cable dropped
    clean = AreaSimulator(one_kind_config("vacant", end_h=8.5)).day(0)
    sim, day = run("vacant")
    i = col(sim, "M0018")
    assert (day.meter["i_a"][IN, i] == 0).all() and (day.meter["p"][IN, i] == 0).all()
    assert (clean.meter["i_a"][IN, i] > 0.05).all()
    assert day.stolen_by_meter_kwh[:, i].sum() == 0.0
    assert day.meter["e_fwd"][19 * 60, i] - day.meter["e_fwd"][9 * 60, i] == 0.0
    rise = day.meter["u_a"][IN, i] - clean.meter["u_a"][IN, i]
    assert np.median(rise) > 2 * float(sim.net.service_r[i]) * float(np.median(clean.meter["i_a"][IN, i])) * 0.5


def test_a_longer_service_cable_drops_more_voltage_for_the_same_current() -> None:
    # two runs differing only in the service cables' resistance: the meters' readings fall by about
    # ΔR × (I + I_N) (single-phase: twice the phase current), whatever the feeder does
    base = AreaSimulator(one_kind_config("heat_wave", extra="delta_c = 0\n"))
    longer = AreaSimulator(one_kind_config("heat_wave", extra="delta_c = 0\n"))
    longer.net = dataclasses.replace(longer.net, service_r=longer.net.service_r + 0.05)
    a, b = base.day(0), longer.day(0)
    single = np.flatnonzero(~a.three)
    drop = (a.meter["u_a"] - b.meter["u_a"])[:, single]
    want = 2 * 0.05 * a.meter["i_a"][:, single]
    big = want > 0.5                                   # well above the 0.1 V resolution and the noise
    assert big.sum() > 1000
    assert np.median(np.abs(drop[big] - want[big]) / want[big]) < 0.15


def test_voltage_readings_carry_a_bounded_gain_error_and_reading_noise() -> None:
    exact = AreaSimulator(one_kind_config("heat_wave", extra="delta_c = 0\n"))
    exact.net = dataclasses.replace(exact.net, spec=dataclasses.replace(exact.net.spec, u_noise_pct=0.0, i_noise_pct=0.0),
                                    u_gain=np.ones_like(exact.net.u_gain), master_u_gain=np.ones(3))
    sim = AreaSimulator(one_kind_config("heat_wave", extra="delta_c = 0\n"))
    a, b = exact.day(0), sim.day(0)
    ratio = b.meter["u_a"] / a.meter["u_a"]
    gain = ratio.mean(axis=0)
    assert np.all(np.abs(gain - 1) <= 0.005) and 0.0005 < np.std(gain) < 0.002      # σ 0.1 %, clipped at 0.5 %
    assert 0.0002 < np.std(ratio / gain, axis=0).mean() < 0.0004                     # σ 0.03 % per reading
    assert np.array_equal(b.meter["e_fwd"], a.meter["e_fwd"]) and np.array_equal(b.meter["p"], a.meter["p"])
    m = b.master["u_a"] / a.master["u_a"]
    assert abs(m.mean() - 1) <= 0.005 and 0.0002 < np.std(m) < 0.0004
