"""``meterwatch alerts`` shows what a subscriber gets, readable by a person."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.commands.alerts import format_active, format_alert
from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings
from tests.support.procs import Mosquitto
from wire.schemas import validate

ROOT = Path(__file__).resolve().parents[3]
P = "meterwatch/v2/gw-1/jinli-1/A01"


def overload(state: str = "raised", msg_id: str = "gw-1:7") -> dict[str, Any]:
    return {
        "schema": "meterwatch.alert/2", "msg_id": msg_id, "topic_seq": int(msg_id.rsplit(":")[1]), "gateway": "gw-1",
        "ts": "2026-11-23T13:40:02Z",
        "grid": "jinli-1", "area": "A01", "alert_id": "A01-overload-T1", "state": state,
        "kind": "overload", "severity": "major", "subject": {"type": "transformer", "id": "T1"},
        "value": 112.5, "threshold": 100.0, "unit": "%", "raised_at": "2026-11-23T13:40:02Z",
        "cleared_at": None, "message": "transformer load 112.5 % of rated for 2 h",
        "evidence": {"beta": 1.125},
    }


def test_alert_line_names_state_area_subject_value_and_threshold() -> None:
    payload = overload()
    assert validate(payload) == "alert"
    line = format_alert(payload)
    for part in ("2026-11-23T13:40:02Z", "RAISED", "major", "jinli-1/A01", "overload @ transformer T1",
                 "112.5 %", "threshold 100 %", "[A01-overload-T1]", "112.5 % of rated"):
        assert part in line, (part, line)
    assert "since" in format_alert(overload("cleared"))


def test_active_list_has_a_header_and_one_line_per_alert() -> None:
    a = overload()
    active = {"schema": "meterwatch.alerts_active/2", "msg_id": "gw-1:8", "gateway": "gw-1",
              "ts": "2026-11-23T13:41:00Z", "grid": "jinli-1", "area": "A01",
              "alerts": [{k: a[k] for k in ("alert_id", "state", "kind", "severity", "subject", "value",
                                            "threshold", "unit", "raised_at", "message", "evidence")}]}
    assert validate(active) == "alerts_active"
    lines = format_active(active)
    assert "1 active alert(s)" in lines[0] and "jinli-1/A01" in lines[0]
    assert "overload @ transformer T1" in lines[1]


@pytest.mark.integration
def test_tails_active_list_and_alerts_skips_duplicates_and_survives_garbage(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    async def publish_retained_active() -> None:
        pub = Publisher(PublisherSettings(gateway="gw-1", state_dir=tmp_path / "state"),
                        MqttSettings(url=mosquitto.url, client_id="gw-1"))
        await pub.start()
        await pub.submit(f"{P}/alerts/active", {"schema": "meterwatch.alerts_active/2", "gateway": "gw-1",
                                                "ts": "2026-11-23T13:41:00Z", "grid": "jinli-1", "area": "A01",
                                                "alerts": []}, kind="alerts_active")
        assert await pub.wait_drained(10)
        await pub.stop(2)

    asyncio.run(publish_retained_active())
    cmd = [sys.executable, "-m", "edge.cli", "alerts", "--broker", mosquitto.url, "--active",
           "--count", "3", "--timeout", "20"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stderr is not None
    assert "connected" in proc.stderr.readline()
    time.sleep(0.3)     # SUBACK
    c = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    c.connect("127.0.0.1", mosquitto.port)
    c.loop_start()
    for body in (json.dumps(overload()), json.dumps(overload()), "{not json",
                 json.dumps(overload("cleared", msg_id="gw-1:9"))):
        c.publish(f"{P}/alert", body, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert "0 active alert(s)" in lines[0]
    assert "RAISED" in lines[1] and "CLEARED" in lines[2] and len(lines) == 3   # duplicate shown once
    assert "malformed message on meterwatch/v2/gw-1/jinli-1/A01/alert" in err


@pytest.mark.integration
def test_refused_connection_is_a_clear_error(tmp_path: Path) -> None:
    pw = tmp_path / "passwd"
    pw.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "ops", "right"], check=True, capture_output=True)
    (tmp_path / "wrong").write_text("wrong\n")
    extra = f"allow_anonymous false\npassword_file {pw}\n"
    with Mosquitto.running(tmp_path / "mosq", extra_conf=extra) as broker:
        res = subprocess.run([sys.executable, "-m", "edge.cli", "alerts", "--broker", broker.url,
                              "--username", "ops", "--password-file", str(tmp_path / "wrong"), "--timeout", "20"],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert "refused the connection" in res.stderr


def _alerts(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "alerts", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_no_broker_is_a_clear_error_with_exit_status_1() -> None:
    from tests.support.procs import free_port

    url = f"mqtt://127.0.0.1:{free_port()}"        # nothing listens there
    t = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "edge.cli", "alerts", "--broker", url], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and time.monotonic() - t < 30
    assert f"cannot connect to broker {url}: Connection refused" in res.stderr
    assert "--follow keeps retrying" in res.stderr


@pytest.mark.integration
def test_follow_keeps_retrying_until_the_broker_is_there(tmp_path: Path) -> None:
    from tests.support.procs import free_port

    port = free_port()
    proc = _alerts("--broker", f"mqtt://127.0.0.1:{port}", "--follow", "--count", "1", "--timeout", "40")
    assert proc.stderr is not None
    assert "retrying in 1 s (--follow)" in proc.stderr.readline()
    with Mosquitto.running(tmp_path / "mosq", port=port) as broker:
        while "connected to" not in (line := proc.stderr.readline()):
            assert "retrying" in line, line
        time.sleep(0.3)     # SUBACK
        c = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        c.publish(f"{P}/alert", json.dumps(overload()), qos=1).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "RAISED" in out


@pytest.mark.integration
def test_a_lost_connection_ends_the_tail_with_an_error_unless_following(tmp_path: Path) -> None:
    with Mosquitto.running(tmp_path / "mosq") as broker:
        plain = _alerts("--broker", broker.url, "--timeout", "40")
        follow = _alerts("--broker", broker.url, "--timeout", "40", "--follow")
        assert plain.stderr is not None and follow.stderr is not None
        assert "connected" in plain.stderr.readline() and "connected" in follow.stderr.readline()
        broker.stop()
        _out, err = plain.communicate(timeout=30)
        assert plain.returncode == 1 and f"connection to {broker.url} lost" in err
        line = follow.stderr.readline()
        assert "lost" in line and "reconnecting (--follow)" in line, line
        assert "cannot reconnect" in follow.stderr.readline()
        assert follow.poll() is None      # still there, retrying
        follow.terminate()
        follow.communicate(timeout=10)
