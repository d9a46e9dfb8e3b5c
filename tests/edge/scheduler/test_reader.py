"""The reader protocol the scheduler drives, and how silence is told from an answer."""

from __future__ import annotations

from edge.dlt645.bus import Dlt645Reader
from edge.modbus.bus import ModbusReader
from edge.readings import DeviceRead, Failure
from edge.scheduler import DeviceReader, LinkTiming
from edge.scheduler.fake import FakeReader
from edge.scheduler.reader import is_silent
from tests.edge.dlt645.test_bus import StandInClient


def test_both_adapters_and_the_fake_satisfy_the_reader_protocol():
    from edge.scheduler import LoopClock

    assert isinstance(Dlt645Reader(StandInClient(set()), {}, LinkTiming()), DeviceReader)
    assert isinstance(ModbusReader({}, LinkTiming(protocol="modbus-rtu")), DeviceReader)
    assert isinstance(FakeReader(LoopClock(0.0)), DeviceReader)


def test_silence_is_a_flag_on_the_failure_not_its_wording():
    dr = DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="ERR 02: no such data", ts=0)])
    assert not is_silent(dr)
    assert is_silent(DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="", ts=0,
                                                              silent=True)]))
    # a reason that reads like silence is not silence unless the client says so
    assert not is_silent(DeviceRead(device="m", failures=[Failure(device="m", quantity="sw7", reason="no reply",
                                                                  ts=0)]))
    mixed = [Failure(device="m", quantity="e_fwd", reason="x", ts=0, silent=True),
             Failure(device="m", quantity="u_a", reason="04000507: bad reply (checksum), 2 tries", ts=0)]
    assert not is_silent(DeviceRead(device="m", failures=mixed))
    assert not is_silent(DeviceRead(device="m"))
