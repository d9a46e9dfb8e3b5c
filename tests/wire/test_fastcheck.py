"""The compiled checker agrees with jsonschema on every payload kind, valid and mutated."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.testing import AreaSpec, area_stream
from wire.fastcheck import UnsupportedSchema, compile_schema
from wire.kinds import KINDS
from wire.schemas import json_schema, kind_of, validator

SAMPLES = {kind_of(m.payload).name: m.payload for m in area_stream(AreaSpec(meters=4, intervals=4))}
WEIRD = [None, True, 0, -1, 1.5, "", "x", "2026-01-01T00:00:00Z", [], [None], [1, "a"], {}, {"type": "meter"}]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, (*prefix, i))


def _mutate(payload, path, value, delete):
    out = copy.deepcopy(payload)
    if not path:
        return value
    node = out
    for p in path[:-1]:
        node = node[p]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_valid_sample_passes_both(kind):
    assert compile_schema(json_schema(kind))(SAMPLES[kind]) is True
    assert validator(kind).is_valid(SAMPLES[kind])


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), pick=st.integers(0, 10_000), value=st.sampled_from(WEIRD),
       delete=st.booleans())
def test_compiled_check_agrees_with_jsonschema_on_mutated_payloads(kind, pick, value, delete):
    sample = SAMPLES[kind]
    paths = list(_paths(sample))
    mutated = _mutate(sample, paths[pick % len(paths)], value, delete)
    assert compile_schema(json_schema(kind))(mutated) == validator(kind).is_valid(mutated)


def test_schema_keywords_outside_the_subset_are_refused():
    with pytest.raises(UnsupportedSchema, match="oneOf"):
        compile_schema({"oneOf": [{"type": "string"}]})


def test_booleans_are_not_numbers_and_whole_floats_are_integers():
    check = compile_schema({"type": "object", "properties": {"n": {"type": "integer"}, "x": {"type": "number"}}})
    assert check({"n": 3.0, "x": 1})
    assert not check({"n": True})
    assert not check({"x": False})


def test_item_and_property_counts_are_bounded_as_jsonschema_bounds_them():
    """A gateway's health names at most MAX_BUSES buses and MAX_AREAS areas (each a series in the
    databases); the compiled check refuses more exactly where jsonschema does."""
    from wire.kinds import MAX_AREAS, MAX_BUSES

    health = SAMPLES["health"]
    bus = health["buses"][0]
    area = next(iter(health["engine"].values()))
    for buses, areas in ((MAX_BUSES, MAX_AREAS), (MAX_BUSES + 1, 1), (1, MAX_AREAS + 1), (2000, 1)):
        p = {**health, "buses": [{**bus, "name": f"b{i}"} for i in range(buses)],
             "engine": {f"A{i}": area for i in range(areas)}}
        ok = buses <= MAX_BUSES and areas <= MAX_AREAS
        assert compile_schema(json_schema("health"))(p) is ok
        assert validator("health").is_valid(p) is ok
