"""DL/T 645 codec: the reference's worked frames byte for byte, and the streaming decoder's rules."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

from edge.dlt645 import codec
from edge.dlt645.catalog import load_catalog
from edge.dlt645.client import err_text
from edge.dlt645.codec import DecodeError, Decoder, Frame

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FRAMES = tomllib.loads((Path(__file__).parent / "frames" / "worked_frames.toml").read_text())["frame"]
CAT = load_catalog()
ADDR = "000000000001"


def _hex(s: str) -> bytes:
    return bytes.fromhex(s)


def _case_id(case: dict) -> str:
    return str(case["id"])


@pytest.mark.parametrize("case", [f for f in FRAMES if f["kind"] == "request"], ids=_case_id)
def test_requests_encode_to_the_reference_bytes(case):
    kind = case["request"]
    if kind == "read":
        got = codec.encode_read(ADDR, case["di"])
    elif kind == "read_address":
        got = codec.encode_read_address()
    elif kind == "followup":
        got = codec.encode_read_followup(ADDR, case["di"], case["seq"])
    elif kind == "time_sync":
        got = codec.encode_time_sync(datetime.fromisoformat(case["time"]))
    else:
        got = codec.encode_read_1997(ADDR, case["di"], n_fe=case["fe"])
    assert got == _hex(case["hex"])


@pytest.mark.parametrize("case", [f for f in FRAMES if f["kind"] != "request"], ids=_case_id)
def test_replies_decode_to_the_reference_values(case):
    raw = _hex(case["hex"])
    frame = codec.decode_frame(raw)
    assert frame.address == ADDR
    assert frame.is_reply
    if case["kind"] == "exception":
        assert frame.is_exception and frame.data == bytes([case["err"]])
        assert err_text(frame.data[0]) == "ERR 02: no such data"
    elif case["kind"] == "address":
        assert frame.control == 0x93 and frame.data == codec.address_bytes(case["address"])
    elif case["kind"] == "block":
        block = CAT.block(case["di"])
        assert block is not None
        data = frame.data[4:]
        values = []
        for name in block.items:
            item = CAT.by_name(name)
            values.append(item.decode(data[:item.nbytes]))
            data = data[item.nbytes:]
        assert values == pytest.approx(case["values"])
    else:
        assert frame.control == 0x91 and frame.data[:4] == codec.di_bytes(case["di"])
        item = CAT.item(case["di"])
        assert item.decode(frame.data[4:]) == pytest.approx(case["value"])
        if "bits" in case:
            assert item.bit_names(int(case["value"])) == case["bits"]
        # and our encoder produces the same reply from the value
        assert codec.encode_frame(ADDR, 0x91, frame.data[:4] + item.encode(case["value"])) == raw


def test_streaming_decoder_finds_each_frame_whatever_the_chunking():
    stream = b"".join(_hex(f["hex"]) for f in FRAMES)
    expected = [codec.decode_frame(_hex(f["hex"])).raw for f in FRAMES]
    for size in (1, 2, 3, 7, 13, 64, len(stream)):
        dec = Decoder()
        got = []
        for k in range(0, len(stream), size):
            got += dec.feed(stream[k:k + size])
        assert [f.raw for f in got if isinstance(f, Frame)] == expected, size
        assert not [e for e in got if isinstance(e, DecodeError)]


def test_decoder_counts_preamble_and_skips_noise_before_the_frame():
    raw = _hex(FRAMES[1]["hex"])
    out = Decoder().feed(b"\x00\x16\x68\xfe\x12" + raw)
    frames = [f for f in out if isinstance(f, Frame)]
    assert len(frames) == 1 and frames[0].n_fe == 4
    assert Decoder().feed(raw[4:])[0].n_fe == 0
    dec = Decoder()
    assert dec.feed(b"\xfe") == [] and dec.feed(b"\xfe\xfe") == []
    assert dec.feed(raw[3:])[0].n_fe == 4  # a preamble split across chunks is counted whole


def test_decoder_rejects_a_bad_checksum_with_a_precise_error():
    raw = bytearray(_hex(FRAMES[1]["hex"]))
    raw[-2] ^= 0x01
    out = Decoder().feed(bytes(raw))
    assert [type(x) for x in out] == [DecodeError]
    assert out[0].kind == "checksum" and "computed D3" in out[0].detail


def test_decoder_rejects_a_bad_end_byte():
    raw = bytearray(_hex(FRAMES[1]["hex"]))
    raw[-1] = 0x17
    out = Decoder().feed(bytes(raw))
    assert [x.kind for x in out if isinstance(x, DecodeError)] == ["end"]


def test_decoder_rejects_a_reply_whose_address_is_not_bcd():
    bad = codec.encode_frame("00000000000A", 0x91, b"\x00\x00\x01\x00\x67\x45\x23\x01")
    out = Decoder().feed(bad)
    assert [x.kind for x in out if isinstance(x, DecodeError)] == ["bcd"]


def test_value_with_a_non_bcd_nibble_is_an_error_not_a_value():
    item = CAT.item("00010000")
    with pytest.raises(DecodeError, match="not BCD"):
        item.decode(bytes([0x67, 0x4A, 0x23, 0x01]))


def test_a_corrupted_length_byte_does_not_hide_the_next_good_frame():
    good = _hex(FRAMES[1]["hex"])
    bad = bytearray(good[4:])
    bad[9] = 0xC0  # L says 192 bytes: the candidate would swallow everything after it
    dec = Decoder()
    out = dec.feed(bytes(bad) + good)
    frames = [f for f in out if isinstance(f, Frame)]
    assert [f.raw for f in frames] == [good[4:]]
    assert any(isinstance(e, DecodeError) and e.kind == "truncated" for e in out)


def test_flush_drops_a_frame_that_went_quiet_and_resyncs():
    good = _hex(FRAMES[1]["hex"])
    dec = Decoder()
    assert dec.feed(good[:15]) == []
    assert dec.pending > 0
    out = dec.flush()
    assert [e.kind for e in out if isinstance(e, DecodeError)] == ["truncated"]
    assert next(f for f in dec.feed(good) if isinstance(f, Frame)).raw == good[4:]


def test_decode_frame_raises_only_decode_error():
    for bad in (b"", b"\xfe\xfe", b"\x68" * 5, _hex(FRAMES[1]["hex"]) + b"\x00", _hex(FRAMES[1]["hex"])[:-3]):
        with pytest.raises(DecodeError):
            codec.decode_frame(bad)


def test_encoders_reject_bad_addresses_and_dis():
    with pytest.raises(DecodeError, match="address"):
        codec.encode_read("12345678901234", "00010000")
    with pytest.raises(DecodeError, match="DI"):
        codec.encode_read(ADDR, "0001")
    with pytest.raises(DecodeError, match="1997"):
        codec.encode_read_1997(ADDR, "00010000")


def test_short_addresses_are_padded_with_leading_zeros():
    assert codec.address_bytes("1") == bytes([1, 0, 0, 0, 0, 0])
    assert codec.address_bytes("123456789012") == bytes([0x12, 0x90, 0x78, 0x56, 0x34, 0x12])
