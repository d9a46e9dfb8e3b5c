"""Engine state in its own files, so that losing the outbox cannot take it along.

Each key (``engine:A01``) has two slot files in ``state_dir/state/``: ``<key>.0.state`` and
``<key>.1.state``. Every save is a new *generation* ``g`` written into slot ``g % 2``, i.e. over the
generation before the previous one, with a header carrying the generation and a CRC-32 of the blob.
The outbox commits the generation (``meta.state_gen:<key>``) in the same transaction as the messages
that state produced, which keeps the invariant of one database across two files:

- slot written, transaction not committed (crash in between, or the transaction failed): the pointer
  still names the previous generation, in the other slot, untouched. The next save reuses the same
  generation number, so the committed slot is never the one overwritten.
- a crash in the middle of writing a slot leaves a checksum mismatch in that slot only.
- transaction committed: the pointer names a slot that was on disk (fsynced) before the commit.

Slots are written in place into blocks allocated beforehand (``posix_fallocate``, with 25 % headroom):
saving state needs no new disk blocks, so it goes on while the disk is full. If the outbox itself is
lost (corrupt, set aside), the newest valid generation is used: active alerts continue under their ids.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import quote, unquote

__all__ = ["StateFileError", "StateFiles"]

log = logging.getLogger(__name__)

_MAGIC = b"MWST"
_HEADER = struct.Struct("<4sBQQI")       # magic, version, generation, length, crc32
_VERSION = 1
_NAME = re.compile(r"^(?P<key>[^.]+)\.(?P<slot>[01])\.state$")
_HEADROOM = 1.25


class StateFileError(ValueError):
    """A slot that cannot be used (empty, truncated, wrong magic, checksum mismatch); names the file."""


class StateFiles:
    """Two slots per key under ``directory``. One writer (the outbox writer thread)."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def path(self, key: str, slot: int) -> Path:
        return self.dir / f"{_encode(key)}.{slot}.state"

    def keys(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted({unquote(m["key"]) for p in self.dir.iterdir() if (m := _NAME.match(p.name))})

    def write(self, key: str, gen: int, blob: bytes) -> None:
        """Write generation ``gen`` into slot ``gen % 2`` and fsync it. ``OSError`` (e.g. ENOSPC when a
        slot must grow) leaves the other slot untouched."""
        data = _HEADER.pack(_MAGIC, _VERSION, gen, len(blob), zlib.crc32(blob)) + blob
        self._ensure(key, len(data))
        fd = os.open(self.path(key, gen % 2), os.O_WRONLY)
        try:
            view, offset = memoryview(data), 0
            while offset < len(data):
                offset += os.pwrite(fd, view[offset:], offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ensure(self, key: str, size: int) -> None:
        """Both slots exist with at least ``size`` bytes allocated (grown with headroom)."""
        created = False
        for slot in (0, 1):
            path = self.path(key, slot)
            if path.exists() and path.stat().st_size >= size:
                continue
            if not created:
                self.dir.mkdir(parents=True, exist_ok=True)
            created = created or not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, int(size * _HEADROOM))
                os.fsync(fd)
            finally:
                os.close(fd)
        if created:
            _fsync_dir(self.dir)

    def read(self, key: str, slot: int) -> tuple[int, bytes]:
        """(generation, blob) in ``slot``; ``StateFileError`` or ``OSError`` when it cannot be used."""
        path = self.path(key, slot)
        with open(path, "rb") as fh:
            head = fh.read(_HEADER.size)
            if len(head) < _HEADER.size:
                raise StateFileError(f"{path}: truncated ({len(head)} bytes)")
            magic, version, gen, length, crc = _HEADER.unpack(head)
            if magic != _MAGIC or version != _VERSION or gen % 2 != slot:
                raise StateFileError(f"{path}: no state saved in this slot yet")
            blob = fh.read(length)
        if len(blob) != length or zlib.crc32(blob) != crc:
            raise StateFileError(f"{path}: checksum mismatch in generation {gen} (torn write?)")
        return gen, blob

    def load(self, key: str, gen: int | None) -> tuple[int, bytes] | None:
        """The state of ``key`` at committed generation ``gen`` (None: the outbox has no pointer, use
        the newest valid one). A damaged committed slot falls back, loudly, to the older generation."""
        found: dict[int, bytes] = {}
        for slot in (0, 1):
            try:
                g, blob = self.read(key, slot)
            except FileNotFoundError:
                continue
            except (OSError, StateFileError) as exc:
                log.log(logging.ERROR if gen is not None and gen % 2 == slot else logging.DEBUG,
                        "state %s: %s", key, exc)
                continue
            found[g] = blob
        usable = [g for g in found if gen is None or g <= gen]
        if gen is not None and gen not in found:
            log.error("state %s: generation %d named by the outbox is not on disk; using %s", key, gen,
                      f"generation {max(usable)}" if usable else "no saved state")
        if not usable:
            return None
        best = max(usable)
        return best, found[best]

    def bytes_on_disk(self) -> int:
        if not self.dir.is_dir():
            return 0
        total = 0
        for p in self.dir.iterdir():
            try:
                total += p.stat().st_blocks * 512
            except OSError:
                continue
        return total


def _encode(key: str) -> str:
    """A key as a file name part: no separators, no dots (the slot follows the first dot)."""
    return quote(key, safe="").replace(".", "%2E")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
