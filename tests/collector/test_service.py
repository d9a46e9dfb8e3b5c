"""The collector against real mosquitto and a real TSDB: nothing lost, nothing acknowledged early."""

from __future__ import annotations

import base64
import json
import re
import signal
import threading
import time
import urllib.request

import pytest

from collector.testing import AreaSpec, area_stream
from tests.collector.harness import (
    DEAD,
    HEALTH,
    PREFIX,
    CollectorProcess,
    Listener,
    collector_thread,
    create_db,
    expected_points,
    influx_mismatches,
    influxql,
    missing_in_vm,
    publish_all,
    write_config,
)

pytestmark = pytest.mark.integration


def _paced(msgs, pause_s):
    for m in msgs:
        time.sleep(pause_s)
        yield m.topic, m.encode()


def _collect_and_check(msgs, mosquitto, victoria, tmp_path) -> None:
    """Publish ``msgs`` through a collector into VictoriaMetrics: every point lands, all acked, no dead letter."""
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url)
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        missing = missing_in_vm(victoria.url, expected_points(msgs))
        assert missing == [], f"{len(missing)} samples missing, e.g. {missing[:5]}"
    assert col.health.counters["acked"] == len(msgs)
    assert sum(col.health.dead_letters.values()) == 0


def _stream(**kw):
    return list(area_stream(AreaSpec(**kw), PREFIX))


def test_every_message_of_a_generated_area_lands_as_documented_points_in_victoria(mosquitto, victoria, tmp_path):
    msgs = _stream(meters=30, intervals=6) + _stream(area="A02", gateway="gw-0002", meters=20, intervals=6, seed=2)
    kinds = {m.payload["schema"] for m in msgs}
    assert len(kinds) == 8, kinds
    _collect_and_check(msgs, mosquitto, victoria, tmp_path)


def test_every_message_of_a_replayed_simulated_area_lands_as_documented_points(mosquitto, victoria, tmp_path):
    """The real producer side: a simulated area exported, replayed by ``meterwatch replay`` (the daemon's
    engine and serialisers), published, collected."""
    import subprocess
    import sys

    from collector.testing import load_jsonl
    from edge.sim.export import export
    from tests.edge.sim.conftest import one_kind_config

    export(one_kind_config("branch_outage", customers=30, start_h=8.0, end_h=11.0), tmp_path / "exp", 1)
    out = tmp_path / "events.jsonl"
    run = subprocess.run([sys.executable, "-m", "edge.cli", "replay", "--area", str(tmp_path / "exp" / "area.toml"),
                          "--readings", str(tmp_path / "exp" / "readings.csv"), "--out", str(out), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    msgs = load_jsonl(out)
    kinds = {m.payload["schema"].split("/")[0].removeprefix("meterwatch.") for m in msgs}
    assert {"alert", "alerts_active", "realtime", "interval", "daily", "meters_interval"} <= kinds, kinds
    _collect_and_check(msgs, mosquitto, victoria, tmp_path)


def test_tsdb_down_for_a_while_loses_nothing_and_acks_nothing_meanwhile(mosquitto, victoria, tmp_path):
    first, second = _stream(meters=20, intervals=3), _stream(area="A02", gateway="gw-0002", intervals=4, seed=3)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url, retry_max_s=0.5)
    with collector_thread(cfg) as col:
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in first))
        assert missing_in_vm(victoria.url, expected_points(first)) == []
        acked_before = col.health.counters["acked"]
        victoria.stop()
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in second))
        deadline = time.monotonic() + 10
        while col.health.counters["write_failures"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert col.health.counters["write_failures"] >= 3
        assert col.health.counters["acked"] == acked_before, "acknowledged while the database was down"
        victoria.start()
        missing = missing_in_vm(victoria.url, expected_points(first + second))
        assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"
    assert col.health.counters["acked"] == len(first) + len(second)


@pytest.mark.slow
def test_collector_sigkilled_mid_stream_loses_nothing_after_restart(mosquitto, victoria, tmp_path):
    msgs = _stream(meters=60, intervals=24)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url,
                       max_points=60, receive_maximum=20, health_interval_s=0.1)
    proc = CollectorProcess(cfg, tmp_path / "collector.log")
    health = Listener(mosquitto.url, f"{HEALTH}/#")
    publisher = threading.Thread(target=publish_all, args=(mosquitto.url, _paced(msgs, 0.01)))
    try:
        proc.start()
        publisher.start()
        health.wait_for(lambda h: h["acked"] > 10)
        proc.kill()
        killed_at = max(h["acked"] for _, h in health.messages)
        assert killed_at < len(msgs), "the collector finished before it was killed: nothing was tested"
        publisher.join(30)
        health.messages.clear()
        proc.start()
        missing = missing_in_vm(victoria.url, expected_points(msgs), timeout_s=30)
        assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"
        # The restarted process took over what the killed one had not acknowledged (redelivery + queue).
        assert health.wait_for(lambda h: h["acked"] > 0)
    finally:
        publisher.join(30)
        assert proc.stop() in (0, -9)
        health.close()


@pytest.mark.slow
def test_three_collectors_on_a_shared_subscription_split_the_stream_and_survive_a_kill(mosquitto, victoria,
                                                                                      tmp_path):
    msgs = _stream(meters=40, intervals=12) + _stream(area="A02", gateway="gw-0002", meters=40, intervals=12, seed=5)
    health = Listener(mosquitto.url, f"{HEALTH}/#")
    procs = []
    for n in range(3):
        cfg = write_config(tmp_path / f"c{n}.toml", mqtt_url=mosquitto.url, influx_url=victoria.url,
                           client_id=f"col-{n}", shared_group="writers", max_points=40, receive_maximum=10,
                           health_interval_s=0.1)
        procs.append(CollectorProcess(cfg, tmp_path / f"col-{n}.log"))
    try:
        for p in procs:
            p.start()
        publisher = threading.Thread(target=publish_all, args=(mosquitto.url, _paced(msgs, 0.005)))
        publisher.start()
        health.wait_for(lambda h: h["collector"] == "col-1" and h["acked"] > 0)
        procs[1].kill()
        publisher.join(30)
        procs[1].start()
        missing = missing_in_vm(victoria.url, expected_points(msgs), timeout_s=30)
        assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"
        shares = {}
        for _, h in health.messages:
            shares[h["collector"]] = max(shares.get(h["collector"], 0), h["acked"])
        assert set(shares) == {"col-0", "col-1", "col-2"}
        assert all(v > 0 for v in shares.values()), shares
    finally:
        for p in procs:
            assert p.stop() == 0
        health.close()


def test_malformed_and_oversized_payloads_go_to_the_dead_letter_topic_with_counts(mosquitto, victoria, tmp_path):
    good = _stream(meters=5, intervals=1)
    rt = next(m for m in good if m.payload["schema"] == "meterwatch.realtime/2")
    mi = next(m for m in good if m.payload["schema"] == "meterwatch.meters_interval/2")
    t_rt = rt.topic
    bad = [
        (t_rt, b"{not json"),                                                        # malformed_json
        (t_rt, b"[1, 2]"),                                                           # malformed_json
        (t_rt, json.dumps({**rt.payload, "pad": "x" * 5000}).encode()),              # oversized
        (t_rt, json.dumps({**rt.payload, "load_pct": "high"}).encode()),             # schema_invalid
        (t_rt, json.dumps({k: v for k, v in rt.payload.items() if k != "u_a"}).encode()),  # schema_invalid
        (t_rt, json.dumps({**rt.payload, "schema": "meterwatch.nope/2"}).encode()),  # unknown_schema
        (t_rt, rt.encode().replace(b'"f_hz":50.01', b'"f_hz":NaN')),                 # malformed_json
        (t_rt.replace("/A01/", "/A99/"), rt.encode()),                               # spoofed (area)
        (t_rt.replace("gw-0001", "victim-gw"), json.dumps({**rt.payload, "gateway": "victim-gw"}).encode()),  # spoofed
        (t_rt.replace("/realtime", "/interval"), rt.encode()),                       # topic_mismatch
        (t_rt, json.dumps({**rt.payload, "schema": "meterwatch.realtime/9"}).encode()),  # unknown_schema
        (t_rt, json.dumps({**rt.payload, **{f"k{i}": i for i in range(40)}}).encode()),  # bloated
        (mi.topic, json.dumps({**mi.payload, "e_kwh": [1.0]}).encode()),             # unmappable
        (t_rt, json.dumps({**rt.payload, "ts": "2026-02-30T00:00:00Z"}).encode()),   # unmappable
        (t_rt, rt.encode().replace(b'"f_hz":50.01', b'"f_hz":1e400')),               # unmappable (inf)
    ]
    assert b"NaN" in bad[6][1] and b"1e400" in bad[-1][1]
    dead = Listener(mosquitto.url, DEAD)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url,
                       max_payload_bytes=4000)
    try:
        with collector_thread(cfg) as col:
            items = [(m.topic, m.encode()) for m in good[:3]] + bad + [(m.topic, m.encode()) for m in good[3:]]
            publish_all(mosquitto.url, items)
            assert missing_in_vm(victoria.url, expected_points(good)) == []
            deadline = time.monotonic() + 10
            while col.health.counters["acked"] < len(items) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert col.health.counters["acked"] == len(items)
        assert dict(col.health.dead_letters) == {"malformed_json": 3, "oversized": 1, "schema_invalid": 2,
                                                 "unknown_schema": 2, "topic_mismatch": 1, "spoofed": 2,
                                                 "bloated": 1, "unmappable": 3}
        dead.wait_for(lambda d: True)
        deadline = time.monotonic() + 5
        while len(dead.messages) < len(bad) and time.monotonic() < deadline:
            time.sleep(0.05)
        letters = [d for _, d in dead.messages]
        assert len(letters) == len(bad)
        assert sorted(d["reason"] for d in letters) == sorted(
            ["malformed_json"] * 3 + ["oversized", "topic_mismatch", "bloated"] + ["schema_invalid"] * 2
            + ["unknown_schema"] * 2 + ["spoofed"] * 2 + ["unmappable"] * 3)
        schema_bad = [d for d in letters if d["reason"] == "schema_invalid"]
        assert any("load_pct" in d["detail"] for d in schema_bad)
        assert any("'u_a' is a required property" in d["detail"] for d in schema_bad)
        # The original bytes travel with the letter (cut at the size limit for the oversized one).
        by_payload = {base64.b64decode(d["payload_b64"]) for d in letters if not d["truncated"]}
        assert b"{not json" in by_payload
        big = next(d for d in letters if d["reason"] == "oversized")
        assert big["truncated"] and big["size"] > 4000 and all(d["topic"].startswith(PREFIX) for d in letters)
    finally:
        dead.close()


def test_points_the_database_refuses_are_dead_lettered_and_the_rest_of_the_batch_is_written(mosquitto, influx1,
                                                                                           tmp_path):
    msgs = _stream(meters=4, intervals=2)
    create_db(influx1.url)
    # A string stored first under realtime.load_pct makes InfluxDB refuse our float: HTTP 400, field type conflict.
    rt = expected_points([m for m in msgs if m.payload["schema"] == "meterwatch.realtime/2"])
    req = urllib.request.Request(f"{influx1.url}/write?db=meterwatch",
                                 data=f'realtime,area=A01,gateway=gw-0001,grid=jinli-1 load_pct="hot" {rt[0].time_ns - 1}'
                                 .encode(), method="POST")
    assert urllib.request.urlopen(req, timeout=5).status == 204
    dead = Listener(mosquitto.url, DEAD)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1",
                       max_points=10_000, max_delay_s=0.5)
    try:
        with collector_thread(cfg) as col:
            publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
            deadline = time.monotonic() + 15
            while col.health.counters["acked"] < len(msgs) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert col.health.counters["acked"] == len(msgs)
        assert col.health.dead_letters == {"db_rejected": len(rt)}
        letters = dead.wait_for(lambda d: d["reason"] == "db_rejected")
        assert all("conflict" in d["detail"] and d["topic"].endswith("summary/realtime") for d in letters)
        others = [p for p in expected_points(msgs) if p.measurement == "meter_interval"]
        res = influxql(influx1.url, 'SELECT count("read") FROM "meter_interval"')["results"][0]
        assert res["series"][0]["values"][0][1] == len(others)
    finally:
        dead.close()


def test_redelivered_messages_are_written_once_and_their_points_never_duplicated(mosquitto, influx1, tmp_path):
    msgs = _stream(meters=5, intervals=3)
    create_db(influx1.url)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=influx1.url, api="v1")
    with collector_thread(cfg) as col:
        for _ in range(2):  # the second round is what at-least-once delivery does after a lost PUBACK
            publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        deadline = time.monotonic() + 15
        while col.health.counters["acked"] < 2 * len(msgs) and time.monotonic() < deadline:
            time.sleep(0.05)
    retained = sum(1 for m in msgs if "topic_seq" not in m.payload)      # state, not tracked: written again
    assert col.health.counters["acked"] == 2 * len(msgs)
    assert col.health.counters["written_messages"] == len(msgs) + retained
    assert col.gaps is not None and col.gaps.counters()["duplicates"] == len(msgs) - retained
    points = expected_points(msgs, "influxdb")
    for meas in {p.measurement for p in points}:
        res = influxql(influx1.url, f'SELECT * FROM "{meas}"')["results"][0]
        assert len(res["series"][0]["values"]) == sum(1 for p in points if p.measurement == meas), meas
    assert influx_mismatches(influx1.url, points) == []


def test_own_health_is_published_with_counts_including_dead_letters(mosquitto, victoria, tmp_path):
    msgs = _stream(meters=2, intervals=1)
    health = Listener(mosquitto.url, f"{HEALTH}/#")
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url, client_id="col-h",
                       health_interval_s=0.1)
    try:
        with collector_thread(cfg):
            publish_all(mosquitto.url, [(m.topic, m.encode()) for m in msgs] + [(msgs[0].topic, b"{")])
            (h, *_) = health.wait_for(lambda h: h["acked"] == len(msgs) + 1)
        assert h["collector"] == "col-h" and h["connected"] is True
        assert h["dead_letters"] == {"malformed_json": 1} and h["dead_lettered"] == 1
        assert h["written_messages"] == len(msgs) and h["written_points"] == len(expected_points(msgs))
        assert health.messages[0][0] == f"{HEALTH}/col-h"
    finally:
        health.close()


class _BlackHole:
    """A TCP server that accepts and reads but never answers: a database or Alertmanager that hangs."""

    def __init__(self) -> None:
        import socket
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list = []
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.mark.slow
def test_sigterm_while_the_database_and_alertmanager_hang_stops_in_budget_and_loses_nothing(mosquitto, victoria,
                                                                                           tmp_path):
    """SIGTERM while every write and every request to Alertmanager hangs until its (25 s) timeout: the
    collector is gone within its stop budget (before systemd's 30 s SIGKILL), and what it held comes back
    from the broker."""
    from collector.service import STOP_BUDGET_S

    msgs = _stream(meters=20, intervals=3)
    tsdb, am = _BlackHole(), _BlackHole()
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=tsdb.url, retry_max_s=0.5)
    # a patient site: both allow a slow server 25 s, which alone is almost systemd's 30 s
    cfg.write_text(cfg.read_text().replace('database = "meterwatch"\n', 'database = "meterwatch"\ntimeout_s = 25\n')
                   + f'[alertmanager]\nurl = "{am.url}"\ntimeout_s = 25\nsettle_s = 0.2\nretry_initial_s = 0.2\n'
                   'retry_max_s = 0.5\n')
    proc = CollectorProcess(cfg, tmp_path / "collector.log")
    try:
        proc.start()
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        deadline = time.monotonic() + 10
        while not tsdb.held or not am.held:     # a writer and the sink are inside a hanging request
            assert time.monotonic() < deadline, (len(tsdb.held), len(am.held))
            time.sleep(0.05)
        t0 = time.monotonic()
        assert proc.stop() == 0
        took = time.monotonic() - t0
    finally:
        tsdb.close()
        am.close()
    assert took < STOP_BUDGET_S + 3, f"stopping took {took:.1f} s"
    assert "still busy" in (tmp_path / "collector.log").read_text()
    cfg = write_config(tmp_path / "c2.toml", mqtt_url=mosquitto.url, influx_url=victoria.url)
    with collector_thread(cfg):
        missing = missing_in_vm(victoria.url, expected_points(msgs))
    assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"


@pytest.mark.slow
def test_sigterm_while_every_writer_is_busy_and_the_queue_is_full_stops_in_budget_and_loses_nothing(
        mosquitto, victoria, tmp_path):
    """SIGTERM while the one writer waits on a database that does not answer (until its 25 s timeout), the one
    queued batch waits behind it and decoding waits for room in the queue: the stop does not wait for that
    room (its budget would begin only once the writer gave up) — the batch is left unacknowledged, the
    collector is gone within its budget, and the next collector gets everything."""
    from collector.service import STOP_BUDGET_S

    msgs = _stream(meters=20, intervals=6)
    tsdb = _BlackHole()
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=tsdb.url, retry_max_s=0.5,
                       max_points=10, max_delay_s=0.05, writes_in_flight=1, queued_batches=1)
    cfg.write_text(cfg.read_text().replace('database = "meterwatch"\n', 'database = "meterwatch"\ntimeout_s = 25\n'))
    log = tmp_path / "collector.log"
    proc = CollectorProcess(cfg, log)
    try:
        proc.start()
        publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs))
        deadline = time.monotonic() + 10
        while not tsdb.held:                    # the writer is inside a hanging request
            assert time.monotonic() < deadline, proc.log_tail()
            time.sleep(0.05)
        time.sleep(1.0)                         # the queue fills and decoding waits for room
        t0 = time.monotonic()
        rc = proc.stop()
        took = time.monotonic() - t0
    finally:
        tsdb.close()
    assert rc == 0, proc.log_tail()
    assert took < STOP_BUDGET_S + 3, f"stopping took {took:.1f} s"
    assert "not written, the writers are busy" in log.read_text(), proc.log_tail()
    cfg2 = write_config(tmp_path / "c2.toml", mqtt_url=mosquitto.url, influx_url=victoria.url)
    with collector_thread(cfg2):
        missing = missing_in_vm(victoria.url, expected_points(msgs))
    assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"


HANG_ON_STOP = '''
import time
import collector.subscriber
def _hang(self, timeout_s=10.0):      # closing the MQTT connection never returns
    time.sleep(3600)
collector.subscriber.Subscriber.stop = _hang
'''


@pytest.mark.slow
def test_a_stop_that_hangs_ends_at_its_bound_with_every_threads_stack_and_loses_nothing(mosquitto, victoria, tmp_path):
    """A stop that never ends (here closing the MQTT connection, made to hang) is ended by the collector itself
    at ``STOP_BOUND_S``, before systemd's SIGKILL at 30 s: exit code 1, every thread's stack in the log (where
    it hung). SIGUSR1 before it writes the stacks and the collector runs on; the next collector gets whatever
    the hung one had not acknowledged."""
    from collector.service import STOP_BOUND_S

    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(HANG_ON_STOP)
    msgs = _stream(meters=10, intervals=3)
    cfg = write_config(tmp_path / "c.toml", mqtt_url=mosquitto.url, influx_url=victoria.url)
    log = tmp_path / "collector.log"
    proc = CollectorProcess(cfg, log, inject=inject)
    proc.start()
    assert proc.proc is not None
    publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs[:len(msgs) // 2]))
    proc.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while "Thread 0x" not in log.read_text():
        assert time.monotonic() < deadline and proc.proc.poll() is None, proc.log_tail()
        time.sleep(0.1)
    publish_all(mosquitto.url, ((m.topic, m.encode()) for m in msgs[len(msgs) // 2:]))
    t0 = time.monotonic()
    rc = proc.stop()
    took = time.monotonic() - t0
    text = log.read_text()
    assert rc == 1, text[-3000:]
    assert STOP_BOUND_S - 0.5 <= took <= STOP_BOUND_S + 4, f"stopped after {took:.1f} s, bound {STOP_BOUND_S:.0f} s"
    dump = text.split(f"Timeout (0:00:{STOP_BOUND_S:02.0f})!", 1)
    assert len(dump) == 2, text[-3000:]
    assert re.search(r'File ".*sitecustomize\.py", line \d+ in _hang', dump[1]), dump[1][:3000]
    assert re.search(r'File ".*service\.py", line \d+ in _shut_down', dump[1]), dump[1][:3000]
    cfg2 = write_config(tmp_path / "c2.toml", mqtt_url=mosquitto.url, influx_url=victoria.url)
    with collector_thread(cfg2):
        missing = missing_in_vm(victoria.url, expected_points(msgs))
    assert missing == [], f"{len(missing)} samples lost, e.g. {missing[:5]}"
