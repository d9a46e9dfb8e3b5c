"""The central half's capacity model, from figures measured here (docs/capacity.md).

Per area and day, with the daemon's default plans (master every 5 s, meters every 15 min, health every
minute, one area per gateway) and ``--meters`` customers per area, it measures:
  msgs_<kind>, bytes_<kind>, points_<kind>   messages, payload bytes and points per area and day
  decode_us_<kind>        CPU µs to decode one message of that kind (JSON, checks, mapping, line protocol)
  series_influxdb_area, series_vm_area       series one area adds (from collector/schema.py's roles)
  disk_bytes_per_point_vm, disk_bytes_per_point_influxdb   on-disk growth per point over the days after
                          the first of --days (the first day holds the fixed costs)
Then, for 1 000, 10 000 and 100 000 areas: broker messages/s, points/s, collector cores (decode plus the
per-message cost of the MQTT path, ``--overhead-us``, taken from bench/collector.py), series, disk per day.

    .venv/bin/python bench/collector_capacity.py [--meters 100] [--areas 4] [--days 3] [--overhead-us 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collector.decode import Rules, decode_lines  # noqa: E402
from collector.schema import MEASUREMENTS  # noqa: E402
from collector.testing import AreaSpec, area_stream  # noqa: E402
from tests.support.procs import Influx1, VictoriaMetrics  # noqa: E402
from wire.schemas import kind_of  # noqa: E402

PREFIX = "meterwatch/v2"
# Messages per area and day with the default plans: master_realtime every 5 s, intervals every 15 min,
# health every 60 s (one area per gateway), a handful of alert events and active-list changes.
PER_DAY = {"realtime": 86400 // 5, "interval": 96, "meters_interval": 96, "daily": 1, "health": 1440,
           "alert": 20, "alerts_active": 20, "status": 2}
SCALES = (1_000, 10_000, 100_000)


def samples(meters: int) -> dict[str, list[tuple[str, bytes]]]:
    by_kind: dict[str, list[tuple[str, bytes]]] = {}
    for m in area_stream(AreaSpec(meters=meters, intervals=96, realtime_per_interval=4)):
        by_kind.setdefault(kind_of(m.payload).name, []).append((m.topic, m.encode()))
    return by_kind


def per_message(by_kind: dict[str, list[tuple[str, bytes]]], rules: Rules) -> dict[str, tuple[float, float, float]]:
    """kind -> (bytes, points, decode µs) per message."""
    out = {}
    for kind, items in by_kind.items():
        reps = max(1, 2000 // len(items))
        t = time.process_time()
        for _ in range(reps):
            for topic, data in items:
                decode_lines(topic, data, rules)
        us = 1e6 * (time.process_time() - t) / (reps * len(items))
        points = sum(decode_lines(t_, d, rules).points for t_, d in items) / len(items)
        out[kind] = (sum(len(d) for _, d in items) / len(items), points, us)
    return out


def series_per_area(meters: int, server: str) -> int:
    """Series one area (and its gateway) adds: a series per tag set, and on VictoriaMetrics per field."""
    tag_sets = {"realtime": 1, "area_interval": 1, "area_daily": 1, "theft_suspect": 5, "alerts_active": 1,
                "alert": 12, "gateway_status": 1, "gateway_health": 1, "bus_health": 3, "area_engine": 1,
                "collector_gap": 0, "meter_interval": meters}
    total = 0
    for name, m in MEASUREMENTS.items():
        fields = len(m.numbers) + len(m.flags) if server == "victoriametrics" else 1
        total += tag_sets[name] * fields
    return total


def _du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def _post(url: str, body: bytes) -> None:
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=120).read()


def _write_lines(url: str, body: bytes, chunk: int = 4 << 20) -> None:
    start = 0
    while start < len(body):
        end = body.find(b"\n", min(start + chunk, len(body) - 1)) + 1 or len(body)
        _post(url, body[start:end])
        start = end


def _day_bodies(areas: int, day: int, meters: int, server: str, realtime: int) -> tuple[bytes, int]:
    bodies, points = [], 0
    for a in range(areas):
        spec = AreaSpec(area=f"A{a:03d}", gateway=f"gw-{a:04d}", meters=meters, intervals=96, seed=a * 100 + day,
                        realtime_per_interval=realtime, start=AreaSpec().start + timedelta(days=day))
        for m in area_stream(spec, PREFIX):
            dec = decode_lines(m.topic, m.encode(), Rules(prefix=PREFIX, max_bytes=1 << 30, server=server))
            bodies.append(dec.body)
            points += dec.points
    return b"".join(bodies), points


def disk_per_point(areas: int, days: int, meters: int, tmp: Path, realtime: int = 180) -> tuple[float, float, int]:
    """Bytes on disk per point of the days after the first (the first day's size holds the fixed costs:
    index, series files, preallocation): (VictoriaMetrics, InfluxDB 1.6, points measured)."""
    with VictoriaMetrics.running(tmp / "vm") as vm:
        vm_sizes, points = _grow(days, lambda d: _day_bodies(areas, d, meters, "victoriametrics", realtime),
                                 lambda body: _write_lines(f"{vm.url}/write", body), lambda: _vm_size(vm, tmp))
    with Influx1.running(tmp / "influx", extra_data='cache-snapshot-write-cold-duration = "1s"\n'
                         '  compact-full-write-cold-duration = "1s"\n') as inf:
        _post(f"{inf.url}/query", urllib.parse.urlencode({"q": 'CREATE DATABASE "cap"'}).encode())
        influx_sizes, _ = _grow(days, lambda d: _day_bodies(areas, d, meters, "influxdb", realtime),
                                lambda body: _write_lines(f"{inf.url}/write?db=cap", body),
                                lambda: _influx_size(tmp))
    return (vm_sizes[-1] - vm_sizes[0]) / points, (influx_sizes[-1] - influx_sizes[0]) / points, points


def _grow(days: int, body_of: Any, write: Any, size: Any) -> tuple[list[int], int]:
    sizes, points = [], 0
    for d in range(days):
        body, n = body_of(d)
        write(body)
        sizes.append(size())
        if d:
            points += n
    return sizes, points


def _vm_size(vm: VictoriaMetrics, tmp: Path) -> int:
    urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=60).read()
    urllib.request.urlopen(f"{vm.url}/internal/force_merge", timeout=600).read()
    time.sleep(3)
    return _du(tmp / "vm" / "data")


def _influx_size(tmp: Path) -> int:
    """After the cache went to TSM and compactions settled (size unchanged for 3 s)."""
    last, stable = -1, 0
    for _ in range(60):
        time.sleep(1)
        now = _du(tmp / "influx" / "data")
        stable = stable + 1 if now == last else 0
        last = now
        if stable >= 3:
            break
    return last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meters", type=int, default=100, help="customers per area (10 M meters / 100 000 areas)")
    ap.add_argument("--areas", type=int, default=4, help="areas written to measure disk use")
    ap.add_argument("--days", type=int, default=3, help="days written for disk use (the first is not counted)")
    ap.add_argument("--disk-realtime", type=int, default=180,
                    help="realtime messages per 15 min in the disk measurement (180: every 5 s)")
    ap.add_argument("--overhead-us", type=float, default=8.0,
                    help="collector CPU per message beyond decoding (MQTT, batching, acks): "
                         "bench/collector.py us_per_realtime_msg minus decode_us_realtime")
    args = ap.parse_args()
    rules = Rules(prefix=PREFIX, max_bytes=1 << 30, server="victoriametrics")
    per = per_message(samples(args.meters), rules)
    day_msgs = day_bytes = day_points = day_cpu_s = 0.0
    for kind, n in PER_DAY.items():
        size, pts, us = per[kind]
        print(f"msgs_{kind}: {n}  bytes_{kind}: {size:.0f}  points_{kind}: {pts:.1f}  decode_us_{kind}: {us:.1f}")
        day_msgs, day_bytes, day_points = day_msgs + n, day_bytes + n * size, day_points + n * pts
        day_cpu_s += n * (us + args.overhead_us) / 1e6
    print(f"area_msgs_per_day: {day_msgs:.0f}")
    print(f"area_bytes_per_day: {day_bytes:.0f}")
    print(f"area_points_per_day: {day_points:.0f}")
    print(f"area_collector_cpu_s_per_day: {day_cpu_s:.3f}")
    s_influx, s_vm = series_per_area(args.meters, "influxdb"), series_per_area(args.meters, "victoriametrics")
    s_influx_area = series_per_area(0, "influxdb")
    print(f"series_influxdb_area: {s_influx_area} (+{args.meters} per-meter series with per_meter on: {s_influx})")
    print(f"series_vm_area: {s_vm}")
    with tempfile.TemporaryDirectory() as d:
        vm_bpp, influx_bpp, points = disk_per_point(args.areas, args.days, args.meters, Path(d),
                                                    args.disk_realtime)
    print(f"disk_points_written: {points}")
    print(f"disk_bytes_per_point_vm: {vm_bpp:.2f}")
    print(f"disk_bytes_per_point_influxdb: {influx_bpp:.2f}")
    meter_points = PER_DAY["meters_interval"] * per["meters_interval"][1]
    for n in SCALES:
        print(f"areas_{n}: msgs_per_s {n * day_msgs / 86400:.0f}  points_per_s {n * day_points / 86400:.0f}  "
              f"collector_cores {n * day_cpu_s / 86400:.4g}  broker_mb_per_s {n * day_bytes / 86400 / 1e6:.2f}  "
              f"series_influxdb {n * s_influx_area}  series_vm {n * s_vm}  "
              f"disk_gb_per_day_vm {n * day_points * vm_bpp / 1e9:.1f}  "
              f"disk_gb_per_day_influxdb_area_only {n * (day_points - meter_points) * influx_bpp / 1e9:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
