"""``meterwatch status``, ``/metrics``, the token, and ``meterwatch read`` through the daemon, against a
real daemon polling a simulated area (tests/edge/status/conftest.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.status.client import ControlClient, ControlError
from tests.edge.status.conftest import TOKEN, Gateway

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def cli(gw: Gateway, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *argv], capture_output=True, text=True, env=gw.env,
                          timeout=60)


def get(url: str, auth: str | None = None) -> tuple[int, str, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def test_status_reports_buses_devices_outbox_engine_and_versions(gateway: Gateway) -> None:
    r = cli(gateway, "status", "-c", str(gateway.area.config), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["gateway"], doc["state"]) == ("meterwatch.gateway_status/1", "gw-test", "running")
    buses = {b["name"]: b for b in doc["buses"]}
    assert set(buses) == {"rs485-1", "ttu"} and all(b["online"] for b in buses.values())
    meters = buses["rs485-1"]
    assert meters["reads_ok"] > 0 and meters["reads_failed"] == 0 and meters["success"] == 1.0
    assert 0.3 < meters["utilisation"] <= 1.0 and 0.5 < meters["efficiency"] <= 1.0
    devices = {d["device"]: d for d in doc["devices"]}
    assert set(devices) == {"m1", "m2", "m3", "master:A01"}
    assert all(d["state"] == "ok" and d["last_ok"] is not None and doc["ts"] - d["last_ok"] < 10
               for d in devices.values())
    assert devices["m2"]["address"] == "000000000002" or devices["m2"]["address"] == "2"
    assert doc["mqtt"]["connected"] is True and doc["outbox"]["dropped_alerts"] == 0
    assert doc["engine"]["ticks"] > 0 and doc["engine"]["tick_ms_p50"] > 0
    assert doc["versions"]["meterwatch"] and doc["versions"]["h11"] != "absent"
    assert doc["endpoints"]["http"] == gateway.http

    # The table, found through the port locks (no arguments), in Chinese.
    r = cli(gateway, "status", "--lang", "zh")
    assert r.returncode == 0, r.stderr
    assert "网关 gw-test" in r.stdout and "状态 运行中" in r.stdout and "rs485-1" in r.stdout
    assert all(f"  {name}" in r.stdout for name in ("m1", "m2", "m3", "master:A01"))


def test_metrics_agree_with_the_status_document_and_need_the_token(gateway: Gateway) -> None:
    url = gateway.http + "metrics"
    assert get(url)[0] == 401
    assert get(url, "Bearer wrong")[0] == 401
    status, ctype, body = get(url, f"Bearer {TOKEN}")
    assert status == 200 and ctype.startswith("text/plain")
    doc = gateway.status()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    ok = samples[("meterwatch_bus_reads_total", (("bus", "rs485-1"), ("result", "ok")))]
    after = {b["name"]: b for b in doc["buses"]}["rs485-1"]["reads_ok"]
    assert 0 < ok <= after                               # the scrape came first; counters only grow
    assert samples[("meterwatch_port_online", (("bus", "ttu"), ("port", gateway.area.ttu_port)))] == 1.0
    assert samples[("meterwatch_outbox_depth_messages", ())] >= 0
    assert samples[("meterwatch_mqtt_connected", ())] == 1.0
    assert samples[("meterwatch_engine_tick_seconds", (("quantile", "0.5"),))] > 0
    assert samples[("meterwatch_daemon_running", ())] == 1.0
    assert samples[("process_resident_memory_bytes", ())] > 50e6
    # HTTP Basic with any user name (what a browser sends) works too; the page itself needs it as well.
    basic = "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert get(url, basic)[0] == 200
    assert get(gateway.http)[0] == 401 and get(gateway.http, basic)[0] == 200
    # Reads through the daemon are not taken over TCP, even with the token.
    req = urllib.request.Request(gateway.http + "api/read", data=b"{}", headers={"Authorization": basic})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 403


def test_read_during_full_polling_goes_through_the_daemon_within_one_slot(gateway: Gateway) -> None:
    """The meter bus is polled back to back (3 meters every 2 s at 9600 baud: 90 % of the wire by the planner); a technician's reads are
    slotted in between two transactions: each returns within one poll slot, with the meters' values,
    and the daemon's own reads keep succeeding."""
    before = {b["name"]: b for b in gateway.status()["buses"]}["rs485-1"]
    assert before["utilisation"] > 0.5                   # the bus is busy
    client = ControlClient(socket_path=gateway.socket)
    took = []
    for address in ("1", "2", "3", "2", "1"):
        t0 = time.monotonic()
        doc = client.request("POST", "/api/read", {"port": gateway.area.meter_ports[0], "protocol": "2007",
                                                   "address": address, "items": ["u_a", "e_fwd"]})
        took.append(time.monotonic() - t0)
        rows = {r["item"]: r for r in doc["items"]}
        assert rows["u_a"]["value"] == 228.0 and rows["u_a"]["text"] == "228.0"
        assert rows["e_fwd"]["value"] == pytest.approx(500.0, abs=1.0)
        assert doc["via"]["bus"] == "rs485-1" and doc["via"]["waited_s"] < 1.0
    assert max(took) < 2.0                               # within one slot of the 2-s meter plan
    # The command line, as a technician types it: same port, same lock, through the daemon.
    r = cli(gateway, "read", "--port", gateway.area.meter_ports[0], "--address", "000000000003", "u_a", "i_a")
    assert r.returncode == 0, r.stderr
    assert "read through the daemon" in r.stderr and "u_a" in r.stdout and "228.0 V" in r.stdout
    r = cli(gateway, "read", "--port", gateway.area.ttu_port, "--protocol", "modbus-tcp", "--json", "u_a", "i_a")
    assert r.returncode == 0, r.stderr
    assert {x["quantity"]: x["value"] for x in json.loads(r.stdout)["readings"]}["u_a"] == 230.0
    time.sleep(2.5)                                      # one more meter round after the reads
    after = {b["name"]: b for b in gateway.status()["buses"]}["rs485-1"]
    assert after["reads_failed"] == before["reads_failed"] == 0
    assert after["reads_ok"] > before["reads_ok"] and after["backed_off"] == 0
    assert after["on_demand"] - before["on_demand"] == 6


def test_a_read_the_daemon_cannot_do_is_refused_with_the_reason(gateway: Gateway) -> None:
    r = cli(gateway, "read", "--port", gateway.area.ttu_port, "--address", "1", "u_a")
    assert r.returncode == 2 and "speaks modbus-tcp, not 2007" in r.stderr
    client = ControlClient(socket_path=gateway.socket)
    with pytest.raises(ControlError, match=r"does not poll tcp://127\.0\.0\.1:1 "):
        client.request("POST", "/api/read", {"port": "tcp://127.0.0.1:1", "protocol": "2007", "address": "1"})
    with pytest.raises(ControlError, match="unknown field"):
        client.request("POST", "/api/read", {"port": "x", "protocol": "2007", "baudrate": 9600})


def test_the_page_stream_sends_every_device_once_then_only_those_that_changed(gateway: Gateway) -> None:
    import http.client

    basic = "Basic " + base64.b64encode(f"x:{TOKEN}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", int(gateway.http.rsplit(":", 1)[1].strip("/")), timeout=10)
    conn.request("GET", "/api/events", headers={"Authorization": basic})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type", "").startswith("text/event-stream")
    events = []
    while len(events) < 4:
        line = resp.readline()
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
    conn.close()
    first, *rest = events
    assert first["devices_full"] is True and len(first["devices"]) == 4
    assert all(e["devices_full"] is False for e in rest)
    # The master is read every second and the push is every 0.5 s: it comes again, not every device each time.
    assert any(d["device"] == "master:A01" for e in rest for d in e["devices"])
    assert sum(len(e["devices"]) for e in rest) < 3 * 4
    sent = {d["device"]: d for d in first["devices"]}
    for e in rest:                                  # a device is sent again only when something of it changed
        for d in e["devices"]:
            assert d != sent[d["device"]], d
            sent[d["device"]] = d
