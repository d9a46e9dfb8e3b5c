"""Outgoing messages and the ids the outbox owns."""

from __future__ import annotations

import pytest

from wire import Outgoing, format_msg_id, parse_msg_id, stamp


def test_retention_and_streams_follow_the_kind() -> None:
    assert Outgoing("t", "alerts_active", {}).retain and not Outgoing("t", "alerts_active", {}).stream
    assert Outgoing("t", "status", {}).retain
    assert not Outgoing("t", "alert", {}).retain and Outgoing("t", "alert", {}).stream
    with pytest.raises(ValueError, match="unknown payload kind 'bogus' for topic 't'"):
        Outgoing("t", "bogus", {})


def test_msg_ids_round_trip_and_bad_ones_are_refused() -> None:
    assert parse_msg_id(format_msg_id("gw-0042", 1732350000123)) == ("gw-0042", 1732350000123)
    for bad in ("gw-0042", "gw-0042:", ":12", "gw:12a", "gw-0001-00000002"):
        with pytest.raises(ValueError, match="not <gateway>:<sequence>"):
            parse_msg_id(bad)


def test_stamp_copies_and_sets_topic_seq_only_for_streams() -> None:
    p = {"schema": "meterwatch.alert/2"}
    assert stamp(p, msg_id="gw:1", topic_seq=4) == {"schema": "meterwatch.alert/2", "msg_id": "gw:1", "topic_seq": 4}
    assert stamp(p, msg_id="gw:2", topic_seq=None) == {"schema": "meterwatch.alert/2", "msg_id": "gw:2"}
    assert p == {"schema": "meterwatch.alert/2"}
