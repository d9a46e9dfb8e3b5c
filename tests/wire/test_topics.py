"""The topic layout: every kind's topic builds and parses back, and anything else is refused."""

from __future__ import annotations

import pytest

from wire import KINDS, Topic, TopicError
from wire.topics import area_topic, build, filters, gateway_topic, parse

P = "meterwatch/v2"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_round_trips_and_starts_with_the_gateway(kind: str) -> None:
    area = KINDS[kind].scope == "area"
    t = Topic(gateway="gw-7", kind=kind, grid="jinli-1" if area else "", area="A01" if area else "")
    text = build(P, t)
    assert text.startswith(f"{P}/gw-7/") and parse(P, text) == t


def test_the_layout_is_the_documented_one() -> None:
    assert area_topic(P, "gw-7", "jinli-1", "A01", "alerts_active") == "meterwatch/v2/gw-7/jinli-1/A01/alerts/active"
    assert gateway_topic(P, "gw-7", "status") == "meterwatch/v2/gw-7/status"
    # ids that look like suffixes still parse by level count, not by name
    assert parse(P, "meterwatch/v2/status/health/alert/summary/daily") == Topic("status", "daily", "health", "alert")
    with pytest.raises(ValueError, match="gateway kind"):
        area_topic(P, "gw", "g", "a", "health")
    with pytest.raises(ValueError, match="area kind"):
        gateway_topic(P, "gw", "alert")


@pytest.mark.parametrize(("topic", "match"), [
    ("other/v2/gw/status", "not under"),
    ("meterwatch/v2/gw/jinli-1/A01/alert/extra", "names no area payload kind"),
    ("meterwatch/v2/gw/metrics", "not a gateway topic"),
    ("meterwatch/v2/gw/jinli-1/alert", "neither"),
    ("meterwatch/v2/jinli-1/A01/alert", "neither"),                   # the version-1 layout
    ("meterwatch/v2/gw//A01/alert", "empty level"),
    ("meterwatch/v2/gateway/gw/status", "neither"),                   # the version-1 gateway layout
])
def test_topics_outside_the_layout_are_refused(topic: str, match: str) -> None:
    with pytest.raises(TopicError, match=match):
        parse(P, topic)


def test_filters_narrow_by_kind_and_place() -> None:
    assert filters(P) == [f"{P}/#"]
    assert filters(P, ["alert", "alerts_active"], grid="jinli-1") == [
        f"{P}/+/jinli-1/+/alert", f"{P}/+/jinli-1/+/alerts/active"]
    assert filters(P, ["status", "meters_interval"], gateway="gw-7") == [f"{P}/gw-7/status",
                                                                          f"{P}/gw-7/+/+/meters/interval"]
