"""One owner per port: a lock file per port, held (``flock``) by whoever talks on that port.

The daemon takes a port's lock when it opens the port and gives it back when it closes it;
``meterwatch read`` and ``scan`` take it for their run. Whoever finds it taken is told who holds it::

    /dev/ttyUSB0 is in use by meterwatch run (pid 812, bus "rs485-1")

The daemon then treats the port as unavailable for the moment (and tries again with back-off); ``read``
and ``scan`` refuse. Two programs on one RS-485 pair would garble each other's frames, and the daemon
would back off meters that were fine.

- **Where**: ``$MW_LOCK_DIR``; else ``/run/meterwatch/ports`` when ``/run/meterwatch`` exists (the edge
  unit's ``RuntimeDirectory=``); else ``/tmp/meterwatch-ports``. The directory is world-writable and
  sticky (like /tmp), so a technician's ``read`` can take a lock too.
- **Which port**: a serial path is resolved (``/dev/serial/by-id/…`` and ``/dev/ttyUSB0`` are one port);
  ``tcp://host:port`` as written, lower case. File name: the key, percent-encoded.
- **Record**: the holder writes JSON ``{"pid", "program", "bus", "port", "control", "since"}``. The pid
  reported is the lock's real holder from ``/proc/locks`` when the kernel tells it (a record can be left
  by an earlier holder that could not overwrite it). ``control`` is the holder's control socket, where a
  later version of ``read`` will ask the daemon to read for it instead of refusing; None for now.
- A holder that dies releases its lock with its descriptor: no stale locks. Files are never deleted
  (a delete races the next holder); they are a few hundred bytes each.

One daemon per state directory, likewise (``hold_state_dir``): ``<state_dir>/daemon.lock``, held by
``meterwatch run`` for its life. A second daemon on the same configuration (a hand ``meterwatch run``
while the service runs) would share the outbox and the MQTT client id — the broker then hands the
session back and forth every few seconds — bind the same control socket and find every port taken: it
refuses to start instead, naming the pid that runs. The lock lives in the state directory itself, so
two daemons see each other whatever their runtime or lock directories.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from edge.errors import MeterwatchError, PortError

__all__ = ["Holder", "PortBusy", "PortLock", "StateDirBusy", "acquire", "hold_state_dir", "lock_dir", "port_key"]

log = logging.getLogger(__name__)

_warned_dirs: set[str] = set()


@dataclass(frozen=True, kw_only=True)
class Holder:
    """Who holds a port."""

    pid: int
    program: str = "another program"
    bus: str | None = None
    port: str = ""
    control: str | None = None
    since: float = 0.0

    def describe(self) -> str:
        bus = f', bus "{self.bus}"' if self.bus else ""
        return f"{self.program} (pid {self.pid}{bus})"


class PortBusy(PortError):
    """The port's lock is held by someone else."""

    def __init__(self, port: str, holder: Holder) -> None:
        self.port = port
        self.holder = holder
        super().__init__(f"{port} is in use by {holder.describe()}")


def lock_dir() -> Path:
    env = os.environ.get("MW_LOCK_DIR")
    if env:
        return Path(env)
    if Path("/run/meterwatch").is_dir():
        return Path("/run/meterwatch/ports")
    return Path("/tmp/meterwatch-ports")


def port_key(port: str) -> str:
    """The lock's identity of a port: resolved serial path, or ``tcp://host:port`` in lower case."""
    if port.lower().startswith("tcp://"):
        return port.lower()
    return os.path.realpath(port) if os.path.lexists(port) else port


class PortLock:
    """A held port lock (or, when no lock directory is usable, one that holds nothing)."""

    def __init__(self, port: str, fd: int | None, path: Path | None) -> None:
        self.port, self._fd, self.path = port, fd, path

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)         # closing the descriptor drops the flock

    def __enter__(self) -> PortLock:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """(fd, writable) of the lock file, created if possible."""
    d = path.parent
    if not d.is_dir():
        d.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(d, 0o1777)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o644)
        return fd, True
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC), False   # someone else's file: lock it read-only


def acquire(port: str, *, program: str, bus: str | None = None, control: str | None = None) -> PortLock:
    """Take the lock of ``port`` or raise ``PortBusy`` naming its holder. A missing or unwritable lock
    directory does not stop anyone (logged once): serial ports still get the device's own ``flock``."""
    key = port_key(port)
    path = lock_dir() / quote(key, safe="")
    try:
        fd, writable = _open_lock_file(path)
    except OSError as exc:
        if str(path.parent) not in _warned_dirs:
            _warned_dirs.add(str(path.parent))
            log.warning("port locks: cannot use %s (%s); ports are not locked against other programs",
                        path.parent, exc)
        return PortLock(port, None, None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd, key)
        os.close(fd)
        raise PortBusy(port, holder) from None
    if writable:
        record = Holder(pid=os.getpid(), program=program, bus=bus, port=key, control=control, since=time.time())
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(record)).encode(), 0)
    return PortLock(port, fd, path)


def _holder(fd: int, key: str) -> Holder:
    """Who holds the lock on ``fd``'s file: the record, with the pid the kernel reports."""
    record: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        record = loaded if isinstance(loaded, dict) else {}
    raw_pid = record.get("pid")
    rec_pid = raw_pid if isinstance(raw_pid, int) else None
    pid = _flock_pid(fd) or rec_pid or 0
    if rec_pid != pid:
        record = {}      # written by an earlier holder: only the pid is known

    def text(name: str) -> str | None:
        v = record.get(name)
        return v if isinstance(v, str) else None

    since = record.get("since")
    return Holder(pid=pid, program=text("program") or "another program", bus=text("bus"), port=key,
                  control=text("control"), since=float(since) if isinstance(since, (int, float)) else 0.0)


def _flock_pid(fd: int) -> int | None:
    """The pid holding a FLOCK on ``fd``'s file, from /proc/locks (None where it cannot be told)."""
    st = os.fstat(fd)
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) >= 6 and f[1] == "FLOCK" and f[5] == want and f[4].isdigit() and int(f[4]) > 0:
            return int(f[4])
    return None


class StateDirBusy(MeterwatchError):
    """Another daemon runs on this state directory."""

    def __init__(self, directory: Path, pid: int) -> None:
        self.directory, self.pid = directory, pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"{directory} is in use by another meterwatch run ({who}): one daemon per gateway; stop "
                         "that one first (systemctl stop meterwatch-edge, or end the hand-started one), or give "
                         "this one its own [gateway] state_dir")


def hold_state_dir(directory: Path) -> PortLock:
    """Exclusive use of a daemon's state directory (created if missing) for as long as the returned lock
    is held; ``StateDirBusy`` naming the holder's pid when another process has it."""
    path = directory / "daemon.lock"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:     # a full or read-only disk must not stop the daemon (docs/daemon.md)
        log.warning("cannot lock %s (%s): a second daemon on this state directory would not be noticed", path, exc)
        return PortLock(str(directory), None, None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            pid = _flock_pid(fd) or int(os.pread(fd, 32, 0).decode().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        os.close(fd)
        raise StateDirBusy(directory, pid) from None
    with contextlib.suppress(OSError):    # the record is for people; the kernel's lock table names us anyway
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return PortLock(str(directory), fd, path)
