"""Master meter / TTU polls: load rate, IEC 60076-7 thermal state, imbalance, neutral, master voltage,
phase loss and area/phase outage from the master's own voltages; one realtime summary per poll."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from detect._emit import run_alarm
from detect.area import PHASES
from detect.quantities import QUANTITIES, QUANTITY_CODE

if TYPE_CHECKING:
    from detect.engine import Engine

F64 = npt.NDArray[np.float64]
Q = QUANTITY_CODE
IMBALANCE_FORMULAS = {"max_min_over_max": 0, "max_min_over_avg": 1, "max_avg_over_avg": 2}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def polls(eng: Engine, ts: F64, q: npt.NDArray[np.int16], v: F64) -> tuple[F64, F64]:
    """Group time-sorted master readings into polls and hold missing quantities from earlier polls.

    Returns (poll ts, values[poll, quantity]); a held value older than ``master_hold_s`` is NaN.
    """
    st, n, hold = eng.state, eng.area.master_index, eng.params.master_hold_s
    new_poll = np.empty(len(ts), np.bool_)
    new_poll[0] = True
    new_poll[1:] = np.diff(ts) > eng.params.master_group_s
    group = np.cumsum(new_poll) - 1
    g = int(group[-1]) + 1
    sample_ts = np.empty(g)
    sample_ts[group] = ts                       # the last reading of each poll gives its time
    vals = np.full((g + 1, len(QUANTITIES)), np.nan)
    when = np.full((g + 1, len(QUANTITIES)), np.nan)
    vals[0], when[0] = st.last_value[n], st.last_ts[n]
    vals[group + 1, q] = v
    when[group + 1, q] = ts
    present = ~np.isnan(vals)
    idx = np.where(present, np.arange(g + 1)[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    cols = np.arange(len(QUANTITIES))[None, :]
    filled, filled_ts = vals[idx, cols][1:], when[idx, cols][1:]
    stale = ~(sample_ts[:, None] - filled_ts <= hold)
    filled[stale] = np.nan
    return sample_ts, filled


def process(eng: Engine, ts: F64, q: npt.NDArray[np.int16], v: F64) -> None:
    """Run every master detector over the polls in these (time-sorted, not late) master readings."""
    if not len(ts):
        return
    area, prm, st = eng.area, eng.params, eng.state
    sample_ts, x = polls(eng, ts, q, v)
    g = len(sample_ts)
    col = {name: x[:, Q[name]] for name in ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "f", "t_amb")}
    rated_a = area.rated_current_a
    load_ops, th_ops = eng.ops["load"], eng.ops["thermal"]
    beta, beta_s, s_kva = load_ops.load_rates(col["i_a"], col["i_b"], col["i_c"], col["p"], col["q"], rated_a,
                                              area.rated_kva)
    imb = load_ops.imbalance_pct(col["i_a"], col["i_b"], col["i_c"], IMBALANCE_FORMULAS[prm.imbalance.formula])
    neutral = np.abs(col["i_n"]) / rated_a * 100.0
    amb = np.where(np.isnan(col["t_amb"]), prm.thermal.ambient_c, col["t_amb"])
    k_load = beta / 100.0
    top_oil, hot, ageing, ttl = np.full(g, np.nan), np.full(g, np.nan), np.full(g, np.nan), np.full(g, np.nan)
    tp = eng.thermal_params
    lol = np.full(g, np.nan)
    for j in range(g):
        o, h, a = th_ops.thermal_run(sample_ts[j:j + 1], k_load[j:j + 1], amb[j:j + 1], st.thermal, tp)
        top_oil[j], hot[j], ageing[j] = o[0], h[0], a[0]
        lol[j] = st.thermal[3]
        if st.thermal[7]:
            ttl[j] = th_ops.time_to_limit_min(st.thermal[0], st.thermal[1], st.thermal[2], st.thermal[5],
                                              st.thermal[6], tp, prm.thermal.hotspot_limit_c, 1440.0)
    _load_alarms(eng, sample_ts, beta, beta_s)
    _thermal_alarm(eng, sample_ts, hot, ttl, beta)
    _imbalance_alarms(eng, sample_ts, imb, neutral, beta)
    u = np.stack([col["u_a"], col["u_b"], col["u_c"]], axis=1)
    _voltage_alarms(eng, sample_ts, u)
    _accumulate(eng, sample_ts, beta, imb, neutral, hot, u, col["p"])
    st.last_sample_ts[0] = sample_ts[-1]
    for j in range(g):
        fields: dict[str, Any] = {
            "load_pct": beta[j], "load_s_pct": beta_s[j], "s_kva": s_kva[j], "p_kw": col["p"][j],
            "q_kvar": col["q"][j], "u_a": col["u_a"][j], "u_b": col["u_b"][j], "u_c": col["u_c"][j],
            "i_a": col["i_a"][j], "i_b": col["i_b"][j], "i_c": col["i_c"][j], "i_n": col["i_n"][j],
            "imbalance_pct": imb[j], "neutral_pct": neutral[j], "hotspot_c": hot[j], "top_oil_c": top_oil[j],
            "ageing_rate": ageing[j], "loss_of_life_h": lol[j], "time_to_limit_min": ttl[j],
            "pf": col["pf"][j], "f_hz": col["f"][j], "t_amb_c": amb[j],
        }
        eng.summary("realtime", float(sample_ts[j]), {k: _num(float(val)) for k, val in fields.items()})


def _load_alarms(eng: Engine, ts: F64, beta: F64, beta_s: F64) -> None:
    lp = eng.params.load
    zero = np.zeros(len(ts), np.int64)
    ok = ~np.isnan(beta)

    def ev(k: int) -> dict[str, Any]:
        return {"load_pct": beta[k], "load_s_pct": beta_s[k]}

    def sev_overload(b: float) -> str:
        return "critical" if b >= lp.overload_critical_pct else "major"

    run_alarm(eng, "overload@transformer", subj=zero, ts=ts, on=beta >= lp.overload_pct,
              off=beta < lp.overload_clear_pct, valid=ok, values=beta, threshold=lp.overload_pct, unit="%",
              severity=sev_overload, evidence=ev,
              describe=lambda s, _i, b: (f"transformer load {b:.1f} % (threshold {lp.overload_pct:g} % for "
                                         f"{lp.overload_persist_s:g} s)" if s != "cleared" else
                                         f"transformer load back to {b:.1f} % (below {lp.overload_clear_pct:g} %)"))
    hyst = lp.band_hysteresis_pct
    run_alarm(eng, "heavy_load@transformer", subj=zero, ts=ts,
              on=(beta > lp.heavy_load_pct) & (beta <= lp.heavy_load_max_pct),
              off=(beta < lp.heavy_load_pct - hyst) | (beta > lp.heavy_load_max_pct + hyst), valid=ok, values=beta,
              threshold=lp.heavy_load_pct, unit="%", severity=lambda _b: "warning", evidence=ev,
              describe=lambda s, _i, b: (f"heavy load: {lp.heavy_load_pct:g}–{lp.heavy_load_max_pct:g} % for "
                                         f"{lp.heavy_load_persist_s / 3600:g} h (now {b:.1f} %)" if s != "cleared"
                                         else f"heavy load ended (now {b:.1f} %)"))
    run_alarm(eng, "overload_2h@transformer", subj=zero, ts=ts, on=beta > lp.overload_2h_pct,
              off=beta < lp.overload_2h_pct - hyst, valid=ok, values=beta, threshold=lp.overload_2h_pct, unit="%",
              severity=lambda _b: "critical", evidence=ev,
              describe=lambda s, _i, b: (f"overload above {lp.overload_2h_pct:g} % for "
                                         f"{lp.overload_2h_persist_s / 3600:g} h (now {b:.1f} %)" if s != "cleared"
                                         else f"sustained overload ended (now {b:.1f} %)"))


def _thermal_alarm(eng: Engine, ts: F64, hot: F64, ttl: F64, beta: F64) -> None:
    tp = eng.params.thermal
    limit = tp.hotspot_limit_c
    projected = ttl <= tp.hotspot_horizon_min
    run_alarm(eng, "hotspot@transformer", subj=np.zeros(len(ts), np.int64), ts=ts, on=(hot >= limit) | projected,
              off=(hot < limit - tp.hotspot_clear_margin_k) & ~projected, valid=~np.isnan(hot), values=hot,
              threshold=limit, unit="degC", severity=lambda h: "critical" if h >= limit else "major",
              evidence=lambda k: {"hotspot_c": hot[k], "time_to_limit_min": ttl[k], "load_pct": beta[k]},
              describe=lambda s, i, h: (f"hot-spot {h:.1f} °C, limit {limit:g} °C" + (
                  "" if h >= limit else f" projected within {tp.hotspot_horizon_min:g} min")
                  if s != "cleared" else f"hot-spot back to {h:.1f} °C"))


def _imbalance_alarms(eng: Engine, ts: F64, imb: F64, neutral: F64, beta: F64) -> None:
    ip = eng.params.imbalance
    zero = np.zeros(len(ts), np.int64)
    gate = beta >= ip.load_gate_pct
    run_alarm(eng, "imbalance@transformer", subj=zero, ts=ts, on=gate & (imb > ip.threshold_pct),
              off=~gate | (imb < ip.threshold_pct - ip.hysteresis_pct),
              valid=~np.isnan(imb) | (~np.isnan(beta) & ~gate), values=imb, threshold=ip.threshold_pct, unit="%",
              severity=lambda _x: "warning", evidence=lambda k: {"imbalance_pct": imb[k], "load_pct": beta[k],
                                                                  "formula": ip.formula},
              describe=lambda s, _i, x: (f"three-phase current imbalance {x:.1f} % above {ip.threshold_pct:g} % "
                                         f"at load ≥ {ip.load_gate_pct:g} %" if s != "cleared" else
                                         "three-phase current imbalance back within limits"))
    run_alarm(eng, "neutral_current@transformer", subj=zero, ts=ts, on=neutral > ip.neutral_pct,
              off=neutral < ip.neutral_pct - ip.hysteresis_pct, valid=~np.isnan(neutral), values=neutral,
              threshold=ip.neutral_pct, unit="%", severity=lambda _x: "warning",
              evidence=lambda k: {"neutral_pct": neutral[k], "imbalance_pct": imb[k]},
              describe=lambda s, _i, x: (f"neutral current {x:.1f} % of rated above {ip.neutral_pct:g} %"
                                         if s != "cleared" else "neutral current back within limits"))


def _voltage_alarms(eng: Engine, ts: F64, u: F64) -> None:
    """Master phases: low/high voltage, phase loss, phase outage; whole-area outage from the voltages."""
    vp, op = eng.params.voltage, eng.params.outage
    nom = vp.nominal_v
    low, high = nom * (1 + vp.low_pct / 100), nom * (1 + vp.high_pct / 100)
    hyst = nom * vp.hysteresis_pct / 100
    ploss, dead = nom * vp.phase_loss_pct / 100, nom * op.area_voltage_pct / 100
    g = len(ts)
    subj = np.tile(np.arange(3), g)
    t3 = np.repeat(ts, 3)
    uf = u.reshape(-1)
    present = ~np.isnan(uf)
    all_dead = np.repeat(np.all(u < dead, axis=1), 3)
    any_alive = np.repeat(np.any(u >= dead, axis=1), 3)

    def ev(k: int) -> dict[str, Any]:
        return {"u_a": u[k // 3, 0], "u_b": u[k // 3, 1], "u_c": u[k // 3, 2]}

    def say(what: str, limit: float) -> Any:
        return lambda s, i, x: (f"master phase {PHASES[i]} {what}: {x:.1f} V (limit {limit:.1f} V)" if s != "cleared"
                                else f"master phase {PHASES[i]} voltage back to {x:.1f} V")

    run_alarm(eng, "low_voltage@phase", subj=subj, ts=t3, on=(uf < low) & (uf >= ploss), off=uf >= low + hyst,
              valid=present & (uf >= ploss), values=uf, threshold=low, unit="V", severity=lambda _x: "warning",
              describe=say("low voltage", low), evidence=ev)
    run_alarm(eng, "high_voltage@phase", subj=subj, ts=t3, on=uf > high, off=uf <= high - hyst, valid=present,
              values=uf, threshold=high, unit="V", severity=lambda _x: "warning", describe=say("high voltage", high),
              evidence=ev)
    run_alarm(eng, "phase_loss@phase", subj=subj, ts=t3, on=(uf < ploss) & (uf >= dead),
              off=(uf >= ploss + hyst) | (uf < dead), valid=present, values=uf, threshold=ploss, unit="V",
              severity=lambda _x: "major", describe=say("phase loss", ploss), evidence=ev)
    run_alarm(eng, "outage_phase@phase", subj=subj, ts=t3, on=(uf < dead) & any_alive,
              off=(uf >= ploss) | all_dead, valid=present, values=uf, threshold=dead, unit="V",
              severity=lambda _x: "critical", describe=say("no supply", dead), evidence=ev)
    valid_area = np.asarray(~np.isnan(u).any(axis=1), dtype=np.bool_)
    u_max = u.max(axis=1)                      # NaN when a phase is missing: not judged
    if g:
        eng.master_voltage_dead = bool(valid_area[-1] and u_max[-1] < dead)
    run_alarm(eng, "outage_area@area", subj=np.zeros(g, np.int64), ts=ts, on=u_max < dead, off=u_max >= ploss,
              valid=valid_area, values=u_max, threshold=dead, unit="V", severity=lambda _x: "critical",
              evidence=lambda k: {"source": "master voltage", "u_a": u[k, 0], "u_b": u[k, 1], "u_c": u[k, 2]},
              describe=lambda s, _i, x: ("area outage: no voltage on any master phase" if s != "cleared"
                                         else f"area supply restored ({x:.1f} V)"))


def _accumulate(eng: Engine, ts: F64, beta: F64, imb: F64, neutral: F64, hot: F64, u: F64, p_kw: F64) -> None:
    """Per-interval and per-day master statistics, and the recent-power ring for the outage balance."""
    st, prm = eng.state, eng.params
    slots = eng.slots_for(ts)
    ok = slots >= 0
    s = slots[ok]
    np.fmax.at(st.m_load_max, s, beta[ok])
    b_ok = ok & ~np.isnan(beta)
    np.add.at(st.m_load_sum, slots[b_ok], beta[b_ok])
    np.add.at(st.m_n, slots[b_ok], 1)
    i_ok = ok & ~np.isnan(imb)
    np.add.at(st.m_imb_sum, slots[i_ok], imb[i_ok])
    np.add.at(st.m_imb_n, slots[i_ok], 1)
    np.fmax.at(st.m_neutral_max, s, neutral[ok])
    np.fmax.at(st.m_hot_max, s, hot[ok])
    nom = prm.voltage.nominal_v
    low, high = nom * (1 + prm.voltage.low_pct / 100), nom * (1 + prm.voltage.high_pct / 100)
    for ph in range(3):
        uu = u[ok, ph]
        live = ~np.isnan(uu)
        np.add.at(st.m_u_n[:, ph], s[live], 1)
        np.add.at(st.m_u_ok[:, ph], s[live], ((uu[live] >= low) & (uu[live] <= high)).astype(np.int64))
    if np.isfinite(beta).any():
        st.day_load_max[0] = np.fmax(st.day_load_max[0], np.nanmax(beta))
    r = len(st.master_ring_ts)
    pos = int(st.master_ring_pos[0])
    for j in range(len(ts)):
        st.master_ring_ts[(pos + j) % r] = ts[j]
        st.master_ring_p[(pos + j) % r] = p_kw[j]
    st.master_ring_pos[0] = (pos + len(ts)) % r
