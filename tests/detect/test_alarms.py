"""Alarm lifecycle: persistence, hysteresis, stable ids, updates, never a second raise."""

from __future__ import annotations

import numpy as np
import pytest

from detect.alarms import AlarmBook, AlarmTracker
from detect.backend import kernels


@pytest.fixture(params=["numba", "numpy"])
def tracker(request: pytest.FixtureRequest) -> AlarmTracker:
    return AlarmTracker("overload", 2, persist_on_s=60.0, persist_off_s=30.0, ops=kernels("alarms", request.param))


def feed(tr: AlarmTracker, ts: float, value: float, subj: int = 0, on_at: float = 95, off_at: float = 90) -> int:
    return int(tr.feed([subj], [ts], [value >= on_at], [value < off_at])[0])


def test_raises_only_after_condition_held_for_persistence(tracker: AlarmTracker) -> None:
    assert feed(tracker, 0, 96) == 0
    assert feed(tracker, 30, 97) == 0
    assert feed(tracker, 59.9, 97) == 0
    assert feed(tracker, 60, 97) == 1
    assert tracker.active()[0] and not tracker.active()[1]


def test_interruption_restarts_persistence(tracker: AlarmTracker) -> None:
    feed(tracker, 0, 96)
    feed(tracker, 40, 80)            # condition broke: pending back to idle
    assert feed(tracker, 70, 96) == 0
    assert feed(tracker, 120, 96) == 0
    assert feed(tracker, 130, 96) == 1


def test_hysteresis_band_neither_raises_nor_clears(tracker: AlarmTracker) -> None:
    feed(tracker, 0, 96)
    assert feed(tracker, 60, 96) == 1
    for t in range(90, 600, 30):
        assert feed(tracker, t, 92) == 0  # between clear (90) and raise (95): stays raised
    assert tracker.active()[0]
    assert feed(tracker, 600, 85) == 0
    assert feed(tracker, 629, 85) == 0
    assert feed(tracker, 630, 85) == 2
    assert not tracker.active()[0]


def test_clear_needs_its_own_persistence_and_a_relapse_keeps_it_raised(tracker: AlarmTracker) -> None:
    feed(tracker, 0, 96)
    feed(tracker, 60, 96)
    feed(tracker, 100, 80)
    assert feed(tracker, 110, 99) == 0   # relapse before the clear persistence: still raised
    assert feed(tracker, 140, 80) == 0
    assert tracker.active()[0]


def test_invalid_events_drop_pending_but_hold_raised(tracker: AlarmTracker) -> None:
    tracker.feed([0, 0, 0], [0, 30, 70], [True, True, True], [False] * 3, [True, False, True])
    assert not tracker.active()[0]       # the gap at 30 reset the pending alarm
    tracker.feed([0], [200], [True], [False])
    tracker.feed([0], [260], [True], [False])
    assert tracker.active()[0]
    tracker.feed([0], [300], [False], [True], [False])
    assert tracker.active()[0]


def test_subjects_are_independent(tracker: AlarmTracker) -> None:
    trans = tracker.feed([0, 1, 0, 1], [0, 0, 60, 30], [True, True, True, False], [False] * 4)
    assert trans.tolist() == [0, 0, 1, 0]
    assert tracker.active().tolist() == [True, False]


def book() -> AlarmBook:
    return AlarmBook("A01", update_min_s=900, update_rel=0.1)


def test_alert_id_is_stable_over_the_lifecycle_and_new_per_episode() -> None:
    b = book()
    r = b.raise_(kind="overload", subject_type="transformer", subject_id="master", ts=1000.0, severity="major",
                 value=97.0, threshold=95.0, unit="%", message="m")
    assert r is not None and r.state == "raised"
    u = b.update(kind="overload", subject_type="transformer", subject_id="master", ts=1100.0, severity="critical",
                 value=125.0, message="m")
    c = b.clear(kind="overload", subject_type="transformer", subject_id="master", ts=2000.0, value=80.0, message="c")
    assert u is not None and c is not None
    assert r.alert_id == u.alert_id == c.alert_id
    assert (c.state, c.cleared_at, c.raised_at) == ("cleared", 2000.0, 1000.0)
    r2 = b.raise_(kind="overload", subject_type="transformer", subject_id="master", ts=5000.0, severity="major",
                  value=97.0, threshold=95.0, unit="%", message="m")
    assert r2 is not None and r2.alert_id != r.alert_id


def test_no_second_raise_while_active_and_updates_are_rate_limited() -> None:
    b = book()
    kw = {"kind": "overload", "subject_type": "transformer", "subject_id": "master"}
    assert b.raise_(**kw, ts=0.0, severity="major", value=96.0, threshold=95.0, unit="%", message="m")
    assert b.raise_(**kw, ts=10.0, severity="major", value=96.0, threshold=95.0, unit="%", message="m") is None
    assert b.update(**kw, ts=100.0, severity="major", value=110.0, message="m") is None   # too soon
    assert b.update(**kw, ts=1000.0, severity="major", value=97.0, message="m") is None   # moved too little
    up = b.update(**kw, ts=1000.0, severity="major", value=110.0, message="m")
    assert up is not None and up.value == 110.0


def test_book_round_trips_through_json_and_rejects_unknown_severity() -> None:
    b = book()
    b.raise_(kind="hotspot", subject_type="transformer", subject_id="master", ts=5.0, severity="critical",
             value=float("nan"), threshold=120.0, unit="degC", message="m", evidence={"x": np.float64(1.5)})
    b2 = book()
    b2.load_json(b.to_json())
    assert b2.list_active() == b.list_active()
    assert b2.list_active()[0].value is None and b2.list_active()[0].evidence == {"x": 1.5}
    with pytest.raises(ValueError, match="severity 'fatal'"):
        b.raise_(kind="x", subject_type="area", subject_id="A01", ts=0.0, severity="fatal", value=1.0,
                 threshold=1.0, unit="", message="m")
