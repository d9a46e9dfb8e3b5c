"""The JSON Schemas: generated from wire.kinds, identical to schemas/*.json, and strict where it matters."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from collector.testing import AreaSpec, area_stream
from wire import KINDS
from wire.doc import render as render_doc
from wire.schemas import (
    SCHEMA_DIR,
    SchemaInvalid,
    UnknownSchema,
    is_valid,
    kind_of,
    render,
    undocumented,
    validate,
)

SAMPLES = {kind_of(m.payload).name: m.payload for m in area_stream(AreaSpec(meters=3, intervals=4))}


def test_schema_files_are_generated_from_the_kinds() -> None:
    for kind in KINDS:
        assert (SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8") == render(kind), \
            f"schemas/{kind}.json drifted: run python -m wire.schemas --write"
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(KINDS)
    done = subprocess.run([sys.executable, "-m", "wire.schemas"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_drift_check_fails_on_a_stale_file(tmp_path) -> None:
    subprocess.run([sys.executable, "-m", "wire.schemas", "--write", "--dir", str(tmp_path)], check=True)
    (tmp_path / "alert.json").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "wire.schemas", "--dir", str(tmp_path)], capture_output=True,
                          text=True)
    assert done.returncode == 1 and "alert.json: differs" in done.stderr


@pytest.mark.parametrize(("tag", "match"), [
    (None, "no meterwatch schema tag"), ("other.alert/2", "no meterwatch schema tag"),
    ("meterwatch.gossip/2", "unknown payload kind 'gossip'"),
    ("meterwatch.alert/1", "version '1' is not supported"), ("meterwatch.alert/9", "version '9'"),
])
def test_unknown_kinds_and_versions_are_not_schema_errors(tag, match) -> None:
    with pytest.raises(UnknownSchema, match=match):
        validate({**SAMPLES["alert"], "schema": tag})


@pytest.mark.parametrize(("kind", "key", "value"), [
    ("realtime", "gateway", "victim/gw"), ("realtime", "area", "A01/#"), ("realtime", "msg_id", "gw-0001-00000002"),
    ("realtime", "topic_seq", 0), ("alert", "topic_seq", None), ("realtime", "i_a", "12"),
    ("meters_interval", "meters", ["ok", "trailing\\"]), ("daily", "suspects", [{"meter": "m\n1", "rank": 1,
                                                                                   "score": 1.0}]),
])
def test_identifiers_and_sequences_are_checked(kind, key, value) -> None:
    bad = {**copy.deepcopy(SAMPLES[kind]), key: value}
    assert not is_valid(bad, kind)
    with pytest.raises(SchemaInvalid, match=key):
        validate(bad)


def test_streams_need_topic_seq_and_retained_kinds_have_none() -> None:
    for name, kind in KINDS.items():
        assert ("topic_seq" in validate.__globals__["json_schema"](name)["required"]) == kind.stream
        assert ("topic_seq" in SAMPLES[name]) == kind.stream


def test_undocumented_properties_are_named() -> None:
    assert undocumented({**SAMPLES["realtime"], "x1": 1, "load_pct": 2}, "realtime") == ["x1"]


def test_docs_wire_md_is_generated_from_the_kinds() -> None:
    assert (SCHEMA_DIR.parent / "docs" / "wire.md").read_text(encoding="utf-8") == render_doc(), \
        "docs/wire.md drifted: run python -m wire.doc > docs/wire.md"
