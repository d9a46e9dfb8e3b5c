"""The bundled heat-wave scenario: the simulated transformer's own hot-spot is the truth, and replay's
hot-spot alarm is judged against it (issue 18)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from edge.areafile import load_area_file
from edge.replayer import replay
from edge.sim.config import load_sim_config
from edge.sim.export import export
from wire import KINDS

pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[3] / "edge" / "sim" / "scenarios" / "heatwave.toml"
HORIZON_S = 120 * 60          # the alarm is raised when the hot-spot is projected to reach the limit within this


def test_heat_wave_raises_the_hotspot_alarm_when_the_truth_says_so(tmp_path: Path) -> None:
    cfg = load_sim_config(SCENARIO)
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=80),
                              export=dataclasses.replace(cfg.export, master_s=120))
    export(cfg, tmp_path, 4)
    truth = [json.loads(x) for x in (tmp_path / "truth.jsonl").read_text().splitlines()]
    episodes = [t for t in truth if t["what"] == "hotspot"]
    assert len(episodes) == 2 and all(e["start_ts"] >= cfg.start + 48 * 3600 for e in episodes)   # hot days only
    area, params = load_area_file(tmp_path / "area.toml")
    alerts: list[dict[str, Any]] = []
    hot: list[tuple[float, float, str]] = []

    def seen(_topic: str, p: dict[str, Any]) -> None:
        if p["schema"] == KINDS["alert"].tag:
            alerts.append(p)
        elif p["schema"] == KINDS["realtime"].tag:
            hot.append((p["hotspot_c"], p["t_amb_c"], p["ambient_source"]))

    replay(area, params, tmp_path / "readings.csv", None, on_message=seen)
    raised = [a for a in alerts if a["kind"] == "hotspot" and a["state"] == "raised"]
    cleared = [a for a in alerts if a["kind"] == "hotspot" and a["state"] == "cleared"]
    assert len(raised) == len(cleared) == len(episodes)
    for ep, r, c in zip(episodes, raised, cleared, strict=True):
        up, down = _ts(r["raised_at"]), _ts(c["cleared_at"])
        assert ep["start_ts"] - HORIZON_S <= up <= ep["start_ts"]        # before the limit, not hours before
        assert down >= ep["end_ts"]                                       # held through the episode
    assert {src for _, _, src in hot} == {"measured"}                     # the TTU's t_amb, every poll
    peak = max(h for h, _, _ in hot if h is not None)
    assert peak == pytest.approx(max(e["magnitude"] for e in episodes), abs=1.0)
    assert not [a for a in alerts if a["kind"] in ("outage_branch", "outage_area", "master_offline", "meter_offline")]


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
