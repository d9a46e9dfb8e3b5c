"""``meterwatch read`` (edge/commands/read.py -> edge.dlt645.cli.run_read) against the simulated bus."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.commands import read, scan
from tests.edge.dlt645 import simbus

REPO = Path(__file__).resolve().parents[3]


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    read.add_arguments(p)
    return p.parse_args(list(argv))


def _scan_args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    scan.add_arguments(p)
    return p.parse_args(list(argv))


def test_read_prints_dis_and_quantities_as_json(ptys, capsys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)
    with bus.serving(dev):
        code = read.run(_args("--port", cli, "--baud", "19200", "--parity", "N", "--address", "000000000003",
                              "--json", "00010000", "04000507", "u_a", "i_a"))
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["address"] == "000000000003" and out["protocol"] == "2007"
    rows = {r["item"]: r for r in out["items"]}
    assert rows["e_fwd"]["value"] == pytest.approx(simbus.values(3)["e_fwd"]) and rows["e_fwd"]["unit"] == "kWh"
    assert rows["sw7"]["value"] == 3 and rows["sw7"]["bits"] == ["voltage reverse phase sequence",
                                                                  "current reverse phase sequence"]
    assert rows["u_a"]["value"] == pytest.approx(215.9) and rows["i_a"]["value"] == pytest.approx(-0.375)


def test_read_shows_values_at_the_resolution_of_their_register(ptys, capsys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)
    with bus.serving(dev):
        code = read.run(_args("--port", cli, "--baud", "19200", "--parity", "N", "--address", "000000000003",
                              "00010000", "u_a", "i_a"))
        table = capsys.readouterr().out
        code_json = read.run(_args("--port", cli, "--baud", "19200", "--parity", "N", "--address", "000000000003",
                                   "--json", "u_a", "00010000"))
        raw = capsys.readouterr().out
    assert code == code_json == 0
    lines = {ln.split()[0]: ln.split() for ln in table.splitlines()}
    assert lines["u_a"][2:4] == ["215.9", "V"]          # XXX.X: one decimal
    assert lines["e_fwd"][2:4] == ["1033.33", "kWh"]    # XXXXXX.XX: two
    assert lines["i_a"][2:4] == ["-0.375", "A"]         # XXX.XXX, signed
    assert '"value": 215.9,' in raw and '"text": "215.9"' in raw and '"text": "1033.33"' in raw


def test_read_a_1997_meter_and_report_failures_in_the_table(ptys, capsys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)
    with bus.serving(dev):
        code = read.run(_args("--port", cli, "--baud", "19200", "--parity", "N", "--address", "000000000009",
                              "--protocol", "1997", "9010", "B611", "C034"))
    out = capsys.readouterr().out
    assert code == 1
    assert "e_fwd" in out and f"{simbus.values(9)['e_fwd']:.2f}" in out
    assert "C034" in out and "FAILED" in out and "ERR 02" in out


def test_read_rejects_bad_arguments_before_touching_the_port(capsys):
    assert read.run(_args("--port", "/dev/null", "--address", "12ab", "00010000")) == 2
    assert read.run(_args("--port", "/dev/null", "--address", "1", "no_such_quantity")) == 2
    err = capsys.readouterr().err
    assert "--address" in err and "no_such_quantity" in err


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    d = tmp_path / "locks"
    monkeypatch.setenv("MW_LOCK_DIR", str(d))
    return d


def _holder(port: str, lock_dir) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """Another process holding ``port`` as the daemon does."""
    code = ("import sys, time\nfrom edge import portlock\n"
            "portlock.acquire(sys.argv[1], program='meterwatch run', bus='rs485-1')\nprint('held', flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, port], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "MW_LOCK_DIR": str(lock_dir)}, cwd=REPO)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_read_and_scan_refuse_a_port_the_daemon_holds_naming_its_pid_by_any_name_of_the_port(
        ptys, tmp_path, lock_dir, capsys):
    _dev, cli = ptys
    by_id = tmp_path / "usb-FTDI_RS485-if00-port0"     # a /dev/serial/by-id/ style name of the same tty
    by_id.symlink_to(os.path.realpath(cli))
    proc = _holder(str(by_id), lock_dir)
    try:
        assert read.run(_args("--port", cli, "--parity", "N", "--address", "1", "00010000")) == 3
        assert scan.run(_scan_args("--port", os.path.realpath(cli), "--parity", "N", "--quiet")) == 3
    finally:
        proc.kill()
        proc.wait(5)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    for line in err:
        assert f'in use by meterwatch run (pid {proc.pid}, bus "rs485-1")' in line and "systemctl stop" in line
    # the holder is gone: its lock went with it, and the port can be used again (nobody answers: exit 1)
    assert read.run(_args("--port", cli, "--parity", "N", "--timeout", "0.2", "--address", "1", "00010000")) == 1


def test_read_with_a_parity_or_baud_the_port_cannot_do_is_a_clear_error_not_a_traceback(ptys, capsys):
    _dev, cli = ptys
    assert read.run(_args("--port", cli, "--parity", "N", "--timeout", "0.1", "--address", "1", "00010000")) == 1
    assert read.run(_args("--port", cli, "--parity", "E", "--address", "1", "00010000")) == 3
    err = capsys.readouterr().err
    assert f"{cli}: cannot open at 2400 baud, 8E1:" in err and "does not support this baud rate or parity" in err
    assert read.run(_args("--port", cli, "--baud", "12345", "--address", "1")) == 2
    assert scan.run(_scan_args("--port", cli, "--baud", "0")) == 2
    err = capsys.readouterr().err
    assert "read: --baud 12345 is not one of 600, 1200, 2400" in err and "scan: --baud 0 is not one of" in err
