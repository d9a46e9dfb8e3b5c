"""Plausibility: the issue's absurd values are rejected, real ones pass, registers re-baseline after a
meter replacement, and the verdicts do not depend on how readings are batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detect.area import KIND_SINGLE, KIND_THREE, Area
from detect.quantities import QUANTITY_CODE
from edge.areafile import load_area
from edge.config.model import PlausibilityConfig
from edge.plausibility import REASONS, Limits, Plausibility, limits_for
from edge.publish.serializers import Serializer
from wire import stamp
from wire.schemas import validate

T0 = 1_767_225_600.0
Q = QUANTITY_CODE


def area(ct: float = 1.0) -> Area:
    a = Area.simple(id="A01", rated_kva=100.0, meter_ids=["m1", "m2", "m3"], phases=[0, 1, 3])
    ratio = np.array([1.0, ct, 1.0])
    return Area(id=a.id, rated_kva=a.rated_kva, meter_ids=a.meter_ids, meter_phase=a.meter_phase,
                meter_branch=a.meter_branch, meter_kind=np.array([KIND_SINGLE, KIND_SINGLE, KIND_THREE], np.int8),
                meter_pv=a.meter_pv, meter_ct_ratio=ratio)


def check(p: Plausibility, rows: list[tuple[str, str, float, float]]) -> list[bool]:
    """rows: (device, quantity, value, ts) -> keep flags."""
    dev = np.array([p.names.index(d) for d, _, _, _ in rows], np.int32)
    qty = np.array([Q[q] for _, q, _, _ in rows], np.int16)
    val = np.array([v for _, _, v, _ in rows])
    ts = np.array([t for _, _, _, t in rows])
    return p.check(dev, qty, val, ts).tolist()


def test_the_absurd_values_of_the_issue_are_rejected_and_real_ones_kept() -> None:
    p = Plausibility(area())
    assert check(p, [("m1", "e_fwd", 1200.0, T0), ("m1", "i_a", 12.5, T0), ("master", "p", 60.0, T0)]) == [True] * 3
    verdict = check(p, [
        ("m1", "e_fwd", 801_200.0, T0 + 60),     # +800 000 kWh in 60 s
        ("m1", "i_a", 799.999, T0 + 60),         # the largest XXX.XXX BCD current, on a 5(60) A meter
        ("master", "p", 50_000.0, T0 + 60),      # 50 MW from a 100 kVA transformer
        ("master", "i_a", 150.0, T0 + 60),       # 104 % of rated (144 A): an overload, not an error
        ("m3", "u_b", 460.0, T0 + 60),           # 200 % of nominal: still possible (lost neutral)
        ("m3", "u_b", 6553.5, T0 + 60),          # 0xFFFF / 10
        ("m1", "pf", 1.7, T0 + 60), ("m1", "i_a", -3.0, T0 + 60), ("master", "f", 0.0, T0 + 60),
    ])
    assert verdict == [False, False, False, True, True, False, False, False, False]
    counts = p.rejected_by_device()
    assert counts == {"m1": {"energy_step": 1, "current": 1, "power_factor": 1, "negative": 1},
                      "master": {"power": 1, "frequency": 1}, "m3": {"voltage": 1}}


def test_ct_meters_are_judged_on_their_secondary_and_the_meter_list_can_override_imax() -> None:
    p = Plausibility(area(ct=100.0))                 # m2 behind 100/1 CTs: 1.5(6) A secondary
    assert check(p, [("m2", "i_a", 5.5, T0), ("m2", "i_a", 40.0, T0)]) == [True, False]
    strict = Plausibility(area(), Limits.build(area(), PlausibilityConfig(current_ratio=1.0),
                                               meter_i_max_a=[10.0, 0.0, 0.0]))
    assert check(strict, [("m1", "i_a", 10.0, T0), ("m1", "i_a", 10.5, T0), ("m2", "i_a", 59.0, T0)]) == \
        [True, False, True]


def test_energy_steps_follow_elapsed_time_and_the_rollover_is_a_step_like_any_other() -> None:
    p = Plausibility(area())
    # m1: 1.1 x 4 x 60 A x 230.9 V = 61 kW at most: 15.2 kWh in 15 min is possible, 16.3 kWh is not
    assert check(p, [("m1", "e_fwd", 100.0, T0), ("m1", "e_fwd", 105.2, T0 + 900)]) == [True, True]
    assert check(p, [("m1", "e_fwd", 121.5, T0 + 1800)]) == [False]
    assert check(p, [("m1", "e_fwd", 105.195, T0 + 1900)]) == [True]      # the last digit read back a hair
    assert check(p, [("m2", "e_fwd", 999_999.5, T0), ("m2", "e_fwd", 0.8, T0 + 900)]) == [True, True]
    assert check(p, [("m3", "e_rev", 50.0, T0), ("m3", "e_rev", 49.0, T0 + 900)]) == [True, False]
    assert p.rejected_by_device() == {"m1": {"energy_step": 1}, "m3": {"energy_backwards": 1}}


def test_a_replaced_meter_is_rebaselined_after_three_consistent_readings_with_a_device_alert() -> None:
    p = Plausibility(area())
    check(p, [("m1", "e_fwd", 12_345.6, T0)])
    new = [check(p, [("m1", "e_fwd", 0.5 + 0.2 * k, T0 + 900 * (k + 1))])[0] for k in range(5)]
    assert new == [False, False, True, True, True]
    raised = p.take_alerts()
    assert [(a.state, a.kind, a.subject_id) for a in raised] == [("raised", "implausible_reading", "m1")]
    assert raised[0].evidence["old_kwh"] == 12_345.6 and raised[0].evidence["new_kwh"] == pytest.approx(0.9)
    assert "re-baselined" in raised[0].message
    assert p.active_alerts()[0].alert_id == raised[0].alert_id
    check(p, [("m1", "e_fwd", 1.6, T0 + 900 * 7)])                         # third clean read since
    cleared = p.take_alerts()
    assert [(a.state, a.alert_id) for a in cleared] == [("cleared", raised[0].alert_id)]


def test_a_lone_spike_is_rejected_and_forgotten() -> None:
    p = Plausibility(area())
    flags = [check(p, [("m1", "e_fwd", v, T0 + 900 * k)])[0] for k, v in enumerate([100.0, 900_100.0, 100.5, 101.0])]
    assert flags == [True, False, True, True]
    assert p.take_alerts() == [] and p.registers.cand_n.max() == 0


def test_persistent_rejections_raise_one_alert_and_clean_reads_clear_it_schema_valid() -> None:
    p = Plausibility(area())
    ser = Serializer(gateway="gw", grid="g", area="A01")
    events = []
    for k in range(10):
        amps = 799.999 if k < 4 else 10.0
        check(p, [("m1", "i_a", amps, T0 + 60 * k), ("m1", "u_a", 230.0, T0 + 60 * k)])
        events += p.take_alerts()
    assert [(a.state, a.ts) for a in events] == [("raised", T0 + 120), ("cleared", T0 + 360)]
    assert events[0].alert_id == events[1].alert_id and events[0].evidence["reasons"] == "current"
    for n, a in enumerate(events, 1):
        assert validate(stamp(ser.alert(a), msg_id=f"gw:{n}", topic_seq=n)) == "alert"


def test_verdicts_do_not_depend_on_how_readings_are_batched() -> None:
    """The fast vectorised path and the sequential rules agree: one reading at a time, or all at once."""
    rng = np.random.default_rng(7)
    rows = []
    e = {"m1": 500.0, "m2": 20.0, "m3": 7000.0, "master": 1e5}
    for k in range(300):
        ts = T0 + 900 * k
        for d in e:
            e[d] += float(rng.uniform(0, 2.0))
            value = e[d]
            if rng.random() < 0.05:
                value = float(rng.choice([value + 5e5, value - 300.0, 0.3]))       # spikes, backwards, resets
                if rng.random() < 0.5:
                    e[d] = value                                              # sometimes it stays there
            rows.append((d, "i_a", float(rng.choice([5.0, 5.0, 5.0, 900.0])), ts))   # same ts: quantity order
            rows.append((d, "e_fwd", value, ts))
    one = Plausibility(area())
    singly = [f for r in rows for f in check(one, [r])]
    alerts_singly = [(a.state, a.alert_id) for a in one.take_alerts()]
    many = Plausibility(area())
    order = rng.permutation(len(rows))                 # shuffled: a batch is not sorted by time
    shuffled = check(many, [rows[i] for i in order])
    batched = [False] * len(rows)
    for pos, i in enumerate(order):
        batched[i] = shuffled[pos]
    assert singly == batched and not all(singly)
    assert alerts_singly == [(a.state, a.alert_id) for a in many.take_alerts()]
    assert one.rejected_by_device() == many.rejected_by_device()
    assert set(one.rejected_by_device()["m1"]) <= set(REASONS)


def test_state_survives_a_snapshot_and_refuses_another_layout() -> None:
    p = Plausibility(area())
    check(p, [("m1", "e_fwd", 100.0, T0)] + [("m1", "i_a", 900.0, T0 + 60 * k) for k in range(1, 4)])
    (raised,) = p.take_alerts()
    r = Plausibility(area())
    r.restore(p.snapshot())
    assert check(r, [("m1", "e_fwd", 200.0, T0 + 600)]) == [False]          # the baseline came along
    q = Plausibility(area())
    q.restore(p.snapshot())
    for k in range(3):
        check(q, [("m1", "i_a", 5.0, T0 + 700 + 60 * k)])
    assert [(a.state, a.alert_id) for a in q.take_alerts()] == [("cleared", raised.alert_id)]
    other = Plausibility(Area.simple(id="B", rated_kva=100.0, meter_ids=["x"]))
    with pytest.raises(ValueError, match="another area layout"):
        other.restore(p.snapshot())


def test_an_area_file_carries_its_limits_from_the_meter_list_and_area_plausibility(tmp_path: Path) -> None:
    """What replay and the daemon build from configuration: i_max_a from a Chinese archive column (the
    nameplate 5(60)A gives 60 A, an empty cell the kind's default), [area.plausibility] on top."""
    (tmp_path / "meters.csv").write_text("表号,相别,接线方式,倍率,电流规格\nm1,A相,单相,1,5(60)A\n"
                                         "m2,B相,单相,1,\nm3,三相,三相四线,50,1.5(6)A\n", encoding="utf-8")
    (tmp_path / "area.toml").write_text('[[area]]\nid = "A01"\nmeters_csv = "meters.csv"\n'
                                        'transformer = { rated_kva = 100 }\nmaster = { bus = "ttu" }\n'
                                        '[area.plausibility]\ncurrent_ratio = 2.5\n', encoding="utf-8")
    af = load_area(tmp_path / "area.toml")
    assert af.config is not None
    limits = limits_for(af.config, af.area)
    assert limits.i_max_a[:3].tolist() == [60.0, 60.0, 6.0]        # m2: the single-phase default
    assert limits.cfg.current_ratio == 2.5
    assert limits.hi[0, Q["i_a"]] == 150.0 and limits.hi[2, Q["i_a"]] == 15.0
