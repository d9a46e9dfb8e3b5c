"""``meterwatch demo`` as the README's first command runs it: the whole story, checked at the end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_demo_tells_the_whole_story_and_exits_0(tmp_path: Path):
    out = subprocess.run([sys.executable, "-m", "edge.cli", "demo", "--view", "lines", "--workdir", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=420)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "The story is complete" in out.stdout
    for kind in ("overload", "outage_branch", "cover_open"):
        assert f"RAISED   {kind}" in out.stdout
    assert "CLEARED  overload" in out.stdout
    # the daemon's state and the field config it polled are where the demo said
    assert (tmp_path / "field" / "edge.toml").exists() and (tmp_path / "state" / "outbox.sqlite3").exists()
