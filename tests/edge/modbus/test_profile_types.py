"""A site profile using every register type and order reads back over a real pty (socat pair).

The simulated TTU encodes each served value through the profile (``edge.modbus.codec.encode``) and
the device reader decodes what crossed the wire: 64-bit integers and floats, packed BCD, the four
byte/word orders and two bit fields sharing one status register.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.modbus.device import ModbusDevice
from edge.modbus.profile import load_profile
from edge.sim.sources import StaticSource

SITE_PROFILE = """
[profile]
function = 3

[points.u_a]
address = 0x0100
type = "float64"
word_order = "DCBA"

[points.i_a]
address = 0x0104
type = "int64"
word_order = "BADC"
scale = 0.001
ratio = "ct"

[points.e_fwd]
address = 0x0108
type = "bcd64"
word_order = "CDAB"
scale = 0.01

[points.e_rev]
address = 0x010C
type = "uint64"
scale = 0.001

[points.f]
address = 0x0110
type = "bcd16"
scale = 0.01

[points.p]
address = 0x0111
type = "int32"
word_order = "DCBA"
scale = 0.1

[points.q]
address = 0x0113
type = "float32"
word_order = "BADC"

[points.sw1]
address = 0x0115
type = "uint16"
bits = [0, 7]

[points.sw2]
address = 0x0115
type = "uint16"
bits = 9
"""


@pytest.mark.integration
def test_every_type_and_order_reads_back_over_a_pty(tmp_path: Path, channel_factory: Callable[..., Any]) -> None:
    (tmp_path / "site.toml").write_text(SITE_PROFILE)
    prof = load_profile(tmp_path / "site.toml")
    assert {p.quantity: p.rtype for p in prof.points if p.quantity.startswith("sw")} == \
        {"sw1": "uint16[0..7]", "sw2": "uint16[9]"}
    served = {"u_a": 230.125, "i_a": -412.5, "e_fwd": 1234567.89, "e_rev": 98765.432, "f": 49.98,
              "p": -270.5, "q": 61.25, "sw1": 0xA5, "sw2": 1}

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": served}), "rtu-pty", ct_ratio=50) as (_t, link):
            dev = ModbusDevice(link, prof, 1, ct_ratio=50)
            got = await dev.read()
            assert got.ok, got.failures
            assert {r.quantity: round(r.value, 6) for r in got.readings} == pytest.approx(served, rel=1e-12)
            assert [(r.function, r.address, r.count) for r in dev.plan()] == [(3, 0x100, 22)]

    asyncio.run(go())


@pytest.mark.integration
def test_a_register_that_is_not_bcd_is_a_failure_not_a_reading(tmp_path: Path,
                                                               channel_factory: Callable[..., Any]) -> None:
    text = '[profile]\nfunction = 4\n[points.e_fwd]\naddress = 0\ntype = "{}"\n[points.f]\naddress = 2\ntype = "uint16"\n'
    (tmp_path / "ours.toml").write_text(text.format("bcd32"))
    (tmp_path / "device.toml").write_text(text.format("uint32"))    # what the device really holds there

    async def go() -> None:
        source = StaticSource.only({"master": {"e_fwd": 0x000A0000, "f": 50}})     # nibble A: not BCD
        async with channel_factory(load_profile(tmp_path / "device.toml"), source, "rtu-pty") as (_t, link):
            got = await ModbusDevice(link, load_profile(tmp_path / "ours.toml"), 1).read()
            assert [(r.quantity, r.value) for r in got.readings] == [("f", 50.0)]
            (fail,) = got.failures
            assert fail.quantity == "e_fwd" and "value is NaN" in fail.reason

    asyncio.run(go())
