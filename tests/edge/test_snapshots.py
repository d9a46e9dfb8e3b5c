import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from edge.snapshots import SnapshotStore


def test_save_then_load_round_trips_and_names_are_safe(tmp_path: Path):
    store = SnapshotStore(tmp_path)
    store.save("A01/../x", b"\x00state\xff")
    assert store.load("A01/../x") == b"\x00state\xff"
    assert store.path("A01/../x").parent == tmp_path / "snapshots"
    assert store.load("other") is None


def test_quarantine_moves_a_bad_snapshot_aside(tmp_path: Path):
    store = SnapshotStore(tmp_path)
    store.save("A01", b"garbage")
    moved = store.quarantine("A01", "bad magic")
    assert moved.exists() and store.load("A01") is None


def test_a_kill_during_repeated_saves_never_leaves_a_torn_snapshot(tmp_path: Path):
    code = (
        "import sys\nfrom edge.snapshots import SnapshotStore\n"
        f"s = SnapshotStore({str(tmp_path)!r})\n"
        "i = 0\nprint('go', flush=True)\n"
        "while True:\n    i += 1\n    s.save('A01', (str(i).encode() * 200000)[:200000] + b'END')\n"
    )
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=os.getcwd())
        assert proc.stdout is not None and proc.stdout.readline() == b"go\n"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        blob = SnapshotStore(tmp_path).load("A01")
        assert blob is not None and blob.endswith(b"END") and len(blob) == 200003
