"""Engine contract: event time, overload lifecycle end to end, snapshot/restore, late and out-of-order
readings, identical results on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from detect.batch import ReadingBatch
from detect.engine import Engine
from detect.params import LoadParams, Params
from detect.quantities import QUANTITY_CODE as Q
from tests.detect.sim import T0, Sim, make_area


def overload_sim(**kw: object) -> Sim:
    sim = Sim(make_area(), **kw)  # type: ignore[arg-type]
    sim.beta = (0.5, 0.45, 0.4)
    sim.run(30)
    return sim


def test_overload_raised_at_first_poll_after_persistence_and_cleared_after_hysteresis() -> None:
    sim = overload_sim()
    onset = sim.t
    sim.beta = (0.97, 0.9, 0.8)
    sim.run(3)
    raised = sim.raised("overload")
    assert len(raised) == 1
    assert raised[0].ts == onset + 60.0                      # persistence 60 s, 1-min polls
    assert raised[0].value == pytest.approx(97.0) and raised[0].threshold == 95.0
    assert raised[0].severity == "major" and raised[0].unit == "%"
    assert raised[0].evidence["load_pct"] == pytest.approx(97.0)
    sim.beta = (0.92, 0.9, 0.8)                              # inside the hysteresis band
    sim.run(30)
    assert not sim.cleared("overload")
    sim.beta = (0.85, 0.8, 0.8)
    sim.run(3)
    cleared = sim.cleared("overload")
    assert len(cleared) == 1 and cleared[0].alert_id == raised[0].alert_id
    assert cleared[0].cleared_at == pytest.approx(raised[0].ts + 31 * 60 + 60)


def test_load_below_threshold_never_raises() -> None:
    sim = overload_sim()
    sim.beta = (0.949, 0.9, 0.9)
    sim.run(120)
    assert not [a for a in sim.alerts if a.kind == "overload"]
    rt = sim.of_kind("realtime")[-1]
    assert rt["load_pct"] == pytest.approx(94.9)
    assert rt["load_s_pct"] is not None and rt["s_kva"] > 0


def test_snapshot_restore_keeps_active_alarm_without_second_raise() -> None:
    sim = overload_sim()
    sim.beta = (1.0, 0.9, 0.9)
    sim.run(5)
    (raised,) = sim.raised("overload")
    blob = sim.engine.snapshot()
    sim.engine = Engine.restore(blob)
    assert [a.alert_id for a in sim.engine.active_alerts()] == [raised.alert_id]
    sim.run(10)
    assert len(sim.raised("overload")) == 1
    sim.beta = (0.5, 0.5, 0.5)
    sim.run(5)
    (cleared,) = sim.cleared("overload")
    assert cleared.alert_id == raised.alert_id


def test_snapshot_restore_while_pending_raises_on_time() -> None:
    params = Params(load=LoadParams(overload_persist_s=600.0))
    sim = overload_sim(params=params)
    onset = sim.t
    sim.beta = (1.0, 0.9, 0.9)
    sim.run(5)
    sim.engine = Engine.restore(sim.engine.snapshot())
    assert sim.engine.params.load.overload_persist_s == 600.0
    sim.run(10)
    (raised,) = sim.raised("overload")
    assert raised.ts == onset + 600.0


def test_restore_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="bad magic"):
        Engine.restore(b"not a snapshot")
    eng = Engine(make_area())
    blob = eng.snapshot()
    with pytest.raises(ValueError, match="corrupt"):
        Engine.restore(blob[:40])


def _meter_energy_batch(area_n: int, meter: int, values: list[tuple[float, float]]) -> ReadingBatch:
    return ReadingBatch.from_columns([meter] * len(values), [Q["e_fwd"]] * len(values), [v for _, v in values],
                                     [t for t, _ in values], n_devices=area_n + 1)


def test_late_and_out_of_order_readings_within_tolerance_are_placed_in_their_interval() -> None:
    area = make_area(n=3)
    eng = Engine(area)
    interval = 900.0
    out = []
    eng.ingest(_meter_energy_batch(3, 0, [(T0 + 10, 100.0)]))
    eng.ingest(_meter_energy_batch(3, 1, [(T0 + 10, 50.0)]))
    out.append(eng.advance(T0 + 800))
    # meter 0: two readings of the second interval arrive out of order, in time
    eng.ingest(_meter_energy_batch(3, 0, [(T0 + interval + 500, 103.0), (T0 + interval + 100, 101.0)]))
    out.append(eng.advance(T0 + interval + 600))
    # meter 1: its reading of the second interval arrives 60 s after the interval ended (tolerance 120 s)
    eng.ingest(_meter_energy_batch(3, 1, [(T0 + interval + 300, 52.5)]))
    out.append(eng.advance(T0 + 2 * interval + 60))
    # meter 2: a reading of the second interval arriving after it closed is dropped and counted
    out.append(eng.advance(T0 + 2 * interval + 200))
    eng.ingest(_meter_energy_batch(3, 2, [(T0 + interval + 300, 7.0)]))
    out.append(eng.advance(T0 + 2 * interval + 300))
    mi = [s.fields for o in out for s in o.summaries if s.kind == "meters_interval"]
    second = next(f for f in mi if f["interval_end"] == T0 + 2 * interval)
    assert second["e_kwh"][0] == pytest.approx(3.0)           # 103 − 100, the later reading wins
    assert second["e_kwh"][1] == pytest.approx(2.5)
    assert second["read"] == [True, True, False]
    assert eng.counters["readings_late_dropped"] == 1


def test_future_readings_wait_for_their_event_time() -> None:
    area = make_area(n=3)
    eng = Engine(area)
    eng.ingest(_meter_energy_batch(3, 0, [(T0 + 5000, 1.0)]))
    eng.advance(T0 + 100)
    assert np.isnan(eng.readings.last_value[0, Q["e_fwd"]])
    eng = Engine.restore(eng.snapshot())                       # pending readings survive a restart
    eng.advance(T0 + 5001)
    assert eng.readings.last_value[0, Q["e_fwd"]] == 1.0


def test_numba_and_numpy_backends_give_the_same_alerts_and_summaries() -> None:
    runs = []
    for backend in ("numba", "numpy"):
        sim = Sim(make_area(), backend_name=backend)
        sim.beta = (0.5, 0.3, 0.2)
        sim.run(40)
        sim.beta = (1.3, 1.0, 0.6)
        sim.meter_u[:4] = 190.0
        sim.silent[10:12] = True
        sim.run(80)
        runs.append(sim)
    a, b = runs
    assert [(x.kind, x.state, x.subject_id, x.ts) for x in a.alerts] == \
        [(x.kind, x.state, x.subject_id, x.ts) for x in b.alerts]
    assert len(a.alerts) > 5
    for sa, sb in zip(a.summaries, b.summaries, strict=True):
        assert sa.kind == sb.kind and sa.ts == sb.ts
        for key, va in sa.fields.items():
            vb = sb.fields[key]
            if isinstance(va, float):
                assert vb == pytest.approx(va, rel=1e-9, abs=1e-9), key
            else:
                assert va == vb or (isinstance(va, list) and np.allclose(
                    np.array(va, dtype=float), np.array(vb, dtype=float), equal_nan=True)), key


def test_ingest_rejects_devices_outside_the_area() -> None:
    eng = Engine(make_area(n=3))
    with pytest.raises(ValueError, match="device index 9"):
        eng.ingest(ReadingBatch.from_columns([9], [0], [1.0], [T0]))


def test_a_restart_in_the_middle_changes_nothing() -> None:
    """Same alerts (ids included) and summaries with or without a snapshot/restore halfway."""
    runs = []
    for restart in (False, True):
        sim = Sim(make_area(), step_s=120)
        sim.beta = (0.9, 0.5, 0.5)
        sim.meter_u[2] = 250.0
        sim.run(150)
        if restart:
            sim.engine = Engine.restore(sim.engine.snapshot())
        sim.beta = (1.1, 0.4, 0.4)
        sim.silent[4] = True
        sim.run(150)
        runs.append(sim)
    a, b = runs
    assert [(x.alert_id, x.state, x.ts) for x in a.alerts] == [(x.alert_id, x.state, x.ts) for x in b.alerts]
    assert {x.kind for x in a.alerts} >= {"heavy_load", "overload", "imbalance", "high_voltage", "meter_offline"}
    assert [(s.kind, s.ts) for s in a.summaries] == [(s.kind, s.ts) for s in b.summaries]
    assert a.of_kind("interval")[-1] == b.of_kind("interval")[-1]


def test_infinite_values_are_not_read_and_counted() -> None:
    area = make_area(n=3)
    eng = Engine(area)
    eng.ingest(ReadingBatch.from_columns([0, 3, 3], [Q["u_a"], Q["i_a"], Q["u_a"]], [np.inf, -np.inf, 230.0],
                                         [T0, T0, T0], n_devices=4))
    out = eng.advance(T0 + 10)
    assert eng.counters["readings_non_finite"] == 2
    assert np.isnan(eng.readings.last_value[0, Q["u_a"]])
    rt = [s.fields for s in out.summaries if s.kind == "realtime"]
    assert rt[0]["i_a"] is None and rt[0]["u_a"] == 230.0


@pytest.mark.parametrize("seed", [0, 1])
def test_meter_readings_delayed_within_lateness_give_identical_interval_results(seed: int) -> None:
    """Every meter reading arrives up to 110 s late and in shuffled order: the per-meter interval
    results are the same as with on-time delivery."""
    area = make_area(n=8, n_branches=2)
    rng = np.random.default_rng(seed)
    rows = []
    reg = rng.uniform(10, 100, 8)
    for k in range(12):                                     # 3 hours, reads every ~5 min, jittered
        for m in range(8):
            for r in range(3):
                t = T0 + k * 900 + r * 300 + rng.uniform(0, 299)
                reg[m] += rng.uniform(0, 0.5)
                rows += [(m, Q["e_fwd"], reg[m], t), (m, Q["u_a"], rng.normal(222, 15), t),
                         (m, Q["i_a"], rng.uniform(0, 20), t)]
    rows.sort(key=lambda r: r[3])
    arrival_delay = rng.uniform(0, 110, len(rows))
    results = []
    for delayed in (False, True):
        eng = Engine(area)
        arrive = np.array([r[3] for r in rows]) + (arrival_delay if delayed else 0.0)
        order = np.argsort(arrive, kind="stable")
        mi = []
        pos = 0
        for step in np.arange(T0 + 30, T0 + 13 * 900, 30.0):
            take = []
            while pos < len(order) and arrive[order[pos]] <= step:
                take.append(rows[order[pos]])
                pos += 1
            if take:
                rng.shuffle(take)
                d, q, v, t = zip(*take, strict=True)
                eng.ingest(ReadingBatch.from_columns(d, q, v, t))
            mi += [s.fields for s in eng.advance(step).summaries if s.kind == "meters_interval"]
        results.append(mi)
        assert eng.counters["readings_late_dropped"] == 0
    on_time, late = results
    assert len(on_time) == len(late) >= 11
    for a, b in zip(on_time, late, strict=True):
        for key in ("e_kwh", "u_min", "u_max", "u_mean", "i_max", "read", "estimated"):
            assert a[key] == b[key], key


def test_restore_with_an_area_that_does_not_fit_names_the_field() -> None:
    blob = Engine(make_area(n=5)).snapshot()
    with pytest.raises(ValueError, match=r"state field 'last_value' has shape \(6, 30\)"):
        Engine.restore(blob, area=make_area(n=7))


def test_snapshot_from_before_explained_ts_restores_with_it_fresh() -> None:
    from detect.snapshot import pack, unpack

    sim = Sim(make_area(n=6, n_branches=2))
    sim.run(30)
    header, arrays = unpack(sim.engine.snapshot())
    del arrays["s.explained_ts"]
    eng = Engine.restore(pack(header, arrays))
    assert eng.availability.explained_ts.shape == (6,) and np.isnan(eng.availability.explained_ts).all()
    del arrays["s.last_seen"]
    with pytest.raises(ValueError, match="state field 'last_seen' missing"):
        Engine.restore(pack(header, arrays))
