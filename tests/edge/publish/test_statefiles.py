"""Engine state files: two slots per key, generations, checksums, writes that need no new disk blocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.publish.statefiles import StateFiles
from tests.support.disk import fill, small_disk


def test_generations_alternate_slots_and_the_committed_one_wins_over_a_newer_uncommitted_one(tmp_path: Path) -> None:
    sf = StateFiles(tmp_path / "state")
    sf.write("engine:A01", 1, b"one")
    sf.write("engine:A01", 2, b"two")
    assert sf.load("engine:A01", 2) == (2, b"two")
    sf.write("engine:A01", 3, b"three")           # written, but the transaction naming it failed
    assert sf.load("engine:A01", 2) == (2, b"two")
    assert sf.load("engine:A01", None) == (3, b"three")      # no outbox pointer: the newest valid one
    assert sf.keys() == ["engine:A01"]
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["engine%3AA01.0.state", "engine%3AA01.1.state"]


def test_a_torn_committed_slot_falls_back_to_the_older_generation_loudly(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    sf = StateFiles(tmp_path)
    sf.write("engine:A.1", 4, b"four" * 100)
    sf.write("engine:A.1", 5, b"five" * 100)
    path = sf.path("engine:A.1", 1)
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF                                   # a bit flipped inside the blob
    path.write_bytes(bytes(data))
    assert sf.load("engine:A.1", 5) == (4, b"four" * 100)
    assert "checksum mismatch" in caplog.text and "generation 5" in caplog.text


def test_no_state_saved_yet_is_none(tmp_path: Path) -> None:
    assert StateFiles(tmp_path / "nothing").load("engine:A01", None) is None


def test_slots_are_preallocated_so_a_save_works_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        sf = StateFiles(disk / "state")
        sf.write("engine:A01", 1, os.urandom(40_000))
        sf.write("engine:A01", 2, os.urandom(40_000))
        fill(disk)
        blob = os.urandom(40_000)
        sf.write("engine:A01", 3, blob)                # in place, into blocks it already owns
        assert sf.load("engine:A01", 3) == (3, blob)
        with pytest.raises(OSError):                   # growing beyond the slot needs the disk
            sf.write("engine:A01", 4, os.urandom(120_000))
        assert sf.load("engine:A01", 3) == (3, blob)   # and the failed save left the committed slot alone
