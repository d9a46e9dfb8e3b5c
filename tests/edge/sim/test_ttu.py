"""The simulated TTU as a Modbus peer: register map, values from the source, faults."""

from __future__ import annotations

import asyncio
import socket

import pytest

from edge.modbus.adapter import ModbusLink
from edge.modbus.link import LinkSettings, NoReplyError
from edge.modbus.profile import load_profile
from edge.modbus.registers import decode, encode
from edge.sim.sources import StaticSource
from edge.sim.ttu import SimulatedTtu

pytestmark = pytest.mark.integration


async def _link(ttu: SimulatedTtu) -> ModbusLink:
    link = ModbusLink(LinkSettings(kind="tcp", port=ttu.host, tcp_port=ttu.tcp_port, timeout_s=0.2, retries=0))
    await link.connect()
    return link


def test_serves_profile_registers_from_the_source_and_follows_changes() -> None:
    src = StaticSource.only({"master": {"u_a": 230.1, "f": 50.0}})

    async def go() -> None:
        async with SimulatedTtu(load_profile("dtsu666"), src) as ttu:
            link = await _link(ttu)
            r = await link.read_registers(function=3, address=0x2006, count=2, device_id=1)
            assert decode(r.registers, "float32") == pytest.approx(2301.0)      # 0.1 V units
            src.per_device["master"]["u_a"] = 198.0
            r = await link.read_registers(function=3, address=0x2006, count=2, device_id=1)
            assert decode(r.registers, "float32") == pytest.approx(1980.0)
            assert ttu.requests == 2
            link.close()

    asyncio.run(go())


def test_small_gaps_read_as_zero_and_far_addresses_are_illegal() -> None:
    src = StaticSource.only({"master": {"pf": 0.5, "f": 50.0}})

    async def go() -> None:
        async with SimulatedTtu(load_profile("dtsu666"), src) as ttu:
            link = await _link(ttu)
            r = await link.read_registers(function=3, address=0x202A, count=0x2046 - 0x202A, device_id=1)
            assert r.registers[:2] == tuple(encode(500.0, "float32"))
            assert set(r.registers[2:-2]) == {0}
            assert (await link.read_registers(function=3, address=0x3000, count=2, device_id=1)).exception_code == 2
            assert (await link.read_registers(function=4, address=0x2006, count=2, device_id=1)).exception_code == 2
            link.close()

    asyncio.run(go())


def test_request_cutting_a_32_bit_value_or_missing_quantity_is_illegal_address() -> None:
    src = StaticSource.only({"master": {"u_a": 230.0}})

    async def go() -> None:
        async with SimulatedTtu(load_profile("dtsu666"), src) as ttu:
            link = await _link(ttu)
            assert (await link.read_registers(function=3, address=0x2007, count=2, device_id=1)).exception_code == 2
            assert (await link.read_registers(function=3, address=0x2008, count=2, device_id=1)).exception_code == 2
            link.close()

    asyncio.run(go())


def test_value_that_does_not_fit_the_register_type_is_a_device_failure() -> None:
    src = StaticSource.only({"master": {"u_a": 1.0e6}})    # 1e7 raw in a uint16

    async def go() -> None:
        async with SimulatedTtu(load_profile("dtsd1352"), src) as ttu:
            link = await _link(ttu)
            assert (await link.read_registers(function=3, address=0x61, count=1, device_id=1)).exception_code == 4
            link.close()

    asyncio.run(go())


def test_unknown_device_id_is_silent_not_an_exception() -> None:
    async def go() -> None:
        async with SimulatedTtu(load_profile("ttu"), StaticSource.only({"master": {"u_a": 1.0}})) as ttu:
            link = await _link(ttu)
            with pytest.raises(NoReplyError):
                await link.read_registers(function=3, address=0, count=2, device_id=9)
            link.close()

    asyncio.run(go())


def test_exception_fault_answers_any_request_covering_the_quantity() -> None:
    async def go() -> None:
        async with SimulatedTtu(load_profile("ttu"), StaticSource.only({"master": {"u_a": 1.0, "u_b": 2.0}})) as ttu:
            ttu.faults.exceptions["u_b"] = 4
            link = await _link(ttu)
            assert (await link.read_registers(function=3, address=0, count=4, device_id=1)).exception_code == 4
            assert (await link.read_registers(function=3, address=0, count=2, device_id=1)).exception_code is None
            link.close()

    asyncio.run(go())


def test_port_is_closed_after_the_context_exits() -> None:
    async def go() -> int:
        async with SimulatedTtu(load_profile("ttu"), StaticSource.only({})) as ttu:
            return ttu.tcp_port

    port = asyncio.run(go())
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(0.5)
        s.connect(("127.0.0.1", port))


@pytest.mark.serial
def test_wire_emulation_makes_a_read_take_the_rtu_wire_time(ptys: tuple[str, str]) -> None:
    from edge.modbus.device import ModbusDevice
    from edge.wiretime import modbus_rtu_read_time_s

    prof = load_profile("dtsu666")
    dev_side, cli_side = ptys
    expected_s = sum(modbus_rtu_read_time_s(9600, n) for n in (64, 12))   # the two planned requests

    async def go() -> float:
        src = StaticSource.only({"master": {p.quantity: 1.0 for p in prof.points}})
        async with SimulatedTtu(prof, src, transport="serial", port=dev_side, wire_baud=9600):
            link = ModbusLink(LinkSettings(kind="rtu", port=cli_side, parity="N", timeout_s=1.0, retries=0))
            async with link:
                loop = asyncio.get_running_loop()
                t = loop.time()
                assert (await ModbusDevice(link, prof, 1).read()).ok
                return loop.time() - t

    took = asyncio.run(go())
    assert expected_s <= took < expected_s + 0.15
