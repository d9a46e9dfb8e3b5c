"""Helpers for collector tests: publish a stream, run collectors (thread or process), read the TSDB back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.config import load
from collector.decode import decode
from collector.lineproto import Point
from collector.mapping import for_server
from collector.service import Collector
from collector.testing import Message
from collector.writer import make_writer

PREFIX = "meterwatch/v2"
DEAD = "meterwatch-collector/deadletter"
HEALTH = "meterwatch-collector/health"
ALERTS = "meterwatch-collector/alert"
ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, *, mqtt_url: str, influx_url: str, api: str = "v2", client_id: str = "col-1",
                 shared_group: str = "", max_points: int = 500, max_delay_s: float = 0.2,
                 max_payload_bytes: int = 1_000_000, receive_maximum: int = 1000, health_interval_s: float = 0.5,
                 retry_max_s: float = 1.0, server: str | None = None, per_meter: str = "on",
                 writes_in_flight: int = 2, queued_batches: int = 8, state_file: str = "", username: str = "",
                 password_file: str = "") -> Path:
    """The tests run v1 against InfluxDB 1.6 and v2 against VictoriaMetrics unless ``server`` says."""
    server = server or ("influxdb" if api == "v1" else "victoriametrics")
    path.write_text(f"""log_level = "info"
state_file = "{state_file}"
[mqtt]
url = "{mqtt_url}"
client_id = "{client_id}"
username = "{username}"
password_file = "{password_file}"
topic_prefix = "{PREFIX}"
shared_group = "{shared_group}"
session_expiry_s = 3600
receive_maximum = {receive_maximum}
max_payload_bytes = {max_payload_bytes}
dead_letter_topic = "{DEAD}"
health_topic = "{HEALTH}"
alert_topic = "{ALERTS}"
health_interval_s = {health_interval_s}
[influx]
url = "{influx_url}"
api = "{api}"
server = "{server}"
per_meter = "{per_meter}"
database = "meterwatch"
[batch]
max_points = {max_points}
max_delay_s = {max_delay_s}
retry_initial_s = 0.1
retry_max_s = {retry_max_s}
writes_in_flight = {writes_in_flight}
queued_batches = {queued_batches}
""")
    return path


def mqtt_client(url: str, client_id: str = "", inflight: int = 20, auth: tuple[str, str] | None = None) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if auth:
        c.username_pw_set(*auth)
    c.max_inflight_messages_set(inflight)
    c.max_queued_messages_set(0)
    u = urllib.parse.urlsplit(url)
    c.connect(u.hostname or "127.0.0.1", u.port or 1883)
    c.loop_start()
    return c


def publish_all(url: str, items: Iterable[tuple[str, bytes]], retain: bool = False,
                auth: tuple[str, str] | None = None) -> int:
    """Publish at QoS 1 and wait for every PUBACK; returns the count."""
    c = mqtt_client(url, inflight=1000, auth=auth)
    infos = [c.publish(t, p, qos=1, retain=retain) for t, p in items]
    for i in infos:
        i.wait_for_publish(30)
        assert i.is_published()
    c.disconnect()
    c.loop_stop()
    return len(infos)


class Listener:
    """Collects every message on a topic filter (dead letters, health)."""

    def __init__(self, url: str, topic: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.arrival_times: list[float] = []  # monotonic s, parallel to messages
        self._ready = threading.Event()
        self.client = mqtt_client(url)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.subscribe(topic, qos=1)
        assert self._ready.wait(5)

    def _on_message(self, client, userdata, m) -> None:
        self.arrival_times.append(time.monotonic())
        self.messages.append((m.topic, json.loads(m.payload)))

    def wait_for(self, pred, timeout_s: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            hits = [p for _, p in self.messages if pred(p)]
            if hits:
                return hits
            time.sleep(0.05)
        raise AssertionError(f"no matching message in {len(self.messages)} received")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def expected_points(messages: list[Message], server: str = "victoriametrics") -> list[Point]:
    """The points ``messages`` become on ``server`` (every kind, per-meter included)."""
    out: list[Point] = []
    for m in messages:
        out.extend(for_server(decode(m.topic, m.encode(), prefix=PREFIX, max_bytes=10**9)[1], server))
    return out


def newest(points: list[Point]) -> dict[tuple[str, tuple[tuple[str, str], ...], int], dict]:
    """(measurement, tags, time) -> fields of the last point written there: what must be stored."""
    out: dict[tuple[str, tuple[tuple[str, str], ...], int], dict] = {}
    for p in points:
        out[(p.measurement, tuple(sorted(p.tags.items())), p.time_ns)] = dict(p.fields)
    return out


def influx_mismatches(url: str, points: list[Point], db: str = "meterwatch") -> list[str]:
    """Every expected point (newest value per series and time) compared with what InfluxDB holds."""
    want = newest(points)
    have: dict[tuple[str, tuple[tuple[str, str], ...], int], dict] = {}
    for meas in sorted({k[0] for k in want}):
        res = influxql(url, f'SELECT * FROM "{meas}" GROUP BY *', db)["results"][0]
        for series in res.get("series", []):
            tags = tuple(sorted((k, v) for k, v in series.get("tags", {}).items() if v))
            for row in series["values"]:
                fields = {c: v for c, v in zip(series["columns"], row, strict=True) if c != "time" and v is not None}
                have[(meas, tags, int(row[0]))] = fields
    out = []
    for key, fields in want.items():
        got = have.get(key)
        if got is None or any(got.get(f) != (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
                              for f, v in fields.items()):
            out.append(f"{key}: want {fields}, have {got}")
    return out


@contextmanager
def collector_thread(cfg_path: Path) -> Iterator[Collector]:
    cfg = load(cfg_path)
    col = Collector(cfg, make_writer(cfg.influx))
    t = threading.Thread(target=col.run, daemon=True)
    t.start()
    assert col.sub.subscribed.wait(10), "collector did not subscribe"
    try:
        yield col
    finally:
        col.stop()
        t.join(15)
        assert not t.is_alive(), "collector did not stop"


class CollectorProcess:
    """``python -m edge.cli collector -c CFG`` as a real process (so it can be SIGKILLed); ``src``: the
    source tree it runs from (another revision's, for a benchmark's A/B)."""

    def __init__(self, cfg_path: Path, log: Path, src: Path = ROOT, inject: Path | None = None) -> None:
        """``inject``: a directory put first on the path (a ``sitecustomize.py`` there patches the process)."""
        self.cfg_path, self.log, self.src, self.inject = cfg_path, log, src, inject
        self.proc: subprocess.Popen[bytes] | None = None
        self._offset = 0

    def start(self, timeout_s: float = 20.0) -> None:
        self.spawn()
        self.wait_ready(timeout_s)

    def spawn(self) -> None:
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        path = [str(p) for p in (self.inject, None if self.src == ROOT else self.src) if p is not None]
        if path:                # ahead of the editable install, which points at this tree
            env["PYTHONPATH"] = os.pathsep.join(path)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "collector", "-c", str(self.cfg_path)],
                                         cwd=self.src, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                         env=env)

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if b"mqtt subscribed" in self.log.read_bytes()[self._offset:]:
                return
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.05)
        raise AssertionError("collector process did not subscribe:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM; the exit code. Waits as long as systemd would (``TimeoutStopSec`` 30 s): a collector
        that ends itself at ``STOP_BOUND_S`` exits 1 with its threads' stacks in the log (``log_tail``)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("collector did not stop on SIGTERM:\n" + self.log_tail()) from None

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""


# --- reading back ------------------------------------------------------------------------------------

def vm_series(vm_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]]:
    """Everything VictoriaMetrics holds: (metric, sorted labels) -> {ts_ms: value} via /api/v1/export."""
    urllib.request.urlopen(f"{vm_url}/internal/force_flush", timeout=10).read()
    q = urllib.parse.urlencode({"match[]": '{__name__!=""}', "start": "0"})
    out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = {}
    with urllib.request.urlopen(f"{vm_url}/api/v1/export?{q}", timeout=30) as r:
        for line in r:
            row = json.loads(line)
            labels = dict(row["metric"])
            name = labels.pop("__name__")
            labels.pop("db", None)
            series = out.setdefault((name, tuple(sorted(labels.items()))), {})
            for ts, v in zip(row["timestamps"], row["values"], strict=True):
                series[int(ts)] = float(v)
    return out


def vm_expected(points: list[Point]) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]]:
    """What VictoriaMetrics must hold for these points: numeric and boolean fields as ``<meas>_<field>``
    (it stores no strings), at millisecond resolution."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = {}
    for p in points:
        labels = tuple(sorted((k, v) for k, v in p.tags.items() if v))
        for f, v in p.fields.items():
            if isinstance(v, str):
                continue
            out.setdefault((f"{p.measurement}_{f}", labels), {})[p.time_ns // 1_000_000] = float(v)
    return out


def _same(got: float | None, want: float) -> bool:
    """VictoriaMetrics keeps 12 significant digits of a float: equal within that, nothing looser."""
    return got is not None and (got == want or abs(got - want) <= 1e-11 * max(abs(want), 1e-300))


def missing_in_vm(vm_url: str, points: list[Point], timeout_s: float = 20.0) -> list[str]:
    """Poll until every expected sample is in VictoriaMetrics with its value; returns what is still missing."""
    want = vm_expected(points)
    deadline = time.monotonic() + timeout_s
    while True:
        have = vm_series(vm_url)
        missing = [f"{k[0]}{dict(k[1])} @{ts}={v} (have {have.get(k, {}).get(ts)})"
                   for k, samples in want.items() for ts, v in samples.items()
                   if not _same(have.get(k, {}).get(ts), v)]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.3)


def influxql(url: str, q: str, db: str = "meterwatch") -> dict:
    data = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/query", data=data), timeout=30) as r:
        return json.loads(r.read())


def create_db(url: str, db: str = "meterwatch") -> None:
    res = influxql(url, f'CREATE DATABASE "{db}"', db="")
    assert "error" not in res["results"][0], res
