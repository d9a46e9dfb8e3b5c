"""RTU frame arithmetic (sans-I/O, no pymodbus); register values are ``edge.modbus.codec``'s.

``decode``, ``encode`` and ``register_count`` are re-exported here, where the device reader and the
simulated TTU have always imported them.
"""

from __future__ import annotations

from edge.modbus.codec import BASE_TYPES, ORDER_ALIASES, ORDERS, decode, encode, register_count

__all__ = [
    "BASE_TYPES",
    "ORDERS",
    "ORDER_ALIASES",
    "crc16",
    "decode",
    "encode",
    "register_count",
    "rtu_read_reply",
    "rtu_read_request",
]


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
