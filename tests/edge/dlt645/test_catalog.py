"""The DI catalogue: every item round-trips value -> frame -> decoder -> value; site files extend it."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detect.quantities import QUANTITIES
from edge.dlt645 import codec
from edge.dlt645.catalog import load_catalog
from edge.dlt645.codec import Decoder, Frame
from edge.errors import ConfigError

CAT = load_catalog()
ITEMS = list(CAT.items)


def _values(item):
    return _values_fmt(item.fmt)


def _values_fmt(f):
    if f.kind == "record":
        return st.fixed_dictionaries({name: _values_fmt(part) for name, part in f.parts})
    if f.kind == "bcd":
        digits = f.nbytes * 2
        top = 8 * 10 ** (digits - 1) - 1 if f.signed else 10 ** digits - 1
        lo = -top if f.signed else 0
        return st.integers(lo, top).map(lambda n: n * f.scale)
    if f.kind == "bits":
        return st.integers(0, 256 ** f.nbytes - 1)
    if f.kind == "bin":
        return st.integers(0, 256 ** f.nbytes - 1).map(lambda n: n * f.scale)
    if f.kind == "hex":
        return st.binary(min_size=f.nbytes, max_size=f.nbytes)
    dts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59))
    if "YY" not in f.fields:
        return st.times().map(lambda t: dtime(t.hour, t.minute, t.second))
    keep = set(f.fields)
    return dts.map(lambda d: d.replace(microsecond=0, second=d.second if "ss" in keep else 0,
                                       minute=d.minute if "mm" in keep else 0,
                                       hour=d.hour if "hh" in keep else 0))


@pytest.mark.parametrize("item", ITEMS, ids=lambda it: f"{it.protocol}-{it.di}-{it.name}")
def test_every_catalogue_item_round_trips_through_a_reply_frame(item):
    @settings(max_examples=60, deadline=None)
    @given(value=_values(item), fe=st.integers(0, 4))
    def check(value, fe):
        di = codec.di_bytes(item.di)
        control = 0x91 if item.protocol == "2007" else 0x81
        raw = codec.encode_frame("123456789012", control, di + item.encode(value), n_fe=fe)
        out = Decoder().feed(raw)
        assert len(out) == 1 and isinstance(out[0], Frame)
        got = item.decode(out[0].data[len(di):])
        if isinstance(value, dict):
            assert got.keys() == value.keys()
            for k, v in value.items():
                assert got[k] == (pytest.approx(v, abs=0.005) if isinstance(v, float) else v)
        elif isinstance(value, float):
            assert got == pytest.approx(value, abs=item.fmt.scale / 2)
        else:
            assert got == value
    check()


def test_catalogue_uses_the_quantity_vocabulary_for_the_quantities_it_reads():
    names = set(CAT.names("2007"))
    for q in QUANTITIES:
        if q != "t_amb":  # the meter's internal temperature is not the ambient one
            assert q in names, q
    assert CAT.by_name("e_fwd_daily").time_di == "05060001"


def test_event_records_decode_to_named_fields_and_an_open_event_has_no_end():
    item = CAT.item("03300D01")
    start = bytes([0x30, 0x45, 0x13, 0x17, 0x05, 0x24])  # 2024-05-17 13:45:30, ss first
    energies = bytes([0x67, 0x45, 0x23, 0x01]) * 12
    rec = item.decode(start + bytes(6) + energies)
    assert rec["start"] == datetime(2024, 5, 17, 13, 45, 30) and rec["end"] is None
    assert rec["e1_before"] == pytest.approx(12345.67) and len(rec) == 14
    totals = CAT.item("03010000").decode(bytes([3, 0, 0, 0x20, 0x01, 0]) + bytes(12))
    assert totals["count_a"] == 3 and totals["minutes_a"] == 120 and totals["count_b"] == 0


def test_blocks_list_catalogue_items_in_reply_order():
    b = CAT.block("0201ff00")
    assert b is not None and b.items == ("u_a", "u_b", "u_c")
    assert CAT.by_name("u_a", "1997").di == "B611"


def test_a_site_file_adds_vendor_dis_and_replaces_builtin_ones(tmp_path):
    site = tmp_path / "vendor.toml"
    site.write_text(
        '[[item]]\ndi = "0280000A"\nname = "battery_minutes"\nformat = "bin"\nbytes = 4\n\n'
        '[[item]]\ndi = "02800002"\nname = "f"\nformat = "XXXX.XX"\nbytes = 3\nunit = "Hz"\n'
    )
    cat = load_catalog([site])
    assert cat.item("0280000A").decode(bytes([0x10, 0x27, 0, 0])) == 10000
    assert cat.by_name("f").fmt.nbytes == 3
    assert load_catalog().by_name("f").fmt.nbytes == 2  # the built-in one is untouched


def test_a_bad_site_file_is_rejected_naming_file_and_key(tmp_path):
    site = tmp_path / "bad.toml"
    site.write_text('[[item]]\ndi = "0280000A"\nname = "x"\nformat = "XXX.X"\nbytes = 3\nfoo = 1\n'
                    '[[item]]\ndi = "02GG0000"\nname = "y"\nformat = "XX"\n')
    with pytest.raises(ConfigError) as exc:
        load_catalog([site])
    text = str(exc.value)
    assert "bad.toml" in text and "item[0]" in text and "foo" in text and "item[1]" in text and "02GG0000" in text


@pytest.mark.parametrize("block", list(CAT.blocks), ids=lambda b: b.di)
def test_every_block_round_trips_through_the_simulated_meter(block):
    from edge.sim.meterbus import MeterBus, SimMeter
    from edge.sim.sources import StaticSource

    items = [CAT.by_name(n, block.protocol) for n in block.items]

    @settings(max_examples=30, deadline=None)
    @given(values=st.tuples(*(_values(it) for it in items)))
    def check(values):
        table = {it.name: v for it, v in zip(items, values, strict=True)}
        bus = MeterBus([SimMeter(address="000000000007")], StaticSource(defaults=table), catalog=CAT)
        reply = bus.respond(codec.decode_frame(codec.encode_read("000000000007", block.di)), 0.0)
        frame = codec.decode_frame(reply.data)
        data = frame.data[4:]
        assert frame.control == 0x91 and len(data) == sum(it.nbytes for it in items)
        for it, v in zip(items, values, strict=True):
            got = it.decode(data[:it.nbytes])
            data = data[it.nbytes:]
            assert got == pytest.approx(v, abs=it.fmt.scale / 2)
    check()
