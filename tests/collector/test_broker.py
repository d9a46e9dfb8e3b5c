"""deploy/mosquitto/ on the real mosquitto: the ACL binds each gateway to its own subtree, and the queue
settings keep a stopped collector's whole backlog (the stock settings drop it: test_integrity.py)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collector.testing import AreaSpec, area_stream
from tests.collector.harness import PREFIX, collector_thread, write_config
from tests.support.procs import Mosquitto, free_port, require_binary

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
USERS = {"gw-0001": "pw-a", "gw-0002": "pw-b", "meterwatch-collector": "pw-c"}


def shipped_broker(tmp: Path) -> Mosquitto:
    """mosquitto with deploy/mosquitto/meterwatch.conf as shipped, except: a plain loopback listener
    instead of the TLS one, and the password and ACL files in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    passwd = tmp / "passwd"
    for user, secret in USERS.items():
        subprocess.run([require_binary("mosquitto_passwd"), *([] if passwd.exists() else ["-c"]), "-b", str(passwd),
                        user, secret], check=True, capture_output=True)
    (tmp / "acl").write_text((DEPLOY / "meterwatch.acl").read_text())
    shipped = (DEPLOY / "meterwatch.conf").read_text()
    shipped = re.sub(r"^(listener|certfile|keyfile|cafile) .*$", "", shipped, flags=re.M)
    shipped = shipped.replace("/etc/mosquitto/meterwatch.passwd", str(passwd))
    shipped = shipped.replace("/etc/mosquitto/meterwatch.acl", str(tmp / "acl"))
    assert "max_queued_messages 0" in shipped and "pattern write meterwatch/v2/%u/#" in (tmp / "acl").read_text()
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"persistence true\npersistence_location {tmp}/\nlog_dest file {tmp}/mosquitto.log\n"
                    + ("user root\n" if __import__("os").geteuid() == 0 else "")
                    + f"listener {port} 127.0.0.1\n" + shipped)
    return Mosquitto(argv=[require_binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(conf)], port=port,
                     workdir=tmp, log=tmp / "stdout.log")


def _gateway(port: int, user: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv5)
    c.username_pw_set(user, USERS[user])
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def test_shipped_config_binds_gateways_to_their_subtree_and_keeps_a_stopped_collectors_backlog(victoria, tmp_path):
    msgs = [m for m in area_stream(AreaSpec(meters=1, intervals=400, realtime_per_interval=4), PREFIX)
            if m.payload["schema"] == "meterwatch.realtime/2"]                      # 1600 on one topic
    (tmp_path / "pw").write_text(USERS["meterwatch-collector"])
    broker = shipped_broker(tmp_path / "broker")
    broker.start()
    try:
        cfg = write_config(tmp_path / "c.toml", mqtt_url=broker.url, influx_url=victoria.url, client_id="col-acl",
                           username="meterwatch-collector", password_file=str(tmp_path / "pw"))
        with collector_thread(cfg):
            pass                                         # the session exists; the collector is now stopped
        gw_a, gw_b = _gateway(broker.port, "gw-0001"), _gateway(broker.port, "gw-0002")
        refused = []
        gw_b.on_publish = lambda c, u, mid, rc, props: refused.append(rc) if rc.is_failure else None
        # gw-0002 tries to publish gw-0001's message on gw-0001's topic: the broker refuses it
        gw_b.publish(msgs[0].topic, msgs[0].encode(), qos=1).wait_for_publish(5)
        infos = [gw_a.publish(m.topic, m.encode(), qos=1) for m in msgs]
        for i in infos:
            i.wait_for_publish(30)
        assert [str(r) for r in refused] == ["Not authorized"]
        with collector_thread(cfg) as col:
            deadline = time.monotonic() + 30
            while col.health.counters["acked"] < len(msgs) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            assert col.health.counters["received"] == len(msgs), (dict(col.health.counters), col.gaps.counters())
            assert col.gaps is not None and col.gaps.counters()["missing"] == 0
        for c in (gw_a, gw_b):
            c.disconnect()
            c.loop_stop()
    finally:
        broker.stop()
