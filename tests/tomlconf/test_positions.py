from tomlconf import key_lines

DOC = '''[gateway]
id = "gw"   # comment
[[bus]]
name = "a"
[[bus]]
name = "b"
baud = [1,
  2]
after = 1
[[area]]
master = { bus = "ttu", device_id = 1 }
[[area.meter]]
id = "m1"
[[area.meter]]
id = "m2"
[area.detection.load]
overload_pct = 90
[[area]]
[[area.meter]]
id = "x"
note = """multi
key = 1
"""
"quoted.key" = 2
'''


def test_array_of_tables_entries_are_indexed_and_nested_counts_restart():
    lines = key_lines(DOC)
    assert lines["bus[1].name"] == 6
    assert lines["area[0].meter[1].id"] == 15
    assert lines["area[1].meter[0].id"] == 20
    assert lines["area[0].detection.load.overload_pct"] == 17


def test_inline_tables_and_multiline_values_map_to_their_opening_line():
    lines = key_lines(DOC)
    assert lines["area[0].master.device_id"] == 11
    assert lines["bus[1].baud"] == 7 and lines["bus[1].after"] == 9
    assert "area[1].meter[0].key" not in lines  # inside a multi-line string
    assert lines["area[1].meter[0].quoted.key"] == 24
