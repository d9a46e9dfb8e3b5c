"""Wire timestamps match the schemas' RFC 3339 UTC pattern."""

from __future__ import annotations

import re

from edge.publish.timefmt import rfc3339

PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_whole_seconds_have_no_fraction_and_others_have_milliseconds() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1_795_441_958.5) == "2026-11-23T13:52:38.500Z"
    assert rfc3339(1_795_441_958.0004) == "2026-11-23T13:52:38.000Z"
    for ts in (0, 1.5, 1_795_441_958.123456):
        assert PATTERN.match(rfc3339(ts))
