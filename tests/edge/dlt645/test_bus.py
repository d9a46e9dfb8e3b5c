"""The DL/T 645 port of the daemon: the reader adapter over the client, and the port built from a bus.

A minimal stand-in with the client's call signature checks the translation: transaction split, wire
estimate, that a "nobody answered" DeviceRead becomes the TransportError the back-off counts, and that
a failed port passes through as a PortError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from edge.config.model import BusConfig, MasterConfig, MeterConfig
from edge.dlt645.bus import Dlt645Port, Dlt645Reader, build_port
from edge.dlt645.link import TcpLink
from edge.errors import PortError, ProtocolError, TransportError
from edge.readings import DeviceRead, Failure, Reading
from edge.scheduler import LinkTiming


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
            return DeviceRead(device=dev, failures=[Failure(device=dev, quantity=q, ts=1.0, silent=True,
                                                            reason="00010000: no reply within 0.93 s, 2 tries")
                                                    for q in quantities])
        return DeviceRead(device=dev, readings=[Reading(device=dev, quantity=q, value=1.0, ts=1.0)
                                                for q in quantities])


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


def test_dlt645_adapter_splits_per_meter_block_support():
    reader = Dlt645Reader(StandInClient(set()), {"a": "1", "b": "2"}, LinkTiming(), block_reads={"b": True})
    assert reader.split("a", ("u_a", "u_b", "u_c")) == [("u_a",), ("u_b",), ("u_c",)]
    assert reader.split("b", ("u_a", "u_b", "u_c")) == [("u_a", "u_b", "u_c")]
    assert reader.estimate_s("b", ("u_a", "u_b", "u_c")) < reader.estimate_s("a", ("u_a", "u_b", "u_c"))


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


class FailedPortClient(StandInClient):
    async def read(self, address: str, quantities: Sequence[str], *, device: str | None = None) -> DeviceRead:
        raise PortError("/dev/ttyUSB0: port failed: hang-up")


def test_a_failed_port_passes_through_the_reader_as_port_error_not_silence():
    reader = Dlt645Reader(FailedPortClient(set()), {"0301": "000000000301"}, LinkTiming())
    with pytest.raises(PortError, match="hang-up"):
        asyncio.run(reader.read("0301", ("e_fwd",)))


def test_build_port_reads_meters_and_a_dlt645_master_by_address_over_the_bus_link():
    bus = BusConfig(name="rs485-1", port="tcp://10.0.0.5:4001", protocol="dlt645", baud=2400)
    devices = {"0301": MeterConfig(id="0301", address="301", bus="rs485-1", phase="A"),
               "master:A01": MasterConfig(bus="rs485-1", address="77")}
    port = build_port(bus, devices, utc_offset_s=8 * 3600)
    assert isinstance(port, Dlt645Port) and isinstance(port.link, TcpLink) and port.port == bus.port
    assert port.failed is None and port.client.link is port.link
    assert port.reader._addresses == {"0301": "000000000301", "master:A01": "000000000077"}
    with pytest.raises(ValueError, match="'master:A01' has no DL/T 645 address"):
        build_port(bus, {"master:A01": MasterConfig(bus="rs485-1", profile="ttu")})
