"""The evaluation bench is not run by the suite; it must stay importable, and its smallest part must work."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_detection_eval_prints_usage() -> None:
    r = subprocess.run([sys.executable, "bench/detection_eval.py", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--replay-days" in r.stdout and "mis-registered" in r.stdout


def test_detection_eval_mapping_part_grades_an_area(tmp_path: Path) -> None:
    from bench import detection_eval  # as a module of the bench package: bench/edge.py shadows nothing

    md = detection_eval.mapping(tmp_path, 1)
    assert "| 0 | 3/3 | 0/97 |" in md


@pytest.mark.slow
def test_detection_eval_theft_part_grades_a_small_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import detection_eval

    md = detection_eval.theft(tmp_path, "tuning", 1, 12, 2, None)     # seed 1000: a 0.3 % shunt from day 9.6
    out = capsys.readouterr().out
    assert "theft_seeds_this_run (tuning): 1000" in out and "theft_seeds_held_out: 2000," in out
    assert "theft_seeds_fresh: 3000," in out and "theft_seeds_fresh2: 4000," in out \
        and "theft_seeds_fresh3: 5000," in out and "theft_seeds_fresh4: 6000," in out \
        and "theft_seeds_fresh5: 7000," in out and "theft_seeds_fresh6: 8000," in out \
        and "theft_seeds_fresh7: 9000," in out and "theft_seeds_fresh8: 10000," in out \
        and "theft_seeds_fresh9: 11000," in out and "theft_seeds_fresh10: 12000," in out \
        and "theft_seeds_fresh11: 13000," in out and "theft_seeds_fresh12: 14000," in out \
        and "theft_seeds_fresh13: 15000," in out and "theft_seeds_fresh14: 16000," in out \
        and "theft_seeds_fresh15: 17000," in out \
        and "theft_seeds_fresh16: 18000," in out \
        and "theft_seeds_fresh17: 19000," in out \
        and "theft_seeds_fresh18: 20000," in out \
        and "theft_seeds_fresh19: 21000," in out \
        and "theft_seeds_fresh20: 22000," in out \
        and "theft_seeds_fresh21: 23000," in out \
        and "theft_seeds_fresh22: 24000," in out \
        and "theft_seeds_fresh23: 25000," in out \
        and "theft_seeds_fresh24: 26000," in out \
        and "theft_seeds_fresh25: 27000," in out \
        and "theft_seeds_fresh26: 28000," in out \
        and "theft_seeds_fresh27: 29000," in out \
        and "theft_seeds_fresh28: 30000," in out \
        and "theft_seeds_fresh29: 31000," in out \
        and "theft_seeds_fresh30: 32000," in out \
        and "theft_seeds_fresh31: 33000," in out \
        and "theft_seeds_fresh32: 34000," in out \
        and "theft_seeds_fresh33: 35000," in out \
        and "theft_seeds_fresh34: 36000," in out \
        and "theft_seeds_fresh35: 37000," in out
    fig = dict(line.split(": ", 1) for line in out.splitlines() if line.startswith("theft_tuning_"))
    assert fig["theft_tuning_alarm_2d_03_pct"] == "100.0" and fig["theft_tuning_clean_area_alarms"] == "0"
    assert "| partial (shunt), onset | 1 | 0.3" in md and "issue 19 'done when'" in md


@pytest.mark.slow
def test_theft_areas_graded_in_two_processes_are_graded_as_in_one(tmp_path: Path) -> None:
    # --jobs: the areas are independent; run in spawned processes they must come back in seed order and
    # with the very same grades (each area's export is seeded, the replay deterministic)
    from bench._theft_eval import run_areas

    lines: list[str] = []
    # 11 days: both thefts begin on day 9 (the exports of the first run are reused: the second only replays)
    one = run_areas((1000, 1001), tmp_path, days=11, clean_days=0, reuse=True)
    two = run_areas((1000, 1001), tmp_path, days=11, clean_days=0, reuse=True, jobs=2, log=lines.append)
    assert any(math.isfinite(r.theft["thieves"][0]["alarm_d"]) for r in one)   # something to compare
    assert [r.area.seed for r in two] == [1000, 1001]
    assert [r.theft for r in two] == [r.theft for r in one]
    assert sorted(line.split("] ", 1)[0] for line in lines) == ["[1/2", "[2/2"]


def test_every_theft_area_has_empty_houses_that_are_not_its_thieves() -> None:
    # eighth round: two empty houses in each theft area and its clean twin, single-phase, none a thief, the
    # first on the first thief's phase — the meters a voltage test for a bypass must tell from one
    from bench._sim_cases import EMPTY_HOUSES, theft_area
    from edge.sim.config import parse_sim_config
    from edge.sim.network import build_network

    for seed, j in ((9022, 22), (1003, 3), (1000, 0)):
        area = theft_area(seed, j)
        cfg = parse_sim_config(area.case.toml, "case")
        empty = [s.subject for s in cfg.scenarios if s.kind == "vacant"]
        assert len(empty) == EMPTY_HOUSES
        assert empty == [s.subject for s in parse_sim_config(area.clean.toml, "clean").scenarios
                         if s.kind == "vacant"]
        net = build_network(cfg.area, seed)
        at = {m: int(net.phase[net.ids.index(m)]) for m in empty}
        assert not set(empty) & {t.meter for t in area.thieves} and max(at.values()) < 3
        assert at[empty[0]] == net.phase[net.ids.index(area.thieves[0].meter)]
        assert theft_area(seed, j).case.toml == area.case.toml             # the same draw every time
