from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.sim.config import load_sim_config, parse_sim_config

SCENARIO_DIR = Path(__file__).resolve().parents[3] / "edge" / "sim" / "scenarios"


def issues_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_sim_config(text, "sim.toml")
    return [str(i) for i in exc.value.issues]


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_bundled_scenario_files_load(path: Path) -> None:
    cfg = load_sim_config(path)
    small = {"demo.toml": 24, "stealth.toml": 60}                            # the demo and stealth areas are small
    assert cfg.area.customers == small.get(path.name, 200)
    assert cfg.source == str(path)


def test_unknown_scenario_kind_names_the_kind_and_lists_the_known_ones() -> None:
    (msg,) = issues_of('[[scenario]]\nkind = "bypas"\nsubject = "M0001"\nstart_h = 1\nend_h = 2\n')
    assert msg.startswith("sim.toml:1: scenario[0].kind:")
    assert "'bypas'" in msg and "bypass_full" in msg


def test_parameter_out_of_range_names_key_value_and_range() -> None:
    (msg,) = issues_of('[[scenario]]\nkind = "bypass_partial"\nsubject = "M0001"\nstart_h = 1\nend_h = 2\n'
                       "fraction = 1.5\n")
    assert "scenario[0].fraction" in msg and "1.5 is outside [0.05, 0.95]" in msg


def test_unknown_parameter_lists_the_parameters_of_the_kind() -> None:
    (msg,) = issues_of('[[scenario]]\nkind = "shorted_ct"\nsubject = "M0020"\nstart_h = 1\nend_h = 2\n'
                       'phse = "A"\n')
    assert "scenario[0].phse" in msg and "its parameters: phase" in msg


def test_three_phase_kind_on_a_single_phase_meter_is_rejected() -> None:
    (msg,) = issues_of('[[scenario]]\nkind = "voltage_link_open"\nsubject = "M0003"\nstart_h = 1\nend_h = 2\n')
    assert "scenario[0].subject" in msg and "M0003 is single-phase" in msg


def test_unknown_meter_branch_and_phase_are_named() -> None:
    msgs = issues_of('[[scenario]]\nkind = "comm_loss"\nsubject = "M9999"\nstart_h = 1\nend_h = 2\n'
                     '[[scenario]]\nkind = "branch_outage"\nsubject = "B9"\nstart_h = 1\nend_h = 2\n'
                     '[[scenario]]\nkind = "phase_loss"\nsubject = "D"\nstart_h = 1\nend_h = 2\n')
    assert "sim.toml:1: scenario[0].subject: unknown meter 'M9999' (meters are M0001..M0200)" in msgs[0]
    assert "sim.toml:6: scenario[1].subject: unknown branch 'B9'; branches: B1, B2, B3, B4" in msgs[1]
    assert "scenario[2].subject: 'D' is not a phase" in msgs[2]


def test_end_before_start_and_missing_times_are_errors() -> None:
    msgs = issues_of('[[scenario]]\nkind = "area_outage"\nstart_h = 5\nend_h = 4\n'
                     '[[scenario]]\nkind = "area_outage"\nstart_h = 5\n')
    assert any("scenario[0].end_h: 4.0 must be after start_h 5.0" in m for m in msgs)
    assert any("scenario[1].end_h: missing or not a number" in m for m in msgs)


def test_unknown_keys_and_wrong_types_carry_their_line() -> None:
    msgs = issues_of("[area]\ncustomers = 200\ncustomer = 3\nrated_kva = \"big\"\n[export]\nmeter_s = 7\n")
    assert any(m.startswith("sim.toml:3: area.customer: unknown key") for m in msgs)
    assert any(m.startswith("sim.toml:4: area.rated_kva: expected a number") for m in msgs)
    assert any(m.startswith("sim.toml:6: export.meter_s: 7 must be a positive multiple") for m in msgs)


def test_start_must_be_a_utc_midnight_and_step_one_of_the_allowed() -> None:
    msgs = issues_of('[sim]\nstart = "2026-07-01T05:00:00Z"\nstep_s = 7\n')
    assert any("sim.start" in m and "not a UTC midnight" in m for m in msgs)
    assert any("sim.step_s: 7 is not one of" in m for m in msgs)


def test_every_problem_is_reported_not_only_the_first() -> None:
    msgs = issues_of('[bogus]\n[area]\nbranches = -1\n[[scenario]]\nkind = "x"\nstart_h = 1\nend_h = 2\n')
    assert len(msgs) == 3


def test_service_cable_spread_must_leave_a_positive_resistance() -> None:
    with pytest.raises(ConfigError) as e:
        parse_sim_config("[area]\ncustomers = 10\nservice_r_spread = 1.0\n", "s.toml")
    assert "s.toml:3: area.service_r_spread" in str(e.value) and "below 1" in str(e.value)
