"""The SQLite outbox on a real file: ids, send order, the disk budget, the drop policy and its counters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.publish.budget import outbox_disk_bytes
from edge.publish.outbox import Outbox
from wire import Outgoing

P = "meterwatch/v2/gw-1/jinli-1/A01"


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def summary(n: int, pad: int = 0) -> dict[str, object]:
    return {"schema": "meterwatch.realtime/2", "n": n, "pad": "x" * pad}


def alert(n: int) -> dict[str, object]:
    return {"schema": "meterwatch.alert/2", "n": n}


def seq(msg_id: str) -> int:
    return int(msg_id.rsplit(":", 1)[1])


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
    status = [ob.allocate_msg_id() for _ in range(40)]       # more than one reserved block
    drain(ob)                      # everything acked: the table is empty, the sequence is not reset
    ob.close()
    ob = Outbox(db, gateway="gw-1")
    later = [ob.put(f"{P}/alert", alert(9), kind="alert").msg_id, ob.allocate_msg_id()]
    data = [seq(m) for m in (*first, later[0])]
    assert data == sorted(data) and data[1:3] == [data[0] + 1, data[0] + 2]
    every = [seq(m) for m in (*first, *status, *later)]
    assert len(set(every)) == len(every), "an id was issued twice"
    assert all(m.startswith("gw-1:") for m in first + status + later)


def test_status_ids_need_no_write_and_survive_a_refusing_disk(tmp_path: Path) -> None:
    """Birth/death ids come from a block reserved durably beforehand; once it is used up without a
    write, the wall clock in ms (above every issued sequence number), and the sequence jumps past it."""
    clock = Clock()
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", clock=clock)
    stored = seq(ob.put(f"{P}/alert", alert(0), kind="alert").msg_id)
    ids = [seq(ob.allocate_msg_id()) for _ in range(100)]
    assert len(set(ids)) == 100 and min(ids) < stored < max(ids)
    assert max(ids) >= int(clock.t * 1000)                  # the fallback once the block ran out
    assert seq(ob.put(f"{P}/alert", alert(1), kind="alert").msg_id) > max(ids)


def test_stored_payload_carries_msg_id_and_caller_dict_is_untouched(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    payload = alert(1)
    msg = ob.put(f"{P}/alert", payload, kind="alert")
    assert "msg_id" not in payload
    assert json.loads(msg.payload)["msg_id"] == msg.msg_id


def test_alerts_go_before_bulk_summaries_and_topic_order_is_kept(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    ob.put(f"{P}/meters/interval", {"schema": "meterwatch.meters_interval/2", "n": 0}, kind="meters_interval")
    ob.put(f"{P}/summary/realtime", summary(1), kind="realtime")
    ob.put(f"{P}/alert", alert(2), kind="alert")
    ob.put(f"{P}/summary/realtime", summary(3), kind="realtime")
    ob.put(f"{P}/alert", alert(4), kind="alert")
    order = [(p["schema"], p["n"]) for p in drain(ob)]
    assert order == [("meterwatch.alert/2", 2), ("meterwatch.alert/2", 4),
                     ("meterwatch.realtime/2", 1), ("meterwatch.realtime/2", 3),
                     ("meterwatch.meters_interval/2", 0)]


def test_budget_bounds_the_files_on_disk_drops_oldest_summaries_first_and_keeps_alerts(tmp_path: Path) -> None:
    budget = 256 * 1024
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=budget, synchronous="NORMAL")
    peak = 0
    for i in range(1200):
        if i % 10 == 0:
            ob.put(f"{P}/alert", alert(i), kind="alert")
        else:
            ob.put(f"{P}/summary/realtime", summary(i, pad=600), kind="realtime")
        peak = max(peak, outbox_disk_bytes(ob.path))
    st = ob.stats()
    assert peak <= 1.1 * budget, f"{peak} bytes on disk for a budget of {budget}"
    assert st.disk_bytes <= st.budget_bytes * 1.1 and st.budget_bytes == budget
    assert st.dropped_summaries > 0 and st.dropped_alerts == 0
    left = drain(ob)
    alerts = [p["n"] for p in left if p["schema"] == "meterwatch.alert/2"]
    summaries = [p["n"] for p in left if p["schema"] == "meterwatch.realtime/2"]
    assert alerts == list(range(0, 1200, 10))
    produced = [i for i in range(1200) if i % 10]
    assert summaries == produced[-len(summaries):]          # the newest survive, in order
    assert st.dropped_summaries == len(produced) - len(summaries)


def test_a_budget_below_the_fixed_minimum_is_raised_to_it(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=10_000, synchronous="NORMAL")
    b = ob.budget
    assert b.raised and b.total == b.db_bytes + b.wal_bytes + b.slack_bytes + 32 * 1024 > 10_000
    for i in range(300):
        ob.put(f"{P}/summary/realtime", summary(i, pad=600), kind="realtime")
    assert ob.stats().dropped_summaries > 0
    assert outbox_disk_bytes(ob.path) <= 1.1 * b.total


def test_the_budget_is_held_on_disk_from_the_start(tmp_path: Path) -> None:
    """A ballast file holds what the SQLite files do not use yet, so other files filling the disk
    cannot take the outbox's space; it shrinks as they grow."""
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1 << 20, synchronous="NORMAL")
    ob.put(f"{P}/alert", alert(1), kind="alert")
    st = ob.stats()
    assert st.reserve_bytes > 0.7 * (1 << 20)
    assert 0.95 * (1 << 20) <= st.disk_bytes + st.reserve_bytes <= 1.05 * (1 << 20)
    for i in range(800):
        ob.put(f"{P}/summary/realtime", summary(i, pad=600), kind="realtime")
    later = ob.stats()
    assert later.reserve_bytes < st.reserve_bytes
    assert 0.95 * (1 << 20) <= later.disk_bytes + later.reserve_bytes <= 1.05 * (1 << 20)


def test_counters_survive_a_restart(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_000, synchronous="NORMAL")
    for i in range(200):
        ob.put(f"{P}/summary/realtime", summary(i, pad=600), kind="realtime")
    before = ob.stats()
    ob.close()
    after = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_000).stats()
    assert before.dropped_summaries > 0
    assert (after.depth, after.bytes, after.dropped_summaries) == \
        (before.depth, before.bytes, before.dropped_summaries)


def test_alerts_alone_over_the_bound_lose_the_oldest_and_say_so(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=2_000, synchronous="NORMAL")
    for i in range(400):
        ob.put(f"{P}/alert", {**alert(i), "pad": "y" * 400}, kind="alert")
    st = ob.stats()
    left = [p["n"] for p in drain(ob)]
    assert st.dropped_alerts == 400 - len(left) > 0
    assert left == list(range(400 - len(left), 400))


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
    body = {"schema": "meterwatch.alerts_active/2"}
    ob.put(active, {**body, "n": 1}, kind="alerts_active")
    inflight = ob.take(1)
    ob.put(active, {**body, "n": 2}, kind="alerts_active")
    ob.put(active, {**body, "n": 3}, kind="alerts_active")
    ob.put(f"{P}/alerts/other", {**body, "n": 4}, kind="alerts_active")
    assert ob.stats().superseded == 1            # n=2; n=1 is with the broker already
    ob.ack(m.seq for m in inflight)
    assert sorted(p["n"] for p in drain(ob)) == [3, 4]


def test_inflight_messages_are_never_dropped_by_the_bound(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1", max_bytes=1_500, synchronous="NORMAL")
    ob.put(f"{P}/summary/realtime", summary(0, pad=500), kind="realtime")
    sent = ob.take(1)
    for i in range(1, 300):
        ob.put(f"{P}/summary/realtime", summary(i, pad=500), kind="realtime")
    assert ob.stats().dropped_summaries > 0
    assert len(sent) == 1 and sent[0].seq in ob.inflight
    ob.ack([sent[0].seq])
    assert ob.stats().depth == len(drain(ob))


def test_take_skips_inflight_and_release_hands_back(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    for i in range(4):
        ob.put(f"{P}/alert", alert(i), kind="alert")
    a = ob.take(2)
    b = ob.take(5)
    assert [json.loads(m.payload)["n"] for m in a + b] == [0, 1, 2, 3]
    ob.release(a[1].seq)
    assert [m.seq for m in ob.take(5)] == [a[1].seq]


def test_reject_deletes_and_counts(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    m = ob.put(f"{P}/alert", alert(1), kind="alert")
    ob.take(1)
    ob.reject(m.seq)
    st = ob.stats()
    assert (st.depth, st.rejected, st.inflight) == (0, 1, 0)


def test_unknown_kind_and_non_finite_values_are_refused_without_a_trace(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    before = ob.put(f"{P}/alert", alert(0), kind="alert").msg_id
    drain(ob)
    with pytest.raises(ValueError, match="unknown payload kind 'bogus'"):
        ob.put(f"{P}/x", {}, kind="bogus")
    with pytest.raises(ValueError, match=r"realtime payload for '.*/summary/realtime' is not valid JSON"):
        ob.put(f"{P}/summary/realtime", {"v": float("nan")}, kind="realtime")
    with pytest.raises(ValueError, match="not valid JSON"):
        ob.put(f"{P}/summary/realtime", {"v": object()}, kind="realtime")
    st = ob.stats()
    assert (st.depth, st.bytes) == (0, 0)
    assert seq(ob.put(f"{P}/alert", alert(1), kind="alert").msg_id) == seq(before) + 1   # no id burnt


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Outbox(tmp_path / "o.db", gateway="gw", max_bytes=0)
    with pytest.raises(ValueError, match="synchronous"):
        Outbox(tmp_path / "o.db", gateway="gw", synchronous="OFF")


def test_put_many_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", gateway="gw-1")
    msgs = ob.put_many([Outgoing(f"{P}/alert", "alert", alert(1)),
                        Outgoing(f"{P}/alerts/active", "alerts_active", {"schema": "meterwatch.alerts_active/2"})])
    base = seq(msgs[0].msg_id)
    assert seq(msgs[1].msg_id) == base + 1
    with pytest.raises(ValueError):
        ob.put_many([Outgoing(f"{P}/alert", "alert", alert(2)),
                     Outgoing(f"{P}/summary/realtime", "realtime", {"v": float("inf")})])
    assert ob.stats().depth == 2
    assert seq(ob.put(f"{P}/alert", alert(3), kind="alert").msg_id) == base + 2   # no id burnt


def test_a_new_outbox_starts_its_ids_at_the_clock_so_a_lost_state_dir_reuses_none(tmp_path: Path) -> None:
    clock = Clock(1_800_000_000.0)
    old = Outbox(tmp_path / "a" / "o.db", gateway="gw-1", clock=clock)
    old_ids = [seq(old.put(f"{P}/alert", alert(i), kind="alert").msg_id) for i in range(100)]
    assert 1_800_000_000_000 <= old_ids[0] < 1_800_000_000_100     # after the first block of status ids
    clock.t += 1                                       # state directory wiped, gateway restarted
    new = Outbox(tmp_path / "b" / "o.db", gateway="gw-1", clock=clock)
    assert seq(new.put(f"{P}/alert", alert(0), kind="alert").msg_id) > max(old_ids)


def test_a_corrupt_outbox_is_set_aside_and_a_new_one_started(tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "o.db"
    db.write_bytes(b"this is not a database, flash wear ate it" * 100)
    ob = Outbox(db, gateway="gw-1", clock=Clock())
    assert ob.recovered_from is not None and ob.recovered_from.read_bytes().startswith(b"this is not")
    assert "unreadable" in caplog.text and str(ob.recovered_from) in caplog.text
    assert ob.put(f"{P}/alert", alert(1), kind="alert").msg_id.startswith("gw-1:")
    assert ob.stats().depth == 1


def test_stream_topics_get_consecutive_topic_seq_that_survives_reopen_and_rollback(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = Outbox(db, gateway="gw-1")
    got = [ob.put(f"{P}/alert", alert(i), kind="alert") for i in range(3)]
    ob.put(f"{P}/summary/realtime", summary(1), kind="realtime")
    with pytest.raises(ValueError):    # rolled back: no topic_seq burnt either
        ob.put_many([Outgoing(f"{P}/alert", "alert", alert(4)), Outgoing(f"{P}/alert", "alert", {"v": float("nan")})])
    active = ob.put(f"{P}/alerts/active", {"schema": "meterwatch.alerts_active/2"}, kind="alerts_active")
    ob.close()
    ob = Outbox(db, gateway="gw-1")
    got.append(ob.put(f"{P}/alert", alert(5), kind="alert"))
    payloads = [json.loads(m.payload) for m in got]
    assert [p["topic_seq"] for p in payloads] == [1, 2, 3, 4]
    assert [p["msg_id"] for p in payloads] == [m.msg_id for m in got]
    assert json.loads(ob.put(f"{P}/summary/realtime", summary(2), kind="realtime").payload)["topic_seq"] == 2
    assert "topic_seq" not in json.loads(active.payload)      # retained state, not a stream
