"""Replay's time semantics (docs/replay.md, "Time"): the output does not depend on ``--batch-s``, nothing
is raised past the last reading, status words read at +450 s (the daemon's default tamper plan) are
not mistaken for the meters' cadence, and an ambient series stands in for a missing sensor."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import lzma
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge.ambientfile import AmbientFileError, load_ambient
from edge.areafile import load_area_file
from edge.replayer import replay
from edge.sim.config import load_sim_config
from edge.sim.export import export
from tests.detect import golden
from wire import KINDS

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[2] / "edge" / "sim" / "scenarios"
OUTAGES = ("outage_branch", "outage_area", "outage_phase", "master_offline", "meter_offline")


def _golden_inputs(name: str, tmp: Path) -> tuple[Any, Any, Path]:
    area, params = load_area_file(golden.GOLDEN / name / "area.toml")
    csv_path = tmp / f"{name}.csv"
    with lzma.open(golden.GOLDEN / name / "readings.csv.xz", "rb") as f, open(csv_path, "wb") as out:
        shutil.copyfileobj(f, out)
    return area, params, csv_path


def _last_reading(csv_path: Path) -> float:
    with open(csv_path, encoding="utf-8") as f:
        return max(float(r["ts"]) for r in csv.DictReader(f))


@pytest.mark.parametrize("batch_s", [60.0, 86400.0])
@pytest.mark.parametrize("name", list(golden.SPECS))
def test_every_batch_size_publishes_the_recorded_bytes_and_nothing_after_the_last_reading(
        name: str, batch_s: float, tmp_path: Path) -> None:
    """The goldens are recorded advancing every 300 s of data (tests/detect/test_golden.py replays them so);
    1-min windows (shorter than every master poll) and one-day windows (many intervals, a whole day's
    alerts at once) give the same bytes (alerts raised, updated and cleared, summaries, active lists),
    none stamped after the data."""
    area, params, csv_path = _golden_inputs(name, tmp_path)
    out = io.StringIO()
    replay(area, params, csv_path, out, batch_s=batch_s)
    want = golden.read_xz(golden.GOLDEN / name / "out.jsonl.xz")
    assert out.getvalue().encode() == want, golden.first_difference(want, out.getvalue().encode())
    stamps = [datetime.fromisoformat(json.loads(line)["payload"]["ts"].replace("Z", "+00:00")).timestamp()
              for line in out.getvalue().splitlines()]
    assert stamps and max(stamps) <= _last_reading(csv_path)


def _shift_status_words(src: Path, dst: Path, by_s: int) -> None:
    """The export's hourly status words and event counters moved to +``by_s``, as the daemon's default
    tamper plan reads them (rows re-sorted by time)."""
    with open(src, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    moved = [[str(int(r[0]) + by_s), *r[1:]] if r[2].startswith(("sw", "evt_")) else r for r in body]
    moved.sort(key=lambda r: int(r[0]))
    with open(dst, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([head, *moved])


def test_status_words_at_450_s_raise_no_outage_the_truth_does_not_have(tmp_path: Path) -> None:
    """On main this area raised outage_branch in the morning load drop (the +450 s reads shrank the
    learned cadence and the next 15-min read looked overdue)."""
    cfg = load_sim_config(SCENARIOS / "healthy.toml")
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=41))
    export(cfg, tmp_path, 3)
    _shift_status_words(tmp_path / "readings.csv", tmp_path / "shifted.csv", 450)
    area, params = load_area_file(tmp_path / "area.toml")
    alerts: list[dict[str, Any]] = []
    replay(area, params, tmp_path / "shifted.csv", None,
           on_message=lambda _t, p: alerts.append(p) if p["schema"] == KINDS["alert"].tag else None)
    assert not [a for a in alerts if a["kind"] in OUTAGES], [a["message"] for a in alerts if a["kind"] in OUTAGES]


def test_a_weather_series_stands_in_for_the_missing_sensor(tmp_path: Path) -> None:
    cfg = load_sim_config(SCENARIOS / "heatwave.toml")
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=24),
                              export=dataclasses.replace(cfg.export, master_s=300))
    export(cfg, tmp_path, 3)
    src = tmp_path / "readings.csv"
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "no_sensor.csv").write_text("".join(x for x in lines if ",master,t_amb," not in x), encoding="utf-8")
    area, params = load_area_file(tmp_path / "area.toml")
    runs = {}
    for name, readings, ambient in (("sensor", src, None), ("weather", tmp_path / "no_sensor.csv",
                                                            load_ambient(tmp_path / "weather.csv")),
                                    ("design", tmp_path / "no_sensor.csv", None)):
        got: list[dict[str, Any]] = []
        replay(area, params, readings, None, ambient=ambient,
               on_message=lambda _t, p, got=got: got.append(p) if p["schema"] == KINDS["realtime"].tag else None)
        runs[name] = got
    assert {p["ambient_source"] for p in runs["sensor"]} == {"measured"}
    assert {p["ambient_source"] for p in runs["weather"]} == {"weather"}
    assert {p["ambient_source"] for p in runs["design"]} == {"design"}
    assert {p["t_amb_c"] for p in runs["design"]} == {params.thermal.ambient_c}
    diff = [abs(a["hotspot_c"] - b["hotspot_c"]) for a, b in zip(runs["sensor"], runs["weather"], strict=True)]
    # hourly weather, interpolated, against the 5-min sensor (the simulated ambient steps at midnight)
    assert max(diff) < 2.0 and sum(diff) / len(diff) < 0.3


def test_an_ambient_file_with_bad_lines_is_refused_naming_them(tmp_path: Path) -> None:
    p = tmp_path / "weather.csv"
    p.write_text("ts,t_amb\n2026-07-01T00:00:00Z,21.5\n2026-07-01T01:00:00,22\n1782871200,hot\n1782871200,95\n",
                 encoding="utf-8")
    with pytest.raises(AmbientFileError) as exc:
        load_ambient(p)
    text = str(exc.value)
    assert f"{p}:3:" in text and f"{p}:4:" in text and f"{p}:5:" in text and "-60 … 60" in text
    p.write_text("time,temp\n", encoding="utf-8")
    with pytest.raises(AmbientFileError, match="line 1 must be the header ts,t_amb"):
        load_ambient(p)


def test_a_transformer_only_area_is_accepted_and_replays(tmp_path: Path) -> None:
    """An area with no customer meters (monitoring the transformer terminal only)."""
    cfg = load_sim_config(SCENARIOS / "heatwave.toml")
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=24),
                              export=dataclasses.replace(cfg.export, master_s=300))
    export(cfg, tmp_path, 2)
    text = (tmp_path / "area.toml").read_text(encoding="utf-8")
    text = text.replace('meters_csv = "meters.csv"\n', "").replace('branches = ["B1", "B2", "B3", "B4"]\n', "")
    (tmp_path / "ttu_only.toml").write_text(text, encoding="utf-8")
    lines = (tmp_path / "readings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "master.csv").write_text("".join(x for x in lines if ",M0" not in x), encoding="utf-8")
    area, params = load_area_file(tmp_path / "ttu_only.toml")
    assert area.n_meters == 0
    kinds: dict[str, int] = {}
    res = replay(area, params, tmp_path / "master.csv", None,
                 on_message=lambda _t, p: kinds.__setitem__(p["schema"], kinds.get(p["schema"], 0) + 1))
    assert res.stats.rejected == 0
    assert kinds[KINDS["realtime"].tag] == 2 * 288 and kinds[KINDS["daily"].tag] >= 1
    assert kinds[KINDS["interval"].tag] >= 190
