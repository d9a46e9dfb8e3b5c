"""Profiles: the shipped ones load and match the register maps; malformed files fail precisely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.modbus.profile import load_profile, parse_profile, shipped_profiles

CASES = Path(__file__).with_name("profile_cases")


def test_the_four_profiles_are_shipped() -> None:
    assert shipped_profiles() == ["dtsd1352", "dtsu666", "sdm630", "ttu"]


@pytest.mark.parametrize("name", ["dtsd1352", "dtsu666", "sdm630", "ttu"])
def test_shipped_profile_loads_with_name_and_points(name: str) -> None:
    p = load_profile(name)
    assert p.name == name
    assert {"u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p", "pf", "f", "e_fwd"} <= set(p.quantities)


def test_dtsu666_power_is_scaled_from_tenths_of_watts_to_kilowatts() -> None:
    p = load_profile("dtsu666").point("p")
    assert (p.function, p.address, p.rtype, p.word_order) == (3, 0x2012, "float32", "ABCD")
    assert p.factor(ct_ratio=1, pt_ratio=1) == pytest.approx(1e-4)     # 0.1 W -> kW
    assert p.factor(ct_ratio=200, pt_ratio=1) == pytest.approx(0.02)


def test_ratio_applies_only_where_the_profile_says() -> None:
    prof = load_profile("dtsu666")
    assert prof.point("u_a").factor(ct_ratio=200, pt_ratio=10) == pytest.approx(1.0)       # 0.1 × PT
    assert prof.point("i_a").factor(ct_ratio=200, pt_ratio=10) == pytest.approx(0.2)       # 0.001 × CT
    assert prof.point("pf").factor(ct_ratio=200, pt_ratio=10) == pytest.approx(0.001)      # no ratio


def test_sdm630_uses_input_registers() -> None:
    assert {p.function for p in load_profile("sdm630").points} == {4}


def test_dtsd1352_mixes_integer_types() -> None:
    prof = load_profile("dtsd1352")
    assert (prof.point("e_fwd").rtype, prof.point("u_a").rtype, prof.point("p").rtype, prof.point("pf").rtype) == \
        ("uint32", "uint16", "int32", "int16")


def test_site_profile_is_loaded_by_path(tmp_path: Path) -> None:
    f = tmp_path / "acme_ttu.toml"
    f.write_text('[profile]\nfunction = 4\ntype = "float32"\nword_order = "little"\n'
                 '[points.i_n]\naddress = 0x0100\nscale = 0.5\n')
    prof = load_profile(f)
    assert prof.name == "acme_ttu"
    assert prof.point("i_n").word_order == "CDAB"        # "little" is the word-swapped order
    assert prof.source == str(f)


def test_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ConfigError, match="no shipped profile 'dtsu999'; shipped: dtsd1352, dtsu666, sdm630, ttu"):
        load_profile("dtsu999")


def test_missing_profile_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read profile"):
        load_profile(tmp_path / "nope.toml")


def _expectations(path: Path) -> tuple[str, int | None, str]:
    head = dict(re.findall(r"^# (expect[-a-z]*): (.*)$", path.read_text(), flags=re.M))
    line = None if head["expect-line"] == "none" else int(head["expect-line"])
    return head["expect-key"], line, head["expect"]


@pytest.mark.parametrize("case", sorted(CASES.glob("*.toml")), ids=lambda p: p.stem)
def test_malformed_profile_is_rejected_naming_file_line_and_key(case: Path) -> None:
    key, line, message = _expectations(case)
    with pytest.raises(ConfigError) as err:
        load_profile(case)
    issues = err.value.issues
    assert [i.key for i in issues] == [key], str(err.value)
    assert issues[0].file == str(case)
    assert issues[0].line == line
    assert message in issues[0].message


def test_every_problem_of_a_file_is_reported_not_only_the_first() -> None:
    text = ('[profile]\nfunction = 3\n[points.u_a]\naddress = -1\ntype = "uint16"\n'
            '[points.u_b]\naddress = 2\ntype = "uint8"\n')
    with pytest.raises(ConfigError) as err:
        parse_profile(text, source="site.toml", default_name="site")
    assert [(i.key, i.line) for i in err.value.issues] == [("points.u_a.address", 4), ("points.u_b.type", 8)]
    assert str(err.value).startswith("site.toml:4: points.u_a.address:")


def test_the_profile_walked_through_in_docs_extending_is_the_shipped_example() -> None:
    import sys

    from edge.modbus.codec import decode
    from edge.modbus.plan import plan_reads

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    root = Path(__file__).resolve().parents[3]
    prof = load_profile(root / "deploy/examples/profiles/pm5300.toml")
    doc = (root / "docs/extending.md").read_text()
    shown = tomllib.loads(doc.split("### 2. Write the file\n\n```toml\n")[1].split("```")[0])
    for quantity, spec in shown["points"].items():
        p = prof.point(quantity)
        assert (p.address, p.rtype, p.scale) == (spec["address"], spec.get("type", "float32"), spec.get("scale", 1.0))
    assert len(prof.points) == 14 and "(the full file has 14 points)" in doc
    plan = [(r.address, r.address + r.count - 1) for r in plan_reads(prof.points)]
    assert plan == [(2999, 3068), (3109, 3110), (3203, 3210)] and "**3 requests**" in doc
    raw = decode([0x0000, 0x0000, 0x0150, 0x1C5D], prof.point("e_fwd").rtype, prof.point("e_fwd").word_order)
    assert raw * prof.point("e_fwd").scale == pytest.approx(22027.357) and "22 027.357 kWh" in doc
