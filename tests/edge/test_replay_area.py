"""A replay's area comes from the simulator's area.toml + meters.csv (or a full edge configuration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.area import PHASE_ABC
from edge.areafile import load_area_file
from edge.errors import ConfigError
from edge.sim.export import export
from tests.edge.sim.conftest import one_kind_config

AREA = """[[area]]
id = "R1"
grid = "g1"
transformer = { rated_kva = 160, lv_voltage = 400 }
master = { bus = "ttu", profile = "ttu" }
branches = ["B1", "B2"]
meters_csv = "meters.csv"
"""
CSV = """id,address,bus,phase,branch,kind,pv,ct_ratio
m1,1,rs485-1,A,B2,single,false,1
m2,2,rs485-1,ABC,B1,three,yes,50
m3,3,rs485-1,C,B2,single,no,
"""


def write(d: Path, area: str = AREA, meters: str = CSV) -> Path:
    (d / "area.toml").write_text(area)
    (d / "meters.csv").write_text(meters)
    return d / "area.toml"


def test_simulator_export_area_loads_with_its_records_and_cadences(tmp_path: Path) -> None:
    export(one_kind_config("wrong_ct_ratio", customers=60), tmp_path, 1)
    area, params = load_area_file(tmp_path / "area.toml")
    assert area.n_meters == 60 and area.meter_ids[0] == "M0001" and area.grid == "sim"
    assert area.branches == ("B1", "B2", "B3")
    assert area.rated_kva == 160.0
    i37 = area.device_index("M0037")
    assert area.meter_phase[i37] == PHASE_ABC and area.meter_ct_ratio[i37] == 100.0    # the recorded ratio
    assert area.meter_pv[area.device_index("M0010")]
    assert params.outage.master_cadence_s == 60.0 and params.outage.meter_cadence_s == 900.0


def test_branch_index_follows_the_listed_order_not_the_meter_order(tmp_path: Path) -> None:
    area, params = load_area_file(write(tmp_path))
    assert area.branches == ("B1", "B2")
    assert area.meter_branch.tolist() == [1, 0, 1]
    assert area.meter_ct_ratio.tolist() == [1.0, 50.0, 1.0] and area.meter_pv.tolist() == [False, True, False]
    assert params.outage.meter_cadence_s == 900.0                  # defaults without [detection]


def test_top_level_detection_and_area_overrides_apply(tmp_path: Path) -> None:
    text = AREA + "detection = { load = { overload_pct = 90.0 } }\n[detection.outage]\nmeter_cadence_s = 300.0\n"
    _, params = load_area_file(write(tmp_path, text))
    assert params.load.overload_pct == 90.0 and params.outage.meter_cadence_s == 300.0


def test_full_edge_configuration_with_one_area_loads_too(tmp_path: Path) -> None:
    head = ('[gateway]\nid = "gw1"\ngrid = "jinli-1"\n[mqtt]\nurl = "mqtt://localhost:1883"\n'
            '[[bus]]\nname = "rs485-1"\nport = "/dev/ttyS1"\nprotocol = "dlt645"\n'
            '[[bus]]\nname = "ttu"\nport = "tcp://127.0.0.1:5020"\nprotocol = "modbus-tcp"\n')
    body = AREA.replace('grid = "g1"\n', "").replace('branches = ["B1", "B2"]\n', "")
    area, _ = load_area_file(write(tmp_path, head + body))
    assert area.grid == "jinli-1" and area.n_meters == 3 and set(area.branches) == {"B1", "B2"}


@pytest.mark.parametrize(("area", "meters", "needle"), [
    (AREA.replace("meters.csv", "missing.csv"), CSV, "missing.csv"),
    (AREA + "colour = 3\n", CSV, "unknown key 'colour'"),
    (AREA.replace('["B1", "B2"]', '["B1"]'), CSV, "meter m1 is on branch 'B2', which is not listed"),
    (AREA, CSV.replace("m2,2,rs485-1,ABC,B1,three", "m2,2,rs485-1,A,B1,three"), "does not fit phase"),
    (AREA, CSV.replace("false,1\n", "false,x\n", 1), "ct_ratio"),
    ("[area]\nid = 1\n", CSV, "exactly one [[area]]"),
])
def test_bad_area_files_name_the_problem(tmp_path: Path, area: str, meters: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_area_file(write(tmp_path, area, meters))
    assert needle in str(err.value) or any(needle in str(i) for i in err.value.issues)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_area_file(tmp_path / "nope.toml")
