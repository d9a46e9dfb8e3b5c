"""Alertmanager's HTTP API v2, the two calls the sink makes: ``POST /api/v2/alerts`` and
``GET /api/v2/alerts`` (for reconciliation after a restart).

Answers are classified: ``Refused`` (400/422: the alerts themselves are wrong; retrying cannot help,
and Alertmanager stores the valid alerts of a batch even when it answers 400 for others) and
``Unreachable`` (everything else: connection refused, timeout, 5xx, 429, and 401/403/404, which are
configuration faults that dropping the alerts would only hide — all retried with back-off).
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from collector.alertmanager_config import AlertmanagerConfig, read_secret

__all__ = ["AlertmanagerClient", "Refused", "Unreachable"]


class Unreachable(OSError):
    """Alertmanager did not take the request; try again later."""


class Refused(ValueError):
    """Alertmanager answered that the request itself is wrong; retrying the same request cannot help."""


class AlertmanagerClient:
    def __init__(self, cfg: AlertmanagerConfig) -> None:
        self.cfg = cfg
        self.base = cfg.url.rstrip("/")
        self._ctx: ssl.SSLContext | None = None
        if self.base.startswith("https://"):
            self._ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
            if cfg.cert_file:
                self._ctx.load_cert_chain(cfg.cert_file, cfg.key_file)

    def _headers(self) -> dict[str, str]:
        """Credentials are read per request: a rotated secret needs no restart."""
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.cfg.username:
            pw = read_secret(self.cfg.password_file) if self.cfg.password_file else ""
            h["Authorization"] = "Basic " + base64.b64encode(f"{self.cfg.username}:{pw}".encode()).decode()
        elif self.cfg.bearer_token_file:
            h["Authorization"] = "Bearer " + read_secret(self.cfg.bearer_token_file)
        return h

    def _call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=self.cfg.timeout_s, context=self._ctx) as r:
                data: bytes = r.read()
                return data
        except urllib.error.HTTPError as e:
            text = e.read()[:500].decode("utf-8", "replace").strip()
            if e.code in (400, 422):
                raise Refused(f"{method} {self.base}{path}: HTTP {e.code} {text}") from None
            hint = " (check the url and credentials)" if e.code in (401, 403, 404, 405) else ""
            raise Unreachable(f"{method} {self.base}{path}: HTTP {e.code} {text}{hint}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Unreachable(f"{method} {self.base}{path}: {reason}") from None

    def post(self, alerts: list[dict[str, Any]]) -> None:
        """Post alerts (Alertmanager API v2 ``PostableAlerts``)."""
        self._call("POST", "/api/v2/alerts", json.dumps(alerts, ensure_ascii=False).encode())

    def held(self) -> list[dict[str, Any]]:
        """Alertmanager's active meterwatch alerts (every alert with an ``alert_id`` label)."""
        q = urllib.parse.urlencode({"active": "true", "silenced": "true", "inhibited": "true",
                                    "unprocessed": "true", "filter": 'alert_id=~".+"'})
        raw = self._call("GET", f"/api/v2/alerts?{q}")
        try:
            doc = json.loads(raw)
        except ValueError as e:
            raise Unreachable(f"GET {self.base}/api/v2/alerts: not JSON ({e})") from None
        if not isinstance(doc, list):
            raise Unreachable(f"GET {self.base}/api/v2/alerts: expected a list, got {type(doc).__name__}")
        return [a for a in doc if isinstance(a, dict)]
