from __future__ import annotations

import json

import pytest

from collector.decode import Rejected, decode
from collector.testing import AreaSpec, area_stream

P = "meterwatch/v1"
MSGS = list(area_stream(AreaSpec(meters=3, intervals=2), P))
RT = next(m for m in MSGS if m.payload["schema"] == "meterwatch.realtime/1")
ST = next(m for m in MSGS if m.payload["schema"] == "meterwatch.status/1")


def _reason(topic: str, data: bytes, max_bytes: int = 100_000) -> str:
    with pytest.raises(Rejected) as e:
        decode(topic, data, prefix=P, max_bytes=max_bytes)
    assert e.value.topic == topic
    return e.value.reason


def test_every_generated_message_decodes_to_its_kind():
    for m in MSGS:
        kind, points = decode(m.topic, m.encode(), prefix=P, max_bytes=100_000)
        assert m.payload["schema"] == f"meterwatch.{kind}/1" and points


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b[:-1], "malformed_json"),
    (lambda b: b"\xff\xfe", "malformed_json"),
    (lambda b: b'"just a string"', "malformed_json"),
    (lambda b: b.replace(b'"f_hz":50.01', b'"f_hz":Infinity'), "malformed_json"),
    (lambda b: json.dumps({**json.loads(b), "schema": "other/1"}).encode(), "unknown_schema"),
    (lambda b: json.dumps({**json.loads(b), "i_a": "12"}).encode(), "schema_invalid"),
    (lambda b: json.dumps({**json.loads(b), "ts": "2026-03-01 00:00:00"}).encode(), "schema_invalid"),
    (lambda b: json.dumps({**json.loads(b), "ts": "2026-13-01T00:00:00Z"}).encode(), "unmappable"),
])
def test_bad_payloads_are_rejected_with_a_reason(mutate, reason):
    assert _reason(RT.topic, mutate(RT.encode())) == reason


def test_oversized_payload_is_rejected_before_parsing():
    assert _reason(RT.topic, b"x" * 101, max_bytes=100) == "oversized"


@pytest.mark.parametrize("topic", [
    "meterwatch/v1/jinli-1/A02/summary/realtime",      # other area than the payload
    "meterwatch/v1/jinli-1/A01/summary/interval",      # other kind than the payload
    "meterwatch/v1/jinli-1/A01/summary/nonsense",      # unknown suffix
    "other/v1/jinli-1/A01/summary/realtime",           # not under the prefix
])
def test_topic_must_agree_with_the_payload(topic):
    assert _reason(topic, RT.encode()) == "topic_mismatch"


def test_gateway_topics_must_name_the_payload_gateway():
    assert _reason(ST.topic.replace("gw-0001", "gw-9"), ST.encode()) == "topic_mismatch"
    assert decode(ST.topic, ST.encode(), prefix=P, max_bytes=10_000)[0] == "status"


def test_schema_errors_name_the_offending_field():
    with pytest.raises(Rejected, match="i_a"):
        decode(RT.topic, json.dumps({**RT.payload, "i_a": "12"}).encode(), prefix=P, max_bytes=10_000)


def test_decode_lines_writes_the_same_bytes_as_the_documented_points():
    from collector.decode import decode_lines
    from collector.lineproto import encode_many

    msgs = MSGS + list(area_stream(AreaSpec(area="A 2,x", meters=50, intervals=3, seed=9), P))
    mi = next(m for m in msgs if m.payload["schema"] == "meterwatch.meters_interval/1")
    no_flags = {k: v for k, v in mi.payload.items() if k not in ("estimated", "u_mean")}
    all_null = {**mi.payload, "e_kwh": [None] * len(mi.payload["meters"])}
    extra = [(mi.topic, json.dumps(no_flags).encode()), (mi.topic, json.dumps(all_null).encode())]
    for topic, data in [(m.topic, m.encode()) for m in msgs] + extra:
        kind, points = decode(topic, data, prefix=P, max_bytes=10**7)
        kind2, n, body = decode_lines(topic, data, prefix=P, max_bytes=10**7)
        assert (kind2, n, body) == (kind, len(points), encode_many(points))


def test_numbers_beyond_float_range_are_unmappable():
    from collector.decode import decode_lines

    mi = next(m for m in MSGS if m.payload["schema"] == "meterwatch.meters_interval/1")
    for m in (RT, mi):
        key = b'"f_hz":50.01' if m is RT else b'"e_kwh":['
        data = m.encode().replace(key, key.replace(b"50.01", b"1e400") if m is RT else key + b"1e400,")
        if m is mi:  # keep the arrays aligned: drop the old first value
            payload = json.loads(m.encode())
            payload["e_kwh"][0] = 1e400
            data = json.dumps(payload).encode().replace(b"Infinity", b"1e400")
        assert b"1e400" in data
        with pytest.raises(Rejected) as e:
            decode_lines(m.topic, data, prefix=P, max_bytes=10**7)
        assert e.value.reason == "unmappable"
