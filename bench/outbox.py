"""Outbox and publisher figures: what the alert-latency budget rests on.

    .venv/bin/python bench/outbox.py [--broker mqtt://host:port] [--dir DIR] [-n 5000]

Prints, one ``name: value`` per line:
- fsync_append_p50_ms / _p99_ms: the physical floor, append ~600 B to a file and fsync, in DIR;
- outbox_put_{full,normal}_p50_ms / _p99_ms: one durable ``put`` of an alert-sized payload (~600 B),
  with ``synchronous=FULL`` (the default: fsync per message) and ``NORMAL``, in DIR's filesystem;
- publish_msgs_per_s: messages/s through submit -> outbox -> paho -> mosquitto with PUBACK-driven
  deletion, one durable put (fsync) per message; publish_batch64_msgs_per_s: the same with
  submit_many of 64 (one fsync per engine step's output);
- outbox_drain_msgs_per_s: a pre-filled outbox drained to the broker (the restart / reconnect path);
- raw_paho_msgs_per_s: the peer, plain paho QoS 1 publishes of the same payloads with no outbox, and
  outbox_drain_ratio_to_raw_paho;
- e2e_latency_p50_ms / _p99_ms: submit() -> received by a subscriber, at 50 msg/s.
Starts a private mosquitto unless --broker is given. Medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.publish.mqtt import MqttSettings, parse_broker_url
from edge.publish.outbox import Outbox
from edge.publish.publisher import Publisher, PublisherSettings
from wire import Outgoing

TOPIC = "meterwatch/v2/gw-bench/bench/A01/alert"


def alert_payload(n: int) -> dict[str, object]:
    return {"schema": "meterwatch.alert/2", "gateway": "gw-bench", "ts": "2026-11-23T13:40:02Z",
            "grid": "bench", "area": "A01", "alert_id": f"A01-overload-{n}", "state": "raised",
            "kind": "overload", "severity": "major", "subject": {"type": "transformer", "id": "T1"},
            "value": 112.5, "threshold": 100.0, "unit": "%", "raised_at": "2026-11-23T13:40:02Z",
            "cleared_at": None, "message": "transformer load 112.5 % of rated for 2 h (heavy load)",
            "evidence": {"beta": 1.125, "i_a": 650.1, "i_b": 612.4, "i_c": 640.0, "duration_s": 7200,
                         "hotspot_c": 98.4, "window": [1.1, 1.12, 1.13, 1.125]}, "n": n}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def bench_put(d: Path, synchronous: str, n: int) -> tuple[float, float]:
    ob = Outbox(d / f"put-{synchronous}-{time.monotonic_ns()}.sqlite3", gateway="gw-bench",
                synchronous=synchronous)
    lat = []
    for i in range(n):
        t = time.perf_counter()
        ob.put(TOPIC, alert_payload(i), kind="alert")
        lat.append(time.perf_counter() - t)
    ob.close()
    return pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3


def bench_fsync(d: Path, n: int) -> tuple[float, float]:
    """The physical floor of a durable put: append ~600 B to a file and fsync it."""
    blob = json.dumps(alert_payload(0)).encode()
    lat = []
    with open(d / f"fsync-{time.monotonic_ns()}", "ab") as fh:
        for _ in range(n):
            t = time.perf_counter()
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
            lat.append(time.perf_counter() - t)
    return pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3


async def bench_publish(url: str, d: Path, n: int, batch: int, preload: bool = False) -> float:
    """Messages/s from submit (one durable put per ``batch`` messages) until every PUBACK deleted its
    row; with ``preload`` the outbox is filled before the publisher starts (drain only)."""
    state = d / f"pub-{time.monotonic_ns()}"
    items = [Outgoing(TOPIC, "alert", alert_payload(i)) for i in range(n)]
    if preload:
        ob = Outbox(state / "outbox.sqlite3", gateway="gw-bench")
        for i in range(0, n, 500):
            ob.put_many(items[i:i + 500])
        ob.close()
    pub = Publisher(PublisherSettings(gateway="gw-bench", state_dir=state),
                    MqttSettings(url=url, client_id="gw-bench", inflight=64))
    t = time.perf_counter()
    await pub.start()
    if not preload:
        for i in range(0, n, batch):
            await pub.submit_many(items[i:i + batch])
            await asyncio.sleep(0)   # let the pump run, as the pipeline does between engine steps
    ok = await pub.wait_drained(120)
    dt = time.perf_counter() - t
    await pub.stop(1)
    if not ok:
        raise RuntimeError("publisher did not drain")
    return n / dt


def bench_raw(url: str, n: int) -> float:
    host, port, _ = parse_broker_url(url)
    done = threading.Event()
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == n:
            done.set()

    c = paho.Client(CallbackAPIVersion.VERSION2, client_id="raw-bench", protocol=paho.MQTTv5)
    c.max_inflight_messages_set(64)
    c.on_publish = on_publish
    c.connect(host, port)
    c.loop_start()
    payloads = [json.dumps(alert_payload(i)).encode() for i in range(n)]
    t = time.perf_counter()
    for p in payloads:
        c.publish(TOPIC, p, qos=1)
    done.wait(120)
    dt = time.perf_counter() - t
    c.disconnect()
    c.loop_stop()
    return n / dt


async def bench_e2e(url: str, d: Path, n: int) -> tuple[float, float]:
    host, port, _ = parse_broker_url(url)
    sent: dict[str, float] = {}
    lat: list[float] = []
    got = threading.Event()
    subscribed = threading.Event()

    def on_message(client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        t = time.perf_counter()
        mid = json.loads(msg.payload)["msg_id"]
        if mid in sent:
            lat.append(t - sent[mid])
        if len(lat) >= n:
            got.set()

    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="e2e-sub", protocol=paho.MQTTv5)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(host, port)
    sub.loop_start()
    sub.subscribe(TOPIC, qos=1)
    subscribed.wait(5)
    pub = Publisher(PublisherSettings(gateway="gw-bench", state_dir=d / f"e2e-{time.monotonic_ns()}"),
                    MqttSettings(url=url, client_id="gw-bench-e2e"))
    await pub.start()
    while not pub.connected:
        await asyncio.sleep(0.01)
    for i in range(n):
        t = time.perf_counter()
        mid = await pub.submit(TOPIC, alert_payload(i), kind="alert")
        sent[mid] = t
        await asyncio.sleep(0.02)
    await asyncio.to_thread(got.wait, 30)
    await pub.stop(1)
    sub.disconnect()
    sub.loop_stop()
    return pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--broker", help="use this broker instead of a private mosquitto")
    ap.add_argument("--dir", type=Path, default=None, help="where the outbox files go (default: a temp dir in .)")
    ap.add_argument("-n", type=int, default=3000, help="messages per throughput run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with ExitStack() as stack:
        d = (args.dir or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix=".bench-outbox-", dir=".")))).resolve()
        url = args.broker
        if url is None:
            from tests.support.procs import Mosquitto

            url = stack.enter_context(Mosquitto.running(d / "mosquitto")).url
        fs = os.statvfs(d)
        print(f"# outbox dir {d} ({fs.f_bsize} B blocks), broker {url}")
        floor = [bench_fsync(d, 1000) for _ in range(args.repeat)]
        fsync_p50 = statistics.median(r[0] for r in floor)
        print(f"fsync_append_p50_ms: {fsync_p50:.3f}")
        print(f"fsync_append_p99_ms: {statistics.median(r[1] for r in floor):.3f}")
        for sync in ("FULL", "NORMAL"):
            runs = [bench_put(d, sync, 1000) for _ in range(args.repeat)]
            print(f"outbox_put_{sync.lower()}_p50_ms: {statistics.median(r[0] for r in runs):.3f}")
            print(f"outbox_put_{sync.lower()}_p99_ms: {statistics.median(r[1] for r in runs):.3f}")
            if sync == "FULL":
                ratio = statistics.median(r[0] for r in runs) / fsync_p50
                print(f"outbox_put_full_p50_ratio_to_fsync: {ratio:.2f}")
        for name, batch, preload in (("publish_msgs_per_s", 1, False), ("publish_batch64_msgs_per_s", 64, False),
                                     ("outbox_drain_msgs_per_s", 0, True)):
            rates = [asyncio.run(bench_publish(url, d, args.n, batch, preload)) for _ in range(args.repeat)]
            print(f"{name}: {statistics.median(rates):.0f}")
        raw = statistics.median(bench_raw(url, args.n) for _ in range(args.repeat))
        print(f"raw_paho_msgs_per_s: {raw:.0f}")
        print(f"outbox_drain_ratio_to_raw_paho: {statistics.median(rates) / raw:.2f}")
        e2e = [asyncio.run(bench_e2e(url, d, 200)) for _ in range(args.repeat)]
        print(f"e2e_latency_p50_ms: {statistics.median(r[0] for r in e2e):.2f}")
        print(f"e2e_latency_p99_ms: {statistics.median(r[1] for r in e2e):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
