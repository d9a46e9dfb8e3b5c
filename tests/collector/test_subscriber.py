"""The collector's own MQTT client against the real mosquitto: TLS with a password, a broker restart
mid-stream (the persistent session resumes, nothing is lost), a wrong password (retried, reported)."""

from __future__ import annotations

import subprocess
import time

import pytest

from collector.config import MqttConfig
from collector.subscriber import Subscriber
from tests.collector.harness import publish_all
from tests.support.pki import make_pki
from tests.support.procs import Mosquitto, free_port, require_binary

pytestmark = pytest.mark.integration


def _drain(sub: Subscriber, n: int, timeout_s: float = 20.0) -> list:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < deadline:
        try:
            got.append(sub.inbox.get(timeout=0.2))
        except Exception:
            continue
    return got


def test_tls_with_password_and_a_broker_restart_lose_nothing(tmp_path, caplog):
    pki = make_pki(tmp_path / "pki")
    pw = tmp_path / "passwd"
    subprocess.run([require_binary("mosquitto_passwd"), "-c", "-b", str(pw), "col", "s3cret"], check=True,
                   capture_output=True)
    (tmp_path / "secret").write_text("s3cret\n")
    tls = free_port()
    extra = (f"listener {tls} 127.0.0.1\ncafile {pki}/ca.pem\ncertfile {pki}/server.pem\n"
             f"keyfile {pki}/server.key\npassword_file {pw}\nallow_anonymous false\n")
    with Mosquitto.running(tmp_path / "mq", extra_conf=extra) as broker:
        cfg = MqttConfig(url=f"mqtts://127.0.0.1:{tls}", client_id="col-tls", username="col",
                         password_file=str(tmp_path / "secret"), ca_file=str(pki / "ca.pem"), topic_prefix="t",
                         keepalive_s=5)
        sub = Subscriber(cfg)
        sub.start()
        try:
            assert sub.subscribed.wait(10), caplog.text
            publish_all(broker.url, [(f"t/{i}", b"%d" % i) for i in range(50)], auth=("col", "s3cret"))
            first = _drain(sub, 50)
            assert sub.ack_many(first) == 50
            # acks are queued, not yet at the broker: a QoS 1 round trip on the same connection after them
            # says the broker has read them (stopped before, it rightly redelivers the 50 after the restart)
            sync = sub.publish("x/sync", b"", qos=1)
            sync.wait_for_publish(10)
            assert sync.is_published()
            gen = sub.generation
            broker.stop()
            broker.start()                                   # same port, persisted session
            assert sub.subscribed.wait(20) and sub.generation == gen + 1
            publish_all(broker.url, [(f"t/{i}", b"%d" % i) for i in range(50, 100)], auth=("col", "s3cret"))
            second = _drain(sub, 50)
            assert sorted(int(m.payload) for m in second) == list(range(50, 100))
            assert sub.ack_many(first) == 0, "messages of an old connection are never acknowledged"
            d = sub.publish("x/dead", b"letter", qos=1)
            d.wait_for_publish(5)
            assert d.is_published()
        finally:
            sub.stop()
    assert "mqtt connection lost" in caplog.text or "disconnected" in caplog.text


def test_a_wrong_password_is_reported_and_retried(tmp_path, caplog):
    pw = tmp_path / "passwd"
    subprocess.run([require_binary("mosquitto_passwd"), "-c", "-b", str(pw), "col", "right"], check=True,
                   capture_output=True)
    (tmp_path / "secret").write_text("wrong")
    port = free_port()
    conf = f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n"
    with Mosquitto.running(tmp_path / "mq2", extra_conf=conf) as broker:
        sub = Subscriber(MqttConfig(url=f"mqtt://127.0.0.1:{port}", client_id="c", username="col",
                                    password_file=str(tmp_path / "secret"), topic_prefix="t"))
        sub.start()
        try:
            deadline = time.monotonic() + 10
            while caplog.text.count("cannot connect") < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "refused: not authorized (CONNACK reason code 0x87)" in caplog.text
            assert not sub.subscribed.is_set()
            assert broker.proc is not None and broker.proc.poll() is None
        finally:
            sub.stop()
