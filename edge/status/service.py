"""The daemon's own view, served: control socket, status page, ``/metrics``, reads through the daemon.

One HTTP server (``edge.status.http``) on up to two listeners:

- the **control socket** (always; ``[status] socket``, default ``$RUNTIME_DIRECTORY/control.sock`` under
  systemd, else ``<state_dir>/control.sock``): local only, guarded by file permissions. ``meterwatch
  status`` reads ``/api/status`` here and ``meterwatch read`` posts ``/api/read``;
- **TCP** (``[status] listen``, off by default): the page (``/``), ``/api/status``, ``/api/events``
  (server-sent events, every ``push_interval_s``; after the first, only the devices that changed) and
  ``/metrics``. A token is required when set
  (HTTP Basic with any user name and the token as password — the browser asks for it — or
  ``Authorization: Bearer``); check-config refuses any address but loopback without one. Reads through
  the daemon are refused here: they touch the wire and belong to someone logged into the gateway.

The status document is built only when asked for (``edge.status.snapshot``); a sampler takes the
counters every 5 s for the "last minute" rates. A listener that cannot be opened is logged as an
error and the daemon goes on polling: its view is not worth a dead gateway.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from edge.config.checks import is_loopback, split_listen
from edge.config.model import Config
from edge.status.http import HttpServer, Request, Response, Stream
from edge.status.ondemand import OnDemand, ReadRefused, ReadRequest
from edge.status.snapshot import DaemonView, build_status, device_entries
from edge.status.windows import Windows

__all__ = ["PAGE", "StatusService", "control_socket_path", "read_token"]

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page.html")
SOCKET_NAME = "control.sock"
JSON = "application/json; charset=utf-8"
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def control_socket_path(cfg: Config) -> str:
    """Where the daemon listens for ``meterwatch status`` and reads through it."""
    if cfg.status.socket:
        return cfg.status.socket
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return str(Path(runtime or cfg.gateway.state_dir) / SOCKET_NAME)


class StatusService:
    """Built by the daemon once its parts exist; ``await start()``, then ``run()`` as a task."""

    def __init__(self, daemon: DaemonView, *, token: str | None = None, sample_s: float = 5.0) -> None:
        cfg = daemon.cfg
        self.daemon = daemon
        self.socket_path = control_socket_path(cfg)
        self.listen = cfg.status.listen
        self.push_interval_s = cfg.status.push_interval_s
        self._token = token
        self._sample_s = sample_s
        self.windows = Windows(window_s=60.0, step_s=sample_s)
        self.started = time.monotonic()
        self.endpoints: dict[str, str | None] = {"socket": None, "http": None}
        self.ondemand = OnDemand(daemon.buses, base_dir=Path(cfg.source).parent if cfg.source else Path("."))
        self._registry: Any = None            # prometheus-client is imported on the first scrape
        self.server = HttpServer(self.handle)
        self._page = PAGE.read_bytes()

    def status(self, *, devices: bool = True) -> dict[str, Any]:
        return build_status(self.daemon, self.windows, started=self.started, endpoints=self.endpoints,
                            devices=devices)

    def _sample(self) -> None:
        self.windows.sample({b.cfg.name: b.scheduler.totals() for b in self.daemon.buses})

    async def start(self) -> None:
        self._sample()
        try:
            await self.server.serve_unix(self.socket_path)
            self.endpoints["socket"] = self.socket_path
        except OSError as exc:
            log.error("control socket %s cannot be opened (%s): `meterwatch status` and reads through the "
                      "daemon will not reach it; set [status] socket to a writable path", self.socket_path, exc)
        if self.listen:
            host, port = split_listen(self.listen)
            if not self._token and not is_loopback(host):
                log.error("status page: %s is reachable from other machines and no token could be read; not "
                          "listening (see [status] token_file)", self.listen)
                return
            try:
                port = await self.server.serve_tcp(host, port)
            except OSError as exc:
                log.error("status page: cannot listen on %s (%s); the daemon goes on without it", self.listen, exc)
            else:
                shown = f"[{host}]" if ":" in host else host
                self.endpoints["http"] = f"http://{shown}:{port}/"
                log.info("status page on %s%s", self.endpoints["http"], " (token required)" if self._token else "")

    async def run(self) -> None:
        """Sample the counters until cancelled; then close the listeners."""
        try:
            while True:
                await asyncio.sleep(self._sample_s)
                self._sample()
        finally:
            await self.server.close()
            if self.endpoints["socket"]:
                with contextlib.suppress(OSError):
                    os.unlink(self.socket_path)

    # ---- requests ------------------------------------------------------------------------------------

    async def handle(self, req: Request) -> Response | Stream:
        if not req.via_socket and self._token and not _authorised(req, self._token):
            return Response(401, "需要令牌 / token required\n".encode(),
                            headers=(("www-authenticate", 'Basic realm="meterwatch gateway", charset="UTF-8"'),))
        route = _ROUTES.get(req.path)
        if route is None:
            return Response(404, f"no such page: {req.path}\n".encode())
        method, name = route
        if req.method != method:
            return Response(405, f"{req.path} takes {method}\n".encode(), headers=(("allow", method),))
        handler = getattr(self, name)
        result: Response | Stream = await handler(req)
        return result

    async def _page_get(self, req: Request) -> Response:
        return Response(200, self._page, "text/html; charset=utf-8",
                        headers=(("cache-control", "no-store"), ("content-security-policy", _CSP),
                                 ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer")))

    async def _status_get(self, req: Request) -> Response:
        devices = req.query.get("devices", ["1"])[0] not in ("0", "false", "no")
        return Response(200, _json(self.status(devices=devices)), JSON, headers=(("cache-control", "no-store"),))

    async def _events_get(self, req: Request) -> Stream:
        return Stream(self._events(), "text/event-stream; charset=utf-8")

    async def _events(self) -> AsyncIterator[bytes]:
        """Every ``push_interval_s`` the status document; its ``devices`` are all of them the first time
        (``devices_full``) and then only those that changed since the previous push to this client."""
        yield b"retry: 3000\n\n"
        known: dict[str, tuple[int, bool]] = {}
        full = True
        while True:
            doc = self.status(devices=False)
            doc["devices"] = device_entries(self.daemon.buses, known)
            doc["devices_full"], full = full, False
            yield b"event: status\ndata: " + _json(doc) + b"\n\n"
            await asyncio.sleep(self.push_interval_s)

    async def _metrics_get(self, req: Request) -> Response:
        from edge.status import metrics

        if self._registry is None:
            self._registry = metrics.registry(lambda: self.status(devices=False))
        body, content_type = metrics.render(self._registry, req.headers.get("accept"))
        return Response(200, body, content_type)

    async def _read_post(self, req: Request) -> Response:
        if not req.via_socket:
            return Response(403, b"reads through the daemon are taken on its control socket only (on the gateway)\n")
        try:
            rr = ReadRequest.from_json(json.loads(req.body or b"null"))
        except ValueError as exc:
            return Response(400, _json({"error": f"bad read request: {exc}"}), JSON)
        try:
            doc = await self.ondemand.read(rr)
        except ReadRefused as exc:
            return Response(exc.status, _json({"error": str(exc)}), JSON)
        return Response(200, _json(doc), JSON)

    async def _favicon_get(self, req: Request) -> Response:
        return Response(204)


_ROUTES: dict[str, tuple[str, str]] = {
    "/": ("GET", "_page_get"), "/index.html": ("GET", "_page_get"), "/api/status": ("GET", "_status_get"),
    "/api/events": ("GET", "_events_get"), "/metrics": ("GET", "_metrics_get"), "/api/read": ("POST", "_read_post"),
    "/favicon.ico": ("GET", "_favicon_get"),
}


def _authorised(req: Request, token: str) -> bool:
    scheme, _, cred = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = cred.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(cred.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    else:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def _json(doc: Any) -> bytes:
    """Compact JSON that JavaScript's JSON.parse accepts: a NaN or infinity becomes null."""
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(doc), ensure_ascii=False, separators=(",", ":")).encode()


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def read_token(cfg: Config, credentials_dir: str | None = None) -> str | None:
    """The token from ``[status] token_file`` (None when there is none)."""
    if not cfg.status.token_file:
        return None
    from edge.preflight import credential_path

    try:
        token = credential_path(cfg.status.token_file, credentials_dir).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        log.error("status page: the token file cannot be read (%s)", exc)
        return None
    return token or None
