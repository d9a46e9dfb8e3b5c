"""The simulated meter bus: addressing, quirks, faults (sans-I/O), and wire timing over TCP and a pty."""

from __future__ import annotations

import socket
import time
from datetime import datetime

import pytest

from edge.dlt645 import codec
from edge.dlt645.codec import Decoder, Frame, decode_frame
from edge.sim.meterbus import Fault, MeterBus, SimMeter
from edge.sim.sources import RandomWalkSource, StaticSource
from edge.wiretime import byte_time_s

A1, A2 = "000000000001", "000000000002"


def _req(addr: str, di: str = "00010000") -> Frame:
    return decode_frame(codec.encode_read(addr, di))


def _bus(*meters: SimMeter, source=None, **kw) -> MeterBus:
    return MeterBus(list(meters) or [SimMeter(address=A1), SimMeter(address=A2)],
                    source or StaticSource(per_device={A1: {"e_fwd": 12345.67}}), **kw)


def test_a_meter_answers_only_its_own_address():
    bus = _bus()
    r = bus.respond(_req(A1), 0.0)
    assert r is not None
    f = decode_frame(r.data)
    assert f.address == A1 and f.control == 0x91 and f.data[4:] == bytes.fromhex("67452301")
    assert bus.respond(_req("000000000003"), 0.0) is None
    assert bus.respond(decode_frame(codec.encode_time_sync(datetime(2024, 1, 1))), 0) is None


def test_reply_time_is_response_delay_plus_reply_bytes_on_the_wire():
    bus = _bus(SimMeter(address=A1, response_delay_s=0.2), baud=2400)
    r = bus.respond(_req(A1), 0.0)
    assert r.after_s == pytest.approx(0.2 + len(r.data) * byte_time_s(2400))
    assert len(r.data) == 24  # 4 FE + 12 + DI 4 + energy 4


def test_read_address_on_the_wildcard_and_collisions_between_meters():
    one = _bus(SimMeter(address=A1))
    f = decode_frame(one.respond(decode_frame(codec.encode_read_address()), 0.0).data)
    assert f.control == 0x93 and f.data == codec.address_bytes(A1)
    two = _bus()
    mixed = two.respond(decode_frame(codec.encode_read_address()), 0.0)
    assert two.stats.collisions == 1
    with pytest.raises(codec.DecodeError):
        decode_frame(mixed.data)


def test_quirks_no_preamble_no_blocks_and_1997():
    bus = _bus(SimMeter(address=A1, preamble_fe=0, block_reads=False), SimMeter(address=A2, protocol="1997"))
    r = bus.respond(_req(A1), 0.0)
    assert r.data[0] == 0x68
    blk = decode_frame(bus.respond(_req(A1, "0201FF00"), 0.0).data)
    assert blk.is_exception and blk.data == b"\x02"
    assert bus.respond(_req(A2), 0.0) is None  # a 1997 meter ignores 11H
    f = decode_frame(bus.respond(decode_frame(codec.encode_read_1997(A2, "9010")), 0.0).data)
    assert f.control == 0x81 and f.data[:2] == bytes([0x10, 0x90])


def test_unknown_di_and_missing_quantity_answer_no_such_data_and_a_dead_device_is_silent():
    bus = _bus(source=StaticSource(defaults={"e_fwd": 1.0}, silent={A2}))
    assert decode_frame(bus.respond(_req(A1, "02010100"), 0).data).data == b"\x02"
    assert decode_frame(bus.respond(_req(A1, "DEADBEEF"), 0).data).data == b"\x02"
    assert bus.respond(_req(A2), 0) is None


@pytest.mark.parametrize("kind", ["no_answer", "bit_errors", "truncate", "garbage", "late"])
def test_each_fault_changes_the_reply_as_described(kind):
    clean = _bus().respond(_req(A1), 0.0)
    bus = _bus(seed=3)
    bus.set_fault(A1, Fault(kind=kind, rate=0.05, late_s=1.0))
    r = bus.respond(_req(A1), 0.0)
    assert bus.stats.faults == {kind: 1}
    if kind == "no_answer":
        assert r is None
        return
    if kind == "bit_errors":
        assert r.data != clean.data and len(r.data) == len(clean.data)
    elif kind == "truncate":
        assert clean.data.startswith(r.data) and len(r.data) < len(clean.data)
    elif kind == "garbage":
        assert r.data.endswith(clean.data) and len(r.data) == len(clean.data) + 8
        frames = [f for f in Decoder().feed(r.data) if isinstance(f, Frame)]
        assert frames and frames[-1].raw == decode_frame(clean.data).raw
    else:
        assert r.data == clean.data and r.after_s == pytest.approx(clean.after_s + 1.0)
    bus.set_fault(A1, None)
    assert bus.respond(_req(A1), 0.0).data == clean.data


def test_faults_are_validated():
    with pytest.raises(ValueError, match="fault"):
        Fault(kind="fire")
    with pytest.raises(ValueError, match="response delay"):
        SimMeter(address=A1, response_delay_s=-1)


def test_random_walk_source_is_seeded_and_cumulative_registers_only_grow():
    a, b = RandomWalkSource(seed=1), RandomWalkSource(seed=1)
    seq_a = [a.values("m1", ["u_a", "e_fwd"], t) for t in range(0, 50, 5)]
    seq_b = [b.values("m1", ["u_a", "e_fwd"], t) for t in range(0, 50, 5)]
    assert seq_a == seq_b
    e = [v["e_fwd"] for v in seq_a]
    assert e == sorted(e) and e[-1] > e[0]
    assert len({round(v["u_a"], 6) for v in seq_a}) > 1


def test_served_over_tcp_replies_arrive_after_the_emulated_wire_time():
    bus = _bus(SimMeter(address=A1, response_delay_s=0.1), baud=2400)
    with bus.serving("tcp://127.0.0.1:0"):
        host, port = bus.url.removeprefix("tcp://").split(":")
        with socket.create_connection((host, int(port)), timeout=3) as s:
            req = codec.encode_read(A1, "00010000")
            t0 = time.monotonic()
            s.sendall(req)
            dec, frames = Decoder(), []
            while not frames:
                frames = [f for f in dec.feed(s.recv(100)) if isinstance(f, Frame)]
            elapsed = time.monotonic() - t0
    wire = (len(req) + 24) * byte_time_s(2400) + 0.1
    assert frames[0].address == A1
    assert wire <= elapsed < wire + 0.1


def test_serve_runs_in_the_calling_thread_until_stopped():
    import threading

    bus = _bus(SimMeter(address=A1, response_delay_s=0.02), baud=19200)
    stop = threading.Event()
    t = threading.Thread(target=bus.serve, args=("tcp://127.0.0.1:0", stop))
    t.start()
    deadline = time.monotonic() + 5
    while bus.url is None and time.monotonic() < deadline:
        time.sleep(0.01)
    host, port = bus.url.removeprefix("tcp://").split(":")
    with socket.create_connection((host, int(port)), timeout=3) as s:
        s.sendall(codec.encode_read(A1, "00010000"))
        dec, frames = Decoder(), []
        while not frames:
            frames = [f for f in dec.feed(s.recv(100)) if isinstance(f, Frame)]
    stop.set()
    t.join(5)
    assert frames[0].address == A1 and not t.is_alive()
