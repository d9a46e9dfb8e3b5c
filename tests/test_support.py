"""The test harness itself: each service really starts, answers, and stops."""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request

import pytest
import serial  # type: ignore[import-untyped]

from tests.support.procs import run_python


def test_mosquitto_accepts_connections(mosquitto):
    with socket.create_connection(("127.0.0.1", mosquitto.port), timeout=2) as s:
        s.sendall(bytes([0x10, 0x0D, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x01]) + b"t")
        assert s.recv(4)[:1] == b"\x20"  # CONNACK


def test_victoria_metrics_takes_influx_line_protocol(victoria):
    body = b"probe,area=A01 v=1.5 1700000000000000000\n"
    req = urllib.request.Request(f"{victoria.url}/write", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 204


def test_influx1_answers_influxql(influx1):
    q = urllib.request.Request(f"{influx1.url}/query?q=CREATE+DATABASE+probe", method="POST")
    with urllib.request.urlopen(q, timeout=5) as r:
        assert b"error" not in r.read()


def test_pty_pair_carries_bytes_both_ways(ptys):
    dev, cli = ptys
    with serial.Serial(dev, 2400, timeout=1) as a, serial.Serial(cli, 2400, timeout=1) as b:
        a.write(b"\xfe\xfe\x68")
        assert b.read(3) == b"\xfe\xfe\x68"
        b.write(b"\x16")
        t = time.monotonic()
        assert a.read(1) == b"\x16" and time.monotonic() - t < 1
    assert os.path.exists(dev)


def test_a_python_command_that_hangs_fails_with_the_stacks_of_its_threads(tmp_path):
    script = tmp_path / "hang.py"
    script.write_text("import threading, time\n"
                      "def waits_for_good():\n    threading.Event().wait()\n"
                      "threading.Thread(target=waits_for_good, name='stuck').start()\n"
                      "print('started', flush=True)\ntime.sleep(600)\n", encoding="utf-8")
    with pytest.raises(AssertionError) as e:
        run_python([sys.executable, str(script)], timeout=3)
    said = str(e.value)
    assert "did not end within 3 s" in said and "started" in said
    stacks = said.split("its threads when it was stopped")[1]
    assert "waits_for_good" in stacks and "hang.py" in stacks
    done = run_python([sys.executable, "-c", "print('ok')"], timeout=30)
    assert done.returncode == 0 and done.stdout == "ok\n"
