"""Field faults of ports and links, end to end: the real daemon (subprocess) polling simulated devices
over real ptys and loopback TCP, publishing to a real mosquitto.

- a meter bus whose USB adapter is missing at start-up: every other device is served, the gateway
  alert ``port_unavailable`` is raised (and counted in health); the adapter appears and the bus is
  polled within two back-off periods, the alert is cleared;
- that adapter unplugged and re-enumerated behind the same path: no busy loop while it is gone (the
  daemon's CPU time stays small), polled again within two back-off periods;
- a serial-to-Ethernet converter (DL/T 645 over tcp://) and a Modbus TCP TTU restarting on their ports:
  both polled again within two back-off periods, the other devices never stop;
- ``meterwatch read`` on a port the daemon holds goes through the daemon; ``scan`` is refused with its pid.

"Back-off period" is the wait the daemon was in when the port came back: its log says after how many
failed attempts the port returned, and ``PortBackoff().delay_s(attempts)`` is that wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.modbus.profile import load_profile
from edge.scheduler import PortBackoff
from edge.sim.meterbus import MeterBus
from edge.sim.ttu import SimulatedTtu
from tests.edge.service.harness import GATEWAY, PREFIX, REPO, Daemon, ServedArea, _LoopThread, served_area
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto, free_port
from tests.support.pty import PtyPair

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def wait_until(cond, timeout_s: float, what: str, daemon: Daemon | None = None) -> float:  # type: ignore[no-untyped-def]
    """Poll ``cond`` every 10 ms; returns the seconds it took."""
    t0 = time.monotonic()
    while not cond():
        if daemon is not None and daemon.proc is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited ({daemon.proc.returncode}) before {what}\n{daemon.text()[-3000:]}")
        if time.monotonic() - t0 > timeout_s:
            tail = daemon.text()[-3000:] if daemon else ""
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{tail}")
        time.sleep(0.01)
    return time.monotonic() - t0


def port_alerts(sub: Subscriber, bus: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    return [(m.payload["state"], m.payload) for m in sub.snapshot() if m.topic.endswith("/alert")
            and m.payload.get("kind") == "port_unavailable" and m.payload["evidence"].get("bus") == bus]


def last_health(sub: Subscriber) -> dict:  # type: ignore[type-arg]
    return next((m.payload for m in reversed(sub.snapshot()) if m.topic.endswith("/health")), {"buses": []})


def bus_health(sub: Subscriber, bus: str) -> dict:  # type: ignore[type-arg]
    return next((b for b in last_health(sub)["buses"] if b["name"] == bus), {})


def backoff_bound_s(daemon: Daemon, bus: str, count: int) -> float:
    """Two back-off periods: twice the wait the daemon was in when the port of ``bus`` came back the
    ``count``-th time, as its log gives it."""
    found = re.findall(rf'bus "{re.escape(bus)}": port \S+ available again after [\d.]+ s \(\d+ failed '
                       r"attempts, back-off (\d+) s\)", daemon.text())
    assert len(found) >= count, daemon.text()[-3000:]
    wait_s = int(found[count - 1])
    assert wait_s in {PortBackoff().delay_s(n) for n in range(1, 12)}
    return 2 * wait_s


def first_times(conds: dict[str, Callable[[], bool]], timeout_s: float, daemon: Daemon) -> dict[str, float]:
    """Seconds until each condition first held, all watched together every 10 ms."""
    t0, got = time.monotonic(), {}
    while len(got) < len(conds):
        for name, cond in conds.items():
            if name not in got and cond():
                got[name] = time.monotonic() - t0
        if daemon.proc is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited ({daemon.proc.returncode})\n{daemon.text()[-3000:]}")
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"after {timeout_s} s only {sorted(got)} of {sorted(conds)}\n{daemon.text()[-3000:]}")
        time.sleep(0.01)
    return got


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime


@contextlib.contextmanager
def serving(bus: MeterBus, where: str) -> Iterator[None]:
    with bus.serving(where):
        yield


def test_missing_adapter_at_start_then_unplugged_and_back_every_other_device_served(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    pair = PtyPair(tmp_path / "usb", name="usb-FTDI_RS485")      # not there yet: the USB adapter is missing
    lock_dir = tmp_path / "locks"
    with served_area(tmp_path / "area", mosquitto.url, n_meters=4, n_buses=2) as area, \
            Subscriber.running(mosquitto.port, f"{PREFIX}/#") as sub:
        usb_bus = area.buses[1]                                   # meters m3, m4; served on the pty later
        area.meter_ports[1] = pair.client
        area.write_config(master_s=1, meter_s=2, health_s=5)
        d = Daemon(config=area.config, log=tmp_path / "daemon.log", env={"MW_LOCK_DIR": str(lock_dir)})
        d.start()
        try:
            # start-up with the adapter missing: the gateway alert, and everything else polled
            wait_until(lambda: port_alerts(sub, "rs485-2"), 60, "port_unavailable raised", d)
            (state, raised), = port_alerts(sub, "rs485-2")
            assert state == "raised" and raised["subject"] == {"type": "gateway", "id": f"{GATEWAY}/rs485-2"}
            assert raised["area"] == "A01" and raised["value"] == 2 and "no such device" in raised["evidence"]["error"]
            served_before = area.buses[0].stats.replies
            wait_until(lambda: area.buses[0].stats.replies >= served_before + 4, 10, "rs485-1 polled", d)
            wait_until(lambda: any(m.topic.endswith("summary/realtime") for m in sub.snapshot()), 10, "TTU", d)
            wait_until(lambda: bus_health(sub, "rs485-2").get("port_online") == 0, 10, "health of rs485-2", d)
            h = bus_health(sub, "rs485-2")
            assert h["port_open_failures"] >= 1 and pair.client in h["port_error"]
            assert last_health(sub)["counters"]["ports_offline"] == 1
            active = [m.payload for m in sub.snapshot() if m.topic.endswith("alerts/active")][-1]
            assert any(a["kind"] == "port_unavailable" for a in active["alerts"])

            # a technician's read of a port the daemon polls goes through the daemon (docs/status.md); a scan,
            # which would hold the bus for minutes, is refused, naming the daemon
            env = {**os.environ, "MW_LOCK_DIR": str(lock_dir)}
            res = subprocess.run([sys.executable, "-m", "edge.cli", "read", "--port", area.meter_ports[0],
                                  "--address", "1", "00010000"], cwd=REPO, capture_output=True, text=True,
                                 env=env, timeout=60)
            assert res.returncode == 0 and f"read through the daemon (pid {d.proc.pid}" in res.stderr, res.stderr
            res = subprocess.run([sys.executable, "-m", "edge.cli", "scan", "--port", area.meter_ports[0]], cwd=REPO,
                                 capture_output=True, text=True, env=env, timeout=60)
            assert res.returncode == 3 and f"in use by meterwatch run (pid {d.proc.pid}" in res.stderr, res.stderr

            # the adapter appears
            pair.start()
            with serving(usb_bus, pair.device):
                recovery_1 = wait_until(lambda: usb_bus.stats.replies > 0, 130, "rs485-2 polled", d)
                wait_until(lambda: [s for s, _ in port_alerts(sub, "rs485-2")] == ["raised", "cleared"], 10,
                           "port_unavailable cleared", d)
                assert recovery_1 <= backoff_bound_s(d, "rs485-2", 1)
                # unplugged: end of file on the tty, the path vanishes; no busy loop meanwhile
                pair.hang_up()
            time.sleep(1.0)
            assert d.proc is not None
            cpu0 = cpu_s(d.proc.pid)
            time.sleep(4.0)
            cpu_share = (cpu_s(d.proc.pid) - cpu0) / 4.0
            assert cpu_share < 0.25, f"daemon used {cpu_share:.0%} of a core with the adapter unplugged"
            replies = usb_bus.stats.replies
            pair.start()                                          # re-enumerated behind the same path
            with serving(usb_bus, pair.device):
                recovery_2 = wait_until(lambda: usb_bus.stats.replies > replies, 130, "rs485-2 polled again", d)
                assert recovery_2 <= backoff_bound_s(d, "rs485-2", 2)
                wait_until(lambda: [s for s, _ in port_alerts(sub, "rs485-2")] == ["raised", "cleared"] * 2, 10,
                           "second outage raised and cleared", d)
            assert d.terminate() == 0
        finally:
            d.close()
            pair.hang_up()
    print(f"\nusb adapter appeared: polled after {recovery_1:.2f} s; re-enumerated: {recovery_2:.2f} s; "
          f"CPU while unplugged {cpu_share:.1%}")


def test_converter_and_ttu_restarting_on_their_ports_are_polled_again(tmp_path: Path, mosquitto: Mosquitto) -> None:
    meter_port, ttu_port = free_port(), free_port()
    lt = _LoopThread()
    with served_area(tmp_path / "area", mosquitto.url, n_meters=3) as area, \
            Subscriber.running(mosquitto.port, f"{PREFIX}/#") as sub:
        # the area's own servers stay up on ports nobody polls; the daemon polls these two
        converter, ttu = area.buses[0], _ttu_on(area, ttu_port)
        area.meter_ports[0], area.ttu_port = f"tcp://127.0.0.1:{meter_port}", f"tcp://127.0.0.1:{ttu_port}"
        area.write_config(master_s=1, meter_s=2, health_s=5)
        d = Daemon(config=area.config, log=tmp_path / "daemon.log", env={"MW_LOCK_DIR": str(tmp_path / "locks")})
        try:
            with serving(converter, area.meter_ports[0]):
                lt.run(ttu.__aenter__())
                d.start()
                wait_until(lambda: converter.stats.replies >= 3 and ttu.requests >= 3, 60, "both polled", d)
                lt.run(ttu.__aexit__(None, None, None))           # both restart at once
            time.sleep(3.0)
            t_down = (converter.stats.replies, ttu.requests)
            ttu = _ttu_on(area, ttu_port)
            lt.run(ttu.__aenter__())
            with serving(converter, area.meter_ports[0]):
                back = first_times({"converter": lambda: converter.stats.replies > t_down[0],
                                    "ttu": lambda: ttu.requests > 0}, 130, d)
                recovery_conv, recovery_ttu = back["converter"], back["ttu"]
                assert recovery_conv <= backoff_bound_s(d, "rs485-1", 1)
                assert recovery_ttu <= backoff_bound_s(d, "ttu", 1)
                for bus in ("rs485-1", "ttu"):
                    wait_until(lambda bus=bus: [s for s, _ in port_alerts(sub, bus)] == ["raised", "cleared"], 10,
                               f"{bus} alert raised and cleared", d)
                wait_until(lambda: bus_health(sub, "ttu").get("port_failures", 0) >= 1, 10, "ttu failure counted", d)
            lt.run(ttu.__aexit__(None, None, None))
            assert d.terminate() == 0
        finally:
            d.close()
            lt.close()
    print(f"\nconverter restart: polled again {recovery_conv:.2f} s after it was back; TTU {recovery_ttu:.2f} s")


def _ttu_on(area: ServedArea, port: int) -> SimulatedTtu:
    ttu = SimulatedTtu(load_profile("ttu"), area.source, transport="tcp")
    ttu._server.tcp_port = port          # a fixed port: the TTU comes back where it was
    return ttu

