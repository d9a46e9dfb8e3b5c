"""docs/extending.md's worked detector is this test's ``example_detector``, verbatim, and it works as the
page says: its alert through the engine's lifecycle, its summary fields, its state in the snapshot."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pytest

from detect.engine import Engine
from detect.snapshot import unpack
from tests.detect import example_detector
from tests.detect.sim import T0, Sim, make_area

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_shows_the_example_verbatim() -> None:
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    section = page.split("## A new detector", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    source = Path(example_detector.__file__).read_text(encoding="utf-8")
    assert source in blocks, "docs/extending.md must show tests/detect/example_detector.py verbatim"


def _sim(**kw: float) -> Sim:
    return Sim(make_area(n=3, n_branches=1), detectors=(example_detector,), **kw)  # type: ignore[arg-type]


def test_a_frequency_excursion_raises_after_its_persistence_and_clears() -> None:
    sim = _sim()
    sim.run(30)
    assert not sim.raised("frequency_deviation")
    onset = sim.t
    sim.f_hz = 49.3
    sim.run(5)
    (raised,) = sim.raised("frequency_deviation")
    assert raised.ts == onset + 60.0 and raised.subject_id == "master"
    assert raised.value == pytest.approx(0.7) and raised.threshold == 0.5 and raised.evidence == {"f_hz": 49.3}
    assert sim.of_kind("realtime")[-1]["f_deviation_hz"] == pytest.approx(0.7)
    sim.f_hz = 50.48                                 # inside the band but not by the hysteresis: held
    sim.run(5)
    assert not sim.cleared("frequency_deviation")
    sim.f_hz = 50.0
    sim.run(3)
    (cleared,) = sim.cleared("frequency_deviation")
    assert cleared.alert_id == raised.alert_id


def test_minutes_outside_the_band_reach_the_daily_summary_across_a_restart() -> None:
    sim = _sim(t=T0 - 3 * 3600.0)                   # three hours before a local midnight
    sim.run(60)
    sim.f_hz = 50.7
    sim.run(3)
    blob = sim.engine.snapshot()
    _, arrays = unpack(blob)
    assert arrays["d.frequency.outside_s"][0] == 180.0
    sim.engine = Engine.restore(blob, detectors=(example_detector,))
    sim.run(4)
    sim.f_hz = 50.0
    sim.run(120)
    (daily,) = sim.of_kind("daily")
    assert daily["frequency_outside_min"] == 7.0                  # 7 one-minute polls outside the band
    _, plain = unpack(Sim(make_area(n=3)).engine.snapshot())
    assert not [k for k in plain if k.startswith("d.")]


def test_an_older_snapshot_gives_the_detector_a_fresh_state() -> None:
    plain = Sim(make_area(n=3, n_branches=1))
    plain.run(20)
    eng = Engine.restore(plain.engine.snapshot(), detectors=(example_detector,))
    st = eng.detector_states["frequency"]
    assert isinstance(st, example_detector.State) and st.outside_s[0] == 0.0 and np.isnan(st.last_ts[0])


def test_without_the_detector_nothing_of_it_is_published() -> None:
    sim = Sim(make_area(n=3, n_branches=1))
    sim.f_hz = 49.0
    sim.run(10)
    assert not sim.raised("frequency_deviation")
    assert "f_deviation_hz" not in sim.of_kind("realtime")[-1]


@pytest.mark.parametrize(("attrs", "message"), [
    ({"alarms": lambda ctx: [], "on_day": lambda *a: None}, "NAME must be a lower-case identifier"),
    ({"NAME": "x", "on_day": lambda *a: None}, "needs alarms"),
    ({"NAME": "x", "alarms": lambda ctx: []}, "at least one of on_polls, on_interval, on_day"),
])
def test_a_detector_module_missing_a_part_is_refused_with_its_name(attrs: dict[str, object], message: str) -> None:
    mod = types.ModuleType("broken_detector")
    mod.__dict__.update(attrs)
    with pytest.raises(ValueError, match=f"detector broken_detector: .*{message}"):
        Engine(make_area(n=3), detectors=(mod,))
