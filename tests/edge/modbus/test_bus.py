"""The Modbus port of the daemon: the reader adapter over ModbusDevice, and the port built from a bus."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from edge.config.model import BusConfig, MasterConfig, MeterConfig
from edge.errors import PortError, TransportError
from edge.modbus.bus import ModbusPort, ModbusReader, build_port, link_settings
from edge.readings import DeviceRead, Failure, Reading
from edge.scheduler import LinkTiming
from edge.scheduler.capacity import transaction_wire_s


def test_modbus_adapter_reads_a_plan_in_one_transaction():
    timing = LinkTiming(protocol="modbus-rtu", baud=9600, response_delay_s=0.01)
    reader = ModbusReader({}, timing, registers=60)    # no device object: the fallback estimate
    qs = ("u_a", "u_b", "u_c", "i_a")
    assert reader.split("master", qs) == [qs]
    assert reader.estimate_s("master", qs) == transaction_wire_s(timing, qs, modbus_registers=60)


class StandInModbusDevice:
    """The shape of edge.modbus.device.ModbusDevice: plan() of requests, read(), and a silent flag."""

    @dataclass(frozen=True)
    class Request:
        count: int

    def __init__(self, *, answers: bool) -> None:
        self.answers = answers
        self.silent = False

    def plan(self, quantities: Sequence[str]) -> list[Request]:
        return [self.Request(count=14), self.Request(count=2)]

    async def read(self, quantities: Sequence[str], *, device: str = "master") -> DeviceRead:
        if self.answers:
            return DeviceRead(device=device, readings=[Reading(device=device, quantity=q, value=1.0, ts=1.0)
                                                       for q in quantities])
        self.silent = True
        return DeviceRead(device=device, failures=[Failure(device=device, quantity=q, reason="NoReplyError: 1",
                                                           ts=1.0, silent=True) for q in quantities])


def test_modbus_estimate_follows_the_devices_own_request_plan():
    timing = LinkTiming(protocol="modbus-rtu", baud=9600, response_delay_s=0.01)
    reader = ModbusReader({"master": StandInModbusDevice(answers=True)}, timing)
    want = (transaction_wire_s(timing, ["u_a"], modbus_registers=14)
            + transaction_wire_s(timing, ["u_a"], modbus_registers=2))
    assert reader.estimate_s("master", ("u_a", "i_a")) == pytest.approx(want)


def test_a_silent_modbus_device_is_transport_error_for_the_scheduler():
    timing = LinkTiming(protocol="modbus-rtu", baud=9600)
    live = ModbusReader({"master": StandInModbusDevice(answers=True)}, timing)
    assert asyncio.run(live.read("master", ("u_a",))).ok
    dead = ModbusReader({"master": StandInModbusDevice(answers=False)}, timing)
    with pytest.raises(TransportError, match="'master': NoReplyError"):
        asyncio.run(dead.read("master", ("u_a",)))


class FailedPortDevice(StandInModbusDevice):
    async def read(self, quantities: Sequence[str], *, device: str = "master") -> DeviceRead:
        raise PortError("tcp://10.0.0.9:502: connection lost")


def test_a_failed_port_passes_through_the_reader_as_port_error_not_silence():
    reader = ModbusReader({"master": FailedPortDevice(answers=True)}, LinkTiming(protocol="modbus-tcp"))
    with pytest.raises(PortError, match="connection lost"):
        asyncio.run(reader.read("master", ("u_a",)))


def test_build_port_gives_each_master_its_profile_and_the_bus_settings():
    bus = BusConfig(name="ttu", port="/dev/ttyAMA1", protocol="modbus-rtu", baud=19200, parity="N", stopbits=2,
                    timeout_s=0.4, retries=2)
    port = build_port(bus, {"master:A01": MasterConfig(bus="ttu", device_id=3, profile="dtsu666", ct_ratio=40)})
    assert isinstance(port, ModbusPort) and port.port == "/dev/ttyAMA1" and port.failed is None
    s = port.link.settings
    assert (s.kind, s.port, s.baud, s.parity, s.stopbits, s.timeout_s, s.retries) == \
        ("rtu", "/dev/ttyAMA1", 19200, "N", 2, 0.4, 2)
    dev = port.reader._devices["master:A01"]
    assert dev.device_id == 3 and dev.ct_ratio == 40 and dev.profile.name == "dtsu666"
    assert link_settings(BusConfig(name="t", port="tcp://h:1502", protocol="modbus-rtu")).kind == "rtu-tcp"
    with pytest.raises(ValueError, match="'0301' is a DL/T 645 meter"):
        build_port(bus, {"0301": MeterConfig(id="0301", address="301", bus="ttu", phase="A")})
