"""``meterwatch read`` for Modbus, through the real command module, against a simulated TTU."""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from edge.commands import read as read_command
from edge.modbus.profile import load_profile
from edge.sim.sources import StaticSource
from edge.sim.ttu import SimulatedTtu
from tests.edge.modbus.conftest import MASTER

pytestmark = pytest.mark.integration


@contextmanager
def ttu_in_thread(profile: str, **kw: Any) -> Iterator[SimulatedTtu]:
    """Serve a simulated TTU from its own event loop, since the command runs asyncio.run itself."""
    loop = asyncio.new_event_loop()
    ttu = SimulatedTtu(load_profile(profile), StaticSource.only({"master": MASTER}), **kw)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(ttu.__aenter__(), loop).result(5)
    try:
        yield ttu
    finally:
        asyncio.run_coroutine_threadsafe(ttu.__aexit__(None, None, None), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    read_command.add_arguments(p)
    return p.parse_args(list(argv))


def test_modbus_tcp_read_prints_json_readings(capsys: pytest.CaptureFixture[str]) -> None:
    with ttu_in_thread("dtsu666", ct_ratio=200) as ttu:
        code = read_command.run(parse("--port", f"tcp://127.0.0.1:{ttu.tcp_port}", "--protocol", "modbus-tcp",
                                      "--profile", "dtsu666", "--device-id", "1", "--ct-ratio", "200", "--json"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    got = {r["quantity"]: r["value"] for r in doc["readings"]}
    assert got["p"] == pytest.approx(270.5) and got["i_a"] == pytest.approx(412.5)
    assert {r["quantity"]: r["unit"] for r in doc["readings"]}["p"] == "kW"
    assert (doc["failures"], doc["requests"], doc["bytes_out"]) == ([], 2, 24)


def test_modbus_rtu_read_on_a_serial_port_prints_a_table(ptys: tuple[str, str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    dev_side, cli_side = ptys
    with ttu_in_thread("sdm630", transport="serial", port=dev_side):
        code = read_command.run(parse("--port", cli_side, "--protocol", "modbus-rtu", "--parity", "N",
                                      "--profile", "sdm630", "u_a", "f", "i_n"))
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    # float32 registers: the 7 digits a float32 carries, not 230.10000610351562 or a fixed 4 decimals
    assert out[0].split() == ["u_a", "230.1", "V"]
    assert out[1].split() == ["f", "50.01", "Hz"]
    assert out[2].split() == ["i_n", "21.5", "A"]
    assert out[3] == "3 requests, 24 bytes out, 27 bytes in"   # u_a, f and i_n are too far apart to coalesce


def test_rtu_over_tcp_is_modbus_rtu_on_a_tcp_port(capsys: pytest.CaptureFixture[str]) -> None:
    with ttu_in_thread("ttu", framer="rtu") as ttu:
        code = read_command.run(parse("--port", f"tcp://127.0.0.1:{ttu.tcp_port}", "--protocol", "modbus-rtu",
                                      "--profile", "ttu", "--json", "u_a"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["readings"][0]["value"] == pytest.approx(230.1)
    assert doc["bytes_out"] == 8                                    # an RTU frame, not an MBAP one


def test_silent_device_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with ttu_in_thread("ttu") as ttu:
        code = read_command.run(parse("--port", f"tcp://127.0.0.1:{ttu.tcp_port}", "--protocol", "modbus-tcp",
                                      "--profile", "ttu", "--device-id", "5", "--timeout", "0.2", "u_a"))
    assert code == 1
    assert "u_a      FAILED: tcp://127.0.0.1:" in capsys.readouterr().out


def test_bad_profile_exits_2_naming_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile]\nfunction = 3\n[points.u_a]\naddress = 1\ntype = "float"\n')
    code = read_command.run(parse("--port", "tcp://127.0.0.1:1", "--protocol", "modbus-tcp", "--profile", str(bad)))
    assert code == 2
    assert f"{bad}:5: points.u_a.type: must be one of" in capsys.readouterr().err


def test_missing_profile_and_bad_port_are_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert read_command.run(parse("--port", "tcp://127.0.0.1:1", "--protocol", "modbus-tcp")) == 2
    assert read_command.run(parse("--port", "/dev/ttyS1", "--protocol", "modbus-tcp", "--profile", "ttu")) == 2
    err = capsys.readouterr().err
    assert "--profile is required" in err and "needs --port tcp://host:port" in err


def test_unreachable_port_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = read_command.run(parse("--port", str(tmp_path / "ttyNone"), "--protocol", "modbus-rtu",
                                  "--parity", "N", "--profile", "ttu"))
    assert code == 3
    assert "ttyNone: cannot open at 9600 baud, 8N1: no such device" in capsys.readouterr().err


def test_a_parity_the_port_cannot_do_exits_3_with_the_reason_not_a_traceback(
        ptys: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    _dev, cli = ptys
    for _ in range(2):   # a fresh pty takes the first open's settings silently; the next one says EINVAL
        code = read_command.run(parse("--port", cli, "--protocol", "modbus-rtu", "--parity", "E",
                                      "--profile", "ttu", "--timeout", "0.1"))
    assert code == 3
    err = capsys.readouterr().err
    assert f"meterwatch read: {cli}: cannot open" in err and "Invalid argument" in err and "Traceback" not in err
