"""Wire timestamps: written in the schemas' RFC 3339 UTC pattern, read back exactly."""

from __future__ import annotations

import re

import pytest

from wire.timefmt import PATTERN, parse_ns, rfc3339


def test_whole_seconds_have_no_fraction_and_others_have_milliseconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_795_441_958.5) == "2026-11-23T13:52:38.500Z"
    assert rfc3339(1_795_441_958.0004) == "2026-11-23T13:52:38.000Z"
    for ts in (0, 1.5, 1_795_441_958.123456):
        assert re.match(PATTERN, rfc3339(ts))
    with pytest.raises(ValueError, match="not a finite"):
        rfc3339(float("nan"))


@pytest.mark.parametrize(("text", "ns"), [
    ("1970-01-01T00:00:00Z", 0),
    ("2026-03-01T00:15:00.250Z", 1772324100_250_000_000),
    ("2026-03-01T00:15:00.123456789Z", 1772324100_123_456_789),
])
def test_parse_is_exact_to_the_nanosecond(text: str, ns: int) -> None:
    assert parse_ns(text) == ns
    assert parse_ns(rfc3339(ns / 1e9)) // 1_000_000 == ns // 1_000_000


@pytest.mark.parametrize("text", ["2026-03-01T00:15:00", "2026-13-01T00:00:00Z", "2026-03-01T00:15:00.x5Z",
                                  "2026-03-01T00:00:00+08:00", "2026-02-30T00:00:00Z", "yesterday"])
def test_bad_timestamps_name_themselves(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_ns(text)
