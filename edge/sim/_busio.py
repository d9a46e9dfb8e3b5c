"""The I/O side of the simulated meter bus: a pty (pyserial) or a TCP listener, served in a thread.

The thread reads requests, asks the bus's ``respond`` for the reply and writes it when its last byte
would have left a real wire; it keeps the bus busy meanwhile (half duplex: one talker at a time). The bus
is anything shaped like ``ServedBus`` (``edge.sim.meterbus.MeterBus``), so this module imports nothing of
the simulator and ``meterbus`` can import it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlparse

from edge.dlt645.codec import Decoder, Frame
from edge.wiretime import byte_time_s

__all__ = ["ServedBus", "serve"]


class _Reply(Protocol):
    @property
    def data(self) -> bytes: ...

    @property
    def after_s(self) -> float: ...     # from the end of the request on the wire to the last reply byte


class ServedBus(Protocol):
    """What the I/O loop needs of a simulated bus."""

    baud: int
    echo: bool                          # the adapter hears its own transmission
    url: str | None                     # set once listening (the pty path or tcp://host:port)
    clock: Callable[[], float]          # the meters' time

    def respond(self, req: Frame, now: float) -> _Reply | None: ...


def _sleep_until(t: float) -> None:
    while True:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.05) if left > 0.002 else left)


def _loop(bus: ServedBus, read: Callable[[], bytes], write: Callable[[bytes], None],
          stop: threading.Event) -> None:
    dec = Decoder()
    bt = byte_time_s(bus.baud)
    last_rx = time.monotonic()
    while not stop.is_set():
        data = read()
        now = time.monotonic()
        if not data:
            if dec.pending and now - last_rx > 0.5:
                dec.flush()
            continue
        last_rx = now
        for out in dec.feed(data):
            if not isinstance(out, Frame):
                continue
            # the request's last byte reaches the meters len x byte time after the master wrote it
            req_end = now + (out.n_fe + len(out.raw)) * bt
            if bus.echo:
                write(bytes([0xFE]) * out.n_fe + out.raw)
            reply = bus.respond(out, bus.clock())
            if reply is None:
                _sleep_until(req_end)
                continue
            _sleep_until(req_end + reply.after_s)
            if stop.is_set():
                return
            write(reply.data)


def serve(bus: ServedBus, where: str, stop: threading.Event, ready: threading.Event,
          errors: list[BaseException]) -> None:
    """Thread body of ``MeterBus.serving``."""
    try:
        if where.startswith("tcp://"):
            _serve_tcp(bus, where, stop, ready)
        else:
            _serve_serial(bus, where, stop, ready)
    except BaseException as exc:  # reported to the starting thread, never lost
        errors.append(exc)
        ready.set()


def _serve_serial(bus: ServedBus, path: str, stop: threading.Event, ready: threading.Event) -> None:
    import serial

    with serial.Serial(path, bus.baud, parity="N", timeout=0.02) as ser:
        bus.url = path
        ready.set()

        def read() -> bytes:
            n = ser.in_waiting
            return bytes(ser.read(max(n, 1)))

        def write(data: bytes) -> None:
            ser.write(data)

        _loop(bus, read, write, stop)


def _serve_tcp(bus: ServedBus, url: str, stop: threading.Event, ready: threading.Event) -> None:
    u = urlparse(url)
    with socket.create_server((u.hostname or "127.0.0.1", u.port or 0)) as srv:
        srv.settimeout(0.05)
        host, port = srv.getsockname()[:2]
        bus.url = f"tcp://{host}:{port}"
        ready.set()
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.02)
                closed = threading.Event()

                def read(conn: socket.socket = conn, closed: threading.Event = closed) -> bytes:
                    try:
                        data = conn.recv(4096)
                    except TimeoutError:
                        return b""
                    except OSError:
                        data = b""
                    if not data:
                        closed.set()
                    return data

                def write(data: bytes, conn: socket.socket = conn) -> None:
                    with contextlib.suppress(OSError):
                        conn.sendall(data)

                conn_stop = _Either(stop, closed)
                _loop(bus, read, write, conn_stop)  # type: ignore[arg-type]


class _Either:
    """Stop when the bus stops or the client hangs up."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()
