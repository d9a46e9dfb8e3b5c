"""Units and kinds against physics, on the readings of a simulated area: Wh, MWh and interval consumption are
recognised and converted, contradictions and the undecidable stop with what to state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detect.quantities import QUANTITY_CODE
from edge.areafile import load_area
from edge.imports import ImportOptions, Readings
from edge.imports.physics import Conversion, PhysicsError, Stated, decide

CORPUS = Path(__file__).resolve().parents[2] / "data" / "exports"
E = QUANTITY_CODE["e_fwd"]


@pytest.fixture(scope="module")
def sample() -> tuple[object, list[np.ndarray]]:
    af = load_area(CORPUS / "area.toml")
    chunks = list(Readings(CORPUS / "clean.csv", af.area, ImportOptions(timezone="UTC")).chunks())
    return af.area, [np.concatenate(c) for c in zip(*chunks, strict=True)]


def _scaled(cols: list[np.ndarray], area: object, meters: float, master: float) -> list[np.ndarray]:
    dev, q, val, ts = (c.copy() for c in cols)
    energy = np.isin(q, [QUANTITY_CODE[n] for n in ("e_fwd", "e_rev", "e_fwd_daily")])
    m = dev == area.master_index  # type: ignore[attr-defined]
    val[energy & ~m] *= meters
    val[energy & m] *= master
    return [dev, q, val, ts]


@pytest.mark.parametrize(("meters", "master", "want"), [(1.0, 1.0, (1.0, 1.0)), (1000.0, 1.0, (0.001, 1.0)),
                                                        (1000.0, 1000.0, (0.001, 0.001)), (0.001, 0.001, (1000.0, 1000.0))])
def test_energy_units_are_told_from_ratings_and_the_masters_supply(sample, meters, master, want) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    conv = decide(*_scaled(cols, area, meters, master), area, Stated())  # type: ignore[arg-type]
    assert (conv.scale[0, E], conv.scale[1, E]) == want, conv.decisions


def test_a_header_unit_that_physics_refutes_stops_and_says_how_to_state_it(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    with pytest.raises(PhysicsError, match=r"meters' e_fwd: the header says kWh but as kWh: high draw .* State it: "
                                           r"\[units\] \"meters.energy\""):
        decide(*_scaled(cols, area, 1000.0, 1.0), area, Stated(unit_hints={"e_fwd": (1.0, "kWh")}))  # type: ignore[arg-type]


def test_a_stated_unit_is_taken_with_a_warning_when_physics_disagrees(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    conv = decide(*cols, area, Stated(units={("meters", "energy"): 0.001}))  # type: ignore[arg-type]
    assert conv.scale[0, E] == 0.001 and conv.warnings and "stated Wh" in conv.warnings[0]


def _interval(cols: list[np.ndarray], master: int) -> list[np.ndarray]:
    dev, q, val, ts = (c.copy() for c in cols)
    out = np.ones(dev.size, bool)
    for d in np.unique(dev):
        for code in (QUANTITY_CODE["e_fwd"], QUANTITY_CODE["e_rev"]):
            idx = np.flatnonzero((dev == d) & (q == code))
            val[idx[1:]] = np.diff(val[idx])
            out[idx[:1]] = False
    return [c[out] for c in (dev, q, val, ts)]


def test_interval_consumption_is_detected_and_summed_back_into_registers(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    cons = _interval(cols, area.master_index)
    conv = decide(*cons, area, Stated())  # type: ignore[arg-type]
    assert conv.interval[0, E] and conv.interval[1, E] and conv.cadence[0, E] == 900.0
    dev, q, val, ts = conv.apply(*cons, area.master_index)
    for d in (0, area.master_index):
        orig = cols[2][(cols[0] == d) & (cols[1] == E)]
        back = val[(dev == d) & (q == E)][np.argsort(ts[(dev == d) & (q == E)], kind="stable")]
        np.testing.assert_allclose(back, orig - orig[0], atol=1e-6)     # from 0 at the first reading


def test_a_header_saying_register_over_consumption_stops(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    with pytest.raises(PhysicsError, match=r"the header says register but .* of .* steps decrease"):
        decide(*_interval(cols, area.master_index), area, Stated(kind_hints={"e_fwd": "register"}))  # type: ignore[arg-type]


def test_power_in_watts_follows_the_energys_rate(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    dev, q, val, ts = (c.copy() for c in cols)
    val[q == QUANTITY_CODE["p"]] *= 1000.0
    conv = decide(dev, q, val, ts, area, Stated())
    assert conv.scale[0, QUANTITY_CODE["p"]] == 0.001 and conv.scale[0, QUANTITY_CODE["q"]] == 0.001


def _glitched(cols: list[np.ndarray], area: object, scale: float) -> list[np.ndarray]:
    """One checksum-valid absurd reading each, as meters send now and then (issue 15's examples): a
    meter's register jumps by 800 000 kWh and back, the master reports 50 000 kW once."""
    dev, q, val, ts = (c.copy() for c in cols)
    e = np.flatnonzero((dev == 2) & (q == E))
    val[e[len(e) // 2]] += 800_000.0 * scale
    p = np.flatnonzero((dev == area.master_index) & (q == QUANTITY_CODE["p"]))  # type: ignore[attr-defined]
    val[p[len(p) // 3]] = 50_000.0
    return [dev, q, val, ts]


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_one_absurd_reading_does_not_decide_a_unit_or_stop_the_import(sample, scale) -> None:  # type: ignore[no-untyped-def]
    """A glitch is the plausibility checks' to reject (edge/plausibility), reading by reading; the unit of
    a whole export is decided on its typical draw, not on its one wild value."""
    area, cols = sample
    clean = decide(*_scaled(cols, area, scale, 1.0), area, Stated())  # type: ignore[arg-type]
    conv = decide(*_glitched(_scaled(cols, area, scale, 1.0), area, scale), area, Stated())  # type: ignore[arg-type]
    assert conv.scale[0, E] == clean.scale[0, E] == 1.0 / scale and conv.scale[1, E] == 1.0
    assert conv.scale[1, QUANTITY_CODE["p"]] == clean.scale[1, QUANTITY_CODE["p"]] == 1.0


def test_one_reading_per_meter_cannot_tell_a_unit_outside_our_own_format(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    idx = np.flatnonzero(cols[1] == E)
    _, first = np.unique(cols[0][idx], return_index=True)
    one = [c[idx[first]] for c in cols]
    with pytest.raises(PhysicsError, match="no device has two readings"):
        decide(*one, area, Stated())  # type: ignore[arg-type]
    assert decide(*one, area, Stated(ours=True)).scale[0, E] == 1.0  # type: ignore[arg-type]


def test_identity_conversion_returns_the_arrays_untouched() -> None:
    arrays = (np.zeros(3, np.int32), np.zeros(3, np.int16), np.ones(3), np.arange(3.0))
    assert all(a is b for a, b in zip(Conversion.identity().apply(*arrays, 5), arrays, strict=True))


def test_a_missed_interval_stays_a_gap_never_a_zero(sample) -> None:  # type: ignore[no-untyped-def]
    area, cols = sample
    cons = _interval(cols, area.master_index)
    conv = decide(*cons, area, Stated())  # type: ignore[arg-type]
    sel = np.flatnonzero((cons[0] == 0) & (cons[1] == E))
    drop = np.zeros(cons[0].size, bool)
    drop[sel[10:12]] = True                                       # two 15-min values of meter 0 never arrived
    dev, q, val, ts = conv.apply(*(c[~drop] for c in cons), area.master_index)
    mine = (dev == 0) & (q == E)
    t, v = ts[mine], val[mine]
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    k = int(np.flatnonzero(np.diff(t) > 900)[0])
    assert t[k + 1] - t[k] == 2700.0                               # the engine sees no reads for 45 min: a gap
    assert v[k + 1] - v[k] == pytest.approx(cons[2][sel[12]])      # only the consumption that arrived is added
