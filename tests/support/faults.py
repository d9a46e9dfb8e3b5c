"""An HTTP proxy in front of a real database that makes writes fail at random.

Each POST is, at random: answered 503 without reaching the database, forwarded and then answered 503
(the write landed but the writer hears it failed: it will retry), or forwarded faithfully — after a
random delay, so that concurrent writes finish out of order. Queries (GET and POST /query) pass through.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FaultProxy"]


class FaultProxy:
    def __init__(self, target: str, *, p_before: float, p_after: float, max_delay_s: float, seed: int) -> None:
        u = urllib.parse.urlsplit(target)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.p_before, self.p_after, self.max_delay_s = p_before, p_after, max_delay_s
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {"writes": 0, "failed_before": 0, "failed_after": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self, b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "/query" in self.path:
                    proxy._forward(self, body)
                else:
                    proxy._write(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @classmethod
    @contextmanager
    def running(cls, target: str, **kw: float) -> Iterator[FaultProxy]:
        proxy = cls(target, **kw)  # type: ignore[arg-type]
        t = threading.Thread(target=proxy.server.serve_forever, daemon=True)
        t.start()
        try:
            yield proxy
        finally:
            proxy.server.shutdown()
            proxy.server.server_close()

    def _fate(self) -> tuple[float, float]:
        with self.lock:
            self.counts["writes"] += 1
            return self.rng.random(), self.rng.uniform(0, self.max_delay_s)

    def _write(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        fate, delay = self._fate()
        time.sleep(delay)
        if fate < self.p_before:
            self._count("failed_before")
            self._reply(h, 503, b"injected: not written")
            return
        status, data = self._send(h, body)
        if fate < self.p_before + self.p_after and 200 <= status < 300:
            self._count("failed_after")
            self._reply(h, 503, b"injected: written, answer lost")
            return
        self._reply(h, status, data)

    def _count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def _send(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length")}
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        status, data = self._send(h, body)
        self._reply(h, status, data)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
