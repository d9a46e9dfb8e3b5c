"""``meterwatch read`` (edge/commands/read.py -> edge.dlt645.cli.run_read) against the simulated bus."""

from __future__ import annotations

import argparse
import json

import pytest

from edge.commands import read
from tests.edge.dlt645 import simbus


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    read.add_arguments(p)
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
