"""Engine snapshots in the state directory: written atomically, read back after a restart.

A snapshot is written to a temporary file, fsync'd, renamed over the previous one and the directory
fsync'd, so a kill or power cut at any moment leaves either the old or the new snapshot, never a torn one.
A snapshot that cannot be read (corrupt, from an incompatible version) is moved aside with a message
and the engine starts fresh: losing detection state must not stop the daemon.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

__all__ = ["SnapshotStore"]

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class SnapshotStore:
    def __init__(self, state_dir: str | Path) -> None:
        self.dir = Path(state_dir) / "snapshots"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.writes = 0
        self.last_write_s = 0.0

    def path(self, area_id: str) -> Path:
        return self.dir / f"engine-{_SAFE.sub('_', area_id)}.snap"

    def save(self, area_id: str, blob: bytes) -> None:
        target = self.path(area_id)
        tmp = target.with_suffix(".tmp")
        t0 = time.perf_counter()
        with open(tmp, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        dfd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        self.writes += 1
        self.last_write_s = time.perf_counter() - t0

    def load(self, area_id: str) -> bytes | None:
        try:
            return self.path(area_id).read_bytes()
        except FileNotFoundError:
            return None

    def quarantine(self, area_id: str, reason: str) -> Path:
        """Move an unreadable snapshot aside (kept for diagnosis) so the next start is clean."""
        src = self.path(area_id)
        dst = src.with_name(f"{src.stem}.bad-{int(time.time())}.snap")
        if src.exists():
            os.replace(src, dst)
        log.error("area %s: snapshot %s unreadable (%s); moved to %s, starting with fresh state",
                  area_id, src, reason, dst)
        return dst
