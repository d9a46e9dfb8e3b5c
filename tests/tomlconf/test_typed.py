"""Typed reading: dataclasses from tables, every problem an issue with its line, nothing raised early."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tomlconf import ConfigError, build, check_keys, parse, value


@dataclass(frozen=True, kw_only=True)
class Port:
    name: str = field(metadata={"pattern": r"[a-z0-9-]+"})
    baud: int = field(default=2400, metadata={"choices": (2400, 9600)})
    timeout_s: float = field(default=1.0, metadata={"min": 0.05, "max": 30})
    tags: tuple[str, ...] = ()
    mode: str = field(default="rtu", metadata={"check": lambda v: None if v != "ascii" else "ASCII is not supported"})


TEXT = """[[port]]
name = "a"
baudrate = 9600
[[port]]
name = "B!"
baud = 4800
timeout_s = 60
tags = ["x", 2]
mode = "ascii"
[[port]]
timeout_s = 2
"""


def test_every_problem_of_every_table_is_reported_with_its_line():
    doc = parse(TEXT, "ports.toml")
    built = [build(doc, Port, t, f"port[{i}]") for i, t in enumerate(doc.data["port"])]
    assert built[0] == Port(name="a") and built[1] is None and built[2] is None
    got = {(i.key, i.line): i.message for i in doc.issues}
    assert got[("port[0].baudrate", 3)].startswith("unknown key 'baudrate'; did you mean 'baud'? known keys:")
    assert got[("port[1].name", 5)].startswith("'B!' is not a valid value")
    assert got[("port[1].baud", 6)] == "4800 is not one of 2400, 9600"
    assert got[("port[1].timeout_s", 7)] == "60.0 is out of range [0.05, 30]"
    assert got[("port[1].tags[1]", 8)] == "expected a string, got int 2"
    assert got[("port[1].mode", 9)] == "ASCII is not supported"
    assert got[("port[2].name", 10)] == "required key is missing"     # the line of its table
    with pytest.raises(ConfigError) as info:
        doc.raise_if_errors()
    assert len(info.value.issues) == 7


def test_base_fills_keys_the_table_leaves_out_and_ints_become_floats():
    doc = parse("timeout_s = 2\n", "x.toml")
    port = build(doc, Port, doc.data, "", base=Port(name="base", baud=9600))
    assert port == Port(name="base", baud=9600, timeout_s=2.0) and isinstance(port.timeout_s, float)


def test_booleans_are_not_numbers_and_scalars_are_checked_alone():
    doc = parse("a = true\n", "x.toml")
    assert value(doc, "a", int, doc.data["a"]) is None
    assert doc.issues[0].message == "expected an integer, got bool True"
    assert check_keys(doc, {"x": 1, "y": 2}, "t", ["x"]) == ["y"]
