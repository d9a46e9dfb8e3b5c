"""``[alertmanager]`` of collector.toml: optional, checked with file, line and key before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.alertmanager_config import load_area_names
from collector.config import load, parse
from edge.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "collector.toml"


def test_absent_section_means_no_alertmanager_and_the_sample_has_one():
    assert parse('[mqtt]\nurl = "mqtt://h:1883"\n').alertmanager is None
    am = load(EXAMPLE).alertmanager
    assert am is not None and am.url == "https://alertmanager.example:9093" and am.min_firing_s == 330.0
    names = load_area_names(str(EXAMPLE.parent / am.area_names_csv))
    assert names[("jinli-1", "A01")] == "锦里1号台区"


def test_every_bad_alertmanager_value_is_reported_with_its_line():
    text = ('[alertmanager]\nurl = "alertmanager:9093"\npassword_file = "pw"\nresend_interval_s = 200\n'
            'expire_after_s = 300\nmin_firing_s = 400\ntimezone = "Mars/Olympus"\n'
            'gateway_offline_severity = "urgent"\ngrafana_url = "grafana"\nretry_max_s = 0.1\n')
    with pytest.raises(ConfigError) as e:
        parse(text, "c.toml")
    got = {(i.key, i.line) for i in e.value.issues}
    assert got == {("alertmanager.url", 2), ("alertmanager.password_file", 3), ("alertmanager.expire_after_s", 5),
                   ("alertmanager.min_firing_s", 6), ("alertmanager.timezone", 7),
                   ("alertmanager.gateway_offline_severity", 8), ("alertmanager.grafana_url", 9),
                   ("alertmanager.retry_max_s", 10)}
    assert "at least twice resend_interval_s" in str(e.value)


def test_area_names_csv_is_read_next_to_the_config_and_a_bad_row_names_file_and_line(tmp_path):
    conf = tmp_path / "collector.toml"
    conf.write_text('[alertmanager]\nurl = "http://127.0.0.1:9093"\narea_names_csv = "names.csv"\n')
    (tmp_path / "names.csv").write_text("grid,area,name\ng1,A1,一号台区\ng1,A2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(conf)
    assert f"{tmp_path / 'names.csv'}:3: need three non-empty fields" in str(e.value)
    (tmp_path / "names.csv").write_text("grid,area,name\ng1,A1,一号台区\ng1,A1,again\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"names.csv:3: area g1/A1 is named twice"):
        load(conf)
    (tmp_path / "names.csv").unlink()
    with pytest.raises(ConfigError, match=r"alertmanager.area_names_csv: cannot read .*names.csv"):
        load(conf)
