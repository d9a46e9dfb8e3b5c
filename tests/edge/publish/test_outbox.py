"""The SQLite outbox on a real file: ids, send order, the drop policy and its counters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.publish.outbox import Outbox

P = "meterwatch/v1/jinli-1/A01"


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def summary(n: int, pad: int = 0) -> dict[str, object]:
    return {"schema": "meterwatch.realtime/1", "n": n, "pad": "x" * pad}


def alert(n: int) -> dict[str, object]:
    return {"schema": "meterwatch.alert/1", "n": n}


def drain(ob: Outbox) -> list[dict[str, object]]:
    out = []
    while msgs := ob.take(10):
        out.extend(json.loads(m.payload) for m in msgs)
        ob.ack(m.seq for m in msgs)
    return out


def test_msg_ids_continue_across_reopen_and_are_never_reused(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"
    ob = Outbox(db, gateway="gw-1")
    first = [ob.put(f"{P}/alert", alert(i), kind="alert").msg_id for i in range(3)]
    status_id = ob.allocate_msg_id()
    drain(ob)                      # everything acked: the table is empty, the sequence is not reset
    ob.close()
    ob = Outbox(db, gateway="gw-1")
    later = ob.put(f"{P}/alert", alert(9), kind="alert").msg_id
    assert first == ["gw-1:1", "gw-1:2", "gw-1:3"]
    assert status_id == "gw-1:4"
    assert later == "gw-1:5"


def test_stored_payload_carries_msg_id_and_caller_dict_is_untouched(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    payload = alert(1)
    msg = ob.put(f"{P}/alert", payload, kind="alert")
    assert "msg_id" not in payload
    assert json.loads(msg.payload)["msg_id"] == msg.msg_id


def test_alerts_go_before_bulk_summaries_and_topic_order_is_kept(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    ob.put(f"{P}/meters/interval", {"schema": "meterwatch.meters_interval/1", "n": 0}, kind="meters_interval")
    ob.put(f"{P}/summary/realtime", summary(1), kind="realtime")
    ob.put(f"{P}/alert", alert(2), kind="alert")
    ob.put(f"{P}/summary/realtime", summary(3), kind="realtime")
    ob.put(f"{P}/alert", alert(4), kind="alert")
    order = [(p["schema"], p["n"]) for p in drain(ob)]
    assert order == [("meterwatch.alert/1", 2), ("meterwatch.alert/1", 4),
                     ("meterwatch.realtime/1", 1), ("meterwatch.realtime/1", 3),
                     ("meterwatch.meters_interval/1", 0)]


def test_bound_drops_oldest_summaries_first_and_keeps_alerts(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=5_000)
    for i in range(100):
        if i % 10 == 0:
            ob.put(f"{P}/alert", alert(i), kind="alert")
        else:
            ob.put(f"{P}/summary/realtime", summary(i, pad=100), kind="realtime")
    st = ob.stats()
    assert st.bytes <= 5_000
    assert st.dropped_summaries > 0 and st.dropped_alerts == 0
    left = drain(ob)
    alerts = [p["n"] for p in left if p["schema"] == "meterwatch.alert/1"]
    summaries = [p["n"] for p in left if p["schema"] == "meterwatch.realtime/1"]
    assert alerts == list(range(0, 100, 10))
    produced = [i for i in range(100) if i % 10]
    assert summaries == produced[-len(summaries):]          # the newest survive, in order
    assert st.dropped_summaries == len(produced) - len(summaries)


def test_counters_survive_a_restart(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_000)
    for i in range(50):
        ob.put(f"{P}/summary/realtime", summary(i, pad=100), kind="realtime")
    before = ob.stats()
    ob.close()
    after = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_000).stats()
    assert before.dropped_summaries > 0
    assert (after.depth, after.bytes, after.dropped_summaries) == \
        (before.depth, before.bytes, before.dropped_summaries)


def test_alerts_alone_over_the_bound_lose_the_oldest_and_say_so(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=2_000)
    for i in range(100):
        ob.put(f"{P}/alert", {**alert(i), "pad": "y" * 50}, kind="alert")
    st = ob.stats()
    left = [p["n"] for p in drain(ob)]
    assert st.dropped_alerts == 100 - len(left) > 0
    assert left == list(range(100 - len(left), 100))


def test_alerts_expire_after_the_ttl_and_are_counted(tmp_path: Path) -> None:
    clock = Clock()
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", alert_ttl_s=3600, clock=clock)
    ob.put(f"{P}/alert", alert(1), kind="alert")
    ob.put(f"{P}/summary/realtime", summary(2), kind="realtime")
    clock.t += 3601
    ob.put(f"{P}/alert", alert(3), kind="alert")
    assert ob.stats().dropped_alerts == 1
    assert [p["n"] for p in drain(ob)] == [3, 2]


def test_retained_message_supersedes_queued_ones_of_its_topic_but_not_inflight(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    active = f"{P}/alerts/active"
    body = {"schema": "meterwatch.alerts_active/1"}
    ob.put(active, {**body, "n": 1}, kind="alerts_active", retain=True)
    inflight = ob.take(1)
    ob.put(active, {**body, "n": 2}, kind="alerts_active", retain=True)
    ob.put(active, {**body, "n": 3}, kind="alerts_active", retain=True)
    ob.put(f"{P}/alerts/other", {**body, "n": 4}, kind="alerts_active", retain=True)
    assert ob.stats().superseded == 1            # n=2; n=1 is with the broker already
    ob.ack(m.seq for m in inflight)
    assert sorted(p["n"] for p in drain(ob)) == [3, 4]


def test_inflight_messages_are_never_dropped_by_the_bound(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_500)
    ob.put(f"{P}/summary/realtime", summary(0, pad=500), kind="realtime")
    sent = ob.take(1)
    for i in range(1, 20):
        ob.put(f"{P}/summary/realtime", summary(i, pad=500), kind="realtime")
    assert [m.seq for m in sent] == [1]
    assert 1 in ob.inflight
    ob.ack([1])
    assert ob.stats().depth == len(drain(ob))


def test_take_skips_inflight_and_release_hands_back(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    for i in range(4):
        ob.put(f"{P}/alert", alert(i), kind="alert")
    a = ob.take(2)
    b = ob.take(5)
    assert [m.seq for m in a] == [1, 2] and [m.seq for m in b] == [3, 4]
    ob.release(2)
    assert [m.seq for m in ob.take(5)] == [2]


def test_reject_deletes_and_counts(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    m = ob.put(f"{P}/alert", alert(1), kind="alert")
    ob.take(1)
    ob.reject(m.seq)
    st = ob.stats()
    assert (st.depth, st.rejected, st.inflight) == (0, 1, 0)


def test_unknown_kind_and_non_finite_values_are_refused_without_a_trace(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    with pytest.raises(ValueError, match="unknown payload kind 'bogus'"):
        ob.put(f"{P}/x", {}, kind="bogus")
    with pytest.raises(ValueError):
        ob.put(f"{P}/summary/realtime", {"v": float("nan")}, kind="realtime")
    st = ob.stats()
    assert (st.depth, st.bytes) == (0, 0)
    assert ob.put(f"{P}/alert", alert(1), kind="alert").msg_id == "gw-1:1"   # no id burnt by the failure


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Outbox(tmp_path / "o.db", gateway="gw", max_bytes=0)
    with pytest.raises(ValueError, match="synchronous"):
        Outbox(tmp_path / "o.db", gateway="gw", synchronous="OFF")


def test_put_many_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    msgs = ob.put_many([(f"{P}/alert", alert(1), "alert", False),
                        (f"{P}/alerts/active", {"schema": "meterwatch.alerts_active/1"}, "alerts_active", True)])
    assert [m.msg_id for m in msgs] == ["gw-1:1", "gw-1:2"]
    with pytest.raises(ValueError):
        ob.put_many([(f"{P}/alert", alert(2), "alert", False),
                     (f"{P}/summary/realtime", {"v": float("inf")}, "realtime", False)])
    assert ob.stats().depth == 2
    assert ob.put(f"{P}/alert", alert(3), kind="alert").msg_id == "gw-1:3"
