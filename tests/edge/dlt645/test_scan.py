"""Bus scan: ``meterwatch scan`` over a real pty finds every meter; wildcard narrowing resolves collisions."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from edge.dlt645.codec import Decoder, Frame
from edge.dlt645.link import Link
from edge.dlt645.scan import scan_bus
from edge.sim.meterbus import MeterBus, SimMeter
from edge.sim.sources import StaticSource
from tests.edge.dlt645 import simbus


@pytest.mark.slow
def test_meterwatch_scan_finds_all_32_meters_on_a_pty(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False, slow=False)
    with bus.serving(dev):
        proc = subprocess.run(
            [sys.executable, "-m", "edge.cli", "scan", "--port", cli, "--baud", "19200", "--parity", "N",
             "--max-delay", "0.05", "--margin", "0.03", "--bus", "rs485-1"],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(",") for line in proc.stdout.splitlines() if line and not line.startswith(("#", "id,"))]
    assert sorted(r[1] for r in rows) == [simbus.address(n) for n in range(1, simbus.N_METERS + 1)]
    assert all(r[2] == "rs485-1" for r in rows)
    assert {r[1] for r in rows if r[5] == "dlt645-1997"} == simbus.PROTO_1997
    assert "probes" in proc.stderr and "32 meters" in proc.stderr  # the progress bar
    assert bus.stats.collisions >= 2  # the all-AA probes of both editions collided


class _DirectLink(Link):
    """A link wired straight to MeterBus.respond (no port, no wire time): for scan logic only."""

    def __init__(self, bus: MeterBus) -> None:
        super().__init__("direct", baud=10_000_000, max_response_delay_s=0.0, margin_s=0.001, gap_s=0.0)
        self.bus = bus
        self._dec = Decoder()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _write(self, data: bytes) -> None:
        for f in self._dec.feed(data):
            if isinstance(f, Frame):
                reply = self.bus.respond(f, 0.0)
                if reply is not None:
                    self._on_data(reply.data)


def test_wildcard_narrowing_separates_meters_that_share_low_address_bytes():
    addrs = ["000000000001", "000000000101", "000000010101", "123456789012", "000000000202"]
    bus = MeterBus([SimMeter(address=a) for a in addrs] + [SimMeter(address="000000000077", protocol="1997")],
                   StaticSource())
    seen = []
    found = asyncio.run(scan_bus(_DirectLink(bus), progress=seen.append))
    assert [(m.address, m.protocol) for m in found] == sorted(
        [(a, "2007") for a in addrs] + [("000000000077", "1997")])
    assert seen[-1].found == len(addrs) + 1 and seen[-1].done == seen[-1].total
    assert bus.stats.collisions >= 3  # all-AA, then low byte 01, then 0101


def test_a_single_meter_is_found_by_one_read_address_request():
    bus = MeterBus([SimMeter(address="000000000042")], StaticSource())
    found = asyncio.run(scan_bus(_DirectLink(bus), protocols=("2007",)))
    assert [m.address for m in found] == ["000000000042"] and bus.stats.requests == 1
