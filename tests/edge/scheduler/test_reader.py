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
