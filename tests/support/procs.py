"""Start and stop real service processes for integration tests.

Every service listens on a free loopback port in a private temporary directory and is stopped by the
fixture that started it. A missing binary is a loud failure (``make test`` installs them first), never
a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Influx1", "Mosquitto", "Service", "VictoriaMetrics", "free_port", "require_binary", "run_python",
           "wait_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_binary(name: str, *candidates: str) -> str:
    for c in (name, *candidates):
        path = shutil.which(c) or (c if os.path.isabs(c) and os.access(c, os.X_OK) else None)
        if path:
            return path
    raise RuntimeError(f"{name} is not installed: run `make services` (Debian package) before the tests")


def wait_port(port: int, timeout_s: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout_s} s")


def run_python(argv: list[str], *, timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` of a Python command line (text, output captured) that, when it does not end
    within ``timeout``, fails with the stacks of all its threads: the process runs with
    ``PYTHONFAULTHANDLER=1`` and gets SIGABRT, whose handler writes every thread's traceback to stderr.
    A hang then says where it waited instead of only that it did."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AssertionError(f"{' '.join(argv)} did not end within {timeout:g} s; the last of its output:\n"
                             f"{(out or '')[-3000:]}\nits threads when it was stopped:\n{(err or '')[-12000:]}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@dataclass
class Service:
    """A started process; ``stop()``/``start()`` to take it down and bring it back on the same port."""

    argv: list[str]
    port: int
    workdir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    ready_path: str | None = None   # HTTP path that answers 2xx when ready

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, proc=self.proc)
        if self.ready_path:
            deadline = time.monotonic() + 15
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=1):
                        break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Mosquitto(Service):
    @classmethod
    @contextmanager
    def running(cls, tmp: Path, extra_conf: str = "", port: int | None = None, *,
                stock: bool = False) -> Iterator[Mosquitto]:
        """``stock``: mosquitto's own queue defaults (max_queued_messages 1000, max_inflight_messages
        20), as a Debian install has them, instead of the unlimited queue deploy/mosquitto/ configures."""
        exe = require_binary("mosquitto", "/usr/sbin/mosquitto")
        tmp.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {tmp}/\n"
            "autosave_interval 1\n"
            + ("" if stock else "max_queued_messages 0\nmax_inflight_messages 0\n")
            + f"log_dest file {tmp}/mosquitto.log\n"
            # As root (CI containers) mosquitto drops to user "mosquitto", which cannot write the
            # private temp dir: persistence and the log would silently fail. Stay who we are.
            + ("user root\n" if os.geteuid() == 0 else "")
            + extra_conf
        )
        svc = cls(argv=[exe, "-c", str(conf)], port=port, workdir=tmp, log=tmp / "stdout.log")
        svc.start()
        try:
            yield svc
        finally:
            svc.stop()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class VictoriaMetrics(Service):
    """Debian's victoria-metrics: accepts InfluxDB line protocol on /write and /api/v2/write."""

    @classmethod
    @contextmanager
    def running(cls, tmp: Path) -> Iterator[VictoriaMetrics]:
        exe = require_binary("victoria-metrics")
        tmp.mkdir(parents=True, exist_ok=True)
        port = free_port()
        svc = cls(argv=[exe, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={tmp}/data",
                        "-retentionPeriod=100y", "-search.disableCache", "-search.latencyOffset=0s"],
                  port=port, workdir=tmp, log=tmp / "vm.log", ready_path="/health")
        svc.start()
        try:
            yield svc
        finally:
            svc.stop()


class Influx1(Service):
    """Debian's influxdb 1.6: InfluxQL on /query, line protocol on /write."""

    @classmethod
    @contextmanager
    def running(cls, tmp: Path, extra_data: str = "") -> Iterator[Influx1]:
        """``extra_data``: more lines for the ``[data]`` section."""
        exe = require_binary("influxd")
        tmp.mkdir(parents=True, exist_ok=True)
        port, bind = free_port(), free_port()
        conf = tmp / "influxdb.conf"
        conf.write_text(
            f'bind-address = "127.0.0.1:{bind}"\nreporting-disabled = true\n'
            f'[meta]\n  dir = "{tmp}/meta"\n'
            f'[data]\n  dir = "{tmp}/data"\n  wal-dir = "{tmp}/wal"\n  query-log-enabled = false\n  {extra_data}'
            f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
            '[monitor]\n  store-enabled = false\n'
        )
        svc = cls(argv=[exe, "-config", str(conf)], port=port, workdir=tmp, log=tmp / "influxd.log",
                  ready_path="/ping")
        svc.start()
        try:
            yield svc
        finally:
            svc.stop()
