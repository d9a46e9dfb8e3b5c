"""A producer process SIGKILLed 10 times at random moments loses nothing that ``submit`` returned."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.mqtt import Subscriber
from tests.support.procs import Mosquitto

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
PREFIX = "meterwatch/v2/gw-t/grid-t/A01"


def producer(url: str, state: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.support.producer", "--url", url,
                             "--state-dir", str(state), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_sigkill_ten_times_while_producing_loses_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    rng = random.Random(9)
    state = tmp_path / "state"
    topics = (f"{PREFIX}/alert", f"{PREFIX}/summary/realtime", "meterwatch/v2/gw-kill/status")
    with Subscriber.running(mosquitto.port, *topics) as sub:
        produced: list[str] = []
        for _ in range(10):
            proc = producer(mosquitto.url, state)
            assert proc.stdout is not None
            first = proc.stdout.readline().strip()     # "connected" (or a msg_id if connecting was slow)
            time.sleep(rng.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate(timeout=10)
            lines = [first, *out.split("\n")]
            produced += [ln for ln in lines if ln.startswith("gw-kill:")]
        drain = producer(mosquitto.url, state, "--drain")
        out, _ = drain.communicate(timeout=60)
        assert "drained" in out, out

        ids = [int(m.split(":")[1]) for m in produced]
        assert len(set(ids)) == len(ids), "a msg_id was reused after a restart"
        assert len(produced) > 200
        missing = sub.wait_for(set(produced), timeout_s=20)
        assert not missing, f"{len(missing)} of {len(produced)} lost, e.g. {sorted(missing)[:5]}"
        got = sub.msg_ids("alert") + sub.msg_ids("realtime")
        print(f"produced {len(produced)}, received {len(got)}, duplicates {len(got) - len(set(got))}")
        states = [m.payload["state"] for m in sub.snapshot() if m.topic.endswith("/status")]
        assert "offline" in states and states[-1] == "offline"   # wills on kills, clean stop at the end
