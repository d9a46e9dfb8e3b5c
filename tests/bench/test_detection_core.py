"""The detection-core bench stays runnable: its cost part on a tiny area, its --sim part on a crafted export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bench import detection_core
from bench._detection_rates import evaluate

T0 = detection_core.T0


def write_export(d: Path) -> None:
    """Thirty meters on two branches, a master polled every 30 s; truth: one overload, a quiet day,
    an area outage, a branch outage and one meter's communication failure."""
    meters = [{"id": f"m{i}", "phase": "ABC"[i % 3], "branch": f"b{i % 2}"} for i in range(30)]
    (d / "area.json").write_text(json.dumps({"id": "S1", "rated_kva": 200.0, "meters": meters}))
    rated = 200e3 / (3**0.5 * 400)
    rows: list[tuple[float, str, str, float]] = []
    reg = np.full(30, 50.0)
    e_m = 1000.0
    overload = (T0 + 3 * 3600, T0 + 4 * 3600)
    area_out = (T0 + 6 * 3600, T0 + 7 * 3600)
    branch_out = (T0 + 9 * 3600, T0 + 10 * 3600)
    comm = (T0 + 12 * 3600, T0 + 13 * 3600)
    end = T0 + 15 * 3600
    t = T0
    while t < end:
        out_area = area_out[0] <= t < area_out[1]
        out_b0 = branch_out[0] <= t < branch_out[1]
        beta = 1.0 if overload[0] <= t < overload[1] else 0.5
        live = np.array([not out_area and not (out_b0 and i % 2 == 0) for i in range(30)])
        kw = np.where(live, 3.0, 0.0)
        p = float(kw.sum()) * 1.03 if beta == 0.5 else beta * rated * 3 * 230 / 1000
        i_ph = beta * rated if beta > 0.5 else p * 1000 / 3 / 230
        e_m += p * 30 / 3600
        if not out_area:
            for q, v in (("u_a", 230.0), ("u_b", 230.0), ("u_c", 230.0), ("i_a", i_ph), ("i_b", i_ph * 0.9),
                         ("i_c", i_ph * 0.9), ("p", p), ("q", 0.1 * p), ("e_fwd", e_m)):
                rows.append((t, "master", q, v))
        # meters read round-robin: meter i at offset i·30 s into each 15-min interval
        i = int((t - T0) % 900 // 30)
        reg[i] += kw[i] * 0.25
        if live[i] and not (comm[0] <= t < comm[1] and i == 3):
            rows += [(t, f"m{i}", "u_a", 226.0), (t, f"m{i}", "e_fwd", float(reg[i]))]
        t += 30.0
    with open(d / "readings.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts", "device", "quantity", "value"])
        w.writerows(rows)
    truth = [{"kind": "overload", "start": overload[0], "end": overload[1]},
             {"kind": "below_threshold", "start": T0, "end": overload[0]},
             {"kind": "outage_area", "start": area_out[0], "end": area_out[1]},
             {"kind": "outage_branch", "start": branch_out[0], "end": branch_out[1], "subject": "b0"},
             {"kind": "comm_failure", "start": comm[0], "end": comm[1], "subject": "m3"}]
    (d / "truth.jsonl").write_text("\n".join(json.dumps(x) for x in truth) + "\n")


@pytest.mark.slow
def test_detection_rates_on_a_crafted_export(tmp_path: Path) -> None:
    write_export(tmp_path)
    res = evaluate(tmp_path)
    assert res["overload_episodes"] == 1 and res["overload_raised_in_time_pct"] == "100.0"
    assert res["raises_below_threshold"] == 0
    assert res["outage_vs_comm_cases"] == 3 and res["outage_vs_comm_correct_pct"] == "100.0"
    assert float(res["outage_area_latency_max_s"]) <= 60.0


@pytest.mark.slow
def test_simulator_truth_names_are_mapped_and_the_rest_listed(tmp_path: Path) -> None:
    write_export(tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    renamed = {"overload": "heat_wave", "outage_area": "area_outage", "outage_branch": "branch_outage",
               "comm_failure": "meter_comm_loss"}
    out = [{("what" if k == "kind" else k): (renamed.get(v, v) if k == "kind" else v) for k, v in x.items()}
           for x in lines if x["kind"] != "below_threshold"]
    out.append({"what": "theft_h1", "start": T0, "end": T0 + 3600, "subject": "m1"})
    (tmp_path / "truth.jsonl").write_text("\n".join(json.dumps(x) for x in out))
    res = evaluate(tmp_path)
    assert res["overload_raised_in_time_pct"] == "100.0" and res["raises_below_threshold"] == 0
    assert res["outage_vs_comm_correct_pct"] == "100.0"
    assert res["truth_not_graded"] == "theft_h1 (1)"


def test_missing_export_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"area\.json is missing"):
        evaluate(tmp_path)


def test_cost_part_runs_on_a_small_area() -> None:
    res = detection_core.cost(50, "numba", 2, 2)
    assert res["advance_ms"] > 0 and res["readings"] > 50
