from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib

import detect.quantities as dq
from edge.sim.config import load_sim_config, parse_sim_config
from edge.sim.export import export
from tests.edge.sim.conftest import one_kind_config
from tests.edge.sim.test_config import SCENARIO_DIR


def read_rows(path: Path) -> list[list[str]]:
    with open(path / "readings.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["ts", "device", "quantity", "value"]
    return rows[1:]


@pytest.mark.slow
def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    cfg = load_sim_config(SCENARIO_DIR / "theft.toml")
    export(cfg, tmp_path / "a", 3)
    export(cfg, tmp_path / "b", 3)
    import dataclasses

    export(dataclasses.replace(cfg, seed=99), tmp_path / "c", 3)
    for name in ("readings.csv", "balance.csv", "truth.jsonl", "meters.csv", "area.toml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "readings.csv").read_bytes() != (tmp_path / "c" / "readings.csv").read_bytes()


def test_readings_use_the_quantity_vocabulary_in_time_order_at_the_cadences(tmp_path: Path) -> None:
    cfg = parse_sim_config("[area]\ncustomers = 40\n[export]\nmaster_s = 300\nmeter_s = 1800\n", "x")
    export(cfg, tmp_path, 1)
    rows = read_rows(tmp_path)
    ts = [int(r[0]) for r in rows]
    assert ts == sorted(ts) and ts[0] == cfg.start
    assert {r[2] for r in rows} <= set(dq.QUANTITIES)
    master_ts = {int(r[0]) for r in rows if r[1] == "master" and r[2] == "p"}
    assert len(master_ts) == 288 and all(t % 300 == 0 for t in master_ts)
    meter_ts = {int(r[0]) for r in rows if r[1] == "M0001" and r[2] == "e_fwd"}
    assert len(meter_ts) == 48
    daily = [r for r in rows if r[2] == "e_fwd_daily"]
    assert len(daily) == 40 and all(int(r[0]) == cfg.start for r in daily)
    e = [float(r[3]) for r in rows if r[1] == "M0001" and r[2] == "e_fwd"]
    assert e == sorted(e) and e[-1] > e[0]


@pytest.mark.slow
def test_balance_file_closes_for_every_interval_and_matches_master_energy(tmp_path: Path) -> None:
    export(load_sim_config(SCENARIO_DIR / "records.toml"), tmp_path, 2)
    b = np.genfromtxt(tmp_path / "balance.csv", delimiter=",", names=True)
    assert b.size == 2 * 96
    res = b["supply_kwh"] - b["sales_kwh"] - b["technical_loss_kwh"] - b["stolen_kwh"]
    assert np.max(np.abs(res) / np.abs(b["supply_kwh"])) <= 1e-6
    assert np.allclose(b["reported_sales_kwh"], b["sales_kwh"] + b["record_error_kwh"])
    loss = b["technical_loss_kwh"]
    assert np.allclose(loss, b["loss_line_kwh"] + b["loss_neutral_kwh"] + b["loss_service_kwh"])
    rows = read_rows(tmp_path)
    e = {int(r[0]): float(r[3]) for r in rows if r[1] == "master" and r[2] == "e_fwd"}
    t0 = int(b["ts_start"][10])
    assert abs((e[t0 + 900] - e[t0]) - b["supply_kwh"][10]) < 1e-3


def test_silent_devices_and_gaps_leave_rows_out(tmp_path: Path) -> None:
    cfg = parse_sim_config(
        "[area]\ncustomers = 40\n"
        '[[scenario]]\nkind = "comm_loss"\nsubject = "M0002"\nstart_h = 0\nend_h = 12\n'
        '[[scenario]]\nkind = "master_offline"\nstart_h = 6\nend_h = 7\n'
        '[[scenario]]\nkind = "collection_gaps"\nsubject = "area"\nstart_h = 0\nend_h = 24\nrate = 0.2\n', "x")
    export(cfg, tmp_path, 1)
    rows = read_rows(tmp_path)
    m2 = [int(r[0]) - cfg.start for r in rows if r[1] == "M0002" and r[2] == "p"]
    assert m2 and min(m2) >= 12 * 3600
    master = {int(r[0]) - cfg.start for r in rows if r[1] == "master" and r[2] == "p"}
    assert not any(6 * 3600 <= t < 7 * 3600 for t in master) and len(master) == 1440 - 60
    reads = {(r[0], r[1]) for r in rows if r[2] == "p" and r[1] not in ("master", "M0002")}
    share = len(reads) / (39 * 96)
    assert 0.72 < share < 0.88


def test_truth_lines_describe_each_scenario(tmp_path: Path) -> None:
    export(load_sim_config(SCENARIO_DIR / "theft.toml"), tmp_path, 3)
    truth = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert len(truth) == 14
    first = {t["subject"]: t for t in truth}["M0016"]
    assert first["what"] == "bypass_full" and first["start"] == "2026-07-02T06:00:00Z"
    assert first["end"] == "2026-07-04T00:00:00Z"             # clipped to the exported 3 days
    assert first["unit"] == "kWh stolen" and first["magnitude"] > 1.0
    b = np.genfromtxt(tmp_path / "balance.csv", delimiter=",", names=True)
    assert abs(sum(t["magnitude"] for t in truth) - b["stolen_kwh"].sum()) < 1e-3


def test_area_file_has_the_edge_config_area_shape_and_recorded_ratios(tmp_path: Path) -> None:
    export(load_sim_config(SCENARIO_DIR / "records.toml"), tmp_path, 1)
    area = tomllib.loads((tmp_path / "area.toml").read_text())["area"][0]
    assert area["transformer"] == {"rated_kva": 400.0, "lv_voltage": 400.0, "cooling": "ONAN"}
    assert area["meters_csv"] == "meters.csv"
    with open(tmp_path / "meters.csv", newline="") as f:
        meters = {r["id"]: r for r in csv.DictReader(f)}
    assert len(meters) == 200
    assert meters["M0037"]["ct_ratio"] == "100" and meters["M0037"]["kind"] == "three"
    assert meters["M0010"]["pv"] == "true"


def test_one_kind_config_helper_is_used_by_export_too(tmp_path: Path) -> None:
    stats = export(one_kind_config("phase_loss"), tmp_path, 1)
    assert stats.meters == 60 and stats.rows > 0 and "edge.sim.export" in sys.modules


def test_truth_times_fall_on_the_steps_the_scenario_changes(tmp_path: Path) -> None:
    export(one_kind_config("master_offline", start_h=8 + 37 / 60, end_h=9 + 53 / 60), tmp_path, 1)
    (rec,) = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    start = 1782864000.0
    assert rec["start_ts"] == start + (8 * 60 + 37) * 60 and rec["end_ts"] == start + (9 * 60 + 53) * 60
    master_ts = {int(r[0]) for r in read_rows(tmp_path) if r[1] == "master"}
    assert int(rec["start_ts"]) not in master_ts and int(rec["start_ts"]) - 60 in master_ts
    assert int(rec["end_ts"]) in master_ts and int(rec["end_ts"]) - 60 not in master_ts


def test_ct_meters_export_secondary_values_and_a_healthy_area_replays_to_its_true_line_loss(tmp_path: Path) -> None:
    """meters.csv carries each meter's recorded CT ratio and the engine multiplies CT-connected meters'
    current, power and energy by it at ingest: the export must hold what such a meter registers (the
    secondary side), or a replay counts their sales ratio-times over (a healthy area read -750 % loss)."""
    from edge.areafile import load_area_file
    from edge.replayer import replay

    export(load_sim_config(SCENARIO_DIR / "healthy.toml"), tmp_path, 2)
    with open(tmp_path / "meters.csv", newline="") as f:
        ct = {r["id"]: float(r["ct_ratio"]) for r in csv.DictReader(f)}
    assert max(ct.values()) > 1, "the healthy area should have CT-connected meters"

    area, prm = load_area_file(tmp_path / "area.toml")
    daily, alerts = [], []

    def on(_topic: str, p: dict) -> None:
        if p["schema"] == "meterwatch.daily/2":
            daily.append(p)
        elif p["schema"] == "meterwatch.alert/2":
            alerts.append(p)

    replay(area, prm, tmp_path / "readings.csv", None, on_message=on)
    full = [d for d in daily if not d["partial"]]
    assert full, daily
    truth = np.genfromtxt(tmp_path / "balance.csv", delimiter=",", names=True)
    true_loss_pct = 100 * (1 - truth["reported_sales_kwh"].sum() / truth["supply_kwh"].sum())
    for d in full:
        assert d["band"] == "qualified", d
        assert abs(d["loss_pct"] - true_loss_pct) < 1.0, (d["loss_pct"], true_loss_pct)
    assert alerts == []
