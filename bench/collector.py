"""Collector throughput against real mosquitto + victoria-metrics.

Prints (one ``name: value`` per line, medians of --runs):
  points_per_s_1proc      sustained points/s written and acknowledged by one collector process
  points_per_s_2proc      the same with two processes on one shared subscription
  scaling_ratio_2proc     points_per_s_2proc / points_per_s_1proc (goal >= 1.7)
  decode_points_per_s     the in-process ceiling: JSON + schema + mapping + line protocol, no I/O, one core
  cpu_s_<role>_<n>proc    CPU seconds used during the drain by the collectors, mosquitto, victoria-metrics
  points_per_collector_cpu_s_<n>proc   points per CPU second of collector (what one free core would give)
  tsdb_points_per_s       victoria-metrics ingesting the same line protocol posted directly (the peer limit)
  ratio_1proc_to_decode, ratio_1proc_to_tsdb
  machine_ceiling_points_per_s_2proc   cores / (CPU seconds per point of collectors + broker + TSDB)
  scaling_ceiling_2proc   the best scaling ratio this machine allows (min(2, ceiling / 1-process rate))

Method: victoria-metrics starts with the same areas' series already written (two intervals of the day
before: sustained operation, not the first hour of a deployment); the stream is queued at the broker for
the collectors' persistent sessions while they are offline, then the collectors start and drain it; the
rate is taken from their own health messages (written_points over time) from the first to the last
write, so process start-up is not counted. Collectors run with the defaults except ``max_delay_s = 0.1``
(the last, partial batch of the stream would otherwise wait the default 1 s and be counted as slowness).
The machine may be shared: the figures are medians, and mosquitto, victoria-metrics and the collectors
all run on the same cores unless the machine has a core per collector plus two: then each collector gets
a core of its own and broker and TSDB share the rest (``core_layout`` in the output).

    .venv/bin/python bench/collector.py [--runs 3] [--areas 16] [--meters 500] [--intervals 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where this file's name would shadow the package
# of the same name: put the repository root there instead.
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collector.decode import Rules, decode_lines  # noqa: E402
from collector.testing import AreaSpec, area_stream  # noqa: E402
from tests.collector.harness import (  # noqa: E402
    HEALTH,
    PREFIX,
    CollectorProcess,
    Listener,
    publish_all,
    write_config,
)
from tests.support.procs import Mosquitto, VictoriaMetrics  # noqa: E402

RULES = Rules(prefix=PREFIX, max_bytes=1 << 30, server="victoriametrics")


def stream(areas: int, meters: int, intervals: int, *, days_before: int = 0) -> tuple[list[tuple[str, bytes]], int]:
    """The areas' messages; ``days_before`` shifts the same areas that many days earlier (the warm-up)."""
    items: list[tuple[str, bytes]] = []
    start = AreaSpec().start - timedelta(days=days_before)
    for a in range(areas):
        spec = AreaSpec(area=f"A{a:03d}", gateway=f"gw-{a:04d}", meters=meters, intervals=intervals, seed=a,
                        start=start)
        items.extend((m.topic, m.encode()) for m in area_stream(spec, PREFIX))
    points = sum(decode_lines(t, p, RULES).points for t, p in items)
    return items, points


def decode_rate(items: list[tuple[str, bytes]]) -> float:
    t = time.perf_counter()
    n = 0
    for topic, payload in items:
        n += decode_lines(topic, payload, RULES).points
    return n / (time.perf_counter() - t)


def tsdb_rate(vm: VictoriaMetrics, items: list[tuple[str, bytes]], batch_points: int = 5000) -> float:
    bodies: list[bytes] = []
    cur: list[bytes] = []
    n_cur = 0
    for topic, payload in items:
        d = decode_lines(topic, payload, RULES)
        n, body = d.points, d.body
        cur.append(body)
        n_cur += n
        if n_cur >= batch_points:
            bodies.append(b"".join(cur))
            cur, n_cur = [], 0
    if cur:
        bodies.append(b"".join(cur))
    n = sum(b.count(b"\n") for b in bodies)
    t = time.perf_counter()
    for b in bodies:
        req = urllib.request.Request(f"{vm.url}/api/v2/write?bucket=bench&org=bench", data=b, method="POST")
        urllib.request.urlopen(req, timeout=60).read()
    return n / (time.perf_counter() - t)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_layout(nproc: int) -> tuple[list[int], list[int]] | None:
    """(one core per collector, the rest for broker and database) when the machine has at least one core
    per collector plus two; None: everything shares every core."""
    cores = sorted(os.sched_getaffinity(0))
    return (cores[:nproc], cores[nproc:]) if len(cores) >= nproc + 2 else None


def pin(roles: dict[str, list[int]]) -> None:
    layout = core_layout(len(roles["collectors"]))
    if layout is None:
        return
    own, services = layout
    for pid, core in zip(roles["collectors"], own, strict=True):
        os.sched_setaffinity(pid, {core})
    for pid in roles["mosquitto"] + roles["victoria"]:
        for task in Path(f"/proc/{pid}/task").iterdir():   # every thread (victoria-metrics is multi-threaded)
            os.sched_setaffinity(int(task.name), services)


def drain_rate(tmp: Path, items: list[tuple[str, bytes]], points: int, nproc: int,
               warm: list[tuple[str, bytes]]) -> tuple[float, dict[str, float]]:
    """(points/s, CPU seconds spent per role during the drain)."""
    with Mosquitto.running(tmp / "mq") as mq, VictoriaMetrics.running(tmp / "vm") as vm:
        # Sustained operation: the database already holds these areas' series (from the day before), as
        # it does after the first day of a deployment. Creating ~10^5 new series costs victoria-metrics
        # about twice as much CPU per point as appending to existing ones, and would be counted otherwise.
        tsdb_rate(vm, warm)
        group = "bench" if nproc > 1 else ""
        procs = []
        for i in range(nproc):
            cfg = write_config(tmp / f"c{i}.toml", mqtt_url=mq.url, influx_url=vm.url, client_id=f"bench-{i}",
                               shared_group=group, max_points=5000, max_delay_s=0.1, receive_maximum=10000,
                               health_interval_s=0.1, max_payload_bytes=1 << 26)
            procs.append(CollectorProcess(cfg, tmp / f"c{i}.log"))
        # Create each collector's persistent session and subscription, then take them offline.
        for p in procs:
            p.start()
            p.stop()
        publish_all(mq.url, items)
        health = Listener(mq.url, f"{HEALTH}/#")
        try:
            for p in procs:  # start together: a staggered start would be counted as slowness
                p.spawn()
            for p in procs:
                p.wait_ready()
            roles = {"mosquitto": [mq.proc.pid], "victoria": [vm.proc.pid],  # type: ignore[union-attr]
                     "collectors": [p.proc.pid for p in procs]}  # type: ignore[union-attr]
            pin(roles)
            cpu0: dict[str, float] | None = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                last: dict[str, int] = {}
                for _, h in health.messages:
                    last[h["collector"]] = max(last.get(h["collector"], 0), h["written_points"])
                if cpu0 is None and sum(last.values()) > 0:
                    cpu0 = {r: sum(cpu_s(x) for x in pids) for r, pids in roles.items()}
                if sum(last.values()) >= points:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"collectors wrote {sum(last.values())} of {points} points")
            cpu = {r: sum(cpu_s(x) for x in pids) - (cpu0 or {}).get(r, 0.0) for r, pids in roles.items()}
            msgs = [(h["collector"], h["uptime_s"], h["written_points"], t) for (_, h), t in
                    zip(health.messages, health.arrival_times, strict=True)]
        finally:
            for p in procs:
                p.stop()
            health.close()
        return _rate(msgs, points), cpu


def _rate(msgs: list[tuple[str, float, int, float]], points: int) -> float:
    """points / (time of the last health that completes the stream - time of the first that shows a write)."""
    first = min(t for _, _, wp, t in msgs if wp > 0)
    totals: dict[str, int] = {}
    end = None
    for c, _, wp, t in sorted(msgs, key=lambda m: m[3]):
        totals[c] = wp
        if end is None and sum(totals.values()) >= points:
            end = t
    assert end is not None
    first_batch = min(wp for _, _, wp, _ in msgs if wp > 0)
    return (points - first_batch) / (end - first)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--areas", type=int, default=16)
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--intervals", type=int, default=40)
    args = ap.parse_args()
    items, points = stream(args.areas, args.meters, args.intervals)
    warm, _ = stream(args.areas, args.meters, 2, days_before=1)
    print(f"messages: {len(items)}")
    print(f"points: {points}")
    print(f"bytes: {sum(len(p) for _, p in items)}")
    dec = statistics.median(decode_rate(items) for _ in range(args.runs))
    print(f"decode_points_per_s: {dec:.0f}")
    with tempfile.TemporaryDirectory() as d, VictoriaMetrics.running(Path(d) / "vm") as vm:
        tsdb_rate(vm, warm)     # the same warm-up as the drains get
        tsdb = statistics.median(tsdb_rate(vm, items) for _ in range(args.runs))
    print(f"tsdb_points_per_s: {tsdb:.0f}")
    one, two, cpu1, cpu2 = [], [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            r, c = drain_rate(Path(d), items, points, 1, warm)
            one.append(r)
            cpu1.append(c)
        with tempfile.TemporaryDirectory() as d:
            r, c = drain_rate(Path(d), items, points, 2, warm)
            two.append(r)
            cpu2.append(c)
        print(f"run: 1proc {one[-1]:.0f} pts/s cpu {cpu1[-1]} | 2proc {two[-1]:.0f} pts/s cpu {cpu2[-1]}",
              file=sys.stderr)
    p1, p2 = statistics.median(one), statistics.median(two)
    print(f"points_per_s_1proc: {p1:.0f}")
    print(f"points_per_s_2proc: {p2:.0f}")
    print(f"scaling_ratio_2proc: {p2 / p1:.2f}")
    # CPU view: what one core of collector does, and who else burned the shared cores during the drain.
    for label, runs in (("1proc", cpu1), ("2proc", cpu2)):
        for role in ("collectors", "mosquitto", "victoria"):
            print(f"cpu_s_{role}_{label}: {statistics.median(c[role] for c in runs):.2f}")
        per_core = statistics.median(points / c["collectors"] for c in runs)
        print(f"points_per_collector_cpu_s_{label}: {per_core:.0f}")
    # The machine's ceiling: all cores divided by the CPU every role spends per point (2-process runs).
    # On a machine with fewer cores than collectors + broker + database, this, not the collector, bounds
    # the 2-process rate; the ratio below says how close the collectors come to it.
    ncores = len(os.sched_getaffinity(0))
    cpu_per_point = statistics.median(sum(c.values()) / points for c in cpu2)
    ceiling = ncores / cpu_per_point
    print(f"cores: {ncores}")
    layout = core_layout(2)
    print("core_layout: " + ("shared (every process on every core)" if layout is None else
                             f"collectors {layout[0]}, broker+tsdb {layout[1]}"))
    print(f"machine_ceiling_points_per_s_2proc: {ceiling:.0f}")
    print(f"scaling_ceiling_2proc: {min(2.0, ceiling / p1):.2f}")
    print(f"points_per_s_2proc_to_machine_ceiling: {p2 / ceiling:.2f}")
    print(f"ratio_1proc_to_decode: {p1 / dec:.2f}")
    print(f"ratio_1proc_to_tsdb: {p1 / tsdb:.2f}")
    print(f"runs: {args.runs} (medians; 2-core machine shared with other jobs, broker and TSDB on the same cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
