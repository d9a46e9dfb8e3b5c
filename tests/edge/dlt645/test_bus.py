"""The adapters between the scheduler and the protocol clients.

The clients themselves are tested over ptys on their own branches; here a minimal stand-in with the
client's call signature checks only the translation: transaction split, wire estimate, and that a
"nobody answered" DeviceRead becomes the TransportError the back-off counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from edge.errors import ProtocolError, TransportError
from edge.readings import DeviceRead, Failure, Reading
from edge.scheduler import DeviceReader, Dlt645Reader, LinkTiming, ModbusReader
from edge.scheduler.capacity import transaction_wire_s
from edge.scheduler.fake import FakeReader
from edge.scheduler.reader import is_silent


@dataclass(frozen=True)
class DiResult:       # the shape of edge.dlt645.client.DiResult
    di: str
    data: bytes | None = None
    error: str | None = None
    silent: bool = False


class StandInClient:
    """Answers like edge.dlt645.client would: readings for live meters, "no reply" failures otherwise."""

    meter_tz = timezone(timedelta(hours=8))

    def __init__(self, silent: set[str], clock: dict[str, list[DiResult]] | None = None) -> None:
        self.silent = silent
        self.clock = clock or {}
        self.calls: list[tuple[str, list[str], str | None]] = []

    async def read_dis(self, address: str, dis: Sequence[str]) -> list[DiResult]:
        assert list(dis) == ["04000101", "04000102"]
        return self.clock[address]

    async def read(self, address: str, quantities: Sequence[str], *, device: str | None = None) -> DeviceRead:
        self.calls.append((address, list(quantities), device))
        dev = device or address
        if address in self.silent:
            return DeviceRead(device=dev, failures=[Failure(device=dev, quantity=q, ts=1.0,
                                                            reason="00010000: no reply within 0.93 s, 2 tries")
                                                    for q in quantities])
        return DeviceRead(device=dev, readings=[Reading(device=dev, quantity=q, value=1.0, ts=1.0)
                                                for q in quantities])


def test_both_adapters_and_the_fake_satisfy_the_reader_protocol():
    from edge.scheduler import LoopClock

    assert isinstance(Dlt645Reader(StandInClient(set()), {}, LinkTiming()), DeviceReader)
    assert isinstance(ModbusReader({}, LinkTiming(protocol="modbus-rtu")), DeviceReader)
    assert isinstance(FakeReader(LoopClock(0.0)), DeviceReader)


def test_dlt645_adapter_reads_by_address_and_names_the_device():
    client = StandInClient(set())
    reader = Dlt645Reader(client, {"0301": "000000000301"}, LinkTiming())
    dr = asyncio.run(reader.read("0301", ("e_fwd",)))
    assert client.calls == [("000000000301", ["e_fwd"], "0301")]
    assert dr.ok and dr.readings[0].device == "0301"


def test_dlt645_adapter_turns_a_silent_meter_into_transport_error():
    reader = Dlt645Reader(StandInClient({"000000000302"}), {"0302": "000000000302"}, LinkTiming())
    with pytest.raises(TransportError, match=r"meter .0302.: 00010000: no reply within 0\.93 s"):
        asyncio.run(reader.read("0302", ("e_fwd",)))


def test_an_error_reply_is_not_silence():
    dr = DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="ERR 02: no such data", ts=0)])
    assert not is_silent(dr)
    assert is_silent(DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="No reply", ts=0)]))
    garbled = "04000507: bad reply (checksum), 2 tries"
    assert not is_silent(DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason=garbled, ts=0)]))


def test_the_dlt645_clients_silence_wording_is_recognised():
    # as edge.dlt645.client words it: the DI first, then the items it skipped after the silence
    dr = DeviceRead(device="m", failures=[
        Failure(device="m", quantity="e_fwd", reason="00010000: no reply within 0.93 s, 2 tries", ts=0),
        Failure(device="m", quantity="u_a", reason="skipped: meter silent on 00010000", ts=0)])
    assert is_silent(dr)


def test_dlt645_adapter_splits_per_meter_block_support():
    reader = Dlt645Reader(StandInClient(set()), {"a": "1", "b": "2"}, LinkTiming(), block_reads={"b": True})
    assert reader.split("a", ("u_a", "u_b", "u_c")) == [("u_a",), ("u_b",), ("u_c",)]
    assert reader.split("b", ("u_a", "u_b", "u_c")) == [("u_a", "u_b", "u_c")]
    assert reader.estimate_s("b", ("u_a", "u_b", "u_c")) < reader.estimate_s("a", ("u_a", "u_b", "u_c"))


def test_modbus_adapter_reads_a_plan_in_one_transaction():
    timing = LinkTiming(protocol="modbus-rtu", baud=9600, response_delay_s=0.01)
    reader = ModbusReader({}, timing, registers=60)    # no device object: the fallback estimate
    qs = ("u_a", "u_b", "u_c", "i_a")
    assert reader.split("master", qs) == [qs]
    assert reader.estimate_s("master", qs) == transaction_wire_s(timing, qs, modbus_registers=60)


def _clock_reader(results: list[DiResult]) -> Dlt645Reader:
    return Dlt645Reader(StandInClient(set(), {"000000000301": results}), {"0301": "000000000301"}, LinkTiming())


def test_meter_clock_is_decoded_lowest_field_first_in_china_time():
    # 2024-05-17 (a Friday, WW=5) 13:45:30 +08:00, sent as WW DD MM YY and ss mm hh
    reader = _clock_reader([DiResult(di="04000101", data=bytes([0x05, 0x17, 0x05, 0x24])),
                            DiResult(di="04000102", data=bytes([0x30, 0x45, 0x13]))])
    ts = asyncio.run(reader.read_clock("0301"))
    assert ts == datetime(2024, 5, 17, 5, 45, 30, tzinfo=timezone.utc).timestamp()


def test_silent_clock_read_is_transport_error_and_bad_bcd_is_protocol_error():
    silent = _clock_reader([DiResult(di="04000101", error="no reply", silent=True),
                            DiResult(di="04000102", error="no reply", silent=True)])
    with pytest.raises(TransportError, match="'0301': no reply to the clock read"):
        asyncio.run(silent.read_clock("0301"))
    garbled = _clock_reader([DiResult(di="04000101", data=bytes([0x05, 0x1A, 0x05, 0x24])),
                             DiResult(di="04000102", data=bytes([0x30, 0x45, 0x13]))])
    with pytest.raises(ProtocolError, match="DI 04000101: byte 1A is not BCD"):
        asyncio.run(garbled.read_clock("0301"))
    impossible = _clock_reader([DiResult(di="04000101", data=bytes([0x05, 0x31, 0x02, 0x24])),
                                DiResult(di="04000102", data=bytes([0x30, 0x45, 0x13]))])
    with pytest.raises(ProtocolError, match="impossible time"):
        asyncio.run(impossible.read_clock("0301"))


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
                                                           ts=1.0) for q in quantities])


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
