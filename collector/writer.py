"""Synchronous batch writes of line protocol, with the outcome classified for the service.

Two modes (``[influx] api``):
- ``v2``: influxdb-client's write API (SYNCHRONOUS) — InfluxDB 2.x, 3.x, 1.8+ compat, VictoriaMetrics.
- ``v1``: ``POST /write?db=`` with the same line protocol — InfluxDB 1.x before 1.8 (e.g. Debian's 1.6),
  which has no ``/api/v2/write``. Both send identical bytes, so the points are the same.

Outcomes: returns on 2xx; ``RejectedWrite`` for bad data (400, 422: dead-letter the message);
``TooLarge`` for 413 (split the batch); ``TransientWrite`` for everything else — connection refused,
timeouts, 429, 5xx, and also 401/403/404, which are configuration faults that dead-lettering every
message would only hide. Transient failures are retried by the service, never acknowledged.
"""

from __future__ import annotations

import base64
import http.client
import logging
import threading
import urllib.parse
from pathlib import Path
from typing import Protocol

from collector.config import InfluxConfig

__all__ = ["RejectedWrite", "TooLarge", "TransientWrite", "V1Writer", "V2Writer", "WriteError", "Writer",
           "make_writer"]

log = logging.getLogger(__name__)


class WriteError(Exception):
    def __init__(self, status: int | None, detail: str, retry_after_s: float | None = None) -> None:
        self.status, self.detail, self.retry_after_s = status, detail, retry_after_s
        super().__init__(f"HTTP {status}: {detail}" if status else detail)


class TransientWrite(WriteError):
    """Server down, overloaded, or misconfigured: retry later, do not acknowledge."""


class RejectedWrite(WriteError):
    """The database refused the data itself (400/422): these points will never be accepted."""


class TooLarge(WriteError):
    """413: the body is too large for the server; send smaller batches."""


class Writer(Protocol):
    def write(self, body: bytes) -> None: ...
    def close(self) -> None: ...


def classify(status: int, detail: str, retry_after: str | None = None) -> WriteError:
    ra: float | None = None
    if retry_after:
        try:
            ra = float(retry_after)
        except ValueError:
            ra = None
    if status in (400, 422):
        return RejectedWrite(status, detail)
    if status == 413:
        return TooLarge(status, detail)
    return TransientWrite(status, detail, ra)


def _secret(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip() if path else ""


class V1Writer:
    """``POST /write?db=...&precision=ns`` over a kept-alive HTTP connection per thread."""

    def __init__(self, cfg: InfluxConfig) -> None:
        u = urllib.parse.urlsplit(cfg.url)
        self._https = u.scheme == "https"
        self._host, self._port = u.hostname or "127.0.0.1", u.port or (443 if self._https else 8086)
        q = {"db": cfg.database, "precision": "ns"}
        self._path = (u.path.rstrip("/") or "") + "/write?" + urllib.parse.urlencode(q)
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if cfg.username:
            cred = f"{cfg.username}:{_secret(cfg.password_file)}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        self._timeout_s = cfg.timeout_s
        self._local = threading.local()  # one kept-alive connection per writer thread
        self._all: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = self._local.conn = cls(self._host, self._port, timeout=self._timeout_s)
            self._all.append(conn)
        return conn

    def write(self, body: bytes) -> None:
        try:
            conn = self._connection()
            conn.request("POST", self._path, body=body, headers=self._headers)
            resp = conn.getresponse()
            detail = resp.read().decode("utf-8", "replace")[:500]
        except (OSError, http.client.HTTPException) as e:
            self._drop()
            raise TransientWrite(None, f"{type(e).__name__}: {e}") from None
        if 200 <= resp.status < 300:
            return
        raise classify(resp.status, detail, resp.getheader("Retry-After"))

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            if conn in self._all:
                self._all.remove(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._local = threading.local()


class V2Writer:
    """influxdb-client's synchronous write API; its own retries are off, the service does back-off."""

    def __init__(self, cfg: InfluxConfig) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._client = InfluxDBClient(url=cfg.url, token=_secret(cfg.token_file) or "unused", org=cfg.org,
                                      timeout=int(cfg.timeout_s * 1000), retries=False)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._bucket, self._org = cfg.bucket, cfg.org

    def write(self, body: bytes) -> None:
        from influxdb_client.rest import ApiException

        try:
            self._api.write(bucket=self._bucket, org=self._org, record=body)
        except ApiException as e:
            headers: dict[str, str] = dict(e.headers or {})
            raise classify(int(e.status or 0), str(e.body or e.reason)[:500], headers.get("Retry-After")) from None
        except Exception as e:  # urllib3 connection/timeout errors: the server is not there
            raise TransientWrite(None, f"{type(e).__name__}: {e}") from None

    def close(self) -> None:
        self._client.close()


def make_writer(cfg: InfluxConfig) -> Writer:
    return V1Writer(cfg) if cfg.api == "v1" else V2Writer(cfg)
