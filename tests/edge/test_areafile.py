"""``load_area_file``: simulator area files and full configurations through the one configuration loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.area import PHASE_ABC
from edge.areafile import load_area_file
from edge.errors import ConfigError
from edge.sim.config import parse_sim_config
from edge.sim.export import export

ROOT = Path(__file__).resolve().parents[2]


def test_a_simulator_export_area_file_loads_with_its_grid_and_meters(tmp_path: Path) -> None:
    cfg = parse_sim_config('[sim]\nseed = 1\nstart = "2026-07-01T00:00:00Z"\n[area]\nid = "S1"\ncustomers = 40\n')
    export(cfg, tmp_path, 1)
    area, params = load_area_file(tmp_path / "area.toml")
    assert area.id == "S1" and area.grid == "sim" and area.n_meters == 40
    assert area.meter_ids[0] == "M0001"
    assert area.meter_phase[area.meter_ids.index("M0020")] == PHASE_ABC     # three-phase every 20th
    assert area.meter_pv[area.meter_ids.index("M0010")]                       # PV every 10th residential
    assert params.line_loss.high_pct == 10.0


def test_a_full_configuration_loads_the_named_area() -> None:
    area, _ = load_area_file(ROOT / "deploy/examples/edge.toml")
    assert area.id == "A01" and area.n_meters > 0


def test_problems_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "area.toml"
    bad.write_text('[[area]]\nid = "A"\ntransformer = { rated_kva = -5 }\nmaster = { bus = "ttu" }\nbogus = 1\n'
                   '[[area.meter]]\nid = "m1"\naddress = "1"\nbus = "x"\nphase = "A"\n')
    with pytest.raises(ConfigError) as exc:
        load_area_file(bad)
    text = "\n".join(str(i) for i in exc.value.issues)
    assert "bogus" in text and "rated_kva" in text and str(bad) in text


def test_several_areas_need_an_id(tmp_path: Path) -> None:
    two = tmp_path / "two.toml"
    body = 'transformer = { rated_kva = 100 }\nmaster = { bus = "ttu" }\n'
    meter = '[[area.meter]]\nid = "{m}"\naddress = "{a}"\nbus = "x"\nphase = "A"\n'
    two.write_text(f'[[area]]\nid = "A"\n{body}' + meter.format(m="m1", a="1")
                   + f'[[area]]\nid = "B"\n{body}' + meter.format(m="m2", a="2"))
    with pytest.raises(ConfigError, match="several areas"):
        load_area_file(two)
    area, _ = load_area_file(two, "B")
    assert area.meter_ids == ("m2",)
