from __future__ import annotations

import pytest

from collector.testing import AreaSpec, area_stream, dump_jsonl, load_jsonl


def test_stream_round_trips_through_replay_style_json_lines(tmp_path):
    msgs = list(area_stream(AreaSpec(meters=3, intervals=2)))
    dump_jsonl(msgs, tmp_path / "events.jsonl")
    assert load_jsonl(tmp_path / "events.jsonl") == msgs


def test_json_lines_without_topic_and_payload_name_the_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"topic": "t", "payload": {}}\n{"topic": "t"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        load_jsonl(f)


def test_msg_ids_are_unique_and_stream_is_deterministic():
    a = list(area_stream(AreaSpec(meters=3, intervals=3, seed=7)))
    b = list(area_stream(AreaSpec(meters=3, intervals=3, seed=7)))
    assert a == b
    ids = [m.payload["msg_id"] for m in a]
    assert len(set(ids)) == len(ids)
