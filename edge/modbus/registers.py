"""Register value types and the RTU frame arithmetic (sans-I/O, no pymodbus).

A 32-bit value spans two 16-bit registers. Bytes inside a register are always big-endian (Modbus);
the order of the two words differs between meters: "big" = high word first (ABCD),
"little" = low word first (CDAB).
"""

from __future__ import annotations

import struct
from typing import Literal

__all__ = [
    "REGISTER_TYPES",
    "WORD_ORDERS",
    "RegisterType",
    "WordOrder",
    "crc16",
    "decode",
    "encode",
    "register_count",
    "rtu_read_reply",
    "rtu_read_request",
]

RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["big", "little"]

# type -> (struct code, registers)
_STRUCT: dict[str, tuple[str, int]] = {
    "int16": ("h", 1), "uint16": ("H", 1),
    "int32": ("i", 2), "uint32": ("I", 2),
    "float32": ("f", 2),
}
REGISTER_TYPES: tuple[str, ...] = tuple(_STRUCT)
WORD_ORDERS: tuple[str, ...] = ("big", "little")


def register_count(rtype: str) -> int:
    """Number of 16-bit registers a value of ``rtype`` occupies."""
    return _STRUCT[rtype][1]


def decode(registers: list[int] | tuple[int, ...], rtype: str, word_order: str = "big") -> float:
    """Raw value of ``registers`` (exactly ``register_count(rtype)`` of them) as a float."""
    code, n = _STRUCT[rtype]
    if len(registers) != n:
        raise ValueError(f"{rtype} needs {n} registers, got {len(registers)}")
    words = list(registers)
    if word_order == "little":
        words.reverse()
    raw = b"".join(int(w).to_bytes(2, "big") for w in words)
    return float(struct.unpack(f">{code}", raw)[0])


def encode(value: float, rtype: str, word_order: str = "big") -> list[int]:
    """Registers that hold raw ``value`` (integers are rounded; out of range raises ``struct.error``)."""
    code, _ = _STRUCT[rtype]
    raw = struct.pack(f">{code}", value if rtype == "float32" else round(value))
    words = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    if word_order == "little":
        words.reverse()
    return words


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def rtu_read_request(device_id: int, function: int, address: int, count: int) -> bytes:
    """The 8-byte RTU frame of an FC03/FC04 read request."""
    return _with_crc(bytes([device_id, function]) + address.to_bytes(2, "big") + count.to_bytes(2, "big"))


def rtu_read_reply(device_id: int, function: int, registers: list[int]) -> bytes:
    """The (5 + 2N)-byte RTU frame of a read reply carrying ``registers``."""
    data = b"".join(r.to_bytes(2, "big") for r in registers)
    return _with_crc(bytes([device_id, function, len(data)]) + data)
