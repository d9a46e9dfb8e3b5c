"""How ``outbox_max_mb`` is split between the three files of the SQLite outbox.

The budget bounds what the outbox occupies on disk: ``outbox.sqlite3`` (the database pages),
``outbox.sqlite3-wal`` (the write-ahead log) and ``outbox.sqlite3-shm`` (the WAL index, 32 KiB while
the log holds fewer than 4096 frames). Engine state is not in it: it lives in its own files
(``edge.publish.statefiles``).

- **WAL reserve**: an eighth of the budget, at least 16 frames and at most 8 MiB. SQLite checkpoints
  after every commit that leaves more than half of the reserve in the log (``wal_autocheckpoint``) and
  cuts the log back to the reserve when it restarts it (``journal_size_limit``). The log is not cut to
  zero: reusing its space needs no new disk blocks, so on a full disk the deletes that make room for
  alerts can still be written.
- **Slack**: 1/32 of the budget, at least 8 pages: what the files may briefly need beyond their shares
  (a log rounded up to whole blocks, a page allocated before the drop policy frees one).
- **Database**: the rest. The drop policy keeps the pages in use (``page_count - freelist_count``) under
  it; freed pages are reused before the file grows.
- A budget smaller than the fixed part (shared-memory index, WAL reserve, schema pages and a little
  room) is raised to that minimum, with a warning at start (``DiskBudget.raised``).

The budget is held on disk (``Reserve``): a ballast file ``outbox.sqlite3.reserve`` keeps the share of
the budget the SQLite files do not use yet, so other files filling the disk cannot take the outbox's
space. When SQLite reports a full disk the ballast gives blocks back and the write is retried; after
a transaction it is trimmed or regrown to ``total - outbox files`` once it is off by more than half the
slack (so the total stays within ±1/64 of the budget, and most transactions resize nothing). (The database file itself is
never opened by anyone but SQLite: closing a second descriptor of it would drop SQLite's POSIX locks.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FRAME_BYTES", "PAGE_BYTES", "SHM_BYTES", "DiskBudget", "Reserve", "outbox_disk_bytes",
           "outbox_files"]

PAGE_BYTES = 4096                     # SQLite's default page size (and a flash/filesystem block)
FRAME_BYTES = PAGE_BYTES + 24         # one WAL frame: frame header + page
SHM_BYTES = 32 * 1024                 # the WAL index while the log has < 4096 frames
_WAL_MIN = 16 * FRAME_BYTES
_WAL_MAX = 8 * 1024 * 1024
_DB_MIN = 12 * PAGE_BYTES             # schema and meta pages (~6) and room for a few messages


@dataclass(frozen=True, kw_only=True)
class DiskBudget:
    requested: int        # bytes asked for (outbox_max_mb)
    total: int            # bytes the outbox will keep to: max(requested, the fixed minimum)
    wal_bytes: int        # WAL reserve (journal_size_limit)
    slack_bytes: int      # room for the files to overshoot their shares briefly
    db_bytes: int         # database pages in use are kept under this
    checkpoint_pages: int  # wal_autocheckpoint

    @classmethod
    def of(cls, requested: int) -> DiskBudget:
        if requested <= 0:
            raise ValueError(f"outbox budget must be positive, got {requested} bytes")
        wal = min(max(requested // 8, _WAL_MIN), _WAL_MAX)
        slack = max(8 * PAGE_BYTES, requested // 32)
        db = max(requested - SHM_BYTES - wal - slack, _DB_MIN)
        return cls(requested=requested, total=SHM_BYTES + wal + slack + db, wal_bytes=wal, slack_bytes=slack,
                   db_bytes=db, checkpoint_pages=max(4, wal // FRAME_BYTES // 2))

    @property
    def raised(self) -> bool:
        """True when the requested budget was below the fixed minimum and has been raised to it."""
        return self.total > self.requested

    @property
    def db_pages(self) -> int:
        return self.db_bytes // PAGE_BYTES


def outbox_files(path: Path) -> tuple[Path, Path, Path]:
    return path, Path(f"{path}-wal"), Path(f"{path}-shm")


def outbox_disk_bytes(path: Path) -> int:
    """Bytes the outbox's files occupy on disk now: allocated blocks, as ``du`` counts them."""
    total = 0
    for p in outbox_files(path):
        try:
            total += os.stat(p).st_blocks * 512
        except OSError:
            continue
    return total



class Reserve:
    """The ballast file that holds the unused share of the budget (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def bytes(self) -> int:
        try:
            return os.stat(self.path).st_blocks * 512
        except OSError:
            return 0

    def fit(self, target: int, tolerance: int = 0) -> None:
        """Trim or grow the ballast to ``target`` bytes when it is off by more than ``tolerance`` (each
        resize costs the filesystem a journal commit: not on every transaction). ``OSError`` (ENOSPC)
        when the disk has not that much free: the ballast does not take the last free bytes of a disk
        other services need too."""
        target = max(0, target - target % PAGE_BYTES)
        have = self.bytes
        if have > target + tolerance:
            os.truncate(self.path, target)
        elif have < target - tolerance:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                st = os.statvfs(self.path)
                if target - have > st.f_bavail * st.f_frsize:
                    raise OSError(28, f"{target - have} bytes wanted, {st.f_bavail * st.f_frsize} free")
                os.posix_fallocate(fd, 0, target)
            finally:
                os.close(fd)

    def release(self, nbytes: int) -> int:
        """Give back up to ``nbytes`` to the filesystem (for SQLite to use); returns what was freed."""
        have = self.bytes
        if not have:
            return 0
        keep = max(0, have - nbytes)
        keep -= keep % PAGE_BYTES
        os.truncate(self.path, keep)
        return have - self.bytes
