from __future__ import annotations

import json

import pytest

from collector.decode import REASONS, Rejected, Rules, accept, decode, decode_lines
from collector.lineproto import encode_many
from collector.testing import AreaSpec, area_stream

P = "meterwatch/v2"
MSGS = list(area_stream(AreaSpec(meters=3, intervals=2), P))
RT = next(m for m in MSGS if m.payload["schema"] == "meterwatch.realtime/2")
ST = next(m for m in MSGS if m.payload["schema"] == "meterwatch.status/2")


def _reason(topic: str, data: bytes, max_bytes: int = 100_000) -> str:
    with pytest.raises(Rejected) as e:
        decode(topic, data, prefix=P, max_bytes=max_bytes)
    assert e.value.topic == topic and e.value.reason in REASONS
    return e.value.reason


def _with(payload: dict, **kw) -> bytes:
    return json.dumps({**payload, **kw}).encode()


def test_every_generated_message_decodes_to_its_kind():
    for m in MSGS:
        kind, points = decode(m.topic, m.encode(), prefix=P, max_bytes=100_000)
        assert m.payload["schema"] == f"meterwatch.{kind}/2" and points


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda b: b[:-1], "malformed_json"),
    (lambda b: b"\xff\xfe", "malformed_json"),
    (lambda b: b'"just a string"', "malformed_json"),
    (lambda b: b.replace(b'"f_hz":50.01', b'"f_hz":Infinity'), "malformed_json"),
    (lambda b: _with(json.loads(b), schema="other/1"), "unknown_schema"),
    (lambda b: _with(json.loads(b), schema="meterwatch.realtime/1"), "unknown_schema"),    # old version
    (lambda b: _with(json.loads(b), schema="meterwatch.realtime/3"), "unknown_schema"),    # newer version
    (lambda b: _with(json.loads(b), i_a="12"), "schema_invalid"),
    (lambda b: _with(json.loads(b), ts="2026-03-01 00:00:00"), "schema_invalid"),
    (lambda b: _with(json.loads(b), ts="2026-13-01T00:00:00Z"), "unmappable"),
    (lambda b: b.replace(b'"f_hz":50.01', b'"f_hz":1' + b"0" * 400), "unmappable"),     # an integer of 10^400
])
def test_bad_payloads_are_rejected_with_their_exact_reason(mutate, reason):
    assert _reason(RT.topic, mutate(RT.encode())) == reason


def test_oversized_payload_is_rejected_before_parsing():
    assert _reason(RT.topic, b"x" * 101, max_bytes=100) == "oversized"


@pytest.mark.parametrize(("topic", "reason"), [
    ("meterwatch/v2/gw-0001/jinli-1/A02/summary/realtime", "spoofed"),     # other area than the payload
    ("meterwatch/v2/gw-0001/jinli-2/A01/summary/realtime", "spoofed"),     # other grid
    ("meterwatch/v2/victim-gw/jinli-1/A01/summary/realtime", "spoofed"),   # published under another gateway
    ("meterwatch/v2/gw-0001/jinli-1/A01/summary/interval", "topic_mismatch"),
    ("meterwatch/v2/gw-0001/jinli-1/A01/summary/nonsense", "topic_unknown"),
    ("meterwatch/v1/jinli-1/A01/summary/realtime", "topic_unknown"),        # not under the prefix
    ("meterwatch/v2/jinli-1/A01/summary/realtime", "topic_unknown"),        # the version-1 layout
])
def test_topic_must_agree_with_the_payload(topic, reason):
    assert _reason(topic, RT.encode()) == reason


def test_a_payload_claiming_another_gateway_is_spoofed_even_on_its_own_subtree():
    victim = RT.topic.replace("gw-0001", "victim-gw")
    assert _reason(victim, _with(RT.payload, gateway="victim-gw")) == "spoofed"   # msg_id still says gw-0001
    assert _reason(RT.topic, _with(RT.payload, gateway="victim-gw")) == "spoofed"
    assert _reason(ST.topic.replace("gw-0001", "gw-9"), ST.encode()) == "spoofed"
    assert decode(ST.topic, ST.encode(), prefix=P, max_bytes=10_000)[0] == "status"


def test_extra_properties_are_dropped_and_counted_and_a_bloated_payload_is_refused():
    a = accept(RT.topic, _with(RT.payload, x1=1.0, x2="y", load_pct=55.5), prefix=P, max_bytes=10**6)
    assert a.extras == 2 and "x1" not in a.payload and a.payload["load_pct"] == 55.5
    _kind, points = decode(RT.topic, _with(RT.payload, x1=1.0), prefix=P, max_bytes=10**6)
    assert "x1" not in points[0].fields
    bloated = _with(RT.payload, **{f"k{i}": float(i) for i in range(5000)})
    assert _reason(RT.topic, bloated, max_bytes=10**6) == "bloated"


def test_schema_errors_name_the_offending_field():
    with pytest.raises(Rejected, match="i_a"):
        decode(RT.topic, _with(RT.payload, i_a="12"), prefix=P, max_bytes=10_000)


def test_decode_lines_writes_the_same_bytes_as_the_documented_points():
    msgs = MSGS + list(area_stream(AreaSpec(area="A-2.x", meters=50, intervals=3, seed=9), P))
    mi = next(m for m in msgs if m.payload["schema"] == "meterwatch.meters_interval/2")
    no_flags = {k: v for k, v in mi.payload.items() if k not in ("estimated", "u_mean")}
    all_null = {**mi.payload, "e_kwh": [None] * len(mi.payload["meters"])}
    extra = [(mi.topic, json.dumps(no_flags).encode()), (mi.topic, json.dumps(all_null).encode())]
    for topic, data in [(m.topic, m.encode()) for m in msgs] + extra:
        kind, points = decode(topic, data, prefix=P, max_bytes=10**7)
        d = decode_lines(topic, data, Rules(prefix=P, max_bytes=10**7))
        assert (d.accepted.kind.name, d.points, d.body) == (kind, len(points), encode_many(points))
        vm = decode_lines(topic, data, Rules(prefix=P, max_bytes=10**7, server="victoriametrics"))
        assert b'"' not in vm.body, "no string field goes to VictoriaMetrics"
        off = decode_lines(topic, data, Rules(prefix=P, max_bytes=10**7, per_meter=False))
        assert (off.points, off.body) == ((0, b"") if kind == "meters_interval" else (d.points, d.body))


def test_numbers_beyond_float_range_are_unmappable():
    mi = next(m for m in MSGS if m.payload["schema"] == "meterwatch.meters_interval/2")
    for m in (RT, mi):
        payload = json.loads(m.encode())
        if m is RT:
            payload["f_hz"] = 1e400
        else:
            payload["e_kwh"][0] = 1e400
        data = json.dumps(payload).encode().replace(b"Infinity", b"1e400")
        assert b"1e400" in data
        with pytest.raises(Rejected) as e:
            decode_lines(m.topic, data, Rules(prefix=P, max_bytes=10**7))
        assert e.value.reason == "unmappable"


def test_a_health_message_naming_thousands_of_buses_is_refused_not_written():
    """Each bus name is a tag: 2000 invented buses would be 2000 new series from one message."""
    health = next(m for m in MSGS if m.payload["schema"] == "meterwatch.health/2")
    bus = health.payload["buses"][0]
    flood = _with(health.payload, buses=[{**bus, "name": f"rs485-{i}"} for i in range(2000)])
    with pytest.raises(Rejected, match="buses"):
        decode(health.topic, flood, prefix=P, max_bytes=10**7)
