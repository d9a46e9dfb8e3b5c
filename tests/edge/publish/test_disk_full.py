"""The real daemon on a real 4 MiB tmpfs: the disk fills up for 60 s while the broker is down.

The state directory is on the small filesystem. The daemon is stopped, its ballast deleted and the
disk filled (the worst case: a restart on a full disk, before the outbox could hold its budget), then
started again: it must come up, log the disk error once, keep polling and detecting (an overload is
raised and cleared meanwhile), hold what it cannot store within its bound (oldest summaries dropped
and counted), and deliver everything else once space and broker return — the overload raised once
and cleared once under the same id, no alert dropped.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from edge.publish.outbox import Outbox
from tests.edge.service.harness import GATEWAY, PREFIX, Daemon, produced, seq_of, served_area
from tests.support.disk import fill, free_bytes, small_disk
from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FULL_S = 60.0


def install_audit(outbox: Path, max_bytes: int) -> None:
    """``harness.install_audit`` with the daemon's budget (the default 64 MiB would not fit this disk)."""
    Outbox(outbox, gateway=GATEWAY, max_bytes=max_bytes).close()
    with contextlib.closing(sqlite3.connect(outbox)) as db:
        db.executescript("""
            CREATE TABLE IF NOT EXISTS audit_produced (seq INTEGER NOT NULL, kind TEXT NOT NULL, topic TEXT NOT NULL);
            CREATE TRIGGER IF NOT EXISTS audit_insert AFTER INSERT ON outbox
            BEGIN INSERT INTO audit_produced (seq, kind, topic) VALUES (new.seq, new.kind, new.topic); END;
        """)


def wait_until(cond, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def test_disk_full_for_60_s_with_the_broker_down_keeps_the_daemon_up_and_loses_no_alert(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    with small_disk(tmp_path / "disk", "4m") as disk, served_area(disk / "area", mosquitto.url) as area, \
            Subscriber.running(mosquitto.port, f"{PREFIX}/#", client_id="collector-disk") as sub:
        area.write_config(publish="outbox_max_mb = 0.5")       # held in memory at most 33 KiB: drops
        install_audit(area.outbox_path, 512 * 1024)
        daemon = Daemon(config=area.config, log=tmp_path / "daemon.log")
        try:
            daemon.start()
            daemon.wait_log("kernels ready")
            wait_until(lambda: len(sub.msg_ids("/summary/realtime")) >= 2, 15, "realtime before the fault")
            mosquitto.stop()
            assert daemon.terminate() == 0
            (area.outbox_path.parent / "outbox.sqlite3.reserve").unlink()
            filler = fill(disk)
            t_full = time.monotonic()
            daemon.start()
            daemon.wait_log("kernels ready", count=2)
            daemon.wait_log("cannot store", timeout_s=15)
            area.source.load = 1.10                         # raised while nothing can be stored
            time.sleep(12)
            area.source.load = 0.5                          # and cleared
            time.sleep(max(0.0, t_full + FULL_S - time.monotonic()))
            assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon exited"
            assert free_bytes(disk) < 4096, "the disk did not stay full"
            filler.unlink()
            space_back = time.time()
            mosquitto.start()
            daemon.wait_log("storing again after", timeout_s=20)
            line = next(ln for ln in daemon.text().splitlines() if "storing again after" in ln)
            stored_again = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            wait_until(lambda: any(m.payload.get("state") == "cleared" for m in sub.snapshot()
                                   if m.topic.endswith("/alert")), 40, "the overload cleared during the fault")
            stored = [s for s, kind, _ in produced(area.outbox_path) if kind == "health"]
            wait_until(lambda: any(seq_of(m) > max(stored) for m in sub.msg_ids("/health") if m), 30,
                       "a health message stored after the recovery")
            assert daemon.terminate() == 0
            text = daemon.text()
        finally:
            daemon.close()
        rows = produced(area.outbox_path)
        got = Counter(seq_of(m) for m in sub.msg_ids() if m)
        health = max((m.payload for m in sub.snapshot() if m.topic.endswith("/health")),
                     key=lambda h: seq_of(h["msg_id"]))
    alert_rows = {s for s, kind, _ in rows if kind == "alert"}
    assert alert_rows and alert_rows <= set(got), "an alert that was stored never arrived"
    events = [m.payload for m in sub.snapshot() if m.topic.endswith("/alert")]
    raised = Counter(a["alert_id"] for a in events if a["state"] == "raised" and a["kind"] == "overload")
    cleared = Counter(a["alert_id"] for a in events if a["state"] == "cleared" and a["kind"] == "overload")
    assert len(raised) == 1 and cleared == raised, (raised, cleared)     # raised once, cleared once, same id
    out = health["outbox"]
    assert out["dropped_alerts"] == 0 and out["dropped_summaries"] > 0, out
    assert out["pending"] == 0 and out["store"] == "ok", out
    assert text.count("cannot store") == 1, "the disk error is logged once per episode"
    assert "Traceback" not in text
    print(f"disk full {FULL_S:.0f} s: {len(rows)} stored, {out['dropped_summaries']} summaries dropped as "
          f"counted, {sum(raised.values())} raised / {sum(cleared.values())} cleared; storing again "
          f"{stored_again - space_back:.1f} s after the space returned")
