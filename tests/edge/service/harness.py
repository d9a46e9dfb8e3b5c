"""A small simulated area served in the test process and the real daemon (``python -m edge.cli run``)
polling it as a subprocess.

``served_area()`` serves a DL/T 645 meter bus (``MeterBus`` on loopback TCP) and a Modbus TCP TTU
(``SimulatedTtu``) whose transformer load the test sets (``ControlledSource.load``), and writes an
``edge.toml`` with fast cadences (master every second, meters every minute). ``Daemon`` starts and
stops the daemon process. ``install_audit()`` adds a trigger to the daemon's outbox database that
records every stored message in the same transaction as the message itself, so "produced" is exactly
what the daemon stored, even across SIGKILLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.modbus.profile import load_profile
from edge.publish.outbox import Outbox
from edge.sim.meterbus import MeterBus, SimMeter
from edge.sim.ttu import SimulatedTtu

RATED_KVA = 100.0
LV_V = 400.0
RATED_A = RATED_KVA * 1000 / (math.sqrt(3) * LV_V)
GATEWAY = "gw-test"
PREFIX = "meterwatch/v2"
REPO = Path(__file__).resolve().parents[3]


class ControlledSource:
    """Master values from ``load`` (share of the rated current, set by the test); steady meters."""

    def __init__(self, n_meters: int) -> None:
        self.load = 0.5
        self.master_silent = False
        self.meters = [f"m{i + 1}" for i in range(n_meters)]
        self.t0 = time.time()
        self.e_master = 10_000.0
        self._e_ts = self.t0

    def values(self, device: str, quantities: Any, now: float) -> dict[str, float]:
        hours = max(0.0, now - self.t0) / 3600.0
        if device == "master":
            if self.master_silent:
                raise LookupError(device)
            amps = self.load * RATED_A
            p_phase = 230.0 * amps * 0.95 / 1000.0
            # the register integrates the power (it never runs backwards when the load drops)
            self.e_master += 3 * p_phase * max(0.0, now - self._e_ts) / 3600.0
            self._e_ts = max(self._e_ts, now)
            table = {"u_a": 230.0, "u_b": 230.0, "u_c": 230.0, "i_a": amps, "i_b": amps, "i_c": amps,
                     "i_n": 2.0, "p": 3 * p_phase, "p_a": p_phase, "p_b": p_phase, "p_c": p_phase,
                     "q": p_phase, "pf": 0.95, "f": 50.0, "e_fwd": self.e_master, "e_rev": 0.0}
        elif device in self.meters:
            table = {"u_a": 228.0, "i_a": 3.0, "i_n": 3.0, "p": 0.65, "pf": 0.95, "e_fwd": 500.0 + 0.65 * hours,
                     "e_rev": 0.0, "e_fwd_daily": 500.0, "sw3": 0.0, "sw7": 0.0}
        else:
            raise LookupError(device)
        return {q: table[q] for q in quantities if q in table}


@dataclass
class ServedArea:
    dir: Path
    source: ControlledSource
    meter_ports: list[str]               # one per meter bus; meters are split in contiguous blocks
    ttu_port: str
    mqtt_url: str
    baud: int = 9600
    ttu: SimulatedTtu | None = None
    buses: list[MeterBus] = field(default_factory=list)
    config: Path = field(init=False)

    def bus_of(self, i: int) -> str:
        return f"rs485-{i * len(self.meter_ports) // len(self.source.meters) + 1}"

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.sqlite3"

    def write_config(self, *, mqtt: str = "", publish: str = "", plans: str = "", detection: str = "",
                     master_s: float = 1, meter_s: float = 60, rated_kva: float = RATED_KVA,
                     health_s: float = 5, snapshot_s: float = 10) -> Path:
        csv = self.dir / "meters.csv"
        csv.write_text("id,address,bus,phase,branch,kind,pv,ct_ratio\n" + "".join(
            f"{m},{i + 1},{self.bus_of(i)},{'ABC'[i % 3]},B{i % 4 + 1},single,false,1\n"
            for i, m in enumerate(self.source.meters)), encoding="utf-8")
        meter_buses = "".join(f"""
[[bus]]
name = "rs485-{k + 1}"
port = "{port}"
protocol = "dlt645"
baud = {self.baud}
parity = "N"
response_delay_s = 0.02
""" for k, port in enumerate(self.meter_ports))
        text = f"""
[gateway]
id = "{GATEWAY}"
grid = "g1"
state_dir = "{self.state_dir}"

[mqtt]
url = "{self.mqtt_url}"
keepalive_s = 5
{mqtt}

[publish]
health_interval_s = {health_s:g}
snapshot_interval_s = {snapshot_s:g}
{publish}

{meter_buses}
[[bus]]
name = "ttu"
port = "{self.ttu_port}"
protocol = "modbus-tcp"
timeout_s = 0.5

[plans.master_realtime]
device_class = "master"
quantities = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "e_fwd", "e_rev"]
interval_s = {master_s:g}
priority = 0

[plans.meter_interval]
device_class = "meter"
quantities = ["e_fwd", "e_rev", "u_a", "i_a", "p", "pf"]
interval_s = {meter_s:g}
priority = 3
{plans}

[detection.load]
overload_pct = 95.0
overload_persist_s = 2
overload_clear_pct = 90.0
overload_clear_persist_s = 2
{detection}

[[area]]
id = "A01"
transformer = {{ rated_kva = {rated_kva:g}, lv_voltage = {LV_V:g} }}
master = {{ bus = "ttu", device_id = 1, profile = "ttu" }}
meters_csv = "{csv}"
"""
        self.config = self.dir / "edge.toml"
        self.config.write_text(text, encoding="utf-8")
        return self.config


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="test ttu")
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextlib.contextmanager
def served_area(tmp: Path, mqtt_url: str, *, n_meters: int = 3, n_buses: int = 1, baud: int = 9600,
                source: ControlledSource | None = None) -> Iterator[ServedArea]:
    """Serve ``n_meters`` DL/T 645 meters on ``n_buses`` meter buses and a Modbus TCP TTU, all on
    loopback TCP (wire time emulated at ``baud``); the ``edge.toml`` is (re)written by
    ``ServedArea.write_config``."""
    source = source or ControlledSource(n_meters)
    n = len(source.meters)
    blocks = [[i for i in range(n) if i * n_buses // n == k] for k in range(n_buses)]
    buses = [MeterBus([SimMeter(address=f"{i + 1:012d}", device=source.meters[i], response_delay_s=0.02)
                       for i in block], source, baud=baud, seed=k) for k, block in enumerate(blocks)]
    ttu = SimulatedTtu(load_profile("ttu"), source, transport="tcp")
    lt = _LoopThread()
    with contextlib.ExitStack() as stack:
        for bus in buses:
            stack.enter_context(bus.serving("tcp://127.0.0.1:0"))
        lt.run(ttu.__aenter__())
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            area = ServedArea(dir=tmp, source=source, meter_ports=[str(b.url) for b in buses],
                              ttu_port=f"tcp://{ttu.host}:{ttu.tcp_port}", mqtt_url=mqtt_url, baud=baud,
                              ttu=ttu, buses=buses)
            area.write_config()
            yield area
        finally:
            lt.run(ttu.__aexit__(None, None, None))
            lt.close()


# -- the outbox audit ---------------------------------------------------------------------------------
def install_audit(outbox_path: Path) -> None:
    """Create the outbox (as the daemon would) with a trigger that logs every stored row in
    ``audit_produced`` within the storing transaction: rolled back together, committed together."""
    Outbox(outbox_path, gateway=GATEWAY).close()
    with contextlib.closing(sqlite3.connect(outbox_path)) as db:
        db.executescript("""
            CREATE TABLE IF NOT EXISTS audit_produced (seq INTEGER NOT NULL, kind TEXT NOT NULL, topic TEXT NOT NULL);
            CREATE TRIGGER IF NOT EXISTS audit_insert AFTER INSERT ON outbox
            BEGIN INSERT INTO audit_produced (seq, kind, topic) VALUES (new.seq, new.kind, new.topic); END;
        """)


def produced(outbox_path: Path) -> list[tuple[int, str, str]]:
    """(seq, kind, topic) of every message the daemon stored, in storing order."""
    with contextlib.closing(sqlite3.connect(outbox_path, timeout=10)) as db:
        return [(int(s), k, t) for s, k, t in db.execute("SELECT seq, kind, topic FROM audit_produced ORDER BY rowid")]


def outbox_meta(outbox_path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(outbox_path, timeout=10)) as db:
        return {k: int(v) for k, v in db.execute("SELECT key, value FROM meta")}


def seq_of(msg_id: str) -> int:
    gw, _, seq = msg_id.rpartition(":")
    assert gw == GATEWAY, msg_id
    return int(seq)


# -- the daemon process ---------------------------------------------------------------------------------
def numba_cache_dir() -> Path:
    """One numba cache for all daemon processes of the test session (the first start compiles)."""
    d = Path(os.environ.get("MW_TEST_NUMBA_CACHE", "/tmp/meterwatch-test-numba-cache"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class Daemon:
    config: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache_dir()), "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)          # only a test's own notify socket, never an inherited one
        env.update(self.env)
        self.starts += 1
        with open(self.log, "ab") as log:
            log.write(f"\n==== start {self.starts} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run", "-c", str(self.config), "--log-level", "INFO", *self.args],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, needle: str, timeout_s: float = 60.0, *, count: int = 1) -> None:
        deadline = time.monotonic() + timeout_s
        while self.text().count(needle) < count:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) before {needle!r}:\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} in the daemon log after {timeout_s} s:\n{self.text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout_s: float = 30.0) -> int:      # systemd's TimeoutStopSec in the unit
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)      # the daemon writes every thread's stack to its log
            time.sleep(1.0)
            raise AssertionError(f"the daemon did not stop within {timeout_s} s of SIGTERM; its log and stacks:\n"
                                 f"{self.text()[-12000:]}") from None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
