"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read DevTools commands from file descriptor 3 and write
replies and events to descriptor 4, each a JSON object ended by a NUL byte — the transport Puppeteer
uses. No debugging port is opened (nothing else on the machine can drive the browser), and no
WebSocket client or driver binary is needed: a pipe, ``json`` and a thread reading replies.

``Browser.page()`` opens a tab and returns a ``Page`` with ``goto``, ``evaluate`` (a JavaScript
expression's value) and ``wait_for`` (poll an expression until it is truthy). Every request the page
makes is recorded (``Page.requests``), so a test can check that a page loads nothing from elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.procs import require_binary

__all__ = ["Browser", "Page"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--remote-debugging-pipe")


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int) -> None:
        self.proc = proc
        self._out = os.fdopen(to_browser, "wb", buffering=0)
        self._in = os.fdopen(from_browser, "rb", buffering=0)
        self._next = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}      # sessionId -> events
        self._reader = threading.Thread(target=self._read, daemon=True, name="chromium devtools")
        self._reader.start()

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, lang: str = "zh-CN") -> Iterator[Browser]:
        exe = require_binary("chromium", "chromium-browser", "/usr/bin/chromium")
        with tempfile.TemporaryDirectory(prefix="mw-chromium-") as profile:
            r_cmd, w_cmd = os.pipe()      # we write commands -> chromium reads fd 3
            r_ev, w_ev = os.pipe()        # chromium writes fd 4 -> we read
            # Their ends for chromium moved above 9, so that placing one at 3 or 4 cannot overwrite the other.
            r_cmd, w_ev = (_high(fd) for fd in (r_cmd, w_ev))
            # The DevTools pipe is file descriptors 3 (commands in) and 4 (replies out): a tiny Python exec
            # wrapper puts ours there (subprocess keeps descriptors only under their own numbers, and
            # Debian's chromium is a dash script, whose redirections stop at descriptor 9).
            argv = [exe, *FLAGS, f"--user-data-dir={profile}", f"--lang={lang}", "about:blank"]
            place = "import os,sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])"
            with open(Path(profile) / "stderr.log", "wb") as err:
                proc = subprocess.Popen([sys.executable, "-c", place, str(r_cmd), str(w_ev), *argv],
                                        pass_fds=(r_cmd, w_ev), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=err)
            os.close(r_cmd)
            os.close(w_ev)
            browser = cls(proc, w_cmd, r_ev)
            try:
                yield browser
            finally:
                browser.close()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._in.read(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    q = self._waiting.pop(msg["id"], None)
                    if q is not None:
                        q.put(msg)
                else:
                    with self._lock:
                        self.events.setdefault(msg.get("sessionId", ""), []).append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout_s: float = 30.0) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            mid = self._next
            q: queue.Queue[dict[str, Any]] = queue.Queue()
            self._waiting[mid] = q
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"chromium did not answer {method} within {timeout_s} s") from None
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Network"):
            page.send(f"{domain}.enable")
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout_s=5)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for f in (self._out, self._in):
            with contextlib.suppress(OSError):
                f.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def goto(self, url: str, headers: dict[str, str] | None = None) -> None:
        if headers:
            self.send("Network.setExtraHTTPHeaders", {"headers": headers})
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails'].get('text')}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(RuntimeError):
                value = self.evaluate(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise AssertionError(f"page: {expression} not true after {timeout_s} s")
            time.sleep(0.1)

    @property
    def requests(self) -> list[str]:
        """URLs of every request the page made."""
        evs = self.browser.events.get(self.session, [])
        return [e["params"]["request"]["url"] for e in evs if e.get("method") == "Network.requestWillBeSent"]

    def console_errors(self) -> list[str]:
        evs = self.browser.events.get(self.session, [])
        return [str(e["params"].get("exceptionDetails", {}).get("text")) for e in evs
                if e.get("method") == "Runtime.exceptionThrown"]
