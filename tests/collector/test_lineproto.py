from __future__ import annotations

import pytest

from collector.lineproto import Point, encode, encode_many


def test_line_protocol_escapes_tags_fields_and_strings():
    p = Point("meter interval", {"area": "A 01,x=y", "grid": "g", "empty": ""},
              {"e kwh": 1, "ok": True, "msg": 'say "hi"\\\nnext'}, 1_772_323_200_000_000_000)
    # a newline inside a string field is sent as is (InfluxDB stores it as is; "\\n" would be stored
    # as backslash and n): only backslash and double quote are escaped
    assert encode(p) == ('meter\\ interval,area=A\\ 01\\,x\\=y,grid=g e\\ kwh=1.0,ok=true,'
                         'msg="say \\"hi\\"\\\\\nnext" 1772323200000000000')


def test_numbers_are_always_floats_so_field_types_never_conflict():
    assert encode(Point("m", {}, {"a": 5, "b": 5.0, "c": 1e20}, 1)) == "m a=5.0,b=5.0,c=1e+20 1"


def test_non_finite_numbers_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        encode(Point("m", {}, {"a": float("nan")}, 1))


def test_encode_many_joins_lines_with_trailing_newline():
    pts = [Point("m", {}, {"a": 1.0}, 1), Point("m", {}, {"a": 2.0}, 2)]
    assert encode_many(pts) == b"m a=1.0 1\nm a=2.0 2\n"
    assert encode_many([]) == b""
