"""The one module that imports pymodbus (pinned to 3.16.*: its minor releases rename arguments).

``ModbusLink`` is the client side: async RTU over a serial port, RTU framing over TCP (serial-to-Ethernet
converters) and Modbus TCP; the device id is given per request; timeout and retries come from
``LinkSettings``. ``RegisterServer`` is the server side the simulated TTU is built on.
Facts used: reference/modbus.md §7 (exception replies are returned, not raised; no reply raises
ModbusIOException after timeout × (retries + 1); an unknown device id would get exception 4, so the
server drops replies of offline devices in ``trace_packet``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import termios
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.errors import PortError, ProtocolError
from edge.modbus.link import LinkCounters, LinkSettings, NoReplyError, RegisterReply
from edge.serialport import OPEN_ERRORS, open_error_text

__all__ = ["FRAME_RING", "ModbusLink", "RegisterHandler", "RegisterServer"]

FRAME_RING = 20   # raw frames kept per link for post-mortem dumps

# pymodbus logs every unanswered request at ERROR with a hex dump; we report those as failures with
# reasons ourselves. A NullHandler keeps them off stderr (logging.lastResort) unless the daemon
# configures logging, in which case they still propagate to its handlers.
logging.getLogger("pymodbus.logging").addHandler(logging.NullHandler())


class ModbusLink:
    """A client on one port. Requests are serialised by pymodbus (one question at a time)."""

    def __init__(self, settings: LinkSettings, *, event_time: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.event_time = event_time   # stamps replies (epoch s); the demo runs it on simulated time
        self.counters = LinkCounters()
        self.frames: deque[tuple[float, str, bytes]] = deque(maxlen=FRAME_RING)  # (ts, "tx"/"rx", bytes)
        self._client: AsyncModbusSerialClient | AsyncModbusTcpClient | None = None
        self._rx_ts = 0.0
        self._rx_buf = b""

    def _trace(self, sending: bool, data: bytes) -> bytes:
        now = time.time()
        if sending:
            self.counters.attempts += 1
            self.counters.bytes_out += len(data)
            self.frames.append((now, "tx", bytes(data)))
            self._rx_buf = b""        # pymodbus empties its receive buffer with every request
        else:
            # pymodbus hands over its whole receive buffer each time: count only what is new
            grown = data.startswith(self._rx_buf)
            self.counters.bytes_in += len(data) - len(self._rx_buf) if grown else len(data)
            self._rx_ts, self._rx_buf = self.event_time(), bytes(data)
        return data

    def _make_client(self) -> AsyncModbusSerialClient | AsyncModbusTcpClient:
        s = self.settings
        # reconnect_delay=0: no background reconnects; the device reader's back-off decides when to retry
        common: dict[str, Any] = {"timeout": s.timeout_s, "retries": s.retries, "reconnect_delay": 0,
                                  "trace_packet": self._trace, "name": s.name}
        if s.kind == "rtu":
            return AsyncModbusSerialClient(s.port, framer=FramerType.RTU, baudrate=s.baud, bytesize=s.bytesize,
                                           parity=s.parity, stopbits=s.stopbits, **common)
        framer = FramerType.RTU if s.kind == "rtu-tcp" else FramerType.SOCKET
        return AsyncModbusTcpClient(s.port, port=s.tcp_port, framer=framer, **common)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Open the port / connection (again); raises ``PortError`` naming the port and the cause."""
        if self._client is not None and self._client.connected:
            return
        self.close()
        if self.settings.kind == "rtu":
            self._check_serial()
        self._client = self._make_client()
        try:
            ok = await self._client.connect()
        except (OSError, ValueError, termios.error) as exc:
            self.close()
            raise PortError(f"{self.settings.name}: cannot open the port: {exc}") from None
        if not ok:
            self.close()
            what = "cannot open the port" if self.settings.kind == "rtu" else "cannot connect (refused or unreachable)"
            raise PortError(f"{self.settings.name}: {what}")

    def _check_serial(self) -> None:
        """Open and close the serial port with pyserial first: pymodbus only logs why an open failed, and
        a parity the port rejects escapes its constructor after the port was opened and locked (the
        descriptor and its lock leak until garbage collection)."""
        import serial

        s = self.settings
        try:
            serial.Serial(s.port, s.baud, bytesize=s.bytesize, parity=s.parity, stopbits=s.stopbits,
                          exclusive=True).close()
        except OPEN_ERRORS as exc:
            raise PortError(f"{s.port}: cannot open at {s.baud} baud, {s.bytesize}{s.parity}{s.stopbits}: "
                            f"{open_error_text(exc)}") from None

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):   # closing a vanished port may fail: it is gone anyway
                self._client.close()
            self._client = None

    async def __aenter__(self) -> ModbusLink:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def read_registers(self, *, function: int, address: int, count: int, device_id: int) -> RegisterReply:
        """FC03/FC04 read of ``count`` registers at ``address`` from ``device_id``.

        Returns the registers or the exception code. Raises ``NoReplyError`` when the device stays silent,
        ``PortError`` when the port is down, ``ProtocolError`` on a reply that does not fit the request.
        """
        if function not in (3, 4):
            raise ValueError(f"only FC03/FC04 reads are sent, got function {function}")
        c = self.counters
        c.requests += 1
        try:
            await self.connect()
        except PortError:
            c.failures += 1
            raise
        try:
            assert self._client is not None
            reader = self._client.read_holding_registers if function == 3 else self._client.read_input_registers
            rr = await reader(address, count=count, device_id=device_id)
        except ModbusIOException:
            c.failures += 1
            if not self.connected:   # the connection dropped while we waited: the port, not the device
                self.close()
                raise PortError(f"{self.settings.name}: connection lost") from None
            c.no_replies += 1
            waited = self.settings.timeout_s * (self.settings.retries + 1)
            raise NoReplyError(device_id, waited, self.settings.name, self.settings.retries + 1) from None
        except ConnectionException as exc:
            c.failures += 1
            self.close()
            raise PortError(f"{self.settings.name}: connection failed: {exc}") from None
        except ModbusException as exc:
            c.failures += 1
            raise ProtocolError(f"{self.settings.name}: device {device_id}: {exc}") from None
        except OSError as exc:   # the port vanished under us (USB adapter unplugged, converter reset)
            c.failures += 1
            self.close()
            raise PortError(f"{self.settings.name}: port error: {exc}") from None
        ts = self._rx_ts or self.event_time()
        if rr.isError():
            code = int(getattr(rr, "exception_code", 0))
            c.exception_replies += 1
            c.failures += 1
            self.frames.append((ts, "rx", self._rx_buf[:self._frame_len(2)]))
            return RegisterReply(exception_code=code, ts=ts)
        regs = tuple(int(r) for r in rr.registers)
        n = self._frame_len(2 + 2 * len(regs))
        self.frames.append((ts, "rx", self._rx_buf[:n]))
        if len(regs) != count:
            # e.g. a late reply to an earlier request on an RTU bus, which has no transaction ids
            c.failures += 1
            raise ProtocolError(f"{self.settings.name}: device {device_id}: asked for {count} registers at "
                                f"{address:#06x}, got {len(regs)}")
        c.replies += 1
        return RegisterReply(registers=regs, ts=ts)

    def _frame_len(self, pdu_len: int) -> int:
        """Bytes on the wire of a reply frame whose PDU (function code onwards) is ``pdu_len`` bytes."""
        return pdu_len + (7 if self.settings.kind == "tcp" else 3)


# (device_id, function, address, count) -> registers, or an exception code (int)
RegisterHandler = Callable[[int, int, int, int], Awaitable[list[int] | int]]


class RegisterServer:
    """A Modbus server whose register reads are answered by ``handler``; for simulated devices.

    ``online(device_id)`` decides whether a device answers at all: replies of offline (or unknown)
    devices are dropped before they reach the wire, so the client sees silence as on a real bus.
    """

    def __init__(self, *, device_ids: list[int], handler: RegisterHandler, online: Callable[[int], bool],
                 transport: Literal["serial", "tcp"], port: str = "", host: str = "127.0.0.1",
                 tcp_port: int = 0, framer: Literal["rtu", "socket"] | None = None, baud: int = 9600,
                 parity: str = "N") -> None:
        self.device_ids = list(device_ids)
        self._handler = handler
        self._online = online
        self.transport = transport
        self.port, self.host, self.tcp_port = port, host, tcp_port
        framer = framer or ("rtu" if transport == "serial" else "socket")   # RTU-over-TCP: framer="rtu"
        self.framer = FramerType.RTU if framer == "rtu" else FramerType.SOCKET
        self.baud, self.parity = baud, parity
        self._server: ModbusSerialServer | ModbusTcpServer | None = None

    async def _action(self, device_id: int, function: int, start: int, address: int, count: int,
                      registers: list[int], set_values: object) -> ExcCodes | None:
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION     # read-only device: the daemon never writes
        result = await self._handler(device_id, function, address, count)
        if isinstance(result, int):
            return ExcCodes(result)
        registers[address - start:address - start + count] = result
        return None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if sending and data:
            unit = data[0] if self.framer == FramerType.RTU else (data[6] if len(data) > 6 else 0)
            if not self._online(unit):
                return b""
        return data

    def _devices(self) -> list[SimDevice]:
        # every register readable; the handler decides what exists (exception 2 for the rest)
        return [SimDevice(id=i, simdata=[SimData(address=0, count=0xFFFF, datatype=DataType.REGISTERS)],
                          action=partial(self._action, i)) for i in self.device_ids]

    async def start(self) -> None:
        devices = self._devices()
        if self.transport == "serial":
            self._server = ModbusSerialServer(devices, framer=self.framer, port=self.port, baudrate=self.baud,
                                              parity=self.parity, trace_packet=self._trace)
        else:
            self._server = ModbusTcpServer(devices, framer=self.framer, address=(self.host, self.tcp_port),
                                           trace_packet=self._trace)
        await self._server.serve_forever(background=True)
        if self.transport == "tcp" and self.tcp_port == 0:
            transport: Any = self._server.transport
            self.tcp_port = int(transport.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
            await asyncio.sleep(0)
