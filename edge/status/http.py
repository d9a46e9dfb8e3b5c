"""A small HTTP/1.1 server inside the daemon's event loop: asyncio streams + ``h11``.

``h11`` (python-hyper) is the HTTP/1.1 state machine only: no I/O, no threads, one pure-Python
module with no dependencies of its own. Parsing HTTP by hand is where small servers go wrong (request
smuggling, chunked bodies, keep-alive, half-closed connections); a web framework would bring its own
loop policies, logging and a dependency tree onto a gateway for four routes. So the bytes are parsed
by h11 and everything else is here: at most ``max_connections`` at a time, a deadline for a request's
head and body (a client that trickles bytes is cut off), bodies up to ``max_body`` bytes, keep-alive,
and streamed responses (server-sent events) that end when the client goes away or the server stops.

The handler gets a ``Request`` and returns a ``Response`` or a ``Stream``; it never sees h11.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from edge.timeouts import within

__all__ = ["HttpServer", "Request", "Response", "Stream"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-case names; repeated headers joined with ", "
    body: bytes
    via_socket: bool                 # came in on the unix control socket (local, file permissions)
    peer: str


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Stream:
    """A response whose body is produced over time (``chunks``), e.g. ``text/event-stream``."""

    chunks: AsyncIterator[bytes]
    content_type: str
    headers: tuple[tuple[str, str], ...] = field(default=())


Handler = Callable[[Request], Awaitable["Response | Stream"]]


class _ClientGone(Exception):
    pass


class HttpServer:
    """Serves ``handler`` on any number of listeners (unix socket, TCP) until ``close()``."""

    def __init__(self, handler: Handler, *, max_connections: int = 32, request_timeout_s: float = 10.0,
                 idle_timeout_s: float = 60.0, max_body: int = 64 * 1024, server_name: str = "meterwatch") -> None:
        self._handler = handler
        self._max = max_connections
        self._request_timeout_s = request_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._max_body = max_body
        self._server_name = server_name.encode()
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: set[asyncio.Task[Any]] = set()
        self.counters = {"requests": 0, "refused_busy": 0, "bad_requests": 0, "handler_errors": 0}

    async def serve_unix(self, path: str, mode: int = 0o660) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)         # a socket left by a killed daemon; the port locks say who runs
        server = await asyncio.start_unix_server(lambda r, w: self._accept(r, w, True), path=path)
        with contextlib.suppress(OSError):
            os.chmod(path, mode)
        self._servers.append(server)

    async def serve_tcp(self, host: str, port: int) -> int:
        """Listen on ``host:port``; returns the port (``0`` picks a free one)."""
        server = await asyncio.start_server(lambda r, w: self._accept(r, w, False), host=host, port=port)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        for s in self._servers:
            s.close()
        for t in list(self._connections):
            t.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()

    # ---- one connection ------------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, via_socket: bool) -> None:
        if len(self._connections) >= self._max:
            self.counters["refused_busy"] += 1
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        task = asyncio.ensure_future(self._connection(reader, writer, via_socket))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, via_socket: bool) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        peer = "control socket" if via_socket else str(writer.get_extra_info("peername"))
        try:
            while True:
                try:
                    req = await self._read_request(conn, reader, via_socket, peer)
                except (h11.RemoteProtocolError, _BodyTooLarge) as exc:
                    self.counters["bad_requests"] += 1
                    status = 413 if isinstance(exc, _BodyTooLarge) else 400
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        await self._send(conn, writer, Response(status, f"{exc}\n".encode()), close=True)
                    return
                if req is None:
                    return
                self.counters["requests"] += 1
                await self._respond(conn, writer, req)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (_ClientGone, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader, via_socket: bool,
                            peer: str) -> Request | None:
        """The next request with its body, or None when the client closed the connection cleanly."""
        head: h11.Request | None = None
        body = bytearray()
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                wait = self._idle_timeout_s if deadline is None else max(deadline - loop.time(), 0.0)
                data = await within(reader.read(16384), wait)
                if deadline is None:
                    deadline = loop.time() + self._request_timeout_s   # the whole request, from its first byte
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self._max_body:
                    raise _BodyTooLarge(f"request body over {self._max_body} bytes")
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return _request(head, bytes(body), via_socket, peer)

    async def _respond(self, conn: h11.Connection, writer: asyncio.StreamWriter, req: Request) -> None:
        try:
            resp = await self._handler(req)
        except Exception:
            self.counters["handler_errors"] += 1
            log.exception("status server: %s %s failed", req.method, req.path)
            resp = Response(500, b"internal error; see the daemon's log\n")
        if isinstance(resp, Stream):
            await self._stream(conn, writer, resp)
        else:
            await self._send(conn, writer, resp, close=False)

    def _headers(self, content_type: str, extra: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
        return [(b"server", self._server_name), (b"content-type", content_type.encode()),
                *((k.encode(), v.encode()) for k, v in extra)]

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, resp: Response, *, close: bool) -> None:
        headers = [*self._headers(resp.content_type, resp.headers), (b"content-length", str(len(resp.body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        out = conn.send(h11.Response(status_code=resp.status, headers=headers)) or b""
        if resp.body:
            out += conn.send(h11.Data(data=resp.body)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        writer.write(out)
        await writer.drain()

    async def _stream(self, conn: h11.Connection, writer: asyncio.StreamWriter, resp: Stream) -> None:
        head = h11.Response(status_code=200, headers=[*self._headers(resp.content_type, resp.headers),
                                                      (b"cache-control", b"no-store")])
        writer.write(conn.send(head) or b"")
        try:
            async for chunk in resp.chunks:
                writer.write(conn.send(h11.Data(data=chunk)) or b"")
                await writer.drain()
                if writer.transport.is_closing():
                    raise _ClientGone
        except (_ClientGone, ConnectionError, asyncio.CancelledError):
            raise
        except Exception:     # a producer bug ends this stream (the client reconnects), not the server
            self.counters["handler_errors"] += 1
            log.exception("status server: a stream failed")
            raise _ClientGone from None
        finally:
            aclose = getattr(resp.chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()


class _BodyTooLarge(Exception):
    pass


def _request(head: h11.Request, body: bytes, via_socket: bool, peer: str) -> Request:
    headers: dict[str, str] = {}
    for name, value in head.headers:
        k, v = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[k] = f"{headers[k]}, {v}" if k in headers else v
    target = urlsplit(head.target.decode("latin-1"))
    return Request(method=head.method.decode("ascii", "replace").upper(), path=target.path or "/",
                   query=parse_qs(target.query), headers=headers, body=body, via_socket=via_socket, peer=peer)
