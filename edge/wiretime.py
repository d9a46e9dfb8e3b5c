"""Time on the wire: what a read costs on a serial bus (dlt645.md §9, modbus.md §7).

Shared by the capacity estimate of ``check-config``, the bus scheduler's planner and the benchmarks,
so that every figure of "the wire limit" comes from one formula.
"""

from __future__ import annotations

__all__ = [
    "DLT645_BITS_PER_CHAR",
    "byte_time_s",
    "dlt645_frame_bytes",
    "dlt645_read_time_s",
    "dlt645_reply_deadline_s",
    "modbus_rtu_read_time_s",
    "modbus_silent_interval_s",
]

DLT645_BITS_PER_CHAR = 11  # start + 8 data + even parity + stop


def byte_time_s(baud: int, bits_per_char: int = DLT645_BITS_PER_CHAR) -> float:
    if baud <= 0:
        raise ValueError(f"baud must be > 0, got {baud}")
    return bits_per_char / baud


def dlt645_frame_bytes(data_len: int, n_fe: int = 4) -> int:
    """Bytes of a DL/T 645 frame with ``data_len`` data bytes and ``n_fe`` wake-up FE bytes."""
    return n_fe + 12 + data_len


def dlt645_read_time_s(baud: int, request_data_len: int, reply_data_len: int, *, response_delay_s: float,
                       gap_s: float = 0.02, request_fe: int = 4, reply_fe: int = 4) -> float:
    """One request/reply transaction: request bytes + meter response delay + reply bytes + idle gap."""
    bt = byte_time_s(baud)
    return (dlt645_frame_bytes(request_data_len, request_fe) * bt + response_delay_s
            + dlt645_frame_bytes(reply_data_len, reply_fe) * bt + gap_s)


def modbus_silent_interval_s(baud: int) -> float:
    """RTU t3.5: 3.5 characters, fixed at 1.75 ms above 19200 baud."""
    return 0.00175 if baud > 19200 else 3.5 * byte_time_s(baud)


def modbus_rtu_read_time_s(baud: int, n_registers: int, *, slave_time_s: float = 0.01) -> float:
    """One FC03/FC04 read: 8-byte request, t3.5, slave time, (5 + 2N)-byte reply, t3.5."""
    bt = byte_time_s(baud)
    t35 = modbus_silent_interval_s(baud)
    return 8 * bt + t35 + slave_time_s + (5 + 2 * n_registers) * bt + t35


def dlt645_reply_deadline_s(baud: int, request_bytes: int, reply_data_len: int, *,
                            max_response_delay_s: float = 0.5, margin_s: float = 0.1,
                            reply_fe: int = 4) -> float:
    """How long to wait for a reply, counted from handing the request to the port (dlt645.md §1.4):
    the request still has to cross the wire, then up to ``max_response_delay_s`` of meter delay, then
    the longest expected reply, plus a margin for USB adapters and scheduling."""
    bt = byte_time_s(baud)
    return (request_bytes * bt + max_response_delay_s
            + dlt645_frame_bytes(reply_data_len, reply_fe) * bt + margin_s)
