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
- **Database**: the rest. The drop policy keeps the pages in use (``page_count - freelist_count``) under
  it; freed pages are reused before the file grows.
- A budget smaller than the fixed part (shared-memory index, WAL reserve, schema pages and a little
  room) is raised to that minimum, with a warning at start (``DiskBudget.raised``).

The budget is reserved on disk (``reserve``: ``fallocate`` with ``FALLOC_FL_KEEP_SIZE``, which allocates
blocks past the end of the file without writing anything), so when other files fill the disk the
outbox still has its space: the database grows into blocks it already owns and a checkpoint never
needs a new block. The reservation is renewed after every write (a truncation gives back what lies
past the end of a file).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FRAME_BYTES", "PAGE_BYTES", "SHM_BYTES", "DiskBudget", "outbox_disk_bytes", "outbox_files",
           "reserve"]

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
    db_bytes: int         # database pages in use are kept under this
    checkpoint_pages: int  # wal_autocheckpoint

    @classmethod
    def of(cls, requested: int) -> DiskBudget:
        if requested <= 0:
            raise ValueError(f"outbox budget must be positive, got {requested} bytes")
        wal = min(max(requested // 8, _WAL_MIN), _WAL_MAX)
        db = max(requested - SHM_BYTES - wal, _DB_MIN)
        return cls(requested=requested, total=SHM_BYTES + wal + db, wal_bytes=wal, db_bytes=db,
                   checkpoint_pages=max(4, wal // FRAME_BYTES // 2))

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


_FALLOC_FL_KEEP_SIZE = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_fallocate = getattr(_libc, "fallocate", None)
if _fallocate is not None:
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    _fallocate.restype = ctypes.c_int


def reserve(path: Path, nbytes: int) -> None:
    """Allocate disk blocks for the first ``nbytes`` of ``path`` without changing its size or content.

    Raises ``OSError`` (ENOSPC when the disk cannot give them, EOPNOTSUPP on a filesystem without
    ``fallocate``); a missing file is not an error (nothing to reserve for yet)."""
    if _fallocate is None:
        raise OSError(95, "fallocate is not available")
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        if _fallocate(fd, _FALLOC_FL_KEEP_SIZE, 0, nbytes) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot reserve {nbytes} bytes for {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
