"""The other end of the control socket (and of a remote status page): ``meterwatch status`` and
``meterwatch read`` through the daemon. Plain ``http.client`` over a unix socket, or a URL with a token."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ControlClient", "ControlError"]


class ControlError(Exception):
    """The daemon could not be asked, or answered with an error (``status``: its HTTP status, 0 = no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class ControlClient:
    """Requests to one daemon: by its control socket (``socket``) or its status page (``url``, ``token``)."""

    def __init__(self, *, socket_path: str | None = None, url: str | None = None, token: str | None = None,
                 timeout_s: float = 10.0) -> None:
        if not socket_path and not url:
            raise ValueError("a control socket or a URL is needed")
        self.socket_path, self.url, self.token, self.timeout_s = socket_path, url, token, timeout_s

    @property
    def where(self) -> str:
        return self.url or f"control socket {self.socket_path}"

    def _connection(self, timeout_s: float) -> tuple[http.client.HTTPConnection, str]:
        if self.socket_path:
            return _UnixConnection(self.socket_path, timeout_s), ""
        assert self.url is not None
        u = urlsplit(self.url)
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        return cls(u.hostname or "127.0.0.1", u.port, timeout=timeout_s), u.path.rstrip("/")

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                timeout_s: float | None = None) -> dict[str, Any]:
        conn, base = self._connection(timeout_s or self.timeout_s)
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = "Basic " + base64.b64encode(f"meterwatch:{self.token}".encode()).decode()
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["content-type"] = "application/json"
        try:
            conn.request(method, base + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except FileNotFoundError:
            raise ControlError(f"no daemon listens on {self.where} (not running, or another socket path: "
                               "[status] socket in its configuration)") from None
        except PermissionError:
            raise ControlError(f"{self.where}: permission denied (run it as root or as the daemon's user, "
                               "e.g. sudo meterwatch status)") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ControlError(f"{self.where}: {exc}") from None
        finally:
            conn.close()
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {"error": raw.decode("utf-8", "replace").strip()}
        if resp.status != 200:
            msg = doc.get("error") if isinstance(doc, dict) else None
            raise ControlError(str(msg or f"HTTP {resp.status} {resp.reason}"), resp.status)
        if not isinstance(doc, dict):
            raise ControlError(f"{self.where}: the answer is not a JSON object")
        return doc
