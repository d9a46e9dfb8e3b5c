"""What the rest of meterwatch sees of a Modbus link: settings, replies, counters, errors.

Plain data and a Protocol, free of pymodbus (which stays inside ``edge.modbus.adapter``), so the
device reader, the scheduler and the tests depend on this small surface only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from edge.errors import TransportError

__all__ = ["LinkCounters", "LinkKind", "LinkSettings", "NoReplyError", "RegisterLink", "RegisterReply",
           "parse_port"]

LinkKind = Literal["rtu", "rtu-tcp", "tcp"]   # RTU on a serial port, RTU framing over TCP, Modbus TCP


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkSettings:
    """How to reach a Modbus port. ``port`` is a serial path (rtu) or a host name (rtu-tcp, tcp)."""

    kind: LinkKind
    port: str
    tcp_port: int = 502
    baud: int = 9600
    parity: str = "E"        # "N" on pseudo-terminals, where "E" fails with EINVAL
    bytesize: int = 8
    stopbits: int = 1
    timeout_s: float = 1.0   # per attempt; a silent device costs timeout_s × (retries + 1)
    retries: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("rtu", "rtu-tcp", "tcp"):
            raise ValueError(f"link kind must be rtu, rtu-tcp or tcp, got {self.kind!r}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if self.parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be N, E or O, got {self.parity!r}")

    @property
    def name(self) -> str:
        return self.port if self.kind == "rtu" else f"{self.kind}://{self.port}:{self.tcp_port}"


def parse_port(port: str) -> tuple[str, int | None]:
    """``tcp://host:502`` -> (host, 502); ``/dev/ttyS1`` -> (path, None)."""
    if port.startswith("tcp://"):
        rest = port[len("tcp://"):]
        host, sep, num = rest.rpartition(":")
        if not sep or not host or not num.isdigit() or not 0 < int(num) < 65536:
            raise ValueError(f"port {port!r}: expected tcp://host:port")
        return host, int(num)
    return port, None


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterReply:
    """A read reply: registers, or the exception code the device answered with."""

    registers: tuple[int, ...] = ()
    exception_code: int | None = None
    ts: float = 0.0            # arrival of the reply, epoch s UTC


@dataclass(slots=True)
class LinkCounters:
    """Running totals a scheduler reads to report bus health (monotonic, never reset)."""

    requests: int = 0          # read calls made (one per request, retries not included)
    attempts: int = 0          # frames sent, retries included
    replies: int = 0           # normal replies
    exception_replies: int = 0
    no_replies: int = 0        # requests that got no reply after all retries
    failures: int = 0          # no reply, exception, link error or malformed reply
    bytes_out: int = 0         # as written to the port, retries included
    bytes_in: int = 0          # as read from the port, late replies included


class NoReplyError(TransportError):
    """The device did not answer within the deadline (after all retries)."""

    def __init__(self, device_id: int, waited_s: float, link: str, attempts: int = 1) -> None:
        self.device_id = device_id
        self.waited_s = waited_s
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"{link}: device {device_id}: no reply within {waited_s:.2f} s{tries}")


class RegisterLink(Protocol):
    """The read surface of a Modbus link (implemented by ``edge.modbus.adapter.ModbusLink``)."""

    settings: LinkSettings
    counters: LinkCounters
    event_time: Callable[[], float]     # epoch seconds that stamp readings (simulated in the demo)

    async def read_registers(self, *, function: int, address: int, count: int, device_id: int) -> RegisterReply:
        """FC03/FC04 read. Raises ``NoReplyError`` (silent), ``TransportError`` (link), ``ProtocolError``."""
        ...
