"""Values that cannot work: MQTT topic prefixes the broker or paho refuse, time zones and their offsets."""

from __future__ import annotations

import pytest

from edge.config import load_config_text
from edge.config.checks import topic_prefix_problem, zone_offsets
from edge.errors import ConfigError

BASE = """[gateway]
id = "gw"
grid = "g"
{gateway}
[mqtt]
url = "mqtt://127.0.0.1"
[[bus]]
name = "b1"
port = "/dev/ttyS1"
protocol = "dlt645"
[[area]]
id = "A01"
transformer = {{ rated_kva = 400 }}
master = {{ bus = "b1", address = "1" }}
[[area.meter]]
id = "m1"
address = "2"
bus = "b1"
phase = "A"
{detection}
"""


@pytest.mark.parametrize(("prefix", "why"), [
    ("meterwatch/v1", None),
    ("电网/台区/v1", None),
    ("$SYS/mw", "starts with '$'"),
    ("$share/g/mw", "starts with '$'"),
    ("mw/+/x", "wildcard"),
    ("mw/#", "wildcard"),
    ("mw\x00x", "NUL character at position 2"),
    ("mw\x1bx", "control character U+001B"),
    ("mw\x85x", "control character U+0085"),
    ("mw x", "white space"),
    ("/mw", "empty level"),
    ("mw/", "empty level"),
    ("mw//v1", "empty level"),
    ("", "must not be empty"),
    ("m" * 257, "is 257 bytes long; at most 256"),
    ("台" * 86, "is 258 bytes long"),           # the limit is on UTF-8 bytes, as MQTT counts them
    ("/".join("a" * 17), "has 17 levels; at most 16"),
])
def test_topic_prefix_rules(prefix: str, why: str | None):
    got = topic_prefix_problem(prefix)
    assert (got is None) if why is None else (got is not None and why in got), got


def test_utc_offset_follows_the_time_zone_when_not_written():
    cfg = load_config_text(BASE.format(gateway='timezone = "Asia/Urumqi"', detection=""), "x.toml")
    assert cfg.areas[0].detection.utc_offset_s == 6 * 3600
    cfg = load_config_text(BASE.format(gateway="", detection=""), "x.toml")
    assert cfg.areas[0].detection.utc_offset_s == 8 * 3600          # the default zone: Asia/Shanghai


def test_a_daylight_saving_zone_accepts_either_of_its_offsets_and_nothing_else():
    assert zone_offsets("Europe/Berlin", start=1_767_225_600) == [3600, 7200]     # from 2026-01-01
    for ok in (3600, 7200):
        load_config_text(BASE.format(gateway='timezone = "Europe/Berlin"',
                                     detection=f"[area.detection]\nutc_offset_s = {ok}\n"), "x.toml")
    with pytest.raises(ConfigError, match=r"area\[0\]\.detection\.utc_offset_s: area \"A01\": 0 \(UTC\+00:00\) "
                                          r"disagrees with gateway.timezone 'Europe/Berlin' \(UTC\+01:00 / UTC\+02:00\)"):
        load_config_text(BASE.format(gateway='timezone = "Europe/Berlin"',
                                     detection="[area.detection]\nutc_offset_s = 0\n"), "x.toml")
