"""The detection-core bench stays runnable: its cost part on a tiny area, its options parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import detection_core
from bench._detection_rates import evaluate


def test_missing_export_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"area\.toml is missing"):
        evaluate(tmp_path)


def test_cost_part_runs_on_a_small_area() -> None:
    res = detection_core.cost(50, "numba", 2, 2)
    assert res["advance_ms"] > 0 and res["readings"] > 50
