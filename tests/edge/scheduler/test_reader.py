"""The adapters between the scheduler and the protocol clients.

The clients themselves are tested over ptys on their own branches; here a minimal stand-in with the
client's call signature checks only the translation: transaction split, wire estimate, and that a
"nobody answered" DeviceRead becomes the TransportError the back-off counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from edge.errors import TransportError
from edge.readings import DeviceRead, Failure, Reading
from edge.scheduler import DeviceReader, Dlt645Reader, LinkTiming, ModbusReader
from edge.scheduler.capacity import transaction_wire_s
from edge.scheduler.fake import FakeReader
from edge.scheduler.reader import is_silent


class StandInClient:
    """Answers like edge.dlt645.client would: readings for live meters, "no reply" failures otherwise."""

    def __init__(self, silent: set[str]) -> None:
        self.silent = silent
        self.calls: list[tuple[str, list[str], str | None]] = []

    async def read(self, address: str, quantities: Sequence[str], *, device: str | None = None) -> DeviceRead:
        self.calls.append((address, list(quantities), device))
        dev = device or address
        if address in self.silent:
            return DeviceRead(device=dev, failures=[Failure(device=dev, quantity=q, reason="no reply within 0.93 s",
                                                            ts=1.0) for q in quantities])
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
    with pytest.raises(TransportError, match=r"meter .0302.: no reply within 0\.93 s"):
        asyncio.run(reader.read("0302", ("e_fwd",)))


def test_an_error_reply_is_not_silence():
    dr = DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="ERR 02: no such data", ts=0)])
    assert not is_silent(dr)
    assert is_silent(DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="No reply", ts=0)]))


def test_dlt645_adapter_splits_per_meter_block_support():
    reader = Dlt645Reader(StandInClient(set()), {"a": "1", "b": "2"}, LinkTiming(), block_reads={"b": True})
    assert reader.split("a", ("u_a", "u_b", "u_c")) == [("u_a",), ("u_b",), ("u_c",)]
    assert reader.split("b", ("u_a", "u_b", "u_c")) == [("u_a", "u_b", "u_c")]
    assert reader.estimate_s("b", ("u_a", "u_b", "u_c")) < reader.estimate_s("a", ("u_a", "u_b", "u_c"))


def test_modbus_adapter_reads_a_plan_in_one_transaction():
    timing = LinkTiming(protocol="modbus-rtu", baud=9600, response_delay_s=0.01)
    reader = ModbusReader({}, timing, registers=60)
    qs = ("u_a", "u_b", "u_c", "i_a")
    assert reader.split("master", qs) == [qs]
    assert reader.estimate_s("master", qs) == transaction_wire_s(timing, qs, modbus_registers=60)
