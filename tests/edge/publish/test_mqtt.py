"""The MQTT link: URLs, credentials, TLS with a client certificate and password auth on a real broker."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.publish.mqtt import MqttSettings, parse_broker_url, read_password
from edge.publish.publisher import Publisher, PublisherSettings
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto, free_port, require_binary

PREFIX = "meterwatch/v2/gw-t/grid-t/A01"


def test_broker_urls_default_ports_and_reject_other_schemes() -> None:
    assert parse_broker_url("mqtt://broker.example") == ("broker.example", 1883, False)
    assert parse_broker_url("mqtts://broker.example") == ("broker.example", 8883, True)
    assert parse_broker_url("mqtts://10.0.0.5:18883") == ("10.0.0.5", 18883, True)
    with pytest.raises(ConfigError, match=r"mqtt\.url.*mqtt:// or mqtts://"):
        parse_broker_url("http://broker.example")
    with pytest.raises(ConfigError, match=r"mqtt\.url.*no host"):
        parse_broker_url("mqtt://")


def test_password_file_relative_to_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mqtt-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_password(Path("mqtt-password")) == "s3cret"
    with pytest.raises(ConfigError, match=r"mqtt\.password_file.*nope"):
        read_password(tmp_path / "nope")


def test_settings_check_names_the_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file"):
        MqttSettings(url="mqtts://h", client_id="gw", ca_file=tmp_path / "missing.pem").check()
    with pytest.raises(ConfigError, match=r"mqtt\.key_file"):
        MqttSettings(url="mqtt://h", client_id="gw", key_file=tmp_path / "k").check()


# -- real broker with TLS, client certificates and passwords ---------------------------------------
def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI."""
    d = tmp_path / "pki"
    d.mkdir()
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=meterwatch test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subj, ext in (("server", "/CN=localhost", ("-extfile", "san.ext")), ("client", "/CN=gw-tls", ())):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)
    return d


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Path) -> Iterator[tuple[Mosquitto, int]]:
    """TLS listener requiring a client certificate + password; a plain listener (same passwords) for the
    test subscriber. Returns (broker, plain_port)."""
    pw = tmp_path / "passwd"
    pw.touch()
    for user, secret in (("gw-tls", "right-password"), ("reader", "reader-pw")):
        subprocess.run([require_binary("mosquitto_passwd"), "-b", str(pw), user, secret], check=True,
                       capture_output=True, timeout=30)
    pw.chmod(0o600)
    plain = free_port()
    extra = (f"cafile {pki}/ca.pem\ncertfile {pki}/server.pem\nkeyfile {pki}/server.key\n"
             "require_certificate true\n"
             f"allow_anonymous false\npassword_file {pw}\n"
             f"listener {plain} 127.0.0.1\n")
    with Mosquitto.running(tmp_path / "mosq", extra_conf=extra) as broker:
        yield broker, plain


def tls_settings(broker: Mosquitto, pki: Path, password_file: Path, **kw: object) -> MqttSettings:
    return MqttSettings(url=f"mqtts://127.0.0.1:{broker.port}", client_id="gw-tls", username="gw-tls",
                        password_file=password_file, ca_file=pki / "ca.pem", cert_file=pki / "client.pem",
                        key_file=pki / "client.key", reconnect_min_s=0.2, reconnect_max_s=0.8,
                        **kw)  # type: ignore[arg-type]


@pytest.mark.integration
def test_tls_with_client_certificate_and_password_delivers(
        tls_broker: tuple[Mosquitto, int], pki: Path, tmp_path: Path) -> None:
    broker, plain = tls_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text("right-password\n")
    with Subscriber.running(plain, f"{PREFIX}/alert", username="reader", password="reader-pw") as sub:
        async def run() -> str:
            pub = Publisher(PublisherSettings(gateway="gw-tls", state_dir=tmp_path / "state"),
                            tls_settings(broker, pki, secret))
            await pub.start()
            msg_id = await pub.submit(f"{PREFIX}/alert", {"schema": "meterwatch.alert/2", "n": 1}, kind="alert")
            assert await pub.wait_drained(10), pub.last_error
            assert pub.last_error is None
            await pub.stop(2)
            return msg_id

        msg_id = asyncio.run(run())
        assert not sub.wait_for({msg_id}, timeout_s=5)


@pytest.mark.integration
def test_tls_without_the_client_certificate_is_reported_not_raised(
        tls_broker: tuple[Mosquitto, int], pki: Path, tmp_path: Path) -> None:
    broker, _ = tls_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text("right-password")
    settings = MqttSettings(url=f"mqtts://127.0.0.1:{broker.port}", client_id="gw-tls", username="gw-tls",
                            password_file=secret, ca_file=pki / "ca.pem", reconnect_min_s=0.2,
                            reconnect_max_s=0.4)

    async def run() -> Publisher:
        pub = Publisher(PublisherSettings(gateway="gw-tls", state_dir=tmp_path / "state"), settings)
        await pub.start()
        await pub.submit(f"{PREFIX}/alert", {"schema": "meterwatch.alert/2"}, kind="alert")
        deadline = time.monotonic() + 10
        while pub.counters["connect_failed"] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not pub.connected and pub.stats().depth == 1
        await pub.stop(0.2)
        return pub

    pub = asyncio.run(run())
    assert pub.counters["connect_failed"] >= 2
    assert pub.last_error is not None and "TLS" in pub.last_error


@pytest.mark.integration
def test_wrong_password_is_a_clear_error_retried_with_backoff_then_recovers(
        tls_broker: tuple[Mosquitto, int], pki: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker, plain = tls_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text("wrong-password\n")
    caplog.set_level(logging.ERROR, logger="edge.publish.publisher")
    with Subscriber.running(plain, f"{PREFIX}/alert", username="reader", password="reader-pw") as sub:
        async def run() -> tuple[str, int]:
            pub = Publisher(PublisherSettings(gateway="gw-tls", state_dir=tmp_path / "state"),
                            tls_settings(broker, pki, secret))
            await pub.start()
            msg_id = await pub.submit(f"{PREFIX}/alert", {"schema": "meterwatch.alert/2"}, kind="alert")
            await asyncio.sleep(2.5)
            refused = pub.counters["connect_refused"]
            assert not pub.connected and pub.stats().depth == 1      # kept, not lost
            assert pub.last_error is not None and "refused" in pub.last_error, pub.last_error
            assert pub.counters["connect_failed"] == 0
            line = pub.status_line()
            assert line.startswith("mqtt down (broker mqtts://127.0.0.1:") and "1 queued" in line, line
            secret.write_text("right-password\n")                   # operator fixes the credential
            assert await pub.wait_drained(10), pub.last_error
            await pub.stop(2)
            return msg_id, refused

        msg_id, refused = asyncio.run(run())
        # back-off 0.2, 0.4, 0.8, 0.8 s: a handful of attempts in 2.5 s, not a tight loop
        assert 2 <= refused <= 8
        messages = [r.getMessage() for r in caplog.records]
        assert any("refused the connection" in m and ("password" in m.lower() or "authori" in m.lower())
                   for m in messages), messages
        assert not sub.wait_for({msg_id}, timeout_s=5)
