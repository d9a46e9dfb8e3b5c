"""Transformer heat through the engine, against an independent implementation of the standards
(``tests/detect/iec60076.py``: RK4 on the differential equations, constants restated from the tables).

The heat-wave profile: 3 days, hourly ambient from 15 °C to 42 °C, load factor 0.3 to 1.2. The engine
sees the master's phase currents every 5 minutes and the ambient as a weather series; the figures below
are the reference's, so the test also fails if the reference itself drifts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from detect import Engine, ReadingBatch
from detect.area import Area
from detect.context import AmbientSeries
from detect.cooling import resolve
from detect.kernels import thermal as k_thermal
from detect.params import Params, ThermalParams
from detect.quantities import QUANTITY_CODE as Q
from detect.reference import thermal as r_thermal
from tests.detect import iec60076 as ref

T0 = 1_782_864_000.0          # 2026-07-01 00:00 UTC

# (cooling, reference model, max hot-spot °C, max top-oil °C, loss of life h) of the reference, 10 s RK4
CASES = [("ONAN", ref.ONAN, 122.47, 95.27, 51.09),
         ("ONAF", ref.ONAF, 137.70, 103.09, 234.51),
         ("AN", ref.DRY_AN_155, 197.29, math.nan, 667.73)]


def _engine_run(cooling: str, ts: np.ndarray, k: np.ndarray, amb_ts: np.ndarray, amb: np.ndarray,
                *, weather: bool = True) -> dict[str, np.ndarray]:
    area = Area.simple(id="HW", rated_kva=400, meter_ids=["m0"])
    object.__setattr__(area, "cooling", cooling)
    eng = Engine(area, Params(), ambient=AmbientSeries(T0 + amb_ts, amb) if weather else None)
    i_n = area.rated_current_a
    rows: list[tuple[int, str, float, float]] = []
    for t, kk in zip(ts, k, strict=True):
        for q, v in (("u_a", 230.0), ("u_b", 230.0), ("u_c", 230.0), ("i_a", kk * i_n), ("i_b", 0.9 * kk * i_n),
                     ("i_c", 0.8 * kk * i_n)):
            rows.append((1, q, v, T0 + t))
    if not weather:
        rows += [(1, "t_amb", float(a), T0 + t) for t, a in zip(amb_ts, amb, strict=True)]
    rows.sort(key=lambda r: r[3])
    dev, qty, val, tss = (np.array(c) for c in zip(*rows, strict=True))
    eng.ingest(ReadingBatch.from_columns(dev, np.array([Q[q] for q in qty]), val.astype(float), tss.astype(float),
                                         n_devices=2))
    got = [s for s in eng.advance(T0 + ts[-1]).summaries if s.kind == "realtime"]
    f = {name: np.array([np.nan if s.fields[name] is None else s.fields[name] for s in got])
         for name in ("hotspot_c", "top_oil_c", "loss_of_life_h", "t_amb_c")}
    f["ts"] = np.array([s.ts for s in got]) - T0
    f["source"] = np.array([s.fields["ambient_source"] for s in got])
    return f


@pytest.mark.parametrize(("cooling", "model", "hot_max", "top_max", "lol_h"), CASES)
def test_heat_wave_matches_the_standard(cooling: str, model: ref.Oil | ref.Dry, hot_max: float, top_max: float,
                                        lol_h: float) -> None:
    ts, k, amb_ts, amb = ref.heat_wave()
    assert amb.min() == pytest.approx(15.0, abs=0.1) and amb.max() == pytest.approx(42.0, abs=0.2)
    want = ref.run(model, ts, k, amb_ts, amb, ts)
    assert np.nanmax(want["hot"]) == pytest.approx(hot_max, abs=0.01)
    assert want["loss_of_life_h"][-1] == pytest.approx(lol_h, rel=1e-3)
    got = _engine_run(cooling, ts, k, amb_ts, amb)
    assert (got["source"] == "weather").all()
    np.testing.assert_allclose(got["ts"], ts)
    assert np.abs(got["hotspot_c"] - want["hot"]).max() < 0.5
    if math.isnan(top_max):
        assert np.isnan(got["top_oil_c"]).all()            # a dry type has no oil
    else:
        assert np.nanmax(want["top_oil"]) == pytest.approx(top_max, abs=0.01)
        assert np.abs(got["top_oil_c"] - want["top_oil"]).max() < 0.5
    assert got["loss_of_life_h"][-1] == pytest.approx(want["loss_of_life_h"][-1], rel=0.02)


def test_hourly_ambient_readings_are_held_like_a_sample_and_hold() -> None:
    """Hourly t_amb readings from the device (not a weather series): each is held until the next, which a
    live engine cannot see coming; the reference fed the same held ambient agrees."""
    ts, k, amb_ts, amb = ref.heat_wave(days=1)
    got = _engine_run("ONAN", ts, k, amb_ts, amb, weather=False)
    assert (got["source"] == "measured").all()
    held_ts = np.repeat(amb_ts, 2)[1:]                       # a staircase: each value up to the next sample
    held = np.repeat(amb, 2)[:-1]
    held_ts[1::2] -= 1e-6
    want = ref.run(ref.ONAN, ts, k, held_ts, held, ts)
    assert np.abs(got["hotspot_c"] - want["hot"]).max() < 0.5


@pytest.mark.parametrize("seed", range(4))
def test_exact_integration_matches_a_fine_reference_on_random_models(seed: int) -> None:
    """Random constants (time constants down to 6 s), random poll spacing up to 2 h and random loads: the
    kernel's exact exponential steps agree with 5-s RK4 on the same equations."""
    rng = np.random.default_rng(seed)
    model = ref.Oil(dtor=rng.uniform(30, 70), dthr=rng.uniform(15, 35), tau_o=rng.uniform(30, 300),
                    tau_w=rng.choice([0.1, 1.0, 4.0, 10.0]), r=rng.uniform(3, 10), x=rng.uniform(0.7, 1.0),
                    y=rng.uniform(1.3, 2.0), k11=rng.uniform(0.5, 1.0), k21=rng.uniform(1.0, 3.0),
                    k22=rng.uniform(1.0, 2.0))
    tp = ThermalParams(delta_theta_or_k=model.dtor, delta_theta_hr_k=model.dthr, tau_o_min=model.tau_o,
                       tau_w_min=model.tau_w, r_ratio=model.r, x_exp=model.x, y_exp=model.y, k11=model.k11,
                       k21=model.k21, k22=model.k22, substep_s=float(rng.choice([10.0, 60.0, 600.0])))
    ts = np.concatenate([[0.0], np.cumsum(rng.choice([5.0, 60.0, 900.0, 7200.0], 60))])
    k = np.clip(rng.normal(0.8, 0.35, len(ts)), 0.05, 1.6)
    amb = rng.normal(25, 6, len(ts))
    state = np.zeros(8)
    _, hot, _ = k_thermal.thermal_run(ts, k, amb, state, resolve(tp, "ONAN").kernel_params)
    want = ref.run(model, ts, k, ts, amb, ts, step_s=5.0)
    tol = 0.05 if tp.substep_s <= 60 else 0.5      # K^y taken as linear over a 10-min step
    assert np.abs(hot - want["hot"]).max() < tol
    assert state[3] == pytest.approx(want["loss_of_life_h"][-1], rel=0.01 if tp.substep_s <= 60 else 0.03)


@pytest.mark.parametrize("mod", [k_thermal, r_thermal])
def test_stable_for_any_time_constant_and_poll_interval(mod: object) -> None:
    """tau_w = 0.01 min with 15-min polls and 10-min sub-steps: explicit Euler reached 1e9 °C here; the
    exact step stays between ambient and the steady state of the highest load."""
    tp = ThermalParams(tau_w_min=0.01, substep_s=600.0)
    ts = np.arange(0, 86400, 900.0)
    k = np.where((ts // 3600) % 2 == 0, 1.3, 0.2)
    state = np.zeros(8)
    _, hot, _ = mod.thermal_run(ts, k, np.full_like(ts, 30.0), state, resolve(tp, "ONAN").kernel_params)  # type: ignore[attr-defined]
    assert np.isfinite(hot).all()
    assert hot.min() > 30.0 and hot.max() < 30 + 55 * ((1 + 1.69 * 5) / 6) ** 0.8 + 23 * 1.3 ** 1.6 + 1e-6


def test_cooling_modes_have_the_standards_constants_and_limits() -> None:
    onan, onaf, ofaf, odaf = (resolve(ThermalParams(), c) for c in ("ONAN", "ONAF", "OFAF", "ODAF"))
    assert (onan.tau_o_min, onan.tau_w_min, onan.y_exp, onan.k22) == (180, 4, 1.6, 2.0)
    assert (onaf.k11, onaf.k21, onaf.tau_o_min, onaf.tau_w_min) == (0.5, 2.0, 150, 7)
    assert (ofaf.x_exp, ofaf.k21, ofaf.k22, ofaf.tau_o_min) == (1.0, 1.45, 1.0, 90)
    assert (odaf.y_exp, odaf.delta_theta_hr_k) == (2.0, 29)
    dry = resolve(ThermalParams(dry_insulation_class="180"), "AF")
    assert dry.dry and (dry.y_exp, dry.ref_c, dry.limit_c, dry.delta_theta_hr_k) == (1.8, 170, 205, 150)
    assert resolve(ThermalParams(), "dry") == resolve(ThermalParams(), "AN")
    assert resolve(ThermalParams(tau_o_min=200, hotspot_limit_c=110), "ONAN").tau_o_min == 200
    with pytest.raises(ValueError, match="cooling 'KNAN'"):
        resolve(ThermalParams(), "KNAN")


def test_the_wire_documents_every_ambient_source() -> None:
    """``ambient_source`` is an enum on the wire (schemas/realtime.json): the engine's sources, no other."""
    from detect.stages.thermal import AMBIENT_SOURCES
    from wire import KINDS

    field = next(f for f in KINDS["realtime"].fields if f.name == "ambient_source")
    assert field.schema["enum"] == list(AMBIENT_SOURCES)
