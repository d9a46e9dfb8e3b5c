"""The daemon through its [mqtt] config: TLS with a CA and a client certificate made by the openssl CLI,
password auth (mosquitto_passwd); a wrong password is a clear error, retried with back-off, no exit."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.edge.publish.test_mqtt import pki, tls_broker  # noqa: F401  (fixtures)
from tests.edge.service.harness import PREFIX, Daemon, install_audit, produced, seq_of, served_area
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto

pytestmark = pytest.mark.integration


def _refusals(log: str) -> list[float]:
    """Times (s) of the 'refused the connection' errors in the daemon log."""
    out = []
    for line in log.splitlines():
        if "refused the connection" in line:
            m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})", line)
            assert m, line
            out.append(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000)
    return out


def test_tls_client_certificate_and_password_wrong_password_retried_then_delivers(
        tmp_path: Path, tls_broker: tuple[Mosquitto, int], pki: Path) -> None:  # noqa: F811
    broker, plain = tls_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text("wrong-password\n")
    with served_area(tmp_path / "area", f"mqtts://127.0.0.1:{broker.port}") as area, \
            Subscriber.running(plain, f"{PREFIX}/#", username="reader", password="reader-pw") as sub:
        area.write_config(mqtt=f'username = "gw-tls"\npassword_file = "{secret}"\nca_file = "{pki}/ca.pem"\n'
                               f'cert_file = "{pki}/client.pem"\nkey_file = "{pki}/client.key"')
        install_audit(area.outbox_path)
        daemon = Daemon(config=area.config, log=tmp_path / "daemon.log")
        try:
            daemon.start()
            daemon.wait_log("kernels ready")
            daemon.wait_log("refused the connection", count=3, timeout_s=20)
            assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon exited on a wrong password"
            log = daemon.text()
            assert re.search(r"ERROR edge\.publish\.publisher: broker mqtts://127\.0\.0\.1:\d+ refused the connection: "
                             r"(Bad user name or password|Not authorized) \(code 13[45]\); check username/password",
                             log), log[-2000:]
            gaps = [b - a for a, b in zip(_refusals(log), _refusals(log)[1:], strict=False)]
            assert gaps[1] >= 1.5 * gaps[0] - 0.2, f"no back-off between attempts: {gaps}"
            assert produced(area.outbox_path), "nothing stored while refused"
            secret.write_text("right-password\n")        # the operator fixes the credential, no restart
            daemon.wait_log("connected to mqtts://", timeout_s=30)
            stored = {s for s, kind, _ in produced(area.outbox_path) if kind != "alerts_active"}
            deadline = time.monotonic() + 15
            while stored - {seq_of(m) for m in sub.msg_ids() if m} and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not stored - {seq_of(m) for m in sub.msg_ids() if m}, "messages kept while refused were lost"
            assert daemon.terminate() == 0
        finally:
            daemon.close()
