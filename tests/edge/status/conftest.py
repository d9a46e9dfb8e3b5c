"""One real daemon for the gateway-view tests: it polls a small simulated area (``tests.edge.service.harness``:
three DL/T 645 meters on a converter, a Modbus TCP TTU), publishes to a real mosquitto, and serves its
control socket and its status page (with a token) on loopback. Started once for the package's tests."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from edge.status.client import ControlClient
from tests.edge.service.harness import Daemon, ServedArea, served_area
from tests.support.procs import Mosquitto, free_port

TOKEN = "s3cret-token-for-tests"


@dataclass
class Gateway:
    area: ServedArea
    daemon: Daemon
    http: str                 # http://127.0.0.1:PORT/
    socket: str
    env: dict[str, str]       # MW_LOCK_DIR shared with the daemon, for `meterwatch read`

    def client(self) -> ControlClient:
        return ControlClient(socket_path=self.socket)

    def status(self) -> dict:  # type: ignore[type-arg]
        return self.client().request("GET", "/api/status")

    def wait(self, predicate, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        while True:
            doc = self.status()
            if predicate(doc):
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"status never satisfied the condition: {doc}")
            time.sleep(0.2)


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("gateway-view")
    port = free_port()
    (tmp / "token").write_text(TOKEN + "\n", encoding="utf-8")
    locks = tmp / "locks"
    with Mosquitto.running(tmp / "mosquitto") as mq, served_area(tmp / "area", mq.url, n_meters=3) as area:
        area.write_config(meter_s=2, master_s=1, plans="""
[plans.meter_tamper]
device_class = "meter"
quantities = ["sw3"]
interval_s = 3600
""")
        # The TTU is probed again 2 s after it falls silent (default 60 s): the page test waits for its recovery.
        text = area.config.read_text(encoding="utf-8")
        area.config.write_text(text.replace('protocol = "modbus-tcp"\n', 'protocol = "modbus-tcp"\nbackoff_base_s = 2\n'),
                               encoding="utf-8")
        with open(area.config, "a", encoding="utf-8") as fh:
            fh.write(f'\n[status]\nlisten = "127.0.0.1:{port}"\ntoken_file = "{tmp / "token"}"\npush_interval_s = 0.5\n')
        env = {"MW_LOCK_DIR": str(locks)}
        daemon = Daemon(config=area.config, log=tmp / "daemon.log", env=env)
        daemon.start()
        try:
            daemon.wait_log("status page on", 120)
            gw = Gateway(area=area, daemon=daemon, http=f"http://127.0.0.1:{port}/",
                         socket=str(area.state_dir / "control.sock"), env={**os.environ, **env})
            gw.wait(lambda d: all(dev["state"] == "ok" for dev in d["devices"]), 30)
            yield gw
        finally:
            daemon.close()
