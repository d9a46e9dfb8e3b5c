"""Publisher + outbox + paho against a real mosquitto: restarts, long outages, birth/death, health."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from edge.publish.health import HealthInputs, run_health
from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto
from wire import Outgoing
from wire.schemas import validate

pytestmark = pytest.mark.integration
PREFIX = "meterwatch/v2/gw-t/grid-t/A01"


def make_publisher(url: str, state_dir: Path, **kw: object) -> Publisher:
    return Publisher(PublisherSettings(gateway="gw-t", state_dir=state_dir, **kw),  # type: ignore[arg-type]
                     MqttSettings(url=url, client_id="gw-t", reconnect_min_s=0.1, reconnect_max_s=0.5,
                                  inflight=8))


async def wait_until(cond: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


def first_occurrence_order(ids: list[str]) -> list[int]:
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    return [int(i.rsplit(":", 1)[1]) for i in seen]


def test_broker_restart_mid_run_loses_no_msg_id(mosquitto: Mosquitto, tmp_path: Path) -> None:
    topics = (f"{PREFIX}/alert", f"{PREFIX}/summary/realtime")
    with Subscriber.running(mosquitto.port, *topics) as sub:
        async def run() -> tuple[list[str], Publisher]:
            pub = make_publisher(mosquitto.url, tmp_path / "state")
            await pub.start()
            await wait_until(lambda: pub.connected)
            produced = []
            for n in range(600):
                if n == 200:
                    await asyncio.to_thread(mosquitto.stop)      # mid-run, with messages in flight
                if n == 400:
                    assert pub.stats().depth > 0                # queued during the outage
                    await asyncio.to_thread(mosquitto.start)
                kind, suffix = ("alert", "alert") if n % 3 == 0 else ("realtime", "summary/realtime")
                produced.append(await pub.submit(f"{PREFIX}/{suffix}", {"schema": f"meterwatch.{kind}/2",
                                                                        "n": n}, kind=kind))
                await asyncio.sleep(0.002)
            assert await pub.wait_drained(20)
            await pub.stop(2)
            return produced, pub

        produced, pub = asyncio.run(run())
        missing = sub.wait_for(set(produced), timeout_s=20)
        assert not missing, f"{len(missing)} lost, e.g. {sorted(missing)[:5]}"
        got = sub.msg_ids()
        duplicates = len(got) - len(set(got))
        print(f"received {len(got)}, duplicates {duplicates}, reconnects {pub.counters['connects']}")
        assert pub.counters["connects"] >= 2 and pub.counters["disconnects"] >= 1
        for suffix in ("alert", "summary/realtime"):     # order per topic (first arrivals)
            order = first_occurrence_order(sub.msg_ids(suffix))
            assert order == sorted(order)


def test_long_outage_fills_the_bound_drops_oldest_summaries_and_keeps_alerts(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    topics = (f"{PREFIX}/alert", f"{PREFIX}/summary/interval")
    with Subscriber.running(mosquitto.port, *topics) as sub:
        async def run() -> tuple[list[str], list[str], Publisher]:
            await asyncio.to_thread(mosquitto.stop)
            pub = make_publisher(mosquitto.url, tmp_path / "state", outbox_max_bytes=30_000)
            await pub.start()
            alerts, summaries = [], []
            for n in range(400):
                if n % 20 == 0:
                    alerts.append(await pub.submit(f"{PREFIX}/alert", {"schema": "meterwatch.alert/2",
                                                                       "n": n}, kind="alert"))
                summaries.append(await pub.submit(f"{PREFIX}/summary/interval",
                                                  {"schema": "meterwatch.interval/2", "n": n, "pad": "z" * 300},
                                                  kind="interval"))
            st = pub.stats()
            assert st.bytes <= 30_000 and st.dropped_summaries > 0 and st.dropped_alerts == 0
            await asyncio.to_thread(mosquitto.start)
            assert await pub.wait_drained(20)
            await pub.stop(2)
            return alerts, summaries, pub

        alerts, summaries, _pub = asyncio.run(run())
        assert not sub.wait_for(set(alerts), timeout_s=10, topic_suffix="alert")
        time.sleep(0.3)
        got = sub.msg_ids("summary/interval")
        kept = [m for m in summaries if m in set(got)]
        dropped = len(summaries) - len(kept)
        assert kept == summaries[-len(kept):], "survivors must be the newest summaries"
        assert 0 < dropped < len(summaries)
        reopened = make_publisher(mosquitto.url, tmp_path / "state")
        async def counters() -> int:
            await reopened.start()
            n = reopened.stats().dropped_summaries
            await reopened.stop(1)
            return n
        assert asyncio.run(counters()) == dropped          # the counter tells the same story


def test_birth_is_retained_online_and_clean_stop_leaves_offline(mosquitto: Mosquitto, tmp_path: Path) -> None:
    async def run() -> Publisher:
        pub = make_publisher(mosquitto.url, tmp_path / "state")
        await pub.start()
        await wait_until(lambda: pub.connected)
        return pub

    async def both() -> None:
        pub = await run()
        await asyncio.sleep(0.3)
        with Subscriber.running(mosquitto.port, pub.status_topic, client_id="late-1") as late:
            await wait_until(lambda: late.snapshot(), 5)
            online = late.snapshot()[0]
        await pub.stop(2)
        with Subscriber.running(mosquitto.port, pub.status_topic, client_id="late-2") as later:
            await wait_until(lambda: later.snapshot(), 5)
            offline = later.snapshot()[0]
        assert online.retain and online.payload["state"] == "online"
        assert offline.retain and offline.payload["state"] == "offline"
        for m in (online, offline):
            assert validate(m.payload) == "status"
        assert online.payload["msg_id"] != offline.payload["msg_id"]

    asyncio.run(both())


def test_health_goes_out_periodically_and_validates(mosquitto: Mosquitto, tmp_path: Path) -> None:
    with Subscriber.running(mosquitto.port, "meterwatch/v2/+/health") as sub:
        async def run() -> None:
            pub = make_publisher(mosquitto.url, tmp_path / "state")
            await pub.start()
            calls = 0

            def telemetry() -> HealthInputs:
                nonlocal calls
                calls += 1
                if calls == 2:
                    raise RuntimeError("scheduler telemetry broke")
                return HealthInputs(buses=[{"name": "rs485-1", "reads_ok": 10 * calls, "reads_failed": 1,
                                            "utilisation": 0.4, "round_time_s": 12.5}],
                                    engine={"A01": {"last_advance_ms": 1.5}})
            task = asyncio.create_task(run_health(pub, telemetry, interval_s=0.1))
            await wait_until(lambda: len(sub.snapshot()) >= 3, 10)
            task.cancel()
            await pub.stop(2)

        asyncio.run(run())
        payloads = [m.payload for m in sub.snapshot()]
        for p in payloads:
            assert validate(p) == "health"
        assert payloads[0]["buses"][0]["reads_ok"] == 10
        assert payloads[1]["buses"] == [] and payloads[1]["counters"]["telemetry_failed"] == 1
        assert payloads[0]["outbox"]["dropped_alerts"] == 0
        assert payloads[0]["counters"]["mqtt_connects"] == 1
        assert json.dumps(payloads[0])     # plain JSON all the way down


@pytest.mark.serial
def test_stop_with_the_broker_down_is_bounded_and_keeps_messages_for_the_next_start(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    with Subscriber.running(mosquitto.port, f"{PREFIX}/alert") as sub:
        async def first_run() -> list[str]:
            await asyncio.to_thread(mosquitto.stop)
            pub = make_publisher(mosquitto.url, tmp_path / "state")
            await pub.start()
            ids = [await pub.submit(f"{PREFIX}/alert", {"schema": "meterwatch.alert/2", "n": n}, kind="alert")
                   for n in range(5)]
            t = time.monotonic()
            assert await pub.stop(flush_timeout_s=0.5) is False
            assert time.monotonic() - t < 3
            return ids

        async def second_run() -> None:
            await asyncio.to_thread(mosquitto.start)
            pub = make_publisher(mosquitto.url, tmp_path / "state")
            await pub.start()
            assert pub.stats().depth == 5
            assert await pub.wait_drained(10)
            assert await pub.stop(2) is True

        ids = asyncio.run(first_run())
        asyncio.run(second_run())
        assert not sub.wait_for(set(ids), timeout_s=10)


def test_paho_callbacks_never_raise_even_after_the_loop_closed(tmp_path: Path) -> None:
    from edge.publish.mqtt import MqttLink

    loop = asyncio.new_event_loop()
    link = MqttLink(MqttSettings(url="mqtt://127.0.0.1:1", client_id="x"), loop)
    loop.close()
    link._on_publish(link.client, None, 7, None)              # rc without .value: tolerated
    link._on_disconnect(link.client, None, None, "weird")
    link._on_connect(link.client, None, None, object())       # no .is_failure: logged, not raised
    link._on_connect_fail(link.client, None)


def test_a_payload_that_cannot_be_stored_is_a_clear_counted_error(tmp_path: Path) -> None:
    from tests.support.procs import free_port

    async def run() -> Publisher:
        pub = make_publisher(f"mqtt://127.0.0.1:{free_port()}", tmp_path / "state")   # nobody there
        await pub.start()
        with pytest.raises(ValueError, match="summary/realtime"):
            await pub.submit(f"{PREFIX}/summary/realtime", {"schema": "meterwatch.realtime/2",
                                                            "p": float("nan")}, kind="realtime")
        assert pub.stats().depth == 0
        await pub.stop(0.1)
        return pub

    assert asyncio.run(run()).counters["invalid_payloads"] == 1


def test_inflight_window_is_used_and_never_exceeded(mosquitto: Mosquitto, tmp_path: Path) -> None:
    async def run() -> list[int]:
        pub = make_publisher(mosquitto.url, tmp_path / "state")      # inflight=8
        await pub.start()
        await wait_until(lambda: pub.connected)
        seen = []
        items = [Outgoing(f"{PREFIX}/summary/realtime", "realtime", {"schema": "meterwatch.realtime/2", "n": n})
                 for n in range(400)]
        await pub.submit_many(items)
        deadline = time.monotonic() + 10
        while (pub.stats().depth - pub.stats().inflight > 0 or pub.inflight) and time.monotonic() < deadline:
            seen.append(pub.inflight)
            await asyncio.sleep(0)
        assert await pub.wait_drained(10)
        await pub.stop(1)
        return seen

    seen = asyncio.run(run())
    assert max(seen) == 8


def test_pumping_says_whether_the_pump_task_runs(tmp_path: Path) -> None:
    """What the daemon's watchdog vouches for: a dead pump means no WATCHDOG=1."""
    from tests.support.procs import free_port

    async def run() -> tuple[bool, bool, bool]:
        pub = Publisher(PublisherSettings(gateway="gw", state_dir=tmp_path),
                        MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}", client_id="gw"))
        before = pub.pumping
        await pub.start()
        running = pub.pumping
        assert pub._pump is not None
        pub._pump.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        dead = pub.pumping
        await pub.stop(0.1)
        return before, running, dead

    assert asyncio.run(run()) == (False, True, False)
