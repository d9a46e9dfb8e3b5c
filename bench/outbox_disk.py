"""The outbox's disk budget under a broker outage, and what keeping it costs.

    .venv/bin/python bench/outbox_disk.py [--dir DIR] [--meters 200] [--budgets-mb 1,8] [--repeat 3]

A broker outage is an outbox nobody drains. The stream is what a gateway with ``--meters`` meters
produces (sizes from the real serialisers and engine: realtime ~0.9 KB every 5 s, health ~2 KB a
minute, interval summary and meters/interval every 15 min, an alert with its area state now and
then), submitted back to back through ``OutboxStore`` (writer thread, budget, ballast, state files)
until three budgets' worth has gone in. After every submit the files are measured with ``stat``.
Prints, per budget B (MiB):
- disk_B_peak_ratio: peak bytes of the SQLite files plus the ballast / the budget (the bound: ≤ 1.1);
- disk_B_sqlite_peak_ratio: the SQLite files alone (database, WAL, index) / the budget;
- disk_B_dropped_summaries / _dropped_alerts: what the drop policy removed (alerts: 0);
- disk_B_put_p50_ms / _p99_ms: one durable submit (synchronous=FULL) while the budget is being kept
  (drops, checkpoints every half WAL reserve, ballast resizing), and put_p50_ratio_to_fsync, the
  ratio to the physical floor: append ~0.9 KB + fsync, timed between the submits of the same run
  (this VM's fsync swings between 0.2 and 4 ms from one minute to the next);
- disk_B_put_p50_ratio_to_unbounded: to the same submits, interleaved one by one, into a 256 MiB
  outbox that never fills (no drops, a checkpoint every 4 MiB of log): what keeping the budget costs;
- disk_B_scheduled_checkpoint_ms: one scheduled checkpoint (every 30 s while healthy) at the end of
  the run; SQLite's own autocheckpoints (every half WAL reserve) run inside commits: in put_p99;
- state_bytes: the area's state files (two slots, outside the outbox budget).
Medians over --repeat runs. Run it on the gateway's own filesystem (--dir) for its fsync figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.publish.budget import outbox_disk_bytes
from edge.publish.statefiles import StateFiles
from edge.publish.store import OutboxStore
from wire import Outgoing

P = "meterwatch/v2/gw/bench/A01"


def stream(meters: int, seed: int = 1) -> list[tuple[str, dict[str, Any], str, dict[str, bytes] | None]]:
    """One simulated day of output at a 5 s master cadence: (topic, payload, kind, state)."""
    rnd = __import__("random").Random(seed)
    state_size = 43_000 + 75 * meters          # measured: 43 KB for 3 meters, 189 KB for 2000
    out: list[tuple[str, dict[str, Any], str, dict[str, bytes] | None]] = []
    for k in range(86400 // 5):
        t = k * 5
        out.append((f"{P}/summary/realtime", {"schema": "meterwatch.realtime/2", "t": t,
                                              "fields": [round(rnd.random(), 4) for _ in range(60)]}, "realtime", None))
        if t % 60 == 0:
            out.append(("meterwatch/v2/gw/health", {"schema": "meterwatch.health/2", "t": t,
                                                            "x": "h" * 1900}, "health", None))
        if t % 900 == 0:
            out.append((f"{P}/summary/interval", {"schema": "meterwatch.interval/2", "t": t, "x": "i" * 3000},
                        "interval", None))
            out.append((f"{P}/meters/interval", {"schema": "meterwatch.meters_interval/2", "t": t,
                                                 "e": [round(rnd.random() * 3, 3) for _ in range(meters)],
                                                 "u": [round(220 + rnd.random() * 10, 1) for _ in range(meters)]},
                        "meters_interval", None))
        if t % 1800 == 0:
            blob = os.urandom(state_size)
            out.append((f"{P}/alert", {"schema": "meterwatch.alert/2", "t": t, "x": "a" * 800}, "alert",
                        {"engine:A01": blob}))
    return out


def fsync_once(fh: Any, blob: bytes) -> float:
    t = time.perf_counter()
    fh.write(blob)
    fh.flush()
    os.fsync(fh.fileno())
    return time.perf_counter() - t


async def run_budget(d: Path, budget: int, items: list[tuple[str, dict[str, Any], str, dict[str, bytes] | None]],
                     rounds: float, sync: str = "FULL") -> dict[str, float]:
    """Submit ``items`` into a ``budget`` outbox and, interleaved (so both see the same disk moments),
    into an unbounded reference; an fsync of the floor every 10 items."""
    state_dir = d / f"outage-{time.monotonic_ns()}"
    store = OutboxStore(state_dir / "outbox.sqlite3", gateway="gw", max_bytes=budget, synchronous=sync)
    ref = OutboxStore(d / f"ref-{time.monotonic_ns()}" / "outbox.sqlite3", gateway="gw", max_bytes=256 << 20,
                      synchronous=sync)
    await store.open()
    await ref.open()
    reserve = state_dir / "outbox.sqlite3.reserve"
    peak_all = peak_sqlite = 0
    lat: list[float] = []
    ref_lat: list[float] = []
    floor: list[float] = []
    sent = 0
    fh = open(d / f"fsync-{time.monotonic_ns()}", "ab")  # noqa: SIM115 - closed below
    for i, (topic, payload, kind, state) in enumerate(items):
        for target, into in ((store, lat), (ref, ref_lat))[:: 1 if i % 2 else -1]:
            t = time.perf_counter()
            await target.submit([Outgoing(topic, kind, payload)], state=state)
            into.append(time.perf_counter() - t)
        if i % 10 == 0:
            floor.append(fsync_once(fh, b"x" * 900))
        sqlite = outbox_disk_bytes(state_dir / "outbox.sqlite3")
        peak_sqlite = max(peak_sqlite, sqlite)
        peak_all = max(peak_all, sqlite + (os.stat(reserve).st_blocks * 512 if reserve.exists() else 0))
        sent += len(json.dumps(payload))
        if sent > rounds * budget:
            break
    st = store.stats()
    for topic, payload, kind, _ in items[:20]:          # a little in the log, as between two schedules
        await store.submit([Outgoing(topic, kind, payload)])
    t = time.perf_counter()
    await store._run(store._writer.maintain)
    ckpt_ms = (time.perf_counter() - t) * 1e3
    await store.close()
    await ref.close()
    fh.close()
    p50, ref_p50 = statistics.median(lat), statistics.median(ref_lat)
    return {"peak_ratio": peak_all / budget, "sqlite_peak_ratio": peak_sqlite / budget,
            "dropped_summaries": st.dropped_summaries, "dropped_alerts": st.dropped_alerts,
            "put_p50_ms": p50 * 1e3, "put_p99_ms": sorted(lat)[int(len(lat) * 0.99)] * 1e3,
            "fsync_p50_ms": statistics.median(floor) * 1e3, "vs_unbounded": p50 / ref_p50,
            "puts": len(lat), "scheduled_checkpoint_ms": ckpt_ms,
            "state_bytes": StateFiles(state_dir / "state").bytes_on_disk()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="where the outbox files go (default: a temp dir in .)")
    ap.add_argument("--meters", type=int, default=200)
    ap.add_argument("--budgets-mb", default="1,8")
    ap.add_argument("--rounds", type=float, default=3.0, help="budgets' worth of payload to submit")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL"))
    args = ap.parse_args(argv)
    items = stream(args.meters)
    with ExitStack() as stack:
        d = (args.dir or Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix=".bench-outbox-disk-", dir=".")))).resolve()
        print(f"# outbox dir {d}, {args.meters} meters, broker down (nothing drained)")
        for mb in (float(x) for x in args.budgets_mb.split(",")):
            budget = int(mb * 1024 * 1024)
            runs = [asyncio.run(run_budget(d, budget, items, args.rounds, args.synchronous))
                    for _ in range(args.repeat)]
            tag = f"disk_{mb:g}"
            for key in ("peak_ratio", "sqlite_peak_ratio"):
                print(f"{tag}_{key}: {max(r[key] for r in runs):.3f}")          # worst run, not median
            for key in ("dropped_summaries", "dropped_alerts", "puts"):
                print(f"{tag}_{key}: {statistics.median(r[key] for r in runs):.0f}")
            p50 = statistics.median(r["put_p50_ms"] for r in runs)
            print(f"{tag}_put_p50_ms: {p50:.2f}")
            print(f"{tag}_put_p99_ms: {statistics.median(r['put_p99_ms'] for r in runs):.2f}")
            print(f"{tag}_fsync_p50_ms: {statistics.median(r['fsync_p50_ms'] for r in runs):.2f}")
            ratio = statistics.median(r["put_p50_ms"] / r["fsync_p50_ms"] for r in runs)
            print(f"{tag}_put_p50_ratio_to_fsync: {ratio:.2f}")
            print(f"{tag}_put_p50_ratio_to_unbounded: {statistics.median(r['vs_unbounded'] for r in runs):.2f}")
            print(f"{tag}_scheduled_checkpoint_ms: {statistics.median(r['scheduled_checkpoint_ms'] for r in runs):.2f}")
            print(f"state_bytes: {statistics.median(r['state_bytes'] for r in runs):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
