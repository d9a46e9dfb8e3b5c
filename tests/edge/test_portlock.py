"""One owner per port: the lock file, its holder record, who is named when it is taken, no stale locks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge import portlock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "locks"
    monkeypatch.setenv("MW_LOCK_DIR", str(d))
    return d


def hold(port: str, lock_dir: Path) -> subprocess.Popen[str]:
    code = ("import sys, time\nfrom edge import portlock\n"
            "portlock.acquire(sys.argv[1], program='meterwatch run', bus='rs485-1', control='/run/mw.sock')\n"
            "print('held', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, port], stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "MW_LOCK_DIR": str(lock_dir)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_port_names_its_holder_and_is_free_again_when_the_holder_dies(lock_dir: Path) -> None:
    proc = hold("tcp://10.0.0.5:4001", lock_dir)
    try:
        with pytest.raises(portlock.PortBusy) as exc:
            portlock.acquire("TCP://10.0.0.5:4001", program="meterwatch read")
        h = exc.value.holder
        assert (h.pid, h.program, h.bus, h.control) == (proc.pid, "meterwatch run", "rs485-1", "/run/mw.sock")
        assert str(exc.value) == f'TCP://10.0.0.5:4001 is in use by meterwatch run (pid {proc.pid}, bus "rs485-1")'
    finally:
        proc.kill()
        proc.wait(5)
    with portlock.acquire("tcp://10.0.0.5:4001", program="meterwatch read") as lock:   # no stale lock
        assert lock.held and lock.path is not None and lock.path.parent == lock_dir
        assert f'"pid": {os.getpid()}' in lock.path.read_text()
    assert lock.path.read_text() == ""           # released: the record is emptied


def test_a_serial_port_is_one_port_by_every_name(tmp_path: Path) -> None:
    tty = tmp_path / "ttyUSB0"
    tty.touch()
    by_id = tmp_path / "usb-FTDI_FT232R-if00-port0"
    by_id.symlink_to(tty)
    with portlock.acquire(str(by_id), program="meterwatch run", bus="rs485-2"), \
            pytest.raises(portlock.PortBusy, match=rf"in use by meterwatch run \(pid {os.getpid()}"):
        portlock.acquire(str(tty), program="meterwatch scan")   # two buses on one port are refused too
    assert portlock.port_key(str(by_id)) == str(tty) and portlock.port_key("/dev/ttyGone") == "/dev/ttyGone"


def test_an_unusable_lock_directory_does_not_stop_anyone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("MW_LOCK_DIR", str(blocker / "ports"))
    lock = portlock.acquire("/dev/ttyS1", program="meterwatch run")
    assert not lock.held
    lock.release()
    assert "ports are not locked against other programs" in caplog.text


def test_one_daemon_per_state_directory_and_the_second_is_told_who_runs(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with portlock.hold_state_dir(state):
        with pytest.raises(portlock.StateDirBusy) as exc:
            portlock.hold_state_dir(state)
        assert exc.value.pid == os.getpid()
        assert str(exc.value).startswith(f"{state} is in use by another meterwatch run (pid {os.getpid()})")
    with portlock.hold_state_dir(state):          # released: the next start takes it
        pass


def test_a_second_meterwatch_run_on_the_same_configuration_refuses_to_start(tmp_path: Path) -> None:
    """A technician's hand `meterwatch run -c /etc/meterwatch/edge.toml` while the service runs: two daemons
    on one outbox and one MQTT client id would take each other's broker session every few seconds, bind
    the same control socket and report each other's ports as unavailable."""
    from tests.edge.service.harness import served_area

    with served_area(tmp_path / "area", "mqtt://127.0.0.1:1", n_meters=1) as area:
        area.write_config()
        with portlock.hold_state_dir(area.state_dir):       # the running daemon
            res = subprocess.run([sys.executable, "-m", "edge.cli", "run", "-c", str(area.config)], cwd=REPO,
                                 capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stderr
    assert f"is in use by another meterwatch run (pid {os.getpid()})" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "kernels ready" not in res.stderr


def test_a_full_disk_does_not_stop_the_daemon_taking_its_state_directory(tmp_path: Path) -> None:
    from tests.support.disk import fill, small_disk

    with small_disk(tmp_path / "disk", "1m") as disk:
        state = disk / "state"
        state.mkdir()
        filler = fill(disk)
        with portlock.hold_state_dir(state) as held:          # no room for the pid record: locked anyway
            assert held.held
            with pytest.raises(portlock.StateDirBusy, match=rf"\(pid {os.getpid()}\)"):
                portlock.hold_state_dir(state)
        filler.unlink()
