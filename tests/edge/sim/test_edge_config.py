from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge.sim.config import parse_sim_config
from edge.sim.edge_config import BusEntry, edge_config_text, meters_csv_text, recorded_ct_ratios
from edge.sim.network import build_network

SIM = """
[area]
id = "Area 7/north"
name = "north \\"field\\" area"
customers = 40
[[scenario]]
kind = "wrong_ct_ratio"
subject = "M0037"
start_h = 0
end_h = 10
recorded_ratio = 100
"""


def _write(tmp_path: Path, *, tcp: bool) -> Path:
    cfg = parse_sim_config(SIM)
    net = build_network(cfg.area, cfg.seed)
    recorded = recorded_ct_ratios(cfg, net)
    csv = tmp_path / "meters.csv"
    csv.write_text(meters_csv_text(net, bus_of=["rs485-1"] * net.n,
                                   addresses=[f"{i + 1:012d}" for i in range(net.n)], ct_ratio=list(recorded)))
    port = "tcp://127.0.0.1:4001" if tcp else "/dev/pts/98"
    ttu_port = "tcp://127.0.0.1:4002" if tcp else "/dev/pts/99"
    text = edge_config_text(cfg, buses=[BusEntry(name="rs485-1", port=port, protocol="dlt645", baud=2400,
                                                 response_delay_s=0.1)],
                            ttu=BusEntry(name="ttu", port=ttu_port, protocol="modbus-tcp" if tcp else "modbus-rtu",
                                         baud=9600),
                            meters_csv=csv, mqtt_url="mqtt://127.0.0.1:1883", state_dir=tmp_path / "state", speed=60)
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path


def test_the_config_for_ptys_loads_with_parity_n_and_recorded_ct_ratios(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, tcp=False))
    assert [(b.port, b.parity) for b in cfg.buses] == [("/dev/pts/98", "N"), ("/dev/pts/99", "N")]
    area = cfg.areas[0]
    assert area.id == "Area-7-north" and area.name == 'north "field" area'   # id made valid, name kept
    ct = {m.id: m.ct_ratio for m in area.meters}
    assert ct["M0037"] == 100 and ct["M0040"] == 1 and len(ct) == 40
    assert cfg.gateway.id == "sim-Area-7-north"


def test_the_config_for_tcp_loads_with_a_modbus_tcp_master(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, tcp=True))
    assert cfg.bus("ttu").protocol == "modbus-tcp" and cfg.bus("rs485-1").port == "tcp://127.0.0.1:4001"
    assert cfg.areas[0].master.profile == "ttu"
