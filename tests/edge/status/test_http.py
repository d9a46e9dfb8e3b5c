"""The daemon's small HTTP server (edge.status.http) on loopback TCP and a unix socket, spoken to with
raw bytes: keep-alive, streamed events, and what it does with bad or slow clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.status.http import HttpServer, Request, Response, Stream


async def handler(req: Request) -> Response | Stream:
    if req.path == "/events":
        async def chunks() -> AsyncIterator[bytes]:
            for k in range(3):
                yield f"data: {k}\n\n".encode()
                await asyncio.sleep(0.01)
        return Stream(chunks(), "text/event-stream")
    if req.path == "/boom":
        raise RuntimeError("handler bug")
    who = "socket" if req.via_socket else "tcp"
    return Response(200, f"{req.method} {req.path} {req.query.get('a', [''])[0]} {len(req.body)} {who}".encode())


async def exchange(port: int, raw: bytes, *, read_until_close: bool = True) -> bytes:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(raw)
    await w.drain()
    data = await asyncio.wait_for(r.read() if read_until_close else r.read(65536), 5)
    w.close()
    return data


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_keep_alive_serves_two_requests_on_one_connection_then_closes_on_request() -> None:
    async def main() -> bytes:
        srv = HttpServer(handler)
        port = await srv.serve_tcp("127.0.0.1", 0)
        try:
            return await exchange(port, b"GET /x?a=1 HTTP/1.1\r\nHost: gw\r\n\r\n"
                                        b"POST /y HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        finally:
            await srv.close()

    out = run(main())
    assert out.count(b"HTTP/1.1 200") == 2
    assert b"GET /x 1 0 tcp" in out and b"POST /y  5 tcp" in out


def test_unix_socket_requests_are_marked_local(tmp_path: Path) -> None:
    async def main() -> bytes:
        srv = HttpServer(handler)
        path = str(tmp_path / "control.sock")
        await srv.serve_unix(path)
        try:
            r, w = await asyncio.open_unix_connection(path)
            w.write(b"GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = await r.read()
            w.close()
            return data
        finally:
            await srv.close()

    assert b"GET /s  0 socket" in run(main())


def test_a_stream_is_sent_chunked_as_it_is_produced() -> None:
    async def main() -> bytes:
        srv = HttpServer(handler)
        port = await srv.serve_tcp("127.0.0.1", 0)
        try:
            return await exchange(port, b"GET /events HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        finally:
            await srv.close()

    out = run(main())
    assert b"transfer-encoding: chunked" in out.lower() and b"text/event-stream" in out
    assert all(f"data: {k}".encode() in out for k in range(3))
    assert out.endswith(b"0\r\n\r\n")           # the end of the chunked body


def test_bad_requests_oversized_bodies_and_handler_errors_get_a_status_not_a_dead_server() -> None:
    async def main() -> tuple[bytes, bytes, bytes, bytes]:
        srv = HttpServer(handler, max_body=10)
        port = await srv.serve_tcp("127.0.0.1", 0)
        try:
            garbage = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
            big = await exchange(port, b"POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 50\r\n\r\n" + b"x" * 50)
            boom = await exchange(port, b"GET /boom HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            fine = await exchange(port, b"GET /after HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            return garbage, big, boom, fine
        finally:
            await srv.close()

    garbage, big, boom, fine = run(main())
    assert garbage.startswith(b"HTTP/1.1 400")
    assert big.startswith(b"HTTP/1.1 413")
    assert boom.startswith(b"HTTP/1.1 500") and b"see the daemon's log" in boom
    assert fine.startswith(b"HTTP/1.1 200")


@pytest.mark.serial
def test_a_client_that_trickles_its_request_is_cut_off_and_too_many_clients_are_refused() -> None:
    async def main() -> tuple[bytes, bytes, float]:
        srv = HttpServer(handler, request_timeout_s=0.5, max_connections=2)
        port = await srv.serve_tcp("127.0.0.1", 0)
        try:
            loop = asyncio.get_running_loop()
            r1, w1 = await asyncio.open_connection("127.0.0.1", port)
            w1.write(b"GET / HTTP/1.1\r\n")              # and never the rest
            _r2, w2 = await asyncio.open_connection("127.0.0.1", port)
            w2.write(b"GE")
            await asyncio.sleep(0.1)
            refused = await exchange(port, b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
            t0 = loop.time()
            cut = await asyncio.wait_for(r1.read(), 5)
            took = loop.time() - t0
            for w in (w1, w2):
                w.close()
            return refused, cut, took
        finally:
            await srv.close()

    refused, cut, took = run(main())
    assert refused.startswith(b"HTTP/1.1 503")
    assert cut == b"" and took < 1.5          # closed after the request deadline, not left hanging
