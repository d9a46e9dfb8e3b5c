"""asyncio links to a DL/T 645 bus: a serial port (pyserial) or a transparent TCP converter.

A link owns the port and the timing, never the meaning: ``exchange()`` sends one request and returns
the first reply frame the caller accepts, or what went wrong. One exchange at a time (a lock); a
minimum idle gap before each request; a deadline per request from the baud rate, the expected reply
length and the meter's maximum response delay (``edge.wiretime``); a partial frame that goes quiet is
dropped; the last raw frames are kept in a ring for diagnostics; counters for the scheduler.

A link can be closed and opened again any number of times (the daemon reopens a port that vanished or
hung up). A failure of the port itself (cannot open, end of file, hang-up, connection lost) is a
``PortError``; the link stops reading at once (no busy loop on a hung-up descriptor) and every exchange
raises it until the link is reopened. Serial ports are opened with an exclusive ``flock`` so that a
second program (``meterwatch read``, picocom) cannot talk on a bus the daemon is polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

from edge.dlt645.codec import DecodeError, Decoder, Frame
from edge.errors import PortError, TransportError
from edge.serialport import OPEN_ERRORS, open_error_text
from edge.timeouts import within
from edge.wiretime import byte_time_s, dlt645_reply_deadline_s

__all__ = ["Exchange", "Link", "LinkStats", "RawRecord", "SerialLink", "TcpLink", "open_link"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawRecord:
    ts: float          # wall clock, epoch s
    direction: str     # "tx" | "rx"
    data: bytes

    def __str__(self) -> str:
        return f"{self.ts:.3f} {self.direction} {self.data.hex(' ').upper()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """Outcome of one request: accepted frames (one unless ``collect``), rejected candidates, timing."""

    frames: tuple[Frame, ...]
    errors: tuple[DecodeError, ...]
    ignored: tuple[Frame, ...]     # valid frames the caller did not accept (other meter, echo, stale)
    rx_ts: float | None            # wall-clock arrival of the first accepted frame
    heard: bool                    # any byte arrived
    elapsed_s: float
    deadline_s: float

    @property
    def frame(self) -> Frame | None:
        return self.frames[0] if self.frames else None


@dataclass(slots=True)
class LinkStats:
    """Counters of one link, read by the scheduler and the health payload."""

    ok: int = 0                 # exchanges that got an accepted frame
    failed: int = 0             # exchanges without one
    timeouts: int = 0           # ... of which nothing valid arrived before the deadline
    decode_errors: int = 0      # rejected frame candidates
    stale_bytes: int = 0        # bytes that arrived between exchanges (late answers) and were discarded
    bytes_tx: int = 0
    bytes_rx: int = 0
    busy_s: float = 0.0         # time inside exchanges (lock held), for wire utilisation

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__slots__}


class Link(ABC):
    """Base of the serial and TCP links. Use ``async with`` or ``await open()`` / ``await close()``."""

    def __init__(self, name: str, *, baud: int = 2400, max_response_delay_s: float = 0.5,
                 gap_s: float = 0.02, quiet_s: float = 0.5, margin_s: float = 0.1, ring_size: int = 32,
                 event_time: Callable[[], float] = time.time) -> None:
        self.name = name
        self.event_time = event_time   # stamps replies (epoch s); the demo runs it on simulated time
        self.baud = baud
        self.max_response_delay_s = max_response_delay_s
        self.gap_s = gap_s
        self.quiet_s = quiet_s
        self.margin_s = margin_s
        self.ring: deque[RawRecord] = deque(maxlen=ring_size)
        self.stats = LinkStats()
        self._lock = asyncio.Lock()
        self._rx = bytearray()
        self._rx_event = asyncio.Event()
        self._last_rx = 0.0
        self._idle_since = 0.0
        self._error: BaseException | None = None
        self._decoder = Decoder()

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _write(self, data: bytes) -> None: ...

    async def __aenter__(self) -> Link:
        await self.open()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def _on_data(self, data: bytes) -> None:
        self._rx += data
        self._last_rx = time.monotonic()
        self.stats.bytes_rx += len(data)
        self._rx_event.set()

    def _on_error(self, exc: BaseException) -> None:
        if self._error is None:     # the first cause is the one worth reporting
            self._error = exc
        self._rx_event.set()

    def _reset(self) -> None:
        """Forget everything of a previous opening: its error and any bytes half received."""
        self._error = None
        self._rx.clear()
        self._rx_event.clear()
        self._decoder.reset()

    @property
    def failed(self) -> BaseException | None:
        """Why the port failed since it was opened (None while it works)."""
        return self._error

    def deadline_s(self, request_len: int, reply_data_len: int, response_delay_s: float | None = None) -> float:
        """Reply deadline of a request of ``request_len`` bytes expecting ``reply_data_len`` data bytes."""
        delay = self.max_response_delay_s if response_delay_s is None else response_delay_s
        return dlt645_reply_deadline_s(self.baud, request_len, reply_data_len, max_response_delay_s=delay,
                                       margin_s=self.margin_s)

    def dump_ring(self) -> list[str]:
        """The last raw frames, oldest first, as hex lines."""
        return [str(r) for r in self.ring]

    async def _idle_gap(self) -> None:
        wait = self._idle_since + self.gap_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._rx:  # a late answer or line noise between exchanges: not ours
            self.stats.stale_bytes += len(self._rx)
            self.ring.append(RawRecord(ts=time.time(), direction="rx", data=bytes(self._rx)))
            self._rx.clear()

    async def send(self, request: bytes) -> None:
        """Send a frame no meter answers (broadcast time sync), keeping the gap and the lock."""
        async with self._lock:
            self._check()
            await self._idle_gap()
            t0 = time.monotonic()
            await self._write(request)
            self.stats.bytes_tx += len(request)
            self.ring.append(RawRecord(ts=time.time(), direction="tx", data=request))
            # the bus is busy until the frame has left the wire
            await asyncio.sleep(len(request) * byte_time_s(self.baud))
            self._idle_since = time.monotonic()
            self.stats.busy_s += self._idle_since - t0

    def _check(self) -> None:
        if self._error is not None:
            raise PortError(f"{self.name}: port failed: {self._error}")

    async def exchange(self, request: bytes, *, reply_data_len: int,
                       accept: Callable[[Frame], bool] | None = None, response_delay_s: float | None = None,
                       collect: bool = False) -> Exchange:
        """Send ``request`` and wait for a reply frame that ``accept`` takes (default: any reply frame).

        With ``collect`` keep listening until the deadline and return every accepted frame (scans,
        to see collisions). Raises ``PortError`` only when the port itself fails.
        """
        accept = accept or (lambda f: f.is_reply)
        async with self._lock:
            self._check()
            await self._idle_gap()
            dec = self._decoder
            dec.reset()
            deadline_s = self.deadline_s(len(request), reply_data_len, response_delay_s)
            t0 = time.monotonic()
            await self._write(request)
            self.stats.bytes_tx += len(request)
            self.ring.append(RawRecord(ts=time.time(), direction="tx", data=request))
            deadline = t0 + deadline_s
            frames: list[Frame] = []
            errors: list[DecodeError] = []
            ignored: list[Frame] = []
            rx_ts: float | None = None
            heard = bytearray()
            # a frame still arriving at the deadline may finish: at most its full length more
            hard_deadline = deadline + (12 + 255) * byte_time_s(self.baud)
            try:
                while True:
                    if self._rx:
                        chunk = bytes(self._rx)
                        self._rx.clear()
                        heard += chunk
                        for out in dec.feed(chunk):
                            if isinstance(out, DecodeError):
                                errors.append(out)
                            elif accept(out):
                                if rx_ts is None:
                                    rx_ts = self.event_time()
                                frames.append(out)
                            else:
                                ignored.append(out)
                        if frames and not collect:
                            break
                    self._check()
                    now = time.monotonic()
                    quiet_at = self._last_rx + self.quiet_s
                    if dec.pending and now >= quiet_at:
                        errors.extend(e for e in dec.flush() if isinstance(e, DecodeError))
                        continue
                    if now >= deadline and (not dec.pending or now >= hard_deadline):
                        break
                    echo = any(not f.is_reply for f in ignored)  # adapters that hear their own request
                    if heard and not dec.pending and not collect and (errors or not echo):
                        # the meter answered something unusable and went quiet: nothing else is coming on
                        # a half-duplex bus, so give the retry the time instead of waiting out the deadline
                        if now >= quiet_at:
                            break
                        until = min(quiet_at, deadline)
                    else:
                        until = min(quiet_at, hard_deadline) if dec.pending else deadline
                    self._rx_event.clear()
                    if self._rx:
                        continue
                    with contextlib.suppress(asyncio.TimeoutError):
                        await within(self._rx_event.wait(), max(until - now, 0.0))
            finally:
                end = time.monotonic()
                self._idle_since = end
                self.stats.busy_s += end - t0
                if heard:
                    self.ring.append(RawRecord(ts=time.time(), direction="rx", data=bytes(heard)))
            self.stats.decode_errors += len(errors)
            if frames:
                self.stats.ok += 1
            else:
                self.stats.failed += 1
                if not errors:
                    self.stats.timeouts += 1
            return Exchange(frames=tuple(frames), errors=tuple(errors), ignored=tuple(ignored), rx_ts=rx_ts,
                            heard=bool(heard), elapsed_s=end - t0, deadline_s=deadline_s)


class SerialLink(Link):
    """A serial port read through the event loop (``add_reader`` on the non-blocking fd)."""

    def __init__(self, port: str, *, baud: int = 2400, parity: str = "E", **kw: Any) -> None:
        super().__init__(port, baud=baud, **kw)
        self.port = port
        self.parity = parity
        self._ser: object | None = None
        self._fd = -1

    async def open(self) -> None:
        """Open (again) with an exclusive lock; raises ``PortError`` naming the port and the cause."""
        import serial

        await self.close()
        self._reset()
        try:
            ser = serial.Serial(self.port, self.baud, bytesize=8, parity=self.parity, stopbits=1, timeout=0,
                                write_timeout=5, exclusive=True)
        except OPEN_ERRORS as exc:
            raise PortError(f"{self.port}: cannot open at {self.baud} baud, 8{self.parity}1: "
                            f"{open_error_text(exc)}") from None
        self._ser = ser
        self._fd = ser.fileno()
        asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self._hang_up(exc)
            return
        if not data:
            # End of file: the pty's other side closed or the adapter went away. The descriptor stays
            # readable for good, so stop watching it (a registered reader would spin at 100 % CPU).
            self._hang_up(ConnectionError("hang-up (end of file): device unplugged or port closed"))
            return
        self._on_data(data)

    def _hang_up(self, exc: BaseException) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self._fd)
        self._on_error(exc)

    async def _write(self, data: bytes) -> None:
        if self._ser is None:
            raise PortError(f"{self.port}: port not open")
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                await asyncio.sleep(0.001)
                continue
            except OSError as exc:
                self._hang_up(exc)
                raise PortError(f"{self.port}: write failed: {exc}") from None
            view = view[n:]

    async def close(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._fd)
            with contextlib.suppress(Exception):   # closing a vanished USB device may fail: it is gone anyway
                self._ser.close()  # type: ignore[attr-defined]
            self._ser = None
            self._fd = -1


# A converter that loses power never closes the connection: without these, requests would go into the
# void until the kernel gives up after ~15 min of retransmissions. Unacknowledged data now fails the
# connection after 20 s, an idle one after ~25 s of unanswered keepalives.
_TCP_USER_TIMEOUT_MS = 20_000
_KEEPALIVE = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))


def _tune_socket(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in _KEEPALIVE:
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, _TCP_USER_TIMEOUT_MS)


class TcpLink(Link):
    """A transparent serial-to-Ethernet converter at ``tcp://host:port`` (asyncio streams)."""

    def __init__(self, host: str, port: int, *, baud: int = 2400, **kw: Any) -> None:
        super().__init__(f"tcp://{host}:{port}", baud=baud, **kw)
        self.host, self.tcp_port = host, port
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connect (again); raises ``PortError`` naming the converter and the cause."""
        await self.close()
        self._reset()
        try:
            reader, writer = await within(asyncio.open_connection(self.host, self.tcp_port), 10)
        except (OSError, asyncio.TimeoutError) as exc:
            raise PortError(f"{self.name}: cannot connect: {str(exc) or 'timed out after 10 s'}") from None
        _tune_socket(writer.get_extra_info("socket"))
        self._writer = writer
        self._reader_task = asyncio.create_task(self._pump(reader))

    async def _pump(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(4096):
                self._on_data(data)
            self._on_error(ConnectionError("connection closed by the converter"))
        except OSError as exc:
            self._on_error(exc)

    async def _write(self, data: bytes) -> None:
        if self._writer is None:
            raise PortError(f"{self.name}: not connected")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            self._on_error(exc)
            raise PortError(f"{self.name}: write failed: {exc}") from None

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None


def open_link(url_or_path: str, baud: int = 2400, parity: str = "E", **kw: Any) -> Link:
    """A (not yet opened) link for ``/dev/ttyS1`` or ``tcp://host:port``; use ``async with``."""
    if url_or_path.startswith("tcp://"):
        u = urlparse(url_or_path)
        if not u.hostname or not u.port:
            raise TransportError(f"{url_or_path}: expected tcp://host:port")
        return TcpLink(u.hostname, u.port, baud=baud, **kw)
    return SerialLink(url_or_path, baud=baud, parity=parity, **kw)
