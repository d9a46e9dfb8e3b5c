"""Alert latency to a person's inbox and the collector's cost per alert event (issue 16).

Real mosquitto, the real Debian alertmanager (one webhook receiver, ``group_by: [grid, area, alertname]``,
``group_wait`` = --group-wait) and the collector's Alertmanager sink in this process. Prints, one
``name: value`` per line (medians over --runs):

  latency_p50_ms / latency_p99_ms       alert event published on the wire (the gateway's PUBLISH, right
                                        after the threshold crossing was detected) -> webhook received,
                                        minus group_wait; --alerts alerts, each its own group (goal: p99
                                        <= 1000 ms on top of group_wait)
  direct_latency_p50_ms / _p99_ms       the peer: the same alerts POSTed straight to Alertmanager -> webhook,
                                        minus group_wait (Alertmanager's own floor)
  sink_added_p50_ms / _p99_ms           latency minus direct latency: what MQTT + the sink add
  burst_events_per_s                    a burst of --burst raise/clear events drained by the sink (validated,
                                        applied, posted, acknowledged)
  sink_cpu_us_per_event                 CPU of the sink's two threads (its MQTT connection + sink) per event in the burst
  alertmanager_cpu_us_per_event         CPU of the alertmanager process over the same burst, per event
  ratio_sink_cpu_to_alertmanager        the sink's cost relative to the engine that does the routing

    .venv/bin/python bench/alerting.py [--runs 3] [--alerts 200] [--rate 20] [--burst 2000] [--group-wait 1s]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collector.alertmanager import AlertSink  # noqa: E402
from collector.alertmanager_model import rfc3339  # noqa: E402
from collector.config import AlertmanagerConfig, CollectorConfig, MqttConfig  # noqa: E402
from tests.support.alertmanager import Alertmanager, AreaFeed, Publisher, Receiver, make_alert  # noqa: E402
from tests.support.procs import Mosquitto  # noqa: E402

P = "meterwatch/v2"
AM_CONFIG = """route:
  receiver: hook
  group_by: [grid, area, alertname]
  group_wait: {gw}
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: '{url}/hook'
        send_resolved: false
"""


def duration_s(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for u in ("ms", "s", "m"):
        if text.endswith(u):
            return float(text[:-len(u)]) * units[u]
    raise ValueError(f"{text!r} is not a duration like 500ms, 1s, 1m")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def thread_cpu_s(threads: list[threading.Thread]) -> float:
    return sum(time.clock_gettime(time.pthread_getcpuclockid(t.ident)) for t in threads if t.ident and t.is_alive())


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def received_at(rec: Receiver, prefix: str) -> dict[str, float]:
    """alert_id -> wall clock of the first webhook notification naming it."""
    out: dict[str, float] = {}
    for n in rec.of("/hook"):
        for a in n.body["alerts"]:
            aid = a["labels"]["alert_id"]
            if aid.startswith(prefix):
                out.setdefault(aid, n.received)
    return out


def wait_all(rec: Receiver, prefix: str, n: int, timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while len(got := received_at(rec, prefix)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    if len(got) < n:
        raise SystemExit(f"only {len(got)} of {n} alerts reached the webhook within {timeout_s} s")
    return got


def via_sink(pub: Publisher, rec: Receiver, tag: str, n: int, rate: float, gw: float) -> list[float]:
    """Latency (ms) of n alerts, each in its own area: publish -> webhook, minus group_wait."""
    sent: dict[str, float] = {}
    for i in range(n):
        area = f"{tag}{i:04d}"
        feed = AreaFeed(gateway="gw-bench", grid="bench", area=area, prefix=P)
        a = make_alert(raised=time.time(), area=area)
        sent[a.alert_id] = pub.send(*feed.alert(a))
        time.sleep(1.0 / rate)
    got = wait_all(rec, tag, n, 30 + gw)
    return [(got[k] - t - gw) * 1000 for k, t in sent.items()]


def direct(am: Alertmanager, rec: Receiver, tag: str, n: int, rate: float, gw: float) -> list[float]:
    """The peer: the same alerts posted straight to Alertmanager's API v2."""
    sent: dict[str, float] = {}
    for i in range(n):
        aid = f"{tag}{i:04d}"
        now = time.time()
        sent[aid] = now
        am.api("POST", "/api/v2/alerts", [{"labels": {"alertname": "overload", "grid": "bench", "area": aid,
                                                      "alert_id": aid}, "startsAt": rfc3339(now),
                                           "endsAt": rfc3339(now + 300)}])
        time.sleep(1.0 / rate)
    got = wait_all(rec, tag, n, 30 + gw)
    return [(got[k] - t - gw) * 1000 for k, t in sent.items()]


def burst(sink: AlertSink, pub: Publisher, am: Alertmanager, tag: str, n: int) -> tuple[float, float, float]:
    """events/s, sink CPU µs/event, alertmanager CPU µs/event for n events (raise + clear pairs)."""
    feed = AreaFeed(gateway="gw-bench", grid="bench", area=tag, prefix=P)
    now = time.time()
    msgs = []
    for i in range(n // 2):
        a = make_alert(kind="meter_offline", stype="meter", sid=f"M{i:05d}", severity="warning", value=None,
                       threshold=None, unit="", raised=now - 60, area=tag)
        msgs += [feed.alert(a), feed.alert(make_alert("cleared", kind="meter_offline", stype="meter", sid=f"M{i:05d}",
                                                    severity="warning", value=None, threshold=None, unit="",
                                                    raised=now - 60, ts=now - 30, area=tag))]
    assert am.proc is not None
    # the sink's thread and its MQTT connection's (the only collector subscriber in this process)
    threads = [t for t in threading.enumerate() if t.name in ("alertmanager-sink", "collector-mqtt")]
    assert len(threads) == 2, [t.name for t in threading.enumerate()]
    before = sink.snapshot()["counters"].get("acked", 0)
    cpu0, am0, t0 = thread_cpu_s(threads), proc_cpu_s(am.proc.pid), time.monotonic()
    infos = [pub.client.publish(topic, json.dumps(m).encode(), qos=1) for topic, m in msgs]
    for info in infos:
        info.wait_for_publish(60)
    deadline = time.monotonic() + 300
    while sink.snapshot()["counters"].get("acked", 0) - before < len(msgs) and time.monotonic() < deadline:
        time.sleep(0.01)
    wall = time.monotonic() - t0
    cpu, am_cpu = thread_cpu_s(threads) - cpu0, proc_cpu_s(am.proc.pid) - am0
    return len(msgs) / wall, cpu / len(msgs) * 1e6, am_cpu / len(msgs) * 1e6


def one_run(tmp: Path, args: argparse.Namespace, run: int) -> dict[str, float]:
    gw = duration_s(args.group_wait)
    with Mosquitto.running(tmp / "mosquitto") as mosq, Receiver.running() as rec, \
            Alertmanager.running(tmp / "am", AM_CONFIG.format(gw=args.group_wait, url=rec.url)) as am:
        cfg = CollectorConfig(mqtt=MqttConfig(url=mosq.url, client_id=f"bench-{run}", receive_maximum=10000),
                              alertmanager=AlertmanagerConfig(url=am.url, settle_s=0.2, min_firing_s=0.01,
                                                              receive_maximum=10000, resend_interval_s=120.0,
                                                              expire_after_s=600.0))
        sink = AlertSink(cfg)
        sink.start()
        while sink.snapshot()["phase"] != "running":
            time.sleep(0.05)
        pub = Publisher(mosq.port, client_id=f"bench-gw-{run}")
        try:
            lat = via_sink(pub, rec, f"S{run}-", args.alerts, args.rate, gw)
            peer = direct(am, rec, f"D{run}-", args.alerts, args.rate, gw)
            events_s, cpu_us, am_us = burst(sink, pub, am, f"B{run}", args.burst)
        finally:
            pub.close()
            sink.stop()
    return {"latency_p50_ms": pct(lat, 0.5), "latency_p99_ms": pct(lat, 0.99),
            "direct_latency_p50_ms": pct(peer, 0.5), "direct_latency_p99_ms": pct(peer, 0.99),
            "sink_added_p50_ms": pct(lat, 0.5) - pct(peer, 0.5), "sink_added_p99_ms": pct(lat, 0.99) - pct(peer, 0.99),
            "burst_events_per_s": events_s, "sink_cpu_us_per_event": cpu_us,
            "alertmanager_cpu_us_per_event": am_us, "ratio_sink_cpu_to_alertmanager": cpu_us / am_us if am_us else float("nan")}   # /proc ticks are 10 ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--alerts", type=int, default=200, help="alerts per latency measurement")
    ap.add_argument("--rate", type=float, default=20.0, help="alerts per second published")
    ap.add_argument("--burst", type=int, default=2000, help="events in the cost measurement")
    ap.add_argument("--group-wait", default="1s", help="Alertmanager group_wait (subtracted from the latency)")
    args = ap.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-alerting-") as d:
        for r in range(args.runs):
            runs.append(one_run(Path(d) / f"run{r}", args, r))
    print(f"runs: {args.runs}; alerts per latency run: {args.alerts} at {args.rate:g}/s; group_wait: {args.group_wait}; "
          f"burst: {args.burst} events; cpus: {os.cpu_count()}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        med = statistics.median(values)
        print(f"{key}: {med:.3f}" + (f"   (runs: {', '.join(f'{v:.3f}' for v in values)})" if len(values) > 1 else ""))
    print(f"goal_latency_p99_ms: 1000   ratio_to_goal: {statistics.median(r['latency_p99_ms'] for r in runs) / 1000:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
