"""AreaRunner with a real engine: readings in, schema-valid messages and state out."""

from __future__ import annotations

import asyncio
import math

from detect.area import Area
from detect.batch import ReadingBatch
from detect.params import Params
from edge.pipeline import AreaRunner
from edge.readings import DeviceRead, Reading
from wire import Outgoing, stamp
from wire.schemas import validate

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class ListSink:
    def __init__(self) -> None:
        self.items: list[Outgoing] = []
        self.state: dict[str, bytes] = {}
        self.calls = 0

    async def submit_many(self, items, *, state=None):
        self.calls += 1
        for item in items:
            if any(isinstance(v, float) and math.isnan(v) for v in item.payload.values()):
                raise ValueError("nan")
        self.items.extend(items)
        self.state.update(state or {})
        return ["x"] * len(items)


def _area() -> Area:
    return Area.simple(id="A01", rated_kva=100, meter_ids=["m1", "m2", "m3"])


def _master(ts: float, amps: float) -> DeviceRead:
    q = {"u_a": 230.0, "u_b": 230.0, "u_c": 230.0, "i_a": amps, "i_b": amps * 0.9, "i_c": amps * 0.9,
         "i_n": 5.0, "p": 3 * 230 * amps * 0.95 / 1000, "q": 10.0, "pf": 0.95}
    return DeviceRead(device="master", readings=[Reading("master", k, v, ts) for k, v in q.items()])


def test_overload_raises_once_with_state_saved_in_the_same_step():
    sink = ListSink()
    area = _area()
    runner = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=sink)
    rated = area.rated_current_a
    for k in range(40):
        ts = T0 + 5 * k
        runner.feed([("master", _master(ts, rated * 1.02))])
        asyncio.run(runner.step(ts))
    alerts = [m.payload for m in sink.items if m.kind == "alert"]
    assert [a["kind"] for a in alerts if a["state"] == "raised"].count("overload") == 1
    assert "engine:A01" in sink.state
    for n, m in enumerate(sink.items, 1):
        validate(stamp(m.payload, msg_id=f"gw:{n}", topic_seq=n if m.stream else None))
        assert m.topic.startswith("mw/gw/default/A01/")
    active = [m for m in sink.items if m.kind == "alerts_active"]
    assert active and all(m.retain for m in active)


def test_restored_runner_does_not_raise_an_active_alert_again():
    sink = ListSink()
    area = _area()
    runner = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=sink)
    rated = area.rated_current_a
    ts = T0
    for k in range(30):
        ts = T0 + 5 * k
        runner.feed([("master", _master(ts, rated * 1.02))])
        asyncio.run(runner.step(ts))
    sink2 = ListSink()
    again = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=sink2,
                       saved_state=sink.state["engine:A01"])
    for k in range(30, 60):
        ts = T0 + 5 * k
        again.feed([("master", _master(ts, rated * 1.02))])
        asyncio.run(again.step(ts))
    raised = [m.payload for m in sink2.items if m.kind == "alert" and m.payload["state"] == "raised"]
    assert raised == []


def test_unknown_devices_quantities_and_nan_are_counted_not_raised():
    sink = ListSink()
    runner = AreaRunner(_area(), Params(), gateway="gw", topic_prefix="mw", sink=sink)
    dr = DeviceRead(device="x", readings=[Reading("x", "u_a", 230.0, T0)])
    bad_q = DeviceRead(device="m1", readings=[Reading("m1", "voltage", 230.0, T0),
                                              Reading("m1", "u_a", float("nan"), T0),
                                              Reading("m1", "u_a", 231.0, T0)])
    assert runner.feed([("ghost", dr), ("m1", bad_q)]) == 1
    assert runner.stats.readings_rejected == 3
    assert set(runner.stats.rejected_reasons) == {"unknown device ghost", "unknown quantity voltage",
                                                  "non-finite value"}


def test_corrupt_saved_state_starts_fresh_instead_of_crashing():
    runner = AreaRunner(_area(), Params(), gateway="gw", topic_prefix="mw", sink=ListSink(),
                        saved_state=b"not a snapshot")
    assert runner.engine.active_alerts() == []


def _alert_events(items: list[Outgoing]) -> list[tuple[str, str, str, str]]:
    return [(m.payload["kind"], m.payload["state"], m.payload["alert_id"], m.payload["ts"]) for m in items
            if m.kind == "alert"]


def test_an_implausible_master_current_never_reaches_detection_and_raises_a_device_alert():
    """5000 A on a 100 kVA transformer (rated 144 A) would be a 3500 % overload: rejected instead."""
    sink = ListSink()
    area = _area()
    runner = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=sink)
    for k in range(60):
        ts = T0 + 5 * k
        runner.feed([("master", _master(ts, 5000.0 if k < 20 else 50.0))])
        asyncio.run(runner.step(ts))
    events = _alert_events(sink.items)
    assert [(kind, state) for kind, state, _, _ in events] == [("implausible_reading", "raised"),
                                                               ("implausible_reading", "cleared")]
    assert events[0][2] == events[1][2]
    for n, m in enumerate(sink.items, 1):
        validate(stamp(m.payload, msg_id=f"gw:{n}", topic_seq=n if m.stream else None))
        if m.kind == "realtime":
            assert max(m.payload.get(k) or 0 for k in ("i_a", "i_b", "i_c")) < 1000, \
                "a rejected current appeared as a measurement"
    lists = [m.payload["alerts"] for m in sink.items if m.kind == "alerts_active"]
    assert [a["kind"] for a in lists[0]] == ["implausible_reading"] and lists[-1] == []
    stats = runner.stats.as_dict()
    assert stats["implausible"]["master"]["current"] == 20 * 3     # i_a, i_b, i_c of 20 polls
    assert stats["implausible"]["master"]["power"] == 20
    assert stats["readings_implausible"] == 20 * 4


def test_live_feeding_and_replay_batches_give_the_same_device_alerts():
    """The daemon feeds each poll and steps; replay feeds hour windows: same checks, same device alerts."""
    area = _area()
    polls = [(T0 + 5 * k, 5000.0 if 10 <= k < 25 or 60 <= k < 70 else 40.0) for k in range(120)]
    live_sink, replay_sink = ListSink(), ListSink()
    live = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=live_sink)
    for ts, amps in polls:
        live.feed([("master", _master(ts, amps))])
        asyncio.run(live.step(ts))
    replay = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=replay_sink, snapshots=False)
    rows = [(r.device, r.quantity, r.value, r.ts) for ts, amps in polls for r in _master(ts, amps).readings]
    replay.feed_batch(ReadingBatch.from_records(*zip(*rows, strict=True), area=area))
    asyncio.run(replay.step(polls[-1][0]))
    events = _alert_events(live_sink.items)
    assert [state for _, state, _, _ in events] == ["raised", "cleared", "raised", "cleared"]
    assert events == _alert_events(replay_sink.items)
    assert live.stats.implausible == replay.stats.implausible


def test_a_restored_runner_continues_the_device_alert_and_clears_it_under_its_id():
    sink = ListSink()
    area = _area()
    runner = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=sink)
    for k in range(10):
        runner.feed([("master", _master(T0 + 5 * k, 5000.0))])
        asyncio.run(runner.step(T0 + 5 * k))
    again_sink = ListSink()
    again = AreaRunner(area, Params(), gateway="gw", topic_prefix="mw", sink=again_sink,
                       saved_state=sink.state["engine:A01"])
    for k in range(10, 20):
        again.feed([("master", _master(T0 + 5 * k, 5000.0 if k < 15 else 50.0))])
        asyncio.run(again.step(T0 + 5 * k))
    first, later = _alert_events(sink.items), _alert_events(again_sink.items)
    assert [s for _, s, _, _ in first] == ["raised"] and [s for _, s, _, _ in later] == ["cleared"]
    assert first[0][2] == later[0][2]
