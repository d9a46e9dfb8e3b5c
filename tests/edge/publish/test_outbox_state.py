"""Engine state saved in the same transaction as the messages it produced."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.publish.outbox import Outbox
from wire import Outgoing


def _alert(n: int) -> dict:
    return {"schema": "meterwatch.alert/2", "n": n}


def test_state_is_saved_with_the_messages_and_survives_reopen(tmp_path: Path):
    ob = Outbox(tmp_path / "o.sqlite3", gateway="gw")
    ob.put_many([Outgoing("t/alert", "alert", _alert(1))], state={"engine:A01": b"S1"})
    ob.close()
    ob = Outbox(tmp_path / "o.sqlite3", gateway="gw")
    assert ob.load_state("engine:A01") == b"S1"
    assert ob.stats().depth == 1
    assert ob.load_state("engine:other") is None


def test_a_failed_put_rolls_back_its_state_too(tmp_path: Path):
    ob = Outbox(tmp_path / "o.sqlite3", gateway="gw")
    ob.save_state("engine:A01", b"S1")
    with pytest.raises(ValueError):
        ob.put_many([Outgoing("t/alert", "alert", _alert(1)), Outgoing("t/alert", "alert", {"bad": float("nan")})],
                    state={"engine:A01": b"S2"})
    assert ob.load_state("engine:A01") == b"S1"
    assert ob.stats().depth == 0
