"""What the gateway's own view costs: the daemon with the status page and /metrics in use vs off.

    .venv/bin/python bench/gateway_view.py [--meters 500] [--buses 2] [--window-s 180]

Two real daemons (``python -m edge.cli run``) run side by side, each polling its own simulated area
served in this process (tests/edge/service/harness.py: DL/T 645 meters on loopback converters at
2400 baud, a Modbus TCP TTU; master every second, meters every 900 s: the first meter round runs
through the window, every bus reading back to back), both publishing to one private
mosquitto, both from one warm numba cache:

- **off**: ``[status]`` as shipped (no page; the control socket is there and idle);
- **on**: the page on 127.0.0.1 with a token, an open page (a client reading ``/api/events``, pushed
  every 2 s: the whole status document with every device), ``/metrics`` scraped every ``--scrape-s``
  seconds and ``meterwatch status``'s request every 10 s.

Over ``--window-s`` after both are warm, per daemon: CPU (user+system of the process, % of one
core), RSS (median of samples every 5 s, and the peak VmHWM), and the engine loop's tick time p50/p99
(from each daemon's own status document at the end). Printed side by side with the ratios the goals
are about (CPU on/off ≤ 1.05, RSS on − off ≤ 10 MB), and what the clients received. Both daemons share
a machine with whatever else runs on it: compare the two columns of one run, not runs. Then the cost of
one request, which noise affects less than a 5 % difference of two small rates: ``--burst`` scrapes and
status requests back to back against the "on" daemon, its CPU time per request (less its idle rate), and
what that makes at the page's and a scraper's rates as a share of the daemon's own CPU.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from edge.status.client import ControlClient  # noqa: E402
from tests.edge.service.harness import served_area  # noqa: E402
from tests.support.procs import Mosquitto, free_port  # noqa: E402

TOKEN = "bench-token"


@dataclass
class Side:
    name: str
    proc: subprocess.Popen[bytes]
    socket: str
    log: Path
    rss: list[float] = field(default_factory=list)
    cpu0: float = 0.0
    cpu1: float = 0.0
    hwm: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)


def proc_figures(pid: int) -> tuple[float, float, float]:
    """(cpu seconds user+system, VmRSS MB, VmHWM MB) of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return cpu, int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def start(config: Path, log: Path, cache: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1", "MW_LOCK_DIR": str(log.parent / "locks")}
    env.pop("NOTIFY_SOCKET", None)
    with open(log, "ab") as f:
        return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "-c", str(config)], cwd=ROOT, env=env,
                                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_log(proc: subprocess.Popen[bytes], log: Path, needle: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while needle not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise SystemExit(f"bench: the daemon exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: no {needle!r} in {log} after {timeout_s} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


class Clients:
    """An open page (server-sent events), a Prometheus scraper and a `meterwatch status` user."""

    def __init__(self, port: int, socket: str, scrape_s: float) -> None:
        self.port, self.socket, self.scrape_s = port, socket, scrape_s
        self.auth = {"Authorization": "Basic " + base64.b64encode(f"bench:{TOKEN}".encode()).decode()}
        self.events = self.event_bytes = self.scrapes = self.scrape_bytes = self.statuses = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._page, self._scrape, self._status)]

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def _page(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/api/events", headers=self.auth)
        resp = conn.getresponse()
        while not self.stop.is_set():
            line = resp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                self.events += 1
                self.event_bytes += len(line)
        conn.close()

    def _scrape(self) -> None:
        while not self.stop.wait(self.scrape_s):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/metrics", headers=self.auth)
            self.scrape_bytes += len(conn.getresponse().read())
            self.scrapes += 1
            conn.close()

    def _status(self) -> None:
        while not self.stop.wait(10.0):
            ControlClient(socket_path=self.socket).request("GET", "/api/status")
            self.statuses += 1


def measure(sides: list[Side], seconds: float) -> float:
    for s in sides:
        s.cpu0 = proc_figures(s.proc.pid)[0]
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(min(5.0, max(seconds - (time.monotonic() - t0), 0.1)))
        for s in sides:
            s.rss.append(proc_figures(s.proc.pid)[1])
    wall = time.monotonic() - t0
    for s in sides:
        s.cpu1, _, s.hwm = proc_figures(s.proc.pid)
        s.status = ControlClient(socket_path=s.socket).request("GET", "/api/status?devices=0")
    return wall


def burst(side: Side, port: int, path: str, n: int, idle_cpu_s_per_s: float) -> float:
    """CPU milliseconds the daemon spends per request of ``path``: ``n`` requests back to back, minus
    what it would have used meanwhile anyway (``idle_cpu_s_per_s``, the off daemon's rate)."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"bench:{TOKEN}".encode()).decode()}
    cpu0, t0 = proc_figures(side.proc.pid)[0], time.monotonic()
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=auth)
        conn.getresponse().read()
        conn.close()
    cpu1, dt = proc_figures(side.proc.pid)[0], time.monotonic() - t0
    return 1000.0 * max(cpu1 - cpu0 - idle_cpu_s_per_s * dt, 0.0) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=500, help="meters per area (default 500)")
    ap.add_argument("--buses", type=int, default=2, help="meter buses per area (default 2)")
    ap.add_argument("--window-s", type=float, default=180.0)
    ap.add_argument("--warmup-s", type=float, default=15.0, help="after both are ready, before measuring")
    ap.add_argument("--scrape-s", type=float, default=5.0, help="/metrics scrape period (default 5 s)")
    ap.add_argument("--same", action="store_true",
                    help="A/A run: the second daemon's page is on but nobody opens it or scrapes it (how far two "
                         "equal daemons differ on this machine)")
    ap.add_argument("--burst", type=int, default=200, help="requests per path when measuring the cost of one")
    ap.add_argument("--numba-cache", help="NUMBA_CACHE_DIR to use (default: a new one, filled by the first start)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # stop the daemons on the way out
    with tempfile.TemporaryDirectory(prefix="bench-view-") as d, ExitStack() as stack:
        tmp = Path(d)
        cache = Path(args.numba_cache) if args.numba_cache else tmp / "numba-cache"
        cache.mkdir(parents=True, exist_ok=True)
        (tmp / "token").write_text(TOKEN)
        broker = stack.enter_context(Mosquitto.running(tmp / "mosquitto"))
        port = free_port()
        sides: list[Side] = []
        for name in ("off", "on"):
            area = stack.enter_context(served_area(tmp / name, broker.url, n_meters=args.meters, n_buses=args.buses,
                                                   baud=2400))
            area.write_config(master_s=1, meter_s=900, health_s=60, snapshot_s=300)
            if name == "on":
                with open(area.config, "a", encoding="utf-8") as fh:
                    fh.write(f'\n[status]\nlisten = "127.0.0.1:{port}"\ntoken_file = "{tmp / "token"}"\n')
            log = tmp / f"{name}.log"
            proc = start(area.config, log, cache)
            stack.callback(_stop, proc)
            wait_log(proc, log, "kernels ready", 600)      # one at a time: the first fills the numba cache
            sides.append(Side(name=name, proc=proc, socket=str(area.state_dir / "control.sock"), log=log))
        time.sleep(args.warmup_s)
        clients = Clients(port, sides[1].socket, args.scrape_s)
        with contextlib.nullcontext() if args.same else clients:
            time.sleep(1.0)
            wall = measure(sides, args.window_s)
        idle = (sides[0].cpu1 - sides[0].cpu0) / wall
        costs = {path: burst(sides[1], port, path, args.burst, idle)
                 for path in ("/metrics", "/api/status?devices=0", "/api/status")}
        report(args, sides, wall, clients, costs)
    return 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def report(args: argparse.Namespace, sides: list[Side], wall: float, c: Clients, costs: dict[str, float]) -> None:
    off, on = sides
    cpu = {s.name: 100.0 * (s.cpu1 - s.cpu0) / wall for s in sides}
    rss = {s.name: statistics.median(s.rss) for s in sides}
    eng = {s.name: s.status["engine"] for s in sides}
    print(f"meters: {args.meters}  # per daemon: {args.buses} buses at 2400 baud, meters every 900 s, master every 1 s")
    print(f"window_s: {wall:.0f}")
    print(f"page_events: {c.events}  # /api/events pushes received (every 2 s), {c.event_bytes // max(c.events, 1)} bytes each")
    print(f"metrics_scrapes: {c.scrapes}  # every {args.scrape_s:g} s, {c.scrape_bytes // max(c.scrapes, 1)} bytes each")
    print(f"status_requests: {c.statuses}")
    print(f"cpu_pct_off: {cpu['off']:.2f}  # of one core")
    print(f"cpu_pct_on: {cpu['on']:.2f}")
    print(f"cpu_ratio_on_off: {cpu['on'] / cpu['off']:.3f}  # goal <= 1.05" if cpu["off"] > 0 else "cpu_ratio_on_off: nan")
    print(f"rss_mb_off: {rss['off']:.1f}  # median of samples every 5 s (peak {off.hwm:.1f})")
    print(f"rss_mb_on: {rss['on']:.1f}  # (peak {on.hwm:.1f})")
    print(f"rss_extra_mb: {rss['on'] - rss['off']:.1f}  # goal <= 10")
    for q in ("p50", "p99"):
        a, b = eng["off"][f"tick_ms_{q}"], eng["on"][f"tick_ms_{q}"]
        print(f"tick_ms_{q}_off: {a}")
        print(f"tick_ms_{q}_on: {b}")
        if a:
            print(f"tick_{q}_ratio_on_off: {b / a:.3f}")
    print(f"ticks_off_on: {eng['off']['ticks']} {eng['on']['ticks']}")
    print(f"cost_ms_per_metrics_scrape: {costs['/metrics']:.2f}  # CPU of the daemon, {args.burst} back to back")
    print(f"cost_ms_per_status_without_devices: {costs['/api/status?devices=0']:.2f}  # about a page push")
    print(f"cost_ms_per_status_with_devices: {costs['/api/status']:.2f}  # meterwatch status")
    push, scrape = costs["/api/status?devices=0"], costs["/metrics"]
    if cpu["off"] > 0:
        for label, scrape_s in (("bench_rates", args.scrape_s), ("scrape_15s", 15.0)):
            extra = 100.0 * (push / 1000 / 2.0 + scrape / 1000 / scrape_s)
            print(f"cost_pct_of_daemon_{label}: {100 * extra / cpu['off']:.1f}  # page pushed every 2 s, /metrics "
                  f"every {scrape_s:g} s, from the per-request costs")


if __name__ == "__main__":
    sys.exit(main())
