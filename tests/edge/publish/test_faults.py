"""Faults of the state directory against the real publisher, engine and mosquitto: another process
holding the outbox's write lock for 12 s, and an outbox that is corrupt at the next start."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from detect.area import Area
from detect.params import Params
from edge.pipeline import AreaRunner
from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings
from edge.readings import DeviceRead, Reading
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.serial]
PREFIX = "meterwatch/v2/gw-t/grid-t/A01"
LOCK_S = 12.0
HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")          # what `BEGIN IMMEDIATE;` in the sqlite3 shell does
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def make_publisher(url: str, state_dir: Path) -> Publisher:
    return Publisher(PublisherSettings(gateway="gw-t", state_dir=state_dir),
                     MqttSettings(url=url, client_id="gw-t", reconnect_min_s=0.1, reconnect_max_s=0.5))


async def wait_until(cond: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def test_a_12_s_foreign_lock_blocks_neither_the_event_loop_nor_publishing(mosquitto: Mosquitto,
                                                                          tmp_path: Path) -> None:
    lags: list[float] = []

    async def probe() -> None:
        while True:
            t = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - t - 0.01)

    async def run(sub: Subscriber) -> tuple[list[int], dict[str, int | str], float, float]:
        pub = make_publisher(mosquitto.url, tmp_path / "state")
        await pub.start()
        await wait_until(lambda: pub.connected, 10, "connected")
        task = asyncio.create_task(probe())
        holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "state" / "outbox.sqlite3"),
                                   str(LOCK_S)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0, n, submit_s = time.monotonic(), 0, []
        while holder.poll() is None:
            kind, topic = ("alert", f"{PREFIX}/alert") if n % 5 == 0 else ("realtime", f"{PREFIX}/summary/realtime")
            t = time.monotonic()
            await pub.submit(topic, {"schema": f"meterwatch.{kind}/2", "n": n}, kind=kind)
            submit_s.append(time.monotonic() - t)
            n += 1
            await asyncio.sleep(0.05)
        held_for = time.monotonic() - t0
        await wait_until(lambda: pub.stats().pending == 0, 15, "the held messages stored after the lock")
        caught_up = time.monotonic() - t0 - held_for
        assert await pub.wait_drained(20)
        stats = pub.stats().as_health()
        task.cancel()
        await pub.stop(2)
        assert held_for >= LOCK_S - 0.5
        return list(range(n)), stats, max(submit_s), caught_up

    with Subscriber.running(mosquitto.port, f"{PREFIX}/#", client_id="collector-lock") as sub:
        sent, stats, slowest_submit, caught_up = asyncio.run(run(sub))
        time.sleep(0.3)
        got = Counter(m.payload["n"] for m in sub.snapshot())
    assert set(sent) <= set(got), f"lost: {sorted(set(sent) - set(got))[:10]}"
    assert stats["lock_waits"] and stats["dropped_alerts"] == stats["dropped_summaries"] == 0, stats
    print(f"lock {LOCK_S:.0f} s: {len(sent)} submitted, all delivered; loop lag p50 "
          f"{statistics.median(lags) * 1000:.1f} ms max {max(lags) * 1000:.1f} ms; slowest submit "
          f"{slowest_submit * 1000:.0f} ms; {stats['lock_waits']} lock waits; held messages stored "
          f"{caught_up:.2f} s after the lock was released")
    assert max(lags) < 0.15, f"the event loop stalled for {max(lags):.3f} s"
    assert slowest_submit < 0.5


def _master(ts: float, load: float, area: Area) -> DeviceRead:
    amps = load * area.rated_current_a
    q = {"u_a": 230.0, "u_b": 230.0, "u_c": 230.0, "i_a": amps, "i_b": amps, "i_c": amps, "i_n": 2.0,
         "p": 3 * 230 * amps * 0.95 / 1000, "q": 10.0, "pf": 0.95}
    return DeviceRead(device="master", readings=[Reading("master", k, v, ts) for k, v in q.items()])


def test_a_corrupt_outbox_leaves_no_orphaned_or_doubled_alert(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """The overload is active when the outbox is lost: the engine state (kept apart from the outbox)
    continues it under its id, and it clears under that id; it is never raised a second time."""
    area = dataclasses.replace(Area.simple(id="A01", rated_kva=100.0, meter_ids=["m1", "m2", "m3"]), grid="grid-t")
    params = Params()
    t0 = 1_767_225_600.0

    opened: list[float] = []

    async def run(loads: list[float], start: float) -> Path | None:
        pub = make_publisher(mosquitto.url, tmp_path / "state")
        t = time.monotonic()
        await pub.start()
        opened.append(time.monotonic() - t)
        runner = AreaRunner(area, params, gateway="gw-t", topic_prefix="meterwatch/v2", sink=pub,
                            saved_state=pub.load_state("engine:A01"))
        for k, load in enumerate(loads):
            ts = start + 5 * k
            runner.feed([("master", _master(ts, load, area))])
            await runner.step(ts)
        assert await pub.wait_drained(20)
        aside = pub.outbox.recovered_from if pub.outbox is not None else None
        await pub.stop(2)
        return aside

    with Subscriber.running(mosquitto.port, f"{PREFIX}/alert", client_id="collector-corrupt") as sub:
        assert asyncio.run(run([1.1] * 20, t0)) is None             # overload raised (persist 60 s)
        db = tmp_path / "state" / "outbox.sqlite3"
        db.write_bytes(b"\0" * 100 + db.read_bytes()[100:])         # the header is gone: not a database
        aside = asyncio.run(run([1.1] * 4 + [0.5] * 20, t0 + 100))   # still over, then cleared
        time.sleep(0.3)
        events = [(m.payload["kind"], m.payload["state"], m.payload["alert_id"]) for m in sub.snapshot()]
    assert aside is not None and aside.exists(), "the corrupt outbox was not set aside"
    overload = [(state, alert_id) for kind, state, alert_id in events if kind == "overload"]
    assert [s for s, _ in overload] == ["raised", "cleared"], events
    assert overload[0][1] == overload[1][1], "cleared under another id: the first would be orphaned"
    print(f"corrupt outbox: set aside and a new one open in {opened[1] * 1000:.0f} ms (healthy start "
          f"{opened[0] * 1000:.0f} ms); the overload cleared under its id")
