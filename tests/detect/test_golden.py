"""Every published event and summary of the golden scenario replays is byte-identical to the recording.

The recordings and how to re-record them after an intended change of detection: ``tests/detect/golden.py``
(``.venv/bin/python -m tests.detect.golden --record``).
"""

from __future__ import annotations

import pytest

from tests.detect import golden

pytestmark = pytest.mark.slow

RERECORD = ("if detection changed on purpose, re-record with `.venv/bin/python -m tests.detect.golden --record` "
            "and say why in the commit")


@pytest.mark.parametrize("name", list(golden.SPECS))
def test_replay_publishes_exactly_the_recorded_messages(name: str) -> None:
    want = golden.read_xz(golden.GOLDEN / name / "out.jsonl.xz")
    got = golden.replay_golden(name)
    assert want, f"golden {name}: empty recording"
    assert got == want, f"golden {name}: {golden.first_difference(want, got)}\n{RERECORD}{golden.platform_note()}"


def test_snapshot_of_the_recorded_version_restores_and_continues_exactly() -> None:
    """The snapshot was written by the engine at the time of recording; restored by today's engine in the
    middle of the ``faults`` replay, it publishes the recorded tail."""
    want = golden.read_xz(golden.GOLDEN / "restart" / "tail.jsonl.xz")
    got = golden.restart_tail()
    assert "alert:master_offline:cleared" in golden.describe(want)    # the snapshot holds an active alarm
    assert got == want, f"restart tail: {golden.first_difference(want, got)}\n{RERECORD}{golden.platform_note()}"
