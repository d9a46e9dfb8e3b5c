"""The evaluation bench is not run by the suite; it must stay importable, and its smallest part must work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_detection_eval_prints_usage() -> None:
    r = subprocess.run([sys.executable, "bench/detection_eval.py", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--replay-days" in r.stdout and "mis-registered" in r.stdout


def test_detection_eval_mapping_part_grades_an_area(tmp_path: Path) -> None:
    # bench/ on the path only while importing: its script names must not shadow packages for other tests
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import detection_eval
    finally:
        sys.path.remove(str(ROOT / "bench"))

    md = detection_eval.mapping(tmp_path, 1)
    assert "| 0 | 3/3 | 0/97 |" in md
