from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import CollectorConfig, MqttConfig, load, parse
from edge.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "collector.toml"


def test_sample_config_loads_through_the_real_loader():
    cfg = load(EXAMPLE)
    assert cfg.mqtt.shared_group == "" and cfg.gap_tracking and not cfg.per_meter
    assert cfg.mqtt.url == "mqtts://broker.example:8883"
    assert cfg.influx.api == "v2" and cfg.batch.max_points == 5000
    assert cfg.source == str(EXAMPLE)


def test_config_is_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        MqttConfig("mqtt://x")  # type: ignore[misc]
    cfg = CollectorConfig()
    with pytest.raises(AttributeError):
        cfg.log_level = "debug"  # type: ignore[misc]


def test_unknown_key_is_an_error_naming_key_and_line():
    text = 'log_level = "info"\n[mqtt]\nurl = "mqtt://h:1883"\nclinet_id = "x"\n[batch]\nmax_points = 10\n'
    with pytest.raises(ConfigError) as e:
        parse(text, "c.toml")
    (issue,) = e.value.issues
    assert (issue.file, issue.line, issue.key) == ("c.toml", 4, "mqtt.clinet_id")
    assert "unknown key" in str(e.value) and "c.toml:4: mqtt.clinet_id" in str(e.value)


def test_unknown_table_is_an_error_with_its_line():
    with pytest.raises(ConfigError) as e:
        parse('[mqtt]\nurl = "mqtt://h"\n\n[influxdb]\nurl = "http://x"\n', "c.toml")
    assert [(i.line, i.key) for i in e.value.issues] == [(4, "influxdb")]


def test_every_bad_value_is_reported_at_once_with_its_line():
    text = ('[mqtt]\nurl = "http://h"\nreceive_maximum = 70000\nshared_group = "a/b"\n'
            'dead_letter_topic = "meterwatch/v2/dead"\nsession_expiry_s = "1d"\n'
            '[influx]\napi = "v3"\n[batch]\nmax_points = 0\nqueued_batches = 0\n')
    with pytest.raises(ConfigError) as e:
        parse(text, "c.toml")
    got = {(i.key, i.line) for i in e.value.issues}
    assert got == {("mqtt.url", 2), ("mqtt.receive_maximum", 3), ("mqtt.shared_group", 4),
                   ("mqtt.dead_letter_topic", 5), ("mqtt.session_expiry_s", 6), ("influx.api", 8),
                   ("batch.max_points", 10), ("batch.queued_batches", 11)}
    assert "consume its own output" in str(e.value)


def test_topics_the_broker_or_the_gateways_cannot_use_are_refused_as_on_the_edge():
    """A ``$`` topic is the broker's: gateways cannot publish under a ``$SYS/...`` prefix (the collector
    would wait for nothing) and a collector publishing its health there is refused by the broker."""
    long = "a" * 300
    text = (f'[mqtt]\nurl = "mqtt://h"\ntopic_prefix = "$SYS/mw"\nhealth_topic = "$SYS/mw-health"\n'
            f'alert_topic = "mw alerts"\ndead_letter_topic = "{long}"\n')
    with pytest.raises(ConfigError) as e:
        parse(text, "c.toml")
    got = {i.key: (i.line, i.message) for i in e.value.issues}
    assert sorted(got) == ["mqtt.alert_topic", "mqtt.dead_letter_topic", "mqtt.health_topic", "mqtt.topic_prefix"]
    assert got["mqtt.topic_prefix"][0] == 3 and "belong to the broker" in got["mqtt.topic_prefix"][1]
    assert "belong to the broker" in got["mqtt.health_topic"][1]
    assert "white space" in got["mqtt.alert_topic"][1] and "300 bytes" in got["mqtt.dead_letter_topic"][1]


def test_integers_are_accepted_for_float_settings():
    cfg = parse("[batch]\nmax_delay_s = 2\n")
    assert cfg.batch.max_delay_s == 2.0 and isinstance(cfg.batch.max_delay_s, float)


def test_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")


def test_toml_syntax_error_names_the_file():
    with pytest.raises(ConfigError, match=r"c\.toml"):
        parse("[mqtt\n", "c.toml")


def test_unknown_subtable_is_reported_at_its_header_line():
    with pytest.raises(ConfigError) as e:
        parse('[mqtt]\nurl = "mqtt://h"\n[mqtt.tls]\nverify = true\n', "c.toml")
    assert [(i.line, i.key) for i in e.value.issues] == [(3, "mqtt.tls")]


def test_docs_show_the_sample_config_verbatim():
    doc = (EXAMPLE.parents[2] / "docs" / "collector.md").read_text()
    assert "```toml\n" + EXAMPLE.read_text() + "```" in doc


def test_gap_tracking_and_per_meter_follow_the_deployment_unless_set():
    shared = parse('[mqtt]\nshared_group = "g"\n[influx]\nserver = "victoriametrics"\n')
    assert not shared.gap_tracking and shared.per_meter
    forced = parse('[mqtt]\nshared_group = "g"\ngap_tracking = "on"\n[influx]\nper_meter = "off"\n'
                   'server = "victoriametrics"\n')
    assert forced.gap_tracking and not forced.per_meter
    with pytest.raises(ConfigError) as e:
        parse('[mqtt]\ngap_tracking = "maybe"\n[influx]\nserver = "mysql"\nper_meter = "yes"\n', "c.toml")
    assert {(i.key, i.line) for i in e.value.issues} == {("mqtt.gap_tracking", 2), ("influx.server", 4),
                                                        ("influx.per_meter", 5)}
