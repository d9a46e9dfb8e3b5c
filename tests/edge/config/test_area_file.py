"""``load_area_config``: one area from an area file or a one-area edge configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import AreaFile, load_area_config
from edge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
AREA = """[detection.load]
overload_pct = 90.0

[[area]]
id = "R1"
grid = "g1"
transformer = { rated_kva = 160, lv_voltage = 400 }
master = { bus = "ttu", profile = "ttu" }
branches = ["B2", "B1"]

[[area.meter]]
id = "m1"
address = "1"
bus = "rs485-1"
phase = "A"
branch = "B1"
"""


def test_area_file_gives_grid_listed_branches_meters_and_file_level_detection(tmp_path: Path) -> None:
    (tmp_path / "area.toml").write_text(AREA)
    af = load_area_config(tmp_path / "area.toml")
    assert isinstance(af, AreaFile)
    assert (af.area.id, af.grid, af.branches) == ("R1", "g1", ("B2", "B1"))
    assert [m.id for m in af.area.meters] == ["m1"]
    assert af.detection.load.overload_pct == 90.0 and af.area.detection == af.detection


def test_full_configuration_gives_its_one_area_and_the_gateway_grid() -> None:
    af = load_area_config(ROOT / "deploy/examples/edge.toml")
    assert af.area.id == "A01" and af.grid == "jinli-1" and af.branches == ()
    assert len(af.area.meters) == 40 and af.detection.load.overload_pct == 95.0


def test_bad_toml_and_unlisted_branch_are_config_errors_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[[area]\n")
    with pytest.raises(ConfigError) as bad:
        load_area_config(tmp_path / "bad.toml")
    assert bad.value.issues[0].key == "<toml>" and "bad.toml" in bad.value.issues[0].file
    (tmp_path / "area.toml").write_text(AREA.replace('branch = "B1"', 'branch = "B9"'))
    with pytest.raises(ConfigError, match="B9"):
        load_area_config(tmp_path / "area.toml")
