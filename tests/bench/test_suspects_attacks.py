"""bench/suspects_attacks.py runs at a tiny size and its figures say what they should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_suspects_attacks_prints_its_figures_and_finds_the_shunt() -> None:
    r = subprocess.run([sys.executable, "bench/suspects_attacks.py", "--areas", "3", "--homes", "20"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    fig = dict(line.split(": ") for line in r.stdout.splitlines())
    assert float(fig["none_stolen_pct_of_supply"]) == 0.0
    assert float(fig["h1_stolen_pct_of_supply"]) > 0.5 and float(fig["h1_best_top3"]) == 1.0
    assert float(fig["h5_stolen_pct_of_supply"]) < 0.05 and float(fig["h5_shape_top3"]) >= 0.5
    assert {f"{k}_{e}_map_at_3" for k in ("h1", "h6") for e in ("drop", "corr", "shape", "best")} <= set(fig)
