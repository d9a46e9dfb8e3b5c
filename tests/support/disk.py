"""A small real filesystem for disk-full tests: a tmpfs mounted in the test and unmounted after.

Needs root (the tests run as root in CI). If mounting is impossible the test fails loudly: a disk-full
test that silently ran on the big disk would prove nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["fill", "free_bytes", "small_disk"]


@contextlib.contextmanager
def small_disk(mountpoint: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``mountpoint`` (created) and unmount it on exit."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"cannot mount a {size} tmpfs at {mountpoint} (the disk tests need root): "
                             f"{done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False, capture_output=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, name: str = "filler") -> Path:
    """Take every free byte of the filesystem holding ``path`` with one file; returns it (delete it to
    give the space back)."""
    filler = path / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512):
            block = b"\0" * size
            while True:
                try:
                    if os.write(fd, block) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    assert free_bytes(path) < 4096, f"{path} still has {free_bytes(path)} bytes free"
    return filler
