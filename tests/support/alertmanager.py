"""Real Prometheus Alertmanager (Debian ``prometheus-alertmanager``) and the receivers it notifies.

``Alertmanager.running(tmp, config)`` starts a private instance on a free loopback port with its own
storage and no cluster gossip. ``Receiver`` is one local server for every receiver type of
deploy/alertmanager/alertmanager.yml: webhooks (any path), the WeCom API (``/wecom/gettoken``,
``/wecom/message/send``) and SMTP — so what Alertmanager renders from our template arrives here for
real. ``adapt_example`` points the example configuration at a ``Receiver`` with short timings.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socketserver
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.procs import Service, free_port, require_binary

__all__ = ["Alertmanager", "Notification", "Publisher", "Receiver", "adapt_example"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "deploy" / "alertmanager"


class Alertmanager(Service):
    @classmethod
    @contextmanager
    def running(cls, tmp: Path, config: str, port: int | None = None) -> Iterator[Alertmanager]:
        exe = require_binary("prometheus-alertmanager", "alertmanager", "/usr/bin/prometheus-alertmanager")
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / "alertmanager.yml").write_text(config, encoding="utf-8")
        for tmpl in EXAMPLE_DIR.glob("*.tmpl"):
            (tmp / tmpl.name).write_text(tmpl.read_text(encoding="utf-8"), encoding="utf-8")
        port = port or free_port()
        svc = cls(argv=[exe, f"--config.file={tmp / 'alertmanager.yml'}", f"--storage.path={tmp / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                        "--log.level=debug"],
                  port=port, workdir=tmp, log=tmp / "alertmanager.log", ready_path="/-/ready")
        svc.start()
        try:
            yield svc
        finally:
            svc.stop()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in filters.items()])
        result: list[dict[str, Any]] = self.api("GET", f"/api/v2/alerts?{q}")
        return result

    def amtool(self, *args: str) -> str:
        exe = require_binary("amtool", "/usr/bin/amtool")
        out = subprocess.run([exe, f"--alertmanager.url={self.url}", *args], capture_output=True, text=True,
                             timeout=30, check=True)
        return out.stdout


@dataclass
class Notification:
    receiver: str              # the URL path (webhook), "wecom" or "email"
    received: float            # wall clock
    body: dict[str, Any]       # webhook JSON; WeCom message JSON; e-mail {"subject", "to", "text"}

    @property
    def text(self) -> str:
        if self.receiver == "wecom":
            return str(self.body.get("text", {}).get("content", ""))
        if self.receiver == "email":
            return str(self.body.get("text", ""))
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class Receiver:
    """Records every notification Alertmanager delivers to it (HTTP and SMTP on two free ports)."""

    http_port: int = 0
    smtp_port: int = 0
    notifications: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_http: int = 0   # answer 503 to this many webhook posts first (Alertmanager retries)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def add(self, n: Notification) -> None:
        with self.lock:
            self.notifications.append(n)

    def of(self, receiver: str | None = None) -> list[Notification]:
        with self.lock:
            return [n for n in self.notifications if receiver is None or n.receiver == receiver]

    def wait_for(self, pred: Callable[[list[Notification]], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if pred(self.of()):
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver: {what} not seen within {timeout_s} s; got "
                             f"{[(n.receiver, n.text[:200]) for n in self.of()]}")

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[Receiver]:
        rec = cls()
        http = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(rec))
        smtp = _SMTPServer(("127.0.0.1", 0), _SMTPHandler)
        smtp.receiver = rec
        rec.http_port, rec.smtp_port = http.server_address[1], smtp.server_address[1]
        threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
                   for s in (http, smtp)]
        for t in threads:
            t.start()
        try:
            yield rec
        finally:
            for s in (http, smtp):
                s.shutdown()
                s.server_close()


def _http_handler(rec: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, code: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/wecom/gettoken"):
                self._reply(200, {"errcode": 0, "errmsg": "ok", "access_token": "test-token", "expires_in": 7200})
            else:
                self._reply(404, {"error": "unknown path"})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            path = urllib.parse.urlsplit(self.path).path
            if path == "/wecom/message/send":
                rec.add(Notification("wecom", now, json.loads(raw)))
                self._reply(200, {"errcode": 0, "errmsg": "ok"})
                return
            with rec.lock:
                failing = rec.fail_http > 0
                rec.fail_http -= int(failing)
            if failing:
                self._reply(503, {"error": "try later"})
                return
            rec.add(Notification(path, now, json.loads(raw)))
            self._reply(200, {})

    return Handler


class _SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    receiver: Receiver


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Alertmanager's e-mail notifier (no TLS, no AUTH)."""

    server: _SMTPServer

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self._say("220 localhost test SMTP")
        rcpt: list[str] = []
        while line := self.rfile.readline():
            cmd = line.decode("utf-8", "replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 localhost")
            elif verb == "RCPT":
                rcpt.append(cmd)
                self._say("250 ok")
            elif verb == "DATA":
                self._say("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                msg = email.message_from_bytes(data, policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain",))
                text = part.get_content() if part is not None else ""
                self.server.receiver.add(Notification("email", time.time(), {
                    "subject": str(msg["Subject"]), "to": str(msg["To"]), "text": text}))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:   # MAIL, RSET, NOOP
                self._say("250 ok")


def adapt_example(text: str, rec: Receiver, *, group_wait: str = "1s", group_interval: str = "2s",
                  repeat_interval: str = "1h") -> str:
    """The example configuration, its receivers pointed at ``rec`` and its timings shortened. Every
    replaced setting must be present: the example and the tests cannot drift apart silently."""
    subs = [
        (r"wechat_api_url: '[^']+'", f"wechat_api_url: '{rec.url}/wecom/'"),
        (r"smtp_smarthost: '[^']+'", f"smtp_smarthost: '127.0.0.1:{rec.smtp_port}'"),
        (r"url: 'http://sms-gateway\.example\.internal:8080(/[^']*)'", rf"url: '{rec.url}\1'"),
        (r"group_wait: \w+", f"group_wait: {group_wait}"),
        (r"group_interval: \w+", f"group_interval: {group_interval}"),
        (r"repeat_interval: \w+", f"repeat_interval: {repeat_interval}"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        if not n:
            raise AssertionError(f"deploy/alertmanager/alertmanager.yml no longer has {pattern!r}")
    return text


class Publisher:
    """A plain QoS 1 publisher (what a gateway's outbox does on the wire, without the outbox)."""

    def __init__(self, port: int, client_id: str = "test-gateway") -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, topic: str, payload: dict[str, Any], retain: bool = False) -> float:
        """Publish and wait for the broker's PUBACK; returns the wall clock when it was sent."""
        t = time.time()
        info = self.client.publish(topic, json.dumps(payload).encode(), qos=1, retain=retain)
        info.wait_for_publish(10)
        if not info.is_published():
            raise AssertionError(f"broker did not acknowledge {topic}")
        return t

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class AreaFeed:
    """What one gateway publishes for one area, as (topic, payload): the edge's own serializer, the wire
    topic layout, and ``msg_id`` / ``topic_seq`` stamped as the gateway's outbox does."""

    def __init__(self, gateway: str = "gw-1", grid: str = "jinli-1", area: str = "A01",
                 prefix: str = "meterwatch/v2", first_seq: int = 1,
                 meters: dict[str, tuple[str, str]] | None = None) -> None:
        import itertools

        from edge.publish.serializers import Serializer

        self.gateway, self.grid, self.area, self.prefix = gateway, grid, area, prefix
        self.ser = Serializer(gateway=gateway, grid=grid, area=area, topic_prefix=prefix, meters=meters)
        self._seq = itertools.count(first_seq)   # msg_id sequence (apart from another source of the gateway)
        self._topic_seq: dict[str, int] = {}

    def topic(self, kind: str) -> str:
        from wire.topics import gateway_topic

        return gateway_topic(self.prefix, self.gateway, kind) if kind == "status" else self.ser.topic(kind)

    def stamped(self, kind: str, payload: dict[str, Any], msg_id: str | None = None) -> tuple[str, dict[str, Any]]:
        """``payload`` with the ids the outbox gives it, on its topic."""
        from wire import KINDS, format_msg_id, stamp

        topic = self.topic(kind)
        seq = None
        if KINDS[kind].stream:
            seq = self._topic_seq[topic] = self._topic_seq.get(topic, 0) + 1
        return topic, stamp(payload, msg_id=msg_id or format_msg_id(self.gateway, next(self._seq)), topic_seq=seq)

    def alert(self, a: Any) -> tuple[str, dict[str, Any]]:
        return self.stamped("alert", self.ser.alert(a))

    def active(self, alerts: list[Any], ts: float) -> tuple[str, dict[str, Any]]:
        return self.stamped("alerts_active", self.ser.alerts_active(alerts, ts))

    def status(self, state: str, seq: int, ts: float) -> tuple[str, dict[str, Any]]:
        """The gateway's retained birth/death message (the offline one is its will)."""
        from wire import KINDS, format_msg_id, rfc3339

        return self.stamped("status", {"schema": KINDS["status"].tag, "gateway": self.gateway, "ts": rfc3339(ts),
                                       "state": state, "version": "0.1.0", "boot_id": "boot-1"},
                            msg_id=format_msg_id(self.gateway, seq))


def make_alert(state: str = "raised", *, kind: str = "overload", stype: str = "transformer", sid: str = "T1",
               severity: str = "major", value: float | None = 108.0, threshold: float | None = 95.0,
               unit: str = "%", raised: float, ts: float | None = None, area: str = "A01") -> Any:
    """An engine alert event (``detect.alarms.Alert``) with the engine's alert_id convention."""
    from detect.alarms import Alert

    ts = raised if ts is None else ts
    return Alert(alert_id=f"{area}:{kind}:{stype}:{sid}:{int(raised)}", state=state, kind=kind, severity=severity,
                 subject_type=stype, subject_id=sid, value=value, threshold=threshold, unit=unit, raised_at=raised,
                 cleared_at=ts if state == "cleared" else None, ts=ts, message=f"{kind} {state}",
                 evidence={"value": value})
