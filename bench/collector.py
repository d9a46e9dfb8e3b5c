"""Collector cost per message and throughput, against real mosquitto + victoria-metrics.

Prints (one ``name: value`` per line, medians of --runs):
  us_per_realtime_msg     CPU µs of the collector process per realtime message (network thread, decoding,
                          writes), draining a stream of realtime messages only (goal <= 40)
  realtime_msgs_per_s_per_core        1e6 / us_per_realtime_msg
  ratio_to_baseline_per_core          that rate against main before issue 22 (101 µs per message)
  points_per_s_1proc      sustained points/s written and acknowledged by one collector process (mixed stream)
  points_per_s_2proc      the same with two processes on one shared subscription
  scaling_ratio_2proc     points_per_s_2proc / points_per_s_1proc
  points_per_collector_cpu_s_<n>proc  points per CPU second of collector: points/s per core
  us_per_msg_<n>proc      collector CPU µs per message of the mixed stream
  cpu_s_<role>_<n>proc    CPU seconds used during the drain by the collectors, mosquitto, victoria-metrics
  decode_points_per_s     the in-process ceiling: JSON + schema + mapping + line protocol, no I/O, one core
  tsdb_points_per_s       victoria-metrics ingesting the same line protocol posted directly (the peer limit)
  machine_ceiling_points_per_s_2proc  cores / (CPU seconds per point of collectors + broker + TSDB)
  points_per_s_2proc_to_machine_ceiling  how close two collectors come to what the machine allows (goal >= 0.9)
  loadavg_1min            the 1-minute load average when the drains started (median): > ~0.5 means other jobs
                          shared the cores and the ratio above is low for that reason
With ``--baseline REV`` the 2-process drain also runs with the collectors of that git revision (e.g.
``main``), interleaved with ours run by run under the same conditions, and adds:
  points_per_s_2proc_baseline, points_per_s_2proc_to_machine_ceiling_baseline   the same figures for it
  ab_points_per_s_2proc   median over runs of ours / baseline (each pair measured back to back)
  ab_ratio_to_ceiling     the same for points_per_s_2proc_to_machine_ceiling

Method: victoria-metrics starts with the same areas' series already written (two intervals of the day
before: sustained operation, not the first hour of a deployment); the stream is queued at the broker for
the collectors' persistent sessions while they are offline, then the collectors start and drain it; rates
and CPU are taken from the first write to the last (from the collectors' own health messages), so process
start-up is not counted. ``us_per_realtime_msg`` is taken differently: the realtime stream is published
only once the collector has subscribed and its start-up CPU is read, and the figure is the CPU it spends
from there to the last write (a queued stream starts draining before readiness can be seen). Collectors run with the defaults except ``max_delay_s = 0.1`` and
``server = "victoriametrics"``, ``per_meter = "on"``. The machine may be shared: the figures are medians,
and mosquitto, victoria-metrics and the collectors all run on the same cores unless the machine has a core
per collector plus two (``core_layout`` in the output).

    .venv/bin/python bench/collector.py [--runs 3] [--areas 16] [--meters 500] [--intervals 40] [--realtime 20000]
                                        [--baseline main]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
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


@dataclass
class Drain:
    points_per_s: float
    cpu: dict[str, float]       # CPU seconds per role from the first write to the end
    collector_cpu_s: float      # CPU seconds of the collectors for the whole stream, start-up subtracted
    loadavg: float              # 1-minute load average when the collectors started


def _health_rows(health: Listener) -> list[tuple[str, int, int, float]]:
    return [(h["collector"], h["written_points"], h["received"], t)
            for (_, h), t in zip(health.messages, health.arrival_times, strict=True)]


def _start(tmp: Path, mq: Mosquitto, vm: VictoriaMetrics, nproc: int,
           src: Path = ROOT) -> list[CollectorProcess]:
    """The collectors (run from the source tree ``src``) with their persistent sessions made and stopped."""
    group = "bench" if nproc > 1 else ""
    procs = []
    for i in range(nproc):
        cfg = write_config(tmp / f"c{i}.toml", mqtt_url=mq.url, influx_url=vm.url, client_id=f"bench-{i}",
                           shared_group=group, max_points=5000, max_delay_s=0.1, receive_maximum=10000,
                           health_interval_s=0.05, max_payload_bytes=1 << 26)
        procs.append(CollectorProcess(cfg, tmp / f"c{i}.log", src))
    for p in procs:         # create each collector's persistent session and subscription, then stop
        p.start()
        p.stop()
    return procs


def drain(tmp: Path, items: list[tuple[str, bytes]], points: int, nproc: int,
          warm: list[tuple[str, bytes]], *, timed: bool = True, live: bool = False, src: Path = ROOT) -> Drain:
    """Drain ``items`` (queued at the broker) with ``nproc`` collectors run from ``src``; ``timed``: also
    the rate. ``live``: publish ``items`` only once the collectors are up and their start-up CPU is read, so
    that none of the stream's cost is counted as start-up (a queued stream starts to drain the moment a
    collector subscribes, before its readiness is seen: 3 000 queued messages were all written in that gap
    and the cost per message came out as 0, CI on the check machine)."""
    with Mosquitto.running(tmp / "mq") as mq, VictoriaMetrics.running(tmp / "vm") as vm:
        # Sustained operation: the database already holds these areas' series (from the day before).
        # Creating ~10^5 new series costs victoria-metrics about twice as much CPU per point.
        tsdb_rate(vm, warm)
        procs = _start(tmp, mq, vm, nproc, src)
        if not live:
            publish_all(mq.url, items)
        health = Listener(mq.url, f"{HEALTH}/#")
        try:
            load = os.getloadavg()[0]
            for p in procs:  # start together: a staggered start would be counted as slowness
                p.spawn()
            for p in procs:
                p.wait_ready()
            roles = {"mosquitto": [mq.proc.pid], "victoria": [vm.proc.pid],  # type: ignore[union-attr]
                     "collectors": [p.proc.pid for p in procs]}  # type: ignore[union-attr]
            # these processes' own start-up (imports, connect, subscribe), not the session-making run's
            # before: that one also compiles the sources of a fresh tree, and subtracted from a small
            # drain it made the cost per message negative (-3.3 µs, CI on a fresh clone)
            startup = sum(cpu_s(x) for x in roles["collectors"])
            pin(roles)
            if live:
                publish_all(mq.url, items)
            cpu0 = _wait_drained(health, roles, points)
            end = {r: sum(cpu_s(x) for x in pids) for r, pids in roles.items()}
            rows = _health_rows(health)
        finally:
            for p in procs:
                p.stop()
            health.close()
        cpu = {r: end[r] - cpu0[r] for r in roles}
        return Drain(_rate(rows, points) if timed else 0.0, cpu, end["collectors"] - startup, load)


def _wait_drained(health: Listener, roles: dict[str, list[int]], points: int) -> dict[str, float]:
    """CPU seconds per role when the first write showed up; returns when every point is written."""
    cpu0: dict[str, float] | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        written: dict[str, int] = {}
        for c, wp, _, _ in _health_rows(health):
            written[c] = max(written.get(c, 0), wp)
        if cpu0 is None and sum(written.values()) > 0:
            cpu0 = {r: sum(cpu_s(x) for x in pids) for r, pids in roles.items()}
        if sum(written.values()) >= points:
            assert cpu0 is not None
            return cpu0
        time.sleep(0.02)
    raise RuntimeError(f"collectors wrote {sum(written.values())} of {points} points")


def _rate(rows: list[tuple[str, int, int, float]], points: int) -> float:
    """points / (time of the last health that completes the stream - time of the first that shows a write)."""
    first = min(t for _, wp, _, t in rows if wp > 0)
    totals: dict[str, int] = {}
    end = None
    for c, wp, _, t in sorted(rows, key=lambda r: r[3]):
        totals[c] = wp
        if end is None and sum(totals.values()) >= points:
            end = t
    assert end is not None
    if end - first < 0.2:
        raise SystemExit(f"the stream drained in {end - first:.2f} s: too small to time (raise --areas/--realtime)")
    first_batch = min(wp for _, wp, _, _ in rows if wp > 0)
    return (points - first_batch) / (end - first)


def realtime_stream(n: int) -> tuple[list[tuple[str, bytes]], int]:
    """``n`` realtime messages spread over 40 areas (as a TTU polled every minute sends them)."""
    items: list[tuple[str, bytes]] = []
    per_area = max(1, n // 40)
    for a in range(40):
        spec = AreaSpec(area=f"A{a:03d}", gateway=f"gw-{a:04d}", meters=1, seed=a,
                        intervals=max(1, per_area // 5), realtime_per_interval=5)
        items.extend((m.topic, m.encode()) for m in area_stream(spec, PREFIX)
                     if m.payload["schema"] == "meterwatch.realtime/2")
    return items, sum(decode_lines(t, p, RULES).points for t, p in items)


BASELINE_US_PER_MSG = 101.0   # main before issue 22: paho-mqtt, json, jsonschema-subset checker (the issue)


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def per_message(args: argparse.Namespace) -> None:
    items, points = realtime_stream(args.realtime)
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            runs.append(drain(Path(d), items, points, 1, items[:40], timed=False, live=True))
    us = _median([1e6 * r.collector_cpu_s / len(items) for r in runs])
    print(f"realtime_messages: {len(items)}")
    print(f"us_per_realtime_msg: {us:.1f}")
    print(f"realtime_msgs_per_s_per_core: {1e6 / us:.0f}")
    print(f"ratio_to_baseline_per_core: {BASELINE_US_PER_MSG / us:.2f}")


def baseline_tree(rev: str, into: Path) -> Path:
    """The repository at git revision ``rev`` (``git archive``), unpacked into ``into``."""
    tar = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(tar), rev], check=True)
    src = into / "src"
    src.mkdir()
    subprocess.run(["tar", "-xf", str(tar), "-C", str(src)], check=True)
    return src


def ceiling_of(runs: list[Drain], points: int) -> float:
    """The machine's ceiling: all cores divided by the CPU every role spends per point (medians). On a
    machine with fewer cores than collectors + broker + database, this, not the collector, bounds the
    2-process rate; the rate's ratio to it says how much of the machine the pipeline leaves idle."""
    ncores = len(os.sched_getaffinity(0))
    return ncores / _median([(r.collector_cpu_s + r.cpu["mosquitto"] + r.cpu["victoria"]) / points for r in runs])


def _drains(args: argparse.Namespace, items: list[tuple[str, bytes]], points: int,
            warm: list[tuple[str, bytes]], base: Path | None) -> dict[str, list[Drain]]:
    """Runs of 1 and 2 processes (and 2 of the baseline), interleaved so each sees the same conditions."""
    plan = [("1", 1, ROOT), ("2", 2, ROOT)] + ([("2base", 2, base)] if base is not None else [])
    out: dict[str, list[Drain]] = {name: [] for name, _, _ in plan}
    for _ in range(args.runs):
        for name, n, src in plan:
            with tempfile.TemporaryDirectory() as d:
                out[name].append(drain(Path(d), items, points, n, warm, src=src))
        print("run: " + " | ".join(f"{name}proc {out[name][-1].points_per_s:.0f} pts/s" for name, _, _ in plan)
              + f" | load {out['2'][-1].loadavg:.2f}", file=sys.stderr)
    return out


def _print_baseline(ours: list[Drain], base: list[Drain], points: int) -> None:
    pb = _median([r.points_per_s for r in base])
    print(f"points_per_s_2proc_baseline: {pb:.0f}")
    print(f"points_per_s_2proc_to_machine_ceiling_baseline: {pb / ceiling_of(base, points):.2f}")
    pairs = list(zip(ours, base, strict=True))
    print(f"ab_points_per_s_2proc: {_median([a.points_per_s / b.points_per_s for a, b in pairs]):.2f}")
    ratio = _median([(a.points_per_s / ceiling_of([a], points)) / (b.points_per_s / ceiling_of([b], points))
                     for a, b in pairs])
    print(f"ab_ratio_to_ceiling: {ratio:.2f}")


def throughput(args: argparse.Namespace, base: Path | None = None) -> None:
    items, points = stream(args.areas, args.meters, args.intervals)
    warm, _ = stream(args.areas, args.meters, 2, days_before=1)
    print(f"messages: {len(items)}")
    print(f"points: {points}")
    print(f"bytes: {sum(len(p) for _, p in items)}")
    dec = _median([decode_rate(items) for _ in range(args.runs)])
    print(f"decode_points_per_s: {dec:.0f}")
    with tempfile.TemporaryDirectory() as d, VictoriaMetrics.running(Path(d) / "vm") as vm:
        tsdb_rate(vm, warm)     # the same warm-up as the drains get
        tsdb = _median([tsdb_rate(vm, items) for _ in range(args.runs)])
    print(f"tsdb_points_per_s: {tsdb:.0f}")
    runs = _drains(args, items, points, warm, base)
    p1, p2 = (_median([r.points_per_s for r in runs[n]]) for n in ("1", "2"))
    print(f"points_per_s_1proc: {p1:.0f}")
    print(f"points_per_s_2proc: {p2:.0f}")
    print(f"scaling_ratio_2proc: {p2 / p1:.2f}")
    for n in ("1", "2"):
        for role in ("collectors", "mosquitto", "victoria"):
            print(f"cpu_s_{role}_{n}proc: {_median([r.cpu[role] for r in runs[n]]):.2f}")
        print(f"points_per_collector_cpu_s_{n}proc: {_median([points / r.collector_cpu_s for r in runs[n]]):.0f}")
        print(f"us_per_msg_{n}proc: {_median([1e6 * r.collector_cpu_s / len(items) for r in runs[n]]):.1f}")
    ceiling = ceiling_of(runs["2"], points)
    layout = core_layout(2)
    print(f"cores: {len(os.sched_getaffinity(0))}")
    print("core_layout: " + ("shared (every process on every core)" if layout is None else
                             f"collectors {layout[0]}, broker+tsdb {layout[1]}"))
    print(f"machine_ceiling_points_per_s_2proc: {ceiling:.0f}")
    print(f"scaling_ceiling_2proc: {min(2.0, ceiling / p1):.2f}")
    print(f"points_per_s_2proc_to_machine_ceiling: {p2 / ceiling:.2f}")
    print(f"loadavg_1min: {_median([r.loadavg for r in runs['1'] + runs['2']]):.2f}")
    if "2base" in runs:
        _print_baseline(runs["2"], runs["2base"], points)
    print(f"ratio_1proc_to_decode: {p1 / dec:.2f}")
    print(f"ratio_1proc_to_tsdb: {p1 / tsdb:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--areas", type=int, default=16)
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--intervals", type=int, default=40)
    ap.add_argument("--realtime", type=int, default=20000, help="realtime messages for us_per_realtime_msg")
    ap.add_argument("--baseline", metavar="REV", help="also drain with the collectors of this git revision (A/B)")
    args = ap.parse_args()
    per_message(args)
    with tempfile.TemporaryDirectory() as d:
        throughput(args, baseline_tree(args.baseline, Path(d)) if args.baseline else None)
    print(f"runs: {args.runs} (medians; machine shared with other jobs unless said otherwise)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
