"""Register types, word order and the RTU CRC, pinned to published byte vectors."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.modbus.registers import crc16, decode, encode, rtu_read_reply, rtu_read_request


def test_float32_big_word_order_is_abcd() -> None:
    assert encode(230.1, "float32", "big") == [0x4366, 0x199A]
    assert decode([0x4366, 0x199A], "float32", "big") == pytest.approx(230.1, rel=1e-7)


def test_float32_little_word_order_swaps_words_not_bytes() -> None:
    assert encode(230.1, "float32", "little") == [0x199A, 0x4366]
    assert decode([0x199A, 0x4366], "float32", "little") == pytest.approx(230.1, rel=1e-7)


def test_signed_types_decode_twos_complement() -> None:
    assert decode([0xFFFF], "int16") == -1
    assert decode([0xFFFF], "uint16") == 65535
    assert decode([0xFFFF, 0xFFFE], "int32", "big") == -2
    assert decode([0xFFFE, 0xFFFF], "int32", "little") == -2
    assert decode([0x0001, 0x0000], "uint32", "big") == 65536


def test_decode_rejects_wrong_register_count() -> None:
    with pytest.raises(ValueError, match="float32 needs 2 registers, got 1"):
        decode([0x4366], "float32")


def test_float32_nan_pattern_decodes_to_nan() -> None:
    assert math.isnan(decode([0x7FC0, 0x0000], "float32"))


@given(st.sampled_from(["int16", "uint16", "int32", "uint32"]), st.sampled_from(["big", "little"]), st.data())
def test_integer_types_round_trip(rtype: str, order: str, data: st.DataObject) -> None:
    bits = 16 if rtype.endswith("16") else 32
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if rtype.startswith("int") else (0, 2 ** bits - 1)
    v = data.draw(st.integers(lo, hi))
    assert decode(encode(v, rtype, order), rtype, order) == v


@given(st.floats(width=32, allow_nan=False), st.sampled_from(["big", "little"]))
def test_float32_round_trips_exactly(v: float, order: str) -> None:
    assert decode(encode(v, "float32", order), "float32", order) == v


def test_integer_out_of_range_is_an_error() -> None:
    with pytest.raises(struct.error):
        encode(70000, "uint16")


# Published vectors: "01 03 00 00 00 0A C5 CD" (read 10 holding registers) and the Eastron SDM630
# manual's "01 04 00 00 00 02 71 CB" (read phase 1 voltage).
@pytest.mark.parametrize(("frame", "function", "address", "count"), [
    ("01 03 00 00 00 0a c5 cd", 3, 0x0000, 10),
    ("01 04 00 00 00 02 71 cb", 4, 0x0000, 2),
    ("01 03 20 06 00 02 2f ca", 3, 0x2006, 2),
])
def test_rtu_read_request_matches_pinned_frames(frame: str, function: int, address: int, count: int) -> None:
    assert rtu_read_request(1, function, address, count) == bytes.fromhex(frame)


def test_crc_of_a_frame_including_its_crc_is_zero() -> None:
    frame = rtu_read_reply(1, 3, encode(2301.0, "float32"))
    assert frame == bytes.fromhex("01 03 04 45 0f d0 00 82 fc")
    assert crc16(frame) == 0
