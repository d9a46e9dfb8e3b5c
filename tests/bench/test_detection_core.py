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
    assert res["advance_ms"] > 0 and res["advance_cpu_ms"] > 0 and res["readings"] > 50


@pytest.mark.slow
def test_baseline_comparison_runs_both_trees_and_prints_the_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    """Against itself as the baseline (tiny area): every figure for both, and their ratios."""
    root = Path(detection_core.__file__).resolve().parents[1]
    assert detection_core.main(["--baseline", str(root), "--meters", "20", "--intervals", "1", "--rounds", "1"]) == 0
    out = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert float(out["advance_ms"]) > 0 and float(out["baseline_advance_ms"]) > 0
    assert float(out["advance_cpu_ms"]) > 0 and float(out["baseline_advance_cpu_ms"]) > 0
    assert float(out["advance_over_baseline"]) == pytest.approx(                # one round: its ratio
        float(out["advance_ms"]) / float(out["baseline_advance_ms"]), rel=1e-2)
    assert float(out["snapshot_kb_over_baseline"]) == 1.0           # the same engine writes the same state
    assert float(out["paired_advance_cpu_ms"]) > 0 and float(out["paired_baseline_advance_cpu_ms"]) > 0
    assert 0.2 < float(out["paired_advance_over_baseline"]) < 5     # the same code, one process: near 1


def test_baseline_that_is_not_a_checkout_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"no detect/engine\.py there"):
        detection_core.main(["--baseline", str(tmp_path)])
