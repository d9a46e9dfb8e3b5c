"""Register values of every type and byte/word order, pinned to worked examples from device manuals.

Sources (the numbers are the manuals'; the tests are ours):

* AMETEK 7230-HT digital probe, owner's manual §2.13 "Byte Ordering": 4660 = 0x00001234 sent as
  00 00 12 34 (ABCD), 34 12 00 00 (DCBA), 00 00 34 12 (BADC), 12 34 00 00 (CDAB); 16-bit 12 34 / 34 12.
* Phoenix Contact EMpro user manual 109357_en_00 §11.6 (word-swapped, CDAB): 0x12345678 in registers
  n = 0x5678, n+1 = 0x1234; 123.456 (0x42F6E979) in n = 0xE979, n+1 = 0x42F6; 16-bit 4660 = 0x1234.
* Siemens SITRANS F Modbus RTU operating instructions A5E00753974-AB, appendix B.8 (ABCD floats):
  100.0 = 42C80000, 55.32 = 425D47AE, -1.0 = BF800000; reading 4:03001 is the frame
  01 03 0B B8 00 02 46 0A, answered 01 03 04 40 C3 52 93 62 C8 = 6.10383 kg/s (the reply's CRC is
  printed 62 C8; computed it is 62 C2, a misprint of one digit: the test pins the computed one).
* JUMO LOGOSCREEN nt interface description §4 (double values, ABCD): 1234567.89 = 0x4132D687E3D70A3D,
  request 14 03 00 66 00 04 A6 D3, response 14 03 08 41 32 D6 87 E3 D7 0A 3D E1 C1.
* GE Multilin EPM 9650/9800 Modbus manual §3: F18 unsigned 32-bit 0647H 6164H = 105 341 284; F64 signed
  32-bit 075BH CD15H = 123 456 789; F62 signed 64-bit 0000H 0000H 0001H 2345H = +74 565 and
  FFFFH FFFFH FFFEH DCBBH = -74 565; F11 packed BCD energy 0000H 0001H 0534H 1284H = 105 341 284 VAh.
* TIP 20 energy meter user manual (Modbus RTU/ASCII/TCP) p. 22: status register 0x0517 = $0003 means
  partial counters 1 (+kWh) and 2 (-kWh) active, counter n in bit n-1.

Where a manual gives one order, the other orders are that vector with the permutation the order
names (written out by hand below, not computed), so each type meets each order.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.modbus.codec import BASE_TYPES, ORDERS, decode, encode, register_count
from edge.modbus.registers import crc16, rtu_read_request

# (registers, type, order, value)
VECTORS = [
    # AMETEK 7230-HT: one value, all four orders
    ([0x0000, 0x1234], "uint32", "ABCD", 4660),
    ([0x3412, 0x0000], "uint32", "DCBA", 4660),
    ([0x0000, 0x3412], "uint32", "BADC", 4660),
    ([0x1234, 0x0000], "uint32", "CDAB", 4660),
    ([0x0000, 0x1234], "int32", "ABCD", 4660),
    ([0x1234], "uint16", "ABCD", 4660),
    ([0x3412], "uint16", "BADC", 4660),
    ([0x3412], "int16", "DCBA", 4660),
    ([0x1234], "int16", "CDAB", 4660),
    # EMpro: word-swapped
    ([0x5678, 0x1234], "uint32", "CDAB", 0x12345678),
    ([0x5678, 0x1234], "int32", "CDAB", 305419896),
    # GE EPM 9650: F18, F64, F62
    ([0x0647, 0x6164], "uint32", "ABCD", 105341284),
    ([0x075B, 0xCD15], "int32", "ABCD", 123456789),
    ([0xCD15, 0x075B], "int32", "CDAB", 123456789),
    ([0x5B07, 0x15CD], "int32", "BADC", 123456789),
    ([0x15CD, 0x5B07], "int32", "DCBA", 123456789),
    ([0x0000, 0x0000, 0x0001, 0x2345], "int64", "ABCD", 74565),
    ([0xFFFF, 0xFFFF, 0xFFFE, 0xDCBB], "int64", "ABCD", -74565),
    ([0xDCBB, 0xFFFE, 0xFFFF, 0xFFFF], "int64", "CDAB", -74565),
    ([0xFFFF, 0xFFFF, 0xFEFF, 0xBBDC], "int64", "BADC", -74565),
    ([0xBBDC, 0xFEFF, 0xFFFF, 0xFFFF], "int64", "DCBA", -74565),
    ([0x0000, 0x0000, 0x0001, 0x2345], "uint64", "ABCD", 74565),
    ([0xFFFF, 0xFFFF, 0xFFFE, 0xDCBB], "uint64", "ABCD", 2**64 - 74565),
    ([0x2345, 0x0001, 0x0000, 0x0000], "uint64", "CDAB", 74565),
    ([0x0000, 0x0000, 0x0100, 0x4523], "uint64", "BADC", 74565),
    ([0x4523, 0x0100, 0x0000, 0x0000], "uint64", "DCBA", 74565),
    # GE EPM 9650 F11: packed BCD, and its low registers alone
    ([0x0000, 0x0001, 0x0534, 0x1284], "bcd64", "ABCD", 105341284),
    ([0x1284, 0x0534, 0x0001, 0x0000], "bcd64", "CDAB", 105341284),
    ([0x0000, 0x0100, 0x3405, 0x8412], "bcd64", "BADC", 105341284),
    ([0x8412, 0x3405, 0x0100, 0x0000], "bcd64", "DCBA", 105341284),
    ([0x0534, 0x1284], "bcd32", "ABCD", 5341284),
    ([0x1284, 0x0534], "bcd32", "CDAB", 5341284),
    ([0x3405, 0x8412], "bcd32", "BADC", 5341284),
    ([0x8412, 0x3405], "bcd32", "DCBA", 5341284),
    ([0x1284], "bcd16", "ABCD", 1284),
    ([0x8412], "bcd16", "BADC", 1284),
    # TIP 20: status word $0003, bit fields of it
    ([0x0003], "uint16[0]", "ABCD", 1),
    ([0x0003], "uint16[1]", "ABCD", 1),
    ([0x0003], "uint16[2]", "ABCD", 0),
    ([0x0003], "uint16[0..9]", "ABCD", 3),
    ([0x0300], "uint16[0..9]", "BADC", 3),
    ([0x0000, 0x0003], "uint32[16..17]", "CDAB", 3),
]

FLOAT_VECTORS = [
    # Siemens SITRANS F (ABCD) and EMpro (CDAB) single precision
    ([0x42C8, 0x0000], "float32", "ABCD", 100.0),
    ([0x425D, 0x47AE], "float32", "ABCD", 55.32),
    ([0xBF80, 0x0000], "float32", "ABCD", -1.0),
    ([0x40C3, 0x5293], "float32", "ABCD", 6.10383),
    ([0xE979, 0x42F6], "float32", "CDAB", 123.456),
    ([0xF642, 0x79E9], "float32", "BADC", 123.456),
    ([0x79E9, 0xF642], "float32", "DCBA", 123.456),
    # JUMO LOGOSCREEN nt double
    ([0x4132, 0xD687, 0xE3D7, 0x0A3D], "float64", "ABCD", 1234567.89),
    ([0x0A3D, 0xE3D7, 0xD687, 0x4132], "float64", "CDAB", 1234567.89),
    ([0x3241, 0x87D6, 0xD7E3, 0x3D0A], "float64", "BADC", 1234567.89),
    ([0x3D0A, 0xD7E3, 0x87D6, 0x3241], "float64", "DCBA", 1234567.89),
]


@pytest.mark.parametrize(("registers", "rtype", "order", "value"), VECTORS,
                         ids=[f"{t}-{o}-{v}" for _, t, o, v in VECTORS])
def test_integer_and_bcd_vectors_decode_and_encode_exactly(registers: list[int], rtype: str, order: str,
                                                           value: int) -> None:
    got = decode(registers, rtype, order)
    assert got == float(value) or (rtype == "uint64" and int(got) == pytest.approx(value, rel=1e-15))
    if rtype != "uint64" or value < 2**53:
        assert encode(value, rtype, order) == registers or "[" in rtype   # bit fields encode only their bits


@pytest.mark.parametrize(("registers", "rtype", "order", "value"), FLOAT_VECTORS,
                         ids=[f"{t}-{o}-{v}" for _, t, o, v in FLOAT_VECTORS])
def test_float_vectors_decode_to_the_manual_value(registers: list[int], rtype: str, order: str,
                                                  value: float) -> None:
    assert decode(registers, rtype, order) == pytest.approx(value, rel=1e-6 if rtype == "float32" else 1e-15)
    assert encode(decode(registers, rtype, order), rtype, order) == registers


def test_every_type_meets_every_order_in_the_pinned_vectors() -> None:
    one_register = {"CDAB": "ABCD", "DCBA": "BADC"}      # a 16-bit value has no word order
    seen = {(t.split("[")[0], one_register.get(o, o) if register_count(t) == 1 else o)
            for _, t, o, _ in VECTORS + FLOAT_VECTORS}
    for rtype in BASE_TYPES:
        orders = ("ABCD", "BADC") if register_count(rtype) == 1 else ORDERS
        assert {(rtype, o) for o in orders} <= seen, rtype


def test_whole_rtu_frames_from_the_manuals() -> None:
    assert rtu_read_request(0x01, 3, 0x0BB8, 2) == bytes.fromhex("01 03 0B B8 00 02 46 0A")   # SITRANS F
    assert rtu_read_request(0x14, 3, 0x0066, 4) == bytes.fromhex("14 03 00 66 00 04 A6 D3")   # JUMO
    for reply, rtype, value in ((bytes.fromhex("01 03 04 40 C3 52 93 62 C2"), "float32", 6.10383),
                                (bytes.fromhex("14 03 08 41 32 D6 87 E3 D7 0A 3D E1 C1"), "float64", 1234567.89)):
        assert crc16(reply) == 0
        regs = list(struct.unpack(f">{reply[2] // 2}H", reply[3:-2]))
        assert decode(regs, rtype) == pytest.approx(value, rel=1e-6)


def test_legacy_order_names_still_work() -> None:
    assert decode([0xE979, 0x42F6], "float32", "little") == decode([0x42F6, 0xE979], "float32", "big")


@pytest.mark.parametrize("registers", [[0xFFFF], [0x12A4], [0x000F]])
def test_a_register_that_is_not_bcd_decodes_to_nan(registers: list[int]) -> None:
    assert math.isnan(decode(registers, "bcd16"))


def test_values_a_type_cannot_hold_are_errors() -> None:
    with pytest.raises(ValueError, match="does not fit bcd16"):
        encode(10000, "bcd16")
    with pytest.raises(ValueError, match="does not fit the 4-bit field"):
        encode(16, "uint16[4..7]")
    with pytest.raises(struct.error):
        encode(-1, "uint64")
    with pytest.raises(ValueError, match="unknown register type 'int8'"):
        register_count("int8")


@given(st.sampled_from(["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]),
       st.sampled_from(["big", "little"]), st.lists(st.integers(0, 0xFFFF), min_size=4, max_size=4))
def test_agrees_with_pymodbus_for_the_orders_pymodbus_knows(rtype: str, order: str, words: list[int]) -> None:
    from pymodbus.client.mixin import ModbusClientMixin as M

    regs = words[:register_count(rtype)]
    ours = decode(regs, rtype, order)
    theirs = float(M.convert_from_registers(regs, getattr(M.DATATYPE, rtype.upper()), word_order=order))
    assert ours == theirs or (math.isnan(ours) and math.isnan(theirs))
