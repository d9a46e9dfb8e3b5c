"""Register values: the types and byte/word orders real register maps use (sans-I/O, no pymodbus).

Types (registers): ``int16 uint16`` (1), ``int32 uint32 float32`` (2), ``int64 uint64 float64`` (4),
packed BCD ``bcd16 bcd32 bcd64`` (1, 2, 4: four decimal digits per register), and bit fields of an
unsigned type: ``uint16[3]`` (bit 3, 0 = least significant) or ``uint16[4..7]`` (bits 4 to 7 as an
unsigned number).

Orders, written as the letters of the value's bytes from most significant (A) down, in the order the
registers carry them. For a 32-bit value A B C D:

* ``ABCD`` — high word first, high byte first (Modbus' own byte order; "big");
* ``CDAB`` — low word first, bytes of each word high first ("word swap", "little");
* ``BADC`` — high word first, bytes of each word swapped;
* ``DCBA`` — low word first, bytes swapped (little-endian throughout).

For 64-bit values the same rule applies to all four words (CDAB: the least significant word comes
first); a 16-bit value has only AB (ABCD, CDAB) or BA (BADC, DCBA).

A register pair that is not valid BCD (a nibble above 9, e.g. an uninitialised 0xFFFF) decodes to NaN,
which the plausibility check turns into a failure, never a reading. Integers decode exactly up to 2**53;
beyond that a 64-bit value keeps 15–16 significant digits (an energy register in Wh reaches 2**53 at
9 × 10**12 kWh).
"""

from __future__ import annotations

import math
import re
import struct

__all__ = ["BASE_TYPES", "ORDERS", "ORDER_ALIASES", "bit_field", "decode", "encode", "order_of", "register_count"]

# base type -> (struct code or "bcd", registers)
_TYPES: dict[str, tuple[str, int]] = {
    "int16": ("h", 1), "uint16": ("H", 1),
    "int32": ("i", 2), "uint32": ("I", 2), "float32": ("f", 2),
    "int64": ("q", 4), "uint64": ("Q", 4), "float64": ("d", 4),
    "bcd16": ("bcd", 1), "bcd32": ("bcd", 2), "bcd64": ("bcd", 4),
}
BASE_TYPES: tuple[str, ...] = tuple(_TYPES)
BIT_FIELD_BASES: tuple[str, ...] = ("uint16", "uint32", "uint64")
ORDERS: tuple[str, ...] = ("ABCD", "CDAB", "BADC", "DCBA")
ORDER_ALIASES: dict[str, str] = {"big": "ABCD", "little": "CDAB"}
_BITS = re.compile(r"^(uint16|uint32|uint64)\[(\d+)(?:\.\.(\d+))?\]$")


def bit_field(rtype: str) -> tuple[str, int, int] | None:
    """``(base, first_bit, last_bit)`` of a bit-field type such as ``uint16[4..7]``; None otherwise."""
    m = _BITS.match(rtype)
    if m is None:
        return None
    first = int(m.group(2))
    return m.group(1), first, int(m.group(3)) if m.group(3) is not None else first


def _base(rtype: str) -> str:
    field = bit_field(rtype)
    base = field[0] if field else rtype
    if base not in _TYPES:
        raise ValueError(f"unknown register type {rtype!r}; known: {', '.join(BASE_TYPES)} or a bit field "
                         "like uint16[3] / uint16[4..7]")
    return base


def register_count(rtype: str) -> int:
    """Number of 16-bit registers a value of ``rtype`` occupies."""
    return _TYPES[_base(rtype)][1]


def order_of(word_order: str) -> str:
    """The four-letter order of ``word_order`` (``big`` and ``little`` are ABCD and CDAB)."""
    order = ORDER_ALIASES.get(word_order, word_order)
    if order not in ORDERS:
        raise ValueError(f"unknown byte/word order {word_order!r}; known: {', '.join(ORDERS)} (or big, little)")
    return order


def _reorder(words: list[int], order: str) -> bytes:
    """Registers as carried <-> the value's bytes, most significant first (the permutation is its own
    inverse, so encoding uses it too)."""
    if order in ("CDAB", "DCBA"):
        words = words[::-1]
    raw = b"".join(int(w).to_bytes(2, "big") for w in words)   # a register is always sent high byte first
    if order in ("BADC", "DCBA"):
        raw = b"".join(raw[i + 1:i + 2] + raw[i:i + 1] for i in range(0, len(raw), 2))
    return raw


def decode(registers: list[int] | tuple[int, ...], rtype: str, word_order: str = "ABCD") -> float:
    """Raw value of ``registers`` (exactly ``register_count(rtype)`` of them) as a float."""
    base = _base(rtype)
    code, n = _TYPES[base]
    if len(registers) != n:
        raise ValueError(f"{rtype} needs {n} registers, got {len(registers)}")
    raw = _reorder(list(registers), order_of(word_order))
    if code == "bcd":
        digits = raw.hex()
        return float(int(digits)) if digits.isdigit() else math.nan
    value = struct.unpack(f">{code}", raw)[0]
    field = bit_field(rtype)
    if field is not None:
        _, first, last = field
        value = (value >> first) & ((1 << (last - first + 1)) - 1)
    return float(value)


def encode(value: float, rtype: str, word_order: str = "ABCD") -> list[int]:
    """Registers that hold raw ``value`` (integers are rounded; a value the type cannot hold raises
    ``struct.error`` or ``ValueError``)."""
    base = _base(rtype)
    code, n = _TYPES[base]
    if code == "bcd":
        v = round(value)
        if not 0 <= v < 10 ** (4 * n):
            raise ValueError(f"{value!r} does not fit {rtype} ({4 * n} decimal digits)")
        raw = bytes.fromhex(f"{v:0{4 * n}d}")
    else:
        field = bit_field(rtype)
        if field is not None:
            _, first, last = field
            v = round(value)
            if not 0 <= v < 1 << (last - first + 1):
                raise ValueError(f"{value!r} does not fit the {last - first + 1}-bit field {rtype}")
            value = v << first
        raw = struct.pack(f">{code}", value if code in "fd" else round(value))
    return _words(_reorder(_words(raw), order_of(word_order)))


def _words(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
