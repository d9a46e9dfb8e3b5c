"""Daemon-level delivery (issue 9): the real daemon polling a served area, a real mosquitto.

"Produced" is what the daemon stored in its outbox (an audit trigger logs every stored row in the
storing transaction, see ``harness.install_audit``); "received" is what a persistent-session QoS 1
subscriber got. Retained ``alerts/active`` lists are superseded on purpose while queued (the broker
keeps only the latest), so for them only the latest must arrive.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.edge.service.harness import (
    PREFIX,
    Daemon,
    ServedArea,
    install_audit,
    outbox_meta,
    produced,
    seq_of,
)
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ALL = f"{PREFIX}/#"


def wait_until(cond, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def alerts(sub: Subscriber, state: str) -> list[dict]:  # type: ignore[type-arg]
    return [m.payload for m in sub.snapshot() if m.topic.endswith("/alert") and m.payload.get("state") == state]


def check_zero_lost(area: ServedArea, sub: Subscriber) -> tuple[int, int]:
    """Every stored message except superseded retained lists was received; returns (produced, duplicates)."""
    rows = produced(area.outbox_path)
    seqs = [s for s, _, _ in rows]
    assert len(seqs) == len(set(seqs)), "a msg_id was issued twice"
    assert seqs == sorted(seqs), "msg_id sequence went backwards"
    got = Counter(seq_of(m) for m in sub.msg_ids() if m)
    want = {s for s, kind, _ in rows if kind != "alerts_active"}
    wait_until(lambda: not want - set(Counter(seq_of(m) for m in sub.msg_ids() if m)), 20, "every produced msg_id")
    got = Counter(seq_of(m) for m in sub.msg_ids() if m)
    assert not want - set(got)
    last_active = max(s for s, kind, _ in rows if kind == "alerts_active")
    assert last_active in got, "the latest alerts/active list did not arrive"
    return len(want), sum(n - 1 for n in got.values() if n > 1)


def test_broker_restart_mid_run_loses_nothing(area: ServedArea, daemon: Daemon, mosquitto: Mosquitto) -> None:
    install_audit(area.outbox_path)
    with Subscriber.running(mosquitto.port, ALL, client_id="collector-restart") as sub:
        daemon.start()
        daemon.wait_log("kernels ready")
        wait_until(lambda: len(sub.msg_ids("/summary/realtime")) >= 2, 15, "realtime before the outage")
        mosquitto.stop()
        stored_before = len(produced(area.outbox_path))
        area.source.load = 1.10               # an overload raised while the broker is away
        time.sleep(5)
        during = len(produced(area.outbox_path)) - stored_before
        mosquitto.start()
        wait_until(lambda: alerts(sub, "raised"), 20, "the overload raised during the outage")
        area.source.load = 0.5
        wait_until(lambda: alerts(sub, "cleared"), 20, "the overload cleared")
        assert daemon.terminate() == 0
        n, dups = check_zero_lost(area, sub)
    assert during >= 4, "the daemon kept producing into the outbox while the broker was down"
    assert "reconnecting" in daemon.text() or "cannot connect" in daemon.text()
    assert [a["kind"] for a in alerts(sub, "raised")] == ["overload"]
    print(f"broker restart: {n} produced, all received, {dups} duplicates")


def test_sigkilled_ten_times_loses_nothing_and_raises_once(area: ServedArea, daemon: Daemon,
                                                           mosquitto: Mosquitto) -> None:
    install_audit(area.outbox_path)
    rng = random.Random(9)
    with Subscriber.running(mosquitto.port, ALL, client_id="collector-kill") as sub:
        daemon.start()
        daemon.wait_log("kernels ready")
        area.source.load = 1.10
        wait_until(lambda: alerts(sub, "raised"), 20, "the overload raised before the kills")
        seq_runs: list[tuple[int, int]] = []
        for k in range(10):
            before = len(produced(area.outbox_path))
            # Kill at a random moment while producing: first wait until this run has produced (on a loaded
            # machine the first poll after a restart can take seconds), then a random extra delay.
            wait_until(lambda before=before: len(produced(area.outbox_path)) > before, 30,
                       f"output after restart {k}")
            time.sleep(rng.uniform(0.0, 1.5))
            daemon.kill()
            rows = produced(area.outbox_path)[before:]
            seq_runs.append((rows[0][0], rows[-1][0]))
            daemon.start()
            daemon.wait_log("kernels ready", count=k + 2)
        time.sleep(2)
        area.source.load = 0.5
        wait_until(lambda: alerts(sub, "cleared"), 20, "the overload cleared after the kills")
        assert daemon.terminate() == 0
        n, dups = check_zero_lost(area, sub)
    assert all(lo <= hi for lo, hi in seq_runs) and len(seq_runs) == 10, seq_runs
    raised = Counter(a["alert_id"] for a in alerts(sub, "raised"))
    cleared = Counter(a["alert_id"] for a in alerts(sub, "cleared"))
    assert len(raised) == 1 and set(raised.values()) == {1}, raised
    assert cleared == Counter(raised), (raised, cleared)      # the same alert id continued and cleared once
    assert daemon.text().count("engine state restored (1 active alerts)") >= 8
    print(f"10 kills: {n} produced, all received, {dups} duplicates")


def test_outbox_bound_in_a_long_outage_drops_oldest_summaries_keeps_alerts(
        area: ServedArea, daemon: Daemon, mosquitto: Mosquitto) -> None:
    area.write_config(publish="outbox_max_mb = 0.01")        # ~10 KiB: about 15 realtime summaries
    install_audit(area.outbox_path)
    with Subscriber.running(mosquitto.port, ALL, client_id="collector-bound") as sub:
        daemon.start()
        daemon.wait_log("kernels ready")
        wait_until(lambda: len(sub.msg_ids("/summary/realtime")) >= 2, 15, "realtime before the outage")
        mosquitto.stop()
        area.source.load = 1.10
        time.sleep(6)
        area.source.load = 0.5                # raised and cleared while the broker is away
        time.sleep(6)
        mosquitto.start()
        daemon.wait_log("connected to", count=2, timeout_s=40)     # paho's back-off has grown meanwhile
        at_reconnect = max(s for s, _, _ in produced(area.outbox_path))
        wait_until(lambda: any(m.payload.get("msg_id") and seq_of(m.payload["msg_id"]) > at_reconnect
                               for m in sub.snapshot() if m.topic.endswith("/health")), 20, "health after the outage")
        assert daemon.terminate() == 0
        rows = produced(area.outbox_path)
        meta = outbox_meta(area.outbox_path)
        got = {seq_of(m) for m in sub.msg_ids() if m}
    summaries = [s for s, kind, _ in rows if kind in ("realtime", "health", "interval", "daily", "meters_interval")]
    missing = [s for s, kind, _ in rows if kind != "alerts_active" and s not in got]
    assert missing, "the bound was never reached: nothing dropped"
    assert set(missing) <= set(summaries), "an alert was dropped"
    # oldest first: no summary newer than a dropped one survived from before the last drop
    lo, hi = min(missing), max(missing)
    assert [s for s in summaries if lo <= s <= hi] == sorted(missing), "drops were not the oldest summaries"
    assert sorted(a["state"] for a in alerts(sub, "raised") + alerts(sub, "cleared")) == ["cleared", "raised"]
    health = [m.payload for m in sub.snapshot() if m.topic.endswith("/health")]
    last = max(health, key=lambda h: seq_of(h["msg_id"]))
    assert last["outbox"]["dropped_summaries"] == len(missing) == meta["dropped_summaries"]
    assert last["outbox"]["dropped_alerts"] == 0
    print(f"bound: {len(rows)} produced, {len(missing)} summaries dropped as counted, alerts kept")


HANG_ON_STOP = '''
import time
import edge.publish.mqtt
def _hang(self):                      # the network thread's join never returns
    time.sleep(3600)
edge.publish.mqtt.MqttLink.stop = _hang
'''


def test_a_stop_that_hangs_ends_in_its_bound_with_every_threads_stack_and_loses_nothing(
        tmp_path: Path, area: ServedArea, daemon: Daemon, mosquitto: Mosquitto) -> None:
    """A stop that never ends (here the MQTT link's stop, made to hang) is ended by the daemon itself at the
    flush timeout + 15 s, before systemd's SIGKILL at TimeoutStopSec=30s: every thread's stack is in the log
    (where it hung), the exit code is 1, and the next start delivers everything that was stored."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(HANG_ON_STOP)
    install_audit(area.outbox_path)
    with Subscriber.running(mosquitto.port, ALL, client_id="collector-hung-stop") as sub:
        daemon.env["PYTHONPATH"] = str(inject)
        daemon.args = ("--flush-timeout", "2")
        daemon.start()
        daemon.wait_log("kernels ready")
        wait_until(lambda: len(sub.msg_ids("/summary/realtime")) >= 2, 15, "realtime before the stop")
        area.source.load = 1.10               # an overload raised just before the stop
        wait_until(lambda: alerts(sub, "raised"), 20, "the overload raised")
        assert daemon.proc is not None
        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        rc = daemon.proc.wait(40)
        took = time.monotonic() - t0
        log = daemon.text()
        assert rc == 1, log[-3000:]
        assert 2 + 15 - 0.5 <= took <= 2 + 15 + 8, f"stopped after {took:.1f} s, bound 17 s"
        assert "not stopped in 17 s: stacks to the log and exit 1" in log
        dump = log.split("Timeout (0:00:17)!", 1)
        assert len(dump) == 2, log[-3000:]
        assert re.search(r'File ".*sitecustomize\.py", line \d+ in _hang', dump[1]), dump[1][:3000]
        stuck = re.search(r"ERROR edge\.service: still stopping after 15 s; the tasks await:\n((?:  task .*\n)+)", log)
        assert stuck and re.search(r"service\.py:\d+ in _shutdown -> publisher\.py:\d+ in stop -> ", stuck.group(1)), \
            log[-4000:]
        assert "stopped; outbox" not in log
        del daemon.env["PYTHONPATH"]
        daemon.args = ()
        daemon.start()
        daemon.wait_log("kernels ready", count=2)
        assert daemon.terminate() == 0
        n, _ = check_zero_lost(area, sub)
    raised = Counter(a["alert_id"] for a in alerts(sub, "raised"))
    assert n >= 4 and len(raised) == 1, (raised, [m for m in sub.msg_ids() if m][-20:])
