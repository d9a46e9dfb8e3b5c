"""Configuration loading: the shipped example loads; every malformed case is rejected precisely.

Each folder under ``cases/`` is one configuration that cannot work, named after the problem it pins, with
an ``expected.toml`` holding the message fragment, the key path, the file and (where there is one) the
line — or several such ``[[issue]]`` entries that must all be reported in one run — and optionally
``absent``, a text no issue may contain (a secret). Each case goes through ``edge.preflight``, the
checks ``check-config`` and ``run`` share.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from detect.params import Params
from edge.area import build_area
from edge.config import load_config, load_config_text
from edge.errors import ConfigError
from edge.preflight import preflight

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[3]
CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


def _case_text(name: str) -> str:
    return (Path(__file__).parent / "cases" / name / "edge.toml").read_text()


def test_there_are_at_least_30_malformed_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_config_is_rejected_naming_key_and_line(case: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    expected = tomllib.loads((case / "expected.toml").read_text())
    with pytest.raises(ConfigError) as info:
        preflight(case / "edge.toml")
    issues = info.value.issues
    for want in expected.get("issue", [expected]):
        matching = [i for i in issues if want["fragment"] in i.message]
        assert matching, f"no issue contains {want['fragment']!r}: {[str(i) for i in issues]}"
        issue = matching[0]
        assert issue.key == want["key"], str(issue)
        assert Path(issue.file).name == want["file"], str(issue)
        if "line" in want:
            assert issue.line == want["line"], str(issue)
            assert f":{want['line']}:" in str(issue)
    if "absent" in expected:
        assert not [str(i) for i in issues if expected["absent"] in str(i)]


def test_shipped_example_loads_through_the_real_loader():
    cfg = load_config(ROOT / "deploy/examples/edge.toml")
    assert cfg.gateway.id == "gw-0042"
    assert [b.name for b in cfg.buses] == ["rs485-1", "rs485-2", "ttu"]
    (area,) = cfg.areas
    assert len(area.meters) == 40
    assert {m.bus for m in area.meters} == {"rs485-1", "rs485-2"}
    assert area.master.profile == "dtsu666" and area.master.ct_ratio == 200
    assert area.detection.load.overload_pct == 95.0
    assert cfg.plans["master_realtime"].interval_s == 5
    text = (ROOT / "deploy/examples/edge.toml").read_text()
    assert "\npassword =" not in text and cfg.mqtt.password_file  # secrets come from files only


def test_every_error_is_reported_not_only_the_first(tmp_path: Path):
    text = _case_text("baud_not_a_standard_rate").replace("baud = 9601", "baud = 1").replace('phase = "A"', 'phase = "Z"')
    with pytest.raises(ConfigError) as info:
        load_config_text(text, str(tmp_path / "x.toml"))
    keys = {i.key for i in info.value.issues}
    assert {"bus[0].baud", "area[0].meter[0].phase"} <= keys


def test_area_detection_overrides_apply_on_top_of_gateway_defaults():
    text = _case_text("baud_not_a_standard_rate").replace("baud = 9601", "baud = 2400") + (
        "\n[detection.load]\noverload_pct = 90\n\n[area.detection.voltage]\npersist_s = 1800\n")
    # the [area.detection.*] table belongs to the last [[area]]
    cfg = load_config_text(text, "x.toml")
    det = cfg.areas[0].detection
    assert det.load.overload_pct == 90 and det.voltage.persist_s == 1800
    assert det.voltage.low_pct == Params().voltage.low_pct


def test_meters_from_csv_are_built_into_the_dense_area_model():
    cfg = load_config(ROOT / "deploy/examples/edge.toml")
    area = build_area(cfg.areas[0], cfg.gateway.grid)
    assert area.n_meters == 40 and area.master_index == 40
    assert round(area.rated_current_a, 1) == 577.4
    three = [i for i, m in enumerate(cfg.areas[0].meters) if m.kind == "three"]
    assert list(area.meter_phase[three]) == [3] * len(three)
    assert area.meter_pv.sum() == 3
    assert area.branches == ("B1", "B2", "B3", "B4")
    assert area.meter_ct_ratio.max() == 30


def test_docs_config_md_is_generated_from_the_code():
    from edge.config.doc import render

    assert (ROOT / "docs/config.md").read_text() == render(), "run: python -m edge.config.doc > docs/config.md"


def test_more_buses_than_a_health_message_may_name_is_refused(tmp_path: Path):
    """The collector refuses a health message naming more than MAX_BUSES buses (each is a series):
    check-config says so before the gateway ever sends one."""
    from wire.kinds import MAX_BUSES

    text = _case_text("bad_parity").replace('parity = "X"', 'parity = "E"')
    extra = "".join(f'\n[[bus]]\nname = "x{i}"\nport = "/dev/ttyX{i}"\nprotocol = "dlt645"\n'
                    for i in range(MAX_BUSES))
    head, areas = text.split("[[area]]", 1)
    with pytest.raises(ConfigError) as info:
        load_config_text(head + extra + "\n[[area]]" + areas, str(tmp_path / "x.toml"))
    assert [i.key for i in info.value.issues] == ["bus"]
    assert f"{MAX_BUSES + 2} buses: a gateway has at most {MAX_BUSES}" in str(info.value.issues[0])
    load_config_text(head + extra.split("\n[[bus]]", 2)[0] + "\n[[area]]" + areas, str(tmp_path / "y.toml"))
